// `buildctl job run [--type T] [--wait DUR] -- CMD ...`: claim a job, run CMD with the job in
// its environment and its output in a log file, keep the job's lease while it runs, and
// record how it ended.
//
// A job's lease: a running job stays its assignee's while the assignee's heartbeat is
// younger than dead_after (else housekeeping requeues it), it is within its timeout (else
// housekeeping fails it), and nobody cancelled, failed or requeued it. So job run beats
// before it claims and on a schedule while CMD runs (the agent need not run), stops CMD
// when it could not confirm a beat for dead_after minus a margin (before anyone may
// requeue the job), and looks at the job on main each time, stopping CMD at once when the
// job was taken from it.
import { resolve, basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { effectiveSettings } from '../domain/config.js';
import { parseDuration } from '../domain/durations.js';
import { checkArtifactUrls, findJob, runIdentityOf, type RunIdentity, type RunRecord } from '../domain/jobs.js';
import { vetCommitted } from '../domain/committed.js';
import { checkLeaseTtl, leaseTiming } from '../domain/lease.js';
import { BuildctlError } from '../errors.js';
import type { Job, RunOutcome } from '../schemas/jobs.js';
import { docs } from '../schemas/layout.js';
import { openSnapshot } from '../store/snapshot.js';
import { fetchMain, openStore, type Store } from '../store/store.js';
import type { Context } from './context.js';
import { heartbeat } from './heartbeat.js';
import { resolveActor } from './identity.js';
import { claimJobOp, finishJobOp } from './jobs.js';
import { readLastWin, type Outcome } from './mutate.js';
import { readMainOrThrow } from './read.js';
import { LeaseLost, superviseCommand, type RunEnd } from './supervise.js';

export interface JobRunOptions {
  type?: string | undefined;
  wait?: string | undefined;
  command: string;
  args: string[];
  /** Files the job must leave: described in the result when CMD exits 0 (a missing one fails the job). */
  artifacts?: string[] | undefined;
  artifactUrls?: string[] | undefined;
  /** Where the per-job log files go (default: `<store>.logs/jobs` beside the store). */
  logDir?: string | undefined;
  /** The caller's environment; the job's variables are added to it. */
  env: NodeJS.ProcessEnv;
  /** Where CMD's output is echoed while it runs. */
  stdout: Writable;
  stderr: Writable;
}

export interface JobRunReport {
  /** The job as job run left it (or as it found it, when the job was taken). */
  job: Job;
  outcome: Outcome;
  run: {
    outcome: RunOutcome;
    exit_code: number | null;
    signal: string | null;
    log: string;
    log_tail: string[];
    /** Why it ended as it did, in words (also the job's result reason when it failed). */
    reason: string | null;
  };
  /** What job run exits with. */
  exitCode: number;
}

/** `<store>.logs/jobs`: beside the store (never in it), one folder per store. */
export const defaultJobLogDir = (storeDir: string): string => {
  const store = resolve(storeDir);
  return join(dirname(store), `${basename(store)}.logs`, 'jobs');
};

const ARTIFACT_MISSING = new Set(['artifact_not_found', 'artifact_not_a_file']);

/** Renewals of the job's lease (a beat, and a look at the job) at most this far apart. */
const MAX_RENEW_MS = 60_000;

const settingsOf = async (store: Store) => {
  const snapshot = openSnapshot(store);
  try {
    return effectiveSettings(await readMainOrThrow(snapshot, docs.config));
  } finally {
    snapshot.close();
  }
};

/** How the job was taken from this run, in words, or undefined while it is still this run's. */
const takenFrom = (job: Job | undefined, me: string, run: RunIdentity): string | undefined => {
  if (!job) return 'it is no longer in the queue';
  const result = job.result ?? {};
  const by = typeof result.cancelled_by === 'string' ? ` by ${result.cancelled_by}` : typeof result.forced_by === 'string' ? ` by ${result.forced_by}` : '';
  const why = result.reason ? `: ${result.reason}` : '';
  if (job.status === 'running') {
    if (job.assigned_to === me && (job.started_at ?? null) === run.started_at && job.attempts === run.attempts) return undefined;
    return `it is running on ${job.assigned_to ?? '?'} (attempt ${job.attempts}, since ${job.started_at ?? '?'})`;
  }
  if (job.status === 'queued') return `it was requeued${why}`;
  if (job.status === 'cancelled') return `it was cancelled${by}${why}`;
  return `it was marked ${job.status}${by}${why}`;
};

const envOf = (base: NodeJS.ProcessEnv, job: Job, log: string): NodeJS.ProcessEnv => ({
  ...base,
  BUILDCTL_JOB_ID: job.id,
  BUILDCTL_JOB_TYPE: job.type,
  // Empty rather than unset, so a value from an outer job run never leaks in.
  BUILDCTL_JOB_BRANCH: job.branch ?? '',
  BUILDCTL_JOB_COMMIT: job.commit ?? '',
  BUILDCTL_JOB_DESCRIPTION: job.description ?? '',
  BUILDCTL_JOB_ATTEMPT: String(job.attempts),
  BUILDCTL_JOB_LOG: log,
});

const reasonOf = (end: RunEnd, job: Job): string | null => {
  switch (end.kind) {
    case 'exited':
      return end.exitCode === 0 ? null : `exit code ${end.exitCode}`;
    case 'signal':
      return `killed by ${end.signal}`;
    case 'timeout':
      return `timed out after ${job.timeout ?? '?'}`;
    case 'lost_lease':
      return `lost its lease: ${end.reason}`;
  }
};

const outcomeOf = (end: RunEnd): RunOutcome =>
  end.kind === 'exited' ? (end.exitCode === 0 ? 'completed' : 'failed') : end.kind;

export const jobRun = async (ctx: Context, options: JobRunOptions): Promise<JobRunReport> => {
  const store = await openStore(ctx.storeDir);
  const { id: me } = await resolveActor(ctx);
  checkArtifactUrls(options.artifacts ?? [], options.artifactUrls ?? []);
  const logOf = (id: string) => join(options.logDir ? resolve(options.logDir) : defaultJobLogDir(ctx.storeDir), `${id}.log`);
  // What the result will commit is vetted before any work: a refusal after the command ran would lose its record.
  vetCommitted('job.run', { artifacts: options.artifacts, artifactUrls: options.artifactUrls, logDir: dirname(logOf('job')) }, ctx.allowSecretLike === true);
  const settings = await settingsOf(store);
  const timing = leaseTiming(settings.deadAfterMs, Math.min(settings.staleAfterMs / 2, MAX_RENEW_MS));
  checkLeaseTtl(settings.deadAfterMs, (await readLastWin(store))?.cycleMs, 'dead_after (the lease of a running job)');

  // The beat before the claim starts the lease: a builder whose last beat is old must not
  // claim a job that housekeeping would requeue at once.
  let beatSentAt = ctx.monotonic();
  const beat = async () => {
    const sentAt = ctx.monotonic();
    await heartbeat(ctx);
    beatSentAt = sentAt;
  };
  const claimed = await claimJobOp(ctx, { type: options.type, wait: options.wait, beforeClaim: beat });
  const job = claimed.job;
  const run = runIdentityOf(job);
  const log = logOf(job.id);

  let taken: { job: Job | undefined; how: string } | undefined;
  const lookAtJob = async () => {
    await fetchMain(store);
    const snapshot = openSnapshot(store);
    try {
      const current = findJob((await readMainOrThrow(snapshot, docs.jobs)) ?? { jobs: [] }, job.id);
      const how = takenFrom(current, me, run);
      if (how) {
        taken = { job: current, how };
        throw new LeaseLost(`job ${job.id} was taken from this run: ${how}`);
      }
    } finally {
      snapshot.close();
    }
  };

  const report = await superviseCommand({
    command: options.command,
    args: options.args,
    env: envOf(options.env, job, log),
    lease: {
      what: `job ${job.id}`,
      timing,
      grantedAt: beatSentAt,
      renew: async () => {
        await lookAtJob();
        await heartbeat(ctx);
      },
    },
    timeoutAt: job.timeout ? claimed.sentAt + parseDuration(job.timeout, 'timeout') : undefined,
    output: {
      kind: 'log',
      file: log,
      header: `=== buildctl job run ${job.id} (attempt ${job.attempts}) on ${me} at ${ctx.now().toISOString()}: ${[options.command, ...options.args].join(' ')} ===`,
      stdout: options.stdout,
      stderr: options.stderr,
    },
    monotonic: ctx.monotonic,
    warn: ctx.warn,
  }).catch(async (error: unknown) => {
    // CMD never started: the job goes back to the queue for a builder that can run it.
    await finishJobOp(ctx, 'release', { id: job.id, run, reason: error instanceof Error ? error.message : String(error) }).catch(() => undefined);
    throw error;
  });

  const { end } = report;
  let reason = reasonOf(end, job);
  let outcome = outcomeOf(end);
  let exitCode = end.exitCode;
  const record = (): RunRecord => ({
    outcome,
    exit_code: report.child.code,
    signal: report.child.signal,
    log,
    log_tail: report.tail,
  });
  const base = { exit_code: report.child.code, signal: report.child.signal, log, log_tail: report.tail };

  if (taken) {
    // Not this run's any more: nothing is written to it.
    return { job: taken.job ?? job, outcome: { changed: false, queued: false, commit: null }, run: { ...base, outcome: 'lost_lease', reason: `taken: ${taken.how}` }, exitCode: end.exitCode };
  }

  try {
    let finished;
    if (end.kind === 'lost_lease') {
      finished = await finishJobOp(ctx, 'release', { id: job.id, run, reason: reason ?? 'lost its lease', record: record() });
    } else if (outcome === 'completed') {
      try {
        finished = await finishJobOp(ctx, 'complete', { id: job.id, run, record: record(), artifacts: options.artifacts, artifactUrls: options.artifactUrls });
      } catch (error) {
        if (!(error instanceof BuildctlError && ARTIFACT_MISSING.has(error.code))) throw error;
        // The command said it succeeded but did not leave what it had to: a failed job.
        reason = `exit code 0, but ${error.message}`;
        outcome = 'failed';
        exitCode = 1;
        finished = await finishJobOp(ctx, 'fail', { id: job.id, run, reason, record: record() });
      }
    } else {
      finished = await finishJobOp(ctx, 'fail', { id: job.id, run, reason: reason ?? 'failed', record: record() });
    }
    return { job: finished.job, outcome: { changed: finished.changed, queued: finished.queued, commit: finished.commit }, run: { ...base, outcome, reason }, exitCode };
  } catch (error) {
    // The job moved on while the command ended (cancelled, timed out by housekeeping, ...):
    // what happened to it stands; the command's own end is still reported.
    if (!(error instanceof BuildctlError && error.kind === 'not_now')) throw error;
    ctx.warn(`job ${job.id}: ${error.message}; this run's end was not recorded on it`);
    return { job, outcome: { changed: false, queued: false, commit: null }, run: { ...base, outcome, reason }, exitCode };
  }
};
