// Running a command under a lease: what `lock run` and `job run` share. The command runs in
// its own process group (so a stop reaches whatever it started), its output optionally
// goes to a log file as well, and the lease is renewed on the schedule of domain/lease.ts:
// each renewal after the previous one finished, the command stopped (SIGTERM, then SIGKILL)
// when no renewal could be confirmed before the lease's end minus a margin, or at once
// when the holder learns the lease is gone. The caller decides what to record.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { constants } from 'node:os';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOST_LEASE_EXIT_CODE, nextRenewal, signalExitCode, stopPoint, TIMEOUT_EXIT_CODE, unconfirmedReason, type LeaseTiming } from '../domain/lease.js';
import { tailLines } from '../domain/run-log.js';
import { usageError } from '../errors.js';

/** A renewal found the lease gone for good (taken, expired, withdrawn): stop now, no more tries. */
export class LeaseLost extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LeaseLost';
  }
}

export interface Lease {
  /** What is held, for messages: "lock deploy", "job job_17_ab12cd". */
  what: string;
  timing: LeaseTiming;
  /** The monotonic time just before the grant was sent. */
  grantedAt: number;
  /**
   * One renewal. Resolves once confirmed; rejects with LeaseLost when the lease is gone for
   * good; any other rejection is a failed try (tried again until the stop point).
   */
  renew: () => Promise<void>;
}

export type Output =
  | { kind: 'inherit' }
  | {
      kind: 'log';
      file: string;
      /** First line written to the log for this run. */
      header: string;
      /** Where the command's stdout and stderr are echoed while it runs. */
      stdout: Writable;
      stderr: Writable;
    };

export interface SuperviseOptions {
  command: string;
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  lease: Lease;
  /** The monotonic time at which the command is stopped as timed out. */
  timeoutAt?: number | undefined;
  output: Output;
  monotonic: () => number;
  warn: (line: string) => void;
}

export type RunEnd =
  | { kind: 'exited'; exitCode: number }
  | { kind: 'signal'; signal: string; exitCode: number }
  | { kind: 'timeout'; exitCode: number }
  | { kind: 'lost_lease'; reason: string; exitCode: number };

export interface SuperviseReport {
  end: RunEnd;
  /** How the command itself ended. */
  child: { code: number | null; signal: string | null };
  /** The last signal buildctl sent to stop it, if it stopped it. */
  stoppedWith: 'SIGTERM' | 'SIGKILL' | null;
  /** The output's last lines, cleaned (log output only). */
  tail: string[];
  durationMs: number;
}

/** Keeps the last bytes of the output for the tail: enough for TAIL_LINES long lines. */
const TAIL_BYTES = 64 * 1024;
/** How long to wait for the output pipes after the command exited (a background child may hold them). */
const DRAIN_MS = 2_000;
const FORWARDED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

const signalNumber = (signal: string): number => (constants.signals as Record<string, number | undefined>)[signal] ?? 0;

/** Signals the command's whole process group; a group that is gone already is fine. */
const signalGroup = (child: ChildProcess, signal: NodeJS.Signals): void => {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: nothing left in the group.
  }
};

const started = (child: ChildProcess, command: string): Promise<void> =>
  new Promise((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (error) =>
      reject(
        usageError(`cannot run "${command}": ${error.message}`, {
          code: 'command_failed_to_start',
          hint: 'check the command after "--" (is it installed, executable and on PATH?)',
        }),
      ),
    );
  });

const openLog = async (file: string, header: string): Promise<WriteStream> => {
  await mkdir(dirname(file), { recursive: true });
  const stream = createWriteStream(file, { flags: 'a' });
  stream.write(`${header}\n`);
  return stream;
};

const closeLog = (stream: WriteStream, footer: string): Promise<void> =>
  new Promise((resolve) => {
    stream.end(`${footer}\n`, () => resolve());
    stream.once('error', () => resolve());
  });

/**
 * Runs the command to its end under the lease. Throws only when the command cannot be
 * started (exit 2); every other end is in the report.
 */
