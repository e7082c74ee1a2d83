// `buildctl lock run NAME -- CMD ...`: hold a lock for exactly as long as a command runs,
// and never longer than the lock is really held (see domain/lease.ts and ops/supervise.ts).
import { parseDuration } from '../domain/durations.js';
import { checkLeaseTtl, leaseTiming } from '../domain/lease.js';
import { effectiveSettings } from '../domain/config.js';
import { BuildctlError } from '../errors.js';
import { docs } from '../schemas/layout.js';
import type { Lock } from '../schemas/locks.js';
import { openSnapshot } from '../store/snapshot.js';
import { openStore } from '../store/store.js';
import { readLastWin } from './mutate.js';
import type { Context } from './context.js';
import { acquireLockOp, releaseLockOp, renewLockOp } from './locks.js';
import { readMainOrThrow } from './read.js';
import { LeaseLost, superviseCommand, type RunEnd } from './supervise.js';

export interface LockRunOptions {
  name: string;
  ttl?: string | undefined;
  wait?: string | undefined;
  command: string;
  args: string[];
  /** The command's environment (the caller's, plus BUILDCTL_LOCK_NAME and BUILDCTL_LOCK_TOKEN). */
  env: NodeJS.ProcessEnv;
}

export interface LockRunReport {
  lock: Lock;
  end: RunEnd;
  /** What `lock run` exits with: the command's code, 128 + signal, or the lost-lease code. */
  exitCode: number;
  /** Whether the lock was released at the end (false when it was no longer ours, or the remote was out of reach). */
  released: boolean;
}

/** Refusals of a renewal that mean the lock is not ours any more: stop, and do not try again. */
const LOST_CODES = new Set(['lock_not_held', 'not_lock_owner', 'lock_expired', 'lock_token_changed']);

/** The TTL lock run will use: --ttl, else the fleet's lock_ttl as last fetched. */
const ttlMsOf = async (ctx: Context, ttl: string | undefined): Promise<number> => {
  if (ttl !== undefined) return parseDuration(ttl, 'TTL');
  const snapshot = openSnapshot(await openStore(ctx.storeDir));
  try {
    return effectiveSettings(await readMainOrThrow(snapshot, docs.config)).lockTtlMs;
  } finally {
    snapshot.close();
  }
};

/**
 * Acquires the lock (exclusively: a second `lock run` of the same builder waits too), runs
 * the command with BUILDCTL_LOCK_NAME and BUILDCTL_LOCK_TOKEN set, renews it while the
 * command runs, and releases it when the command ends, if it is still this acquisition.
 */
export const lockRun = async (ctx: Context, options: LockRunOptions): Promise<LockRunReport> => {
  const store = await openStore(ctx.storeDir);
  const ttlMs = await ttlMsOf(ctx, options.ttl);
  checkLeaseTtl(ttlMs, (await readLastWin(store))?.cycleMs, `lock run --ttl`);
  if (options.wait !== undefined) parseDuration(options.wait, 'wait');
  const ttl = `${ttlMs}ms`;
  const acquired = await acquireLockOp(ctx, { name: options.name, ttl, wait: options.wait, exclusive: true });
  const token = acquired.lock.token;
  const report = await superviseCommand({
    command: options.command,
    args: options.args,
    env: { ...options.env, BUILDCTL_LOCK_NAME: options.name, BUILDCTL_LOCK_TOKEN: String(token) },
    lease: {
      what: `lock ${options.name}`,
      timing: leaseTiming(ttlMs),
      grantedAt: acquired.sentAt,
      renew: async () => {
        try {
          await renewLockOp(ctx, { name: options.name, ttl, token, once: true });
        } catch (error) {
          if (error instanceof BuildctlError && LOST_CODES.has(error.code)) throw new LeaseLost(`lock ${options.name} was lost: ${error.message}`);
          throw error;
        }
      },
    },
    output: { kind: 'inherit' },
    monotonic: ctx.monotonic,
    warn: ctx.warn,
  }).catch(async (error: unknown) => {
    await releaseLockOp(ctx, options.name, { token }).catch(() => undefined);
    throw error;
  });
  // Only this acquisition is released: if the lock expired and was taken, or taken again by
  // another holder of this builder, the token no longer matches and nothing is touched.
  const released = await releaseLockOp(ctx, options.name, { token }).then(
    () => true,
    (error: unknown) => {
      const mine = !(error instanceof BuildctlError && LOST_CODES.has(error.code));
      if (report.end.kind !== 'lost_lease' || mine) {
        ctx.warn(`could not release lock ${options.name}: ${error instanceof Error ? error.message : String(error)}${mine ? '; it expires by itself' : ''}`);
      }
      return false;
    },
  );
  return { lock: acquired.lock, end: report.end, exitCode: report.end.exitCode, released };
};
