// A lease held by a process that supervises a command: a lock's TTL (`lock run`), or a
// job's (`job run`: its builder's heartbeat must stay younger than dead_after). Pure
// timing rules; ops/supervise.ts measures and acts on them.
//
// The holder measures its lease from just BEFORE it sent the grant or the renewal: the
// grant lands after that, so every observer's view of the expiry falls after the holder's.
// It renews a third of the TTL after the last confirmed renewal was sent (never before the
// previous try finished); a try that failed is retried soon. When no renewal could be
// confirmed by the TTL minus a margin, the command is stopped: SIGTERM at that point,
// SIGKILL half the margin later, so it is gone before anyone else may take the lease over.
import { usageError } from '../errors.js';

/**
 * `lock run` and `job run` exit with this when they stopped the command because the lease
 * was lost. Not 0-5 (buildctl's own codes), not 124-127 (timeout(1) and the shell's
 * cannot-run codes), not 128+n for any signal a Linux process can die of (up to 128+64 =
 * 192), not 255 (ssh), and below the 200-254 that systemd reports as its own failures:
 * commands rarely pick a code this high.
 */
export const LOST_LEASE_EXIT_CODE = 199;

/** `job run` exits with this when it stopped the command at the job's timeout, as timeout(1) does. */
export const TIMEOUT_EXIT_CODE = 124;

/** No lease shorter than this: timers and process start-up need some room on a busy host. */
export const MIN_LEASE_TTL_MS = 2_000;

/**
 * A lease must fit this many transaction cycles of the store: the first renewal goes at a
 * third of the TTL, the command is stopped a quarter before its end, and what is left
 * (5/12 of the TTL) must hold two renewal tries (4.8 cycles, rounded up).
 */
export const TTL_CYCLES = 5;

/** Longest margin before the end of a lease: a one-hour TTL need not stop 15 minutes early. */
const MAX_MARGIN_MS = 30_000;

export interface LeaseTiming {
  ttlMs: number;
  /** How long after the last confirmed renewal was sent the next one is sent. */
  renewEveryMs: number;
  /** The command is stopped this long before the lease would end without a renewal. */
  marginMs: number;
  /** From SIGTERM to SIGKILL. */
  graceMs: number;
  /** After a failed try, the next one this much later. */
  retryMs: number;
}

const clamp = (value: number, low: number, high: number): number => Math.min(high, Math.max(low, value));

/** The schedule of a lease of `ttlMs`; `renewEveryMs` may ask for renewals more often than a third of the TTL. */
export const leaseTiming = (ttlMs: number, renewEveryMs: number = ttlMs / 3): LeaseTiming => {
  const marginMs = Math.min(ttlMs / 4, MAX_MARGIN_MS);
  return {
    ttlMs,
    renewEveryMs: Math.min(renewEveryMs, ttlMs / 3),
    marginMs,
    graceMs: marginMs / 2,
    retryMs: clamp(ttlMs / 12, 200, 2_000),
  };
};

/** When the command must be stopped if no renewal sent after `confirmedSentAt` is confirmed. */
export const stopPoint = (confirmedSentAt: number, timing: LeaseTiming): number => confirmedSentAt + timing.ttlMs - timing.marginMs;

/**
 * When to send the next renewal: a third of the TTL after the last confirmed one was sent,
 * never before the previous try finished; soon after a failed try.
 */
export const nextRenewal = (confirmedSentAt: number, lastFinishedAt: number, lastFailed: boolean, timing: LeaseTiming): number =>
  lastFailed ? lastFinishedAt + timing.retryMs : Math.max(lastFinishedAt, confirmedSentAt + timing.renewEveryMs);

/** The shortest TTL this store allows a supervised lease: TTL_CYCLES of its last measured cycle, at least the floor. */
export const minLeaseTtlMs = (cycleMs: number | undefined): number => Math.max(MIN_LEASE_TTL_MS, TTL_CYCLES * Math.max(0, cycleMs ?? 0));

/** A lease length as operators write it: 500ms, 6s, 4.5s (domain/format.ts's ages are whole seconds). */
const formatMs = (ms: number): string => (ms < 1000 ? `${Math.round(ms)}ms` : ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`);

/** Refuses (exit 2) a lease too short to be renewed reliably on this store. */
export const checkLeaseTtl = (ttlMs: number, cycleMs: number | undefined, what: string): number => {
  const min = minLeaseTtlMs(cycleMs);
  if (ttlMs >= min) return ttlMs;
  const measured = cycleMs === undefined ? '' : `this store's last transaction took ${Math.round(cycleMs)} ms, and `;
  throw usageError(`${what} ${formatMs(ttlMs)} is too short: ${measured}a lease must be at least ${TTL_CYCLES} cycles and never under ${formatMs(MIN_LEASE_TTL_MS)}`, {
    code: 'ttl_too_short',
    hint: `use at least ${formatMs(Math.ceil(min / 1000) * 1000)}`,
    details: { ttl_ms: ttlMs, min_ttl_ms: min, cycle_ms: cycleMs ?? null },
  });
};

/** The exit code a shell reports for a process killed by signal number `n`. */
export const signalExitCode = (signalNumber: number): number => 128 + signalNumber;

/** Why a lease counts as lost at its stop point: "lock deploy could not be renewed for 4.5s of its 6s lease". */
export const unconfirmedReason = (what: string, sinceConfirmedMs: number, timing: LeaseTiming): string =>
  `${what} could not be renewed for ${formatMs(Math.round(sinceConfirmedMs / 100) * 100)} of its ${formatMs(timing.ttlMs)} lease`;