export const superviseCommand = async (options: SuperviseOptions): Promise<SuperviseReport> => {
  const { lease, monotonic, warn, output } = options;
  const begun = monotonic();
  const log = output.kind === 'log' ? await openLog(output.file, output.header) : undefined;
  const child = spawn(options.command, [...options.args], {
    env: options.env,
    detached: true,
    stdio: output.kind === 'inherit' ? 'inherit' : ['ignore', 'pipe', 'pipe'],
  });
  try {
    await started(child, options.command);
  } catch (error) {
    if (log) await closeLog(log, `=== could not start: ${error instanceof Error ? error.message : String(error)} ===`);
    throw error;
  }

  let recent = '';
  const drained: Array<Promise<void>> = [];
  if (output.kind === 'log' && log) {
    const capture = (stream: NodeJS.ReadableStream | null, echo: Writable) => {
      if (!stream) return;
      drained.push(new Promise((resolve) => stream.once('close', resolve)));
      stream.on('data', (chunk: Buffer) => {
        log.write(chunk);
        echo.write(chunk);
        recent = (recent + chunk.toString('utf8')).slice(-TAIL_BYTES);
      });
    };
    capture(child.stdout, output.stdout);
    capture(child.stderr, output.stderr);
  }

  // ---- stopping ----
  let stopping: { kind: 'timeout' } | { kind: 'lost_lease'; reason: string } | undefined;
  let stoppedWith: SuperviseReport['stoppedWith'] = null;
  let exited = false;
  let killTimer: NodeJS.Timeout | undefined;
  const stop = (why: NonNullable<typeof stopping>): void => {
    if (stopping || exited) return;
    stopping = why;
    stoppedWith = 'SIGTERM';
    signalGroup(child, 'SIGTERM');
    killTimer = setTimeout(() => {
      stoppedWith = 'SIGKILL';
      signalGroup(child, 'SIGKILL');
    }, lease.timing.graceMs);
  };
  const forward = (signal: NodeJS.Signals) => signalGroup(child, signal);
  for (const signal of FORWARDED) process.on(signal, forward);

  const timeoutTimer = options.timeoutAt === undefined ? undefined : setTimeout(() => stop({ kind: 'timeout' }), Math.max(0, options.timeoutAt - monotonic()));

  // ---- the lease: a stop timer re-armed by each confirmed renewal, and the renewal loop ----
  let confirmedSentAt = lease.grantedAt;
  let deadlineTimer: NodeJS.Timeout | undefined;
  const armStop = () => {
    clearTimeout(deadlineTimer);
    deadlineTimer = setTimeout(
      () => stop({ kind: 'lost_lease', reason: unconfirmedReason(lease.what, monotonic() - confirmedSentAt, lease.timing) }),
      Math.max(0, stopPoint(confirmedSentAt, lease.timing) - monotonic()),
    );
  };
  armStop();
  const ended = new AbortController();
  const renewals = (async () => {
    let lastFinished = monotonic();
    let failing = false;
    while (!exited && !stopping) {
      const wait = nextRenewal(confirmedSentAt, lastFinished, failing, lease.timing) - monotonic();
      if (wait > 0) await sleep(wait, undefined, { signal: ended.signal }).catch(() => undefined);
      if (exited || stopping) return;
      const sentAt = monotonic();
      try {
        await lease.renew();
        if (!stopping) {
          confirmedSentAt = sentAt;
          armStop();
        }
        if (failing) warn(`${lease.what}: renewed again`);
        failing = false;
      } catch (error) {
        if (error instanceof LeaseLost) return stop({ kind: 'lost_lease', reason: error.message });
        if (!failing) warn(`${lease.what}: could not renew (${error instanceof Error ? error.message : String(error)}); trying again until the lease runs out`);
        failing = true;
      }
      lastFinished = monotonic();
    }
  })();

  const exit = await new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  exited = true;
  ended.abort();
  clearTimeout(deadlineTimer);
  clearTimeout(timeoutTimer);
  clearTimeout(killTimer);
  // Whatever the stopped command left behind must not go on under a lease that is gone.
  if (stopping) signalGroup(child, 'SIGKILL');
  for (const signal of FORWARDED) process.off(signal, forward);
  await renewals;
  await Promise.race([Promise.all(drained), sleep(DRAIN_MS)]);

  const end: RunEnd =
    stopping?.kind === 'lost_lease' ? { kind: 'lost_lease', reason: stopping.reason, exitCode: LOST_LEASE_EXIT_CODE }
    : stopping?.kind === 'timeout' ? { kind: 'timeout', exitCode: TIMEOUT_EXIT_CODE }
    : exit.signal !== null ? { kind: 'signal', signal: exit.signal, exitCode: signalExitCode(signalNumber(exit.signal)) }
    : { kind: 'exited', exitCode: exit.code ?? 1 };
  if (log) {
    const how = exit.signal !== null ? `killed by ${exit.signal}` : `exit code ${exit.code ?? '?'}`;
    await closeLog(log, `=== ${how}${stopping ? ` (stopped by buildctl: ${stopping.kind === 'timeout' ? 'timeout' : stopping.reason})` : ''} ===`);
  }
  return { end, child: exit, stoppedWith, tail: tailLines(recent), durationMs: monotonic() - begun };
};
