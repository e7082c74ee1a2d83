// Named locks with a TTL and fencing tokens (coordination/locks.json): pure transitions.
//
// Fencing: every ACQUISITION hands out last_token + 1, store-wide, so a protected
// resource that remembers the highest token it has seen can reject a holder whose lock
// expired and was taken by someone else. A re-acquire by the owner of a lock that is
// still valid is a RENEWAL and keeps the token (the holder never lost it, so nothing it
// did under that token became stale). Once a lock has expired it is free: taking it
// again, even by the same owner, is a new acquisition with a new token, because in the
// meantime the resource may have been told to expect a newer holder.
//
// Error kinds: a malformed name, owner or TTL is `usage` (exit 2); a lock held by
// another, not held, or expired is `not_now` (exit 3): the same command may succeed later.
//
// Time: a holder judges its own lock by its own timestamps (it wrote them), but a lock held
// by another is taken over only when this clone itself has seen that generation unchanged
// for its whole TTL (domain/clocks.ts): the holder's clock may be hours off.
import { notNowError, usageError } from '../errors.js';
import { lockName, type BrokenLock, type Lock, type LocksDoc } from '../schemas/locks.js';
import type { Sighting } from '../schemas/observations.js';
import { displayLeftMs, judgeLock, lockTtlMs, type LockJudgement } from './clocks.js';
import { formatAge, formatTime } from './format.js';
import { checkBuilderId } from './ids.js';
import { checkText } from './text.js';

export const EMPTY_LOCKS: LocksDoc = { locks: [], last_token: 0 };

export const checkLockName = (name: string): string => {
  if (!lockName.safeParse(name).success) {
    throw usageError(`invalid lock name "${name}"`, {
      code: 'invalid_lock_name',
      hint: 'a lock name is letters, digits, ".", "_" or "-", at most 64 characters (e.g. deploy-prod)',
    });
  }
  return name;
};

const checkTtl = (ttlMs: number): number => {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw usageError(`invalid lock TTL ${String(ttlMs)} ms`, { code: 'invalid_ttl', hint: 'give a TTL longer than zero, e.g. --ttl 30s' });
  }
  return ttlMs;
};

export const findLock = (doc: LocksDoc, name: string): Lock | undefined => doc.locks.find((lock) => lock.name === name);

/** By its own timestamps, a lock is expired at and after its expires_at (the holder's view of its own lock). */
export const isExpired = (lock: Lock, now: Date): boolean => Date.parse(lock.expires_at) <= now.getTime();

/**
 * The next fencing token. Normally last_token + 1; the maximum over held locks guards
 * against a document whose last_token lags its locks (hand-edited or older), so tokens
 * still only grow.
 */
const nextToken = (doc: LocksDoc): number => Math.max(doc.last_token, ...doc.locks.map((l) => l.token)) + 1;

const withLock = (doc: LocksDoc, lock: Lock): LocksDoc => {
  const others = doc.locks.filter((l) => l.name !== lock.name);
  return { ...doc, locks: [...others, lock].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) };
};

const withoutLock = (doc: LocksDoc, name: string): LocksDoc => ({ ...doc, locks: doc.locks.filter((l) => l.name !== name) });

const expiry = (now: Date, ttlMs: number): string => new Date(now.getTime() + ttlMs).toISOString();

const heldByAnother = (lock: Lock, judged: LockJudgement, sameOwner = false) => {
  const left = formatAge(judged.leftMs);
  const who = `${lock.owner}${sameOwner ? ' (another holder on this builder)' : ''}`;
  const message = judged.expiredByItsClock && !sameOwner
    ? `lock "${lock.name}" is held by ${who}: its expiry (${formatTime(lock.expires_at)}) has passed by ${lock.owner}'s clock, but this clone has seen it unchanged for only ${formatAge(judged.watchedMs)} of its ${formatAge(lockTtlMs(lock))} TTL (free to take in ${left})`
    : `lock "${lock.name}" is held by ${who} until ${formatTime(lock.expires_at)} (${left} left)`;
  return notNowError(message, {
    code: 'lock_held',
    hint: `wait for it (--wait ${formatAge(judged.leftMs + 5000)}), or if ${lock.owner} is gone: buildctl lock break ${lock.name} --reason "..."`,
    details: { owner: lock.owner, token: lock.token, expires_at: lock.expires_at, free_in_seconds: Math.ceil(judged.leftMs / 1000) },
  });
};

/** The owner's own view of its valid lock (its own clock): time left by its expiry. */
const ownJudgement = (lock: Lock, now: Date): LockJudgement => {
  const left = Math.max(0, Date.parse(lock.expires_at) - now.getTime());
  return { expired: false, watchedMs: 0, leftMs: left, expiredByItsClock: false };
};

const notHeld = (name: string) =>
  notNowError(`lock "${name}" is not held`, { code: 'lock_not_held', hint: 'see the locks with "buildctl lock list"' });

/**
 * The last break of `owner`'s hold on `name` that it has not acquired the lock again since
 * (locks.json `broken`, kept for notifications too: acquiring marks it `reacquired`).
 */
const breakOf = (doc: LocksDoc, name: string, owner: string): BrokenLock | undefined =>
  (doc.broken ?? []).filter((b) => b.name === name && b.owner === owner && b.reacquired !== true).at(-1);

/** The holder's release or renew of a lock broken under it: who broke it, when and why (exit 3). */
const brokenUnder = (record: BrokenLock, current: Lock | undefined) =>
  notNowError(
    `lock "${record.name}" was broken by ${record.by} at ${formatTime(record.broken_at)} while ${record.owner} held it (token ${record.token}): ${record.reason}` +
      (current ? `; ${current.owner} holds it now (token ${current.token})` : '; nobody holds it now'),
    {
      code: 'lock_broken',
      hint: current ? `it is not yours any more; wait for it: buildctl lock acquire ${record.name} --wait ...` : `acquire it again if you still need it: buildctl lock acquire ${record.name} (a new token)`,
      details: { name: record.name, owner: record.owner, token: record.token, by: record.by, broken_at: record.broken_at, reason: record.reason, holder: current?.owner ?? null },
    },
  );

/** Marks the owner's earlier broken holds of `name` as behind it once it holds the lock again. */
const reacquiredBy = (doc: LocksDoc, name: string, owner: string): LocksDoc =>
  doc.broken?.some((b) => b.name === name && b.owner === owner && b.reacquired !== true)
    ? { ...doc, broken: doc.broken.map((b) => (b.name === name && b.owner === owner ? { ...b, reacquired: true } : b)) }
    : doc;

const ownedByAnother = (lock: Lock, owner: string) =>
  notNowError(`lock "${lock.name}" is held by ${lock.owner}, not ${owner}`, {
    code: 'not_lock_owner',
    hint: `only ${lock.owner} may renew or release it; an operator can use "buildctl lock break ${lock.name} --reason ..."`,
    details: { owner: lock.owner, token: lock.token, expires_at: lock.expires_at },
  });

export interface LeaseInput {
  name: string;
  owner: string;
  ttlMs: number;
  now: Date;
}

export interface AcquireInput extends LeaseInput {
  /**
   * A holder that must be the only one (`lock run`): a valid lock of the same owner is held
   * too (another process of this builder has it), never renewed for a second holder.
   */
  exclusive?: boolean | undefined;
  /**
   * This clone's sightings of locks, by name (domain/clocks.ts): another's lock is free to
   * take only when this clone has seen it unchanged for its whole TTL.
   */
  seen: Readonly<Record<string, Sighting>>;
}

/** Renew and release by a holder that knows its token: a lock taken again since (same owner, new token) is not its. */
export interface HolderInput extends LeaseInput {
  token?: number | undefined;
}

const checkToken = (lock: Lock, token: number | undefined): void => {
  if (token === undefined || lock.token === token) return;
  throw notNowError(`lock "${lock.name}" was taken again (token ${lock.token}, held by ${lock.owner}): token ${token} is no longer held`, {
    code: 'lock_token_changed',
    hint: 'another holder has it now; acquire it again for a new token',
    details: { owner: lock.owner, token: lock.token, expires_at: lock.expires_at },
  });
};

export type AcquireOutcome = 'acquired' | 'renewed' | 'taken_over';

/**
 * Takes a free lock with a new fencing token, or renews it when `owner` already holds it
 * (same token). Another builder's lock is taken over (new token; `previous` is the lock
 * replaced) only when this clone watched it unchanged for its whole TTL; the owner's own
 * lock that expired by its own clock is acquired anew.
 */
export const acquireLock = (
  doc: LocksDoc,
  input: AcquireInput,
): { doc: LocksDoc; lock: Lock; outcome: AcquireOutcome; previous?: Lock | undefined } => {
  const name = checkLockName(input.name);
  const owner = checkBuilderId(input.owner, 'lock owner');
  const ttlMs = checkTtl(input.ttlMs);
  const stamp = input.now.toISOString();
  const current = findLock(doc, name);
  if (current && current.owner === owner && !isExpired(current, input.now)) {
    if (input.exclusive) throw heldByAnother(current, ownJudgement(current, input.now), true);
    const lock: Lock = { ...current, renewed_at: stamp, expires_at: expiry(input.now, ttlMs) };
    return { doc: withLock(doc, lock), lock, outcome: 'renewed' };
  }
  if (current && current.owner !== owner) {
    const judged = judgeLock(current, Object.hasOwn(input.seen, name) ? input.seen[name] : undefined, input.now);
    if (!judged.expired) throw heldByAnother(current, judged);
  }
  const token = nextToken(doc);
  const lock: Lock = { name, owner, token, acquired_at: stamp, renewed_at: stamp, expires_at: expiry(input.now, ttlMs) };
  return {
    doc: { ...withLock(reacquiredBy(doc, name, owner), lock), last_token: token },
    lock,
    outcome: current ? 'taken_over' : 'acquired',
    previous: current,
  };
};

/**
 * Extends the owner's valid lock by `ttlMs` from now. An expired lock is not renewed even
 * if nobody took it: its token may already be fenced off, so the owner must acquire again.
 */
export const renewLock = (doc: LocksDoc, input: HolderInput): { doc: LocksDoc; lock: Lock } => {
  const name = checkLockName(input.name);
  const owner = checkBuilderId(input.owner, 'lock owner');
  const ttlMs = checkTtl(input.ttlMs);
  const current = findLock(doc, name);
  const broken = breakOf(doc, name, owner);
  if (broken && current?.owner !== owner) throw brokenUnder(broken, current);
  if (!current) throw notHeld(name);
  if (current.owner !== owner) throw ownedByAnother(current, owner);
  checkToken(current, input.token);
  if (isExpired(current, input.now)) {
    throw notNowError(`lock "${name}" expired at ${formatTime(current.expires_at)}`, {
      code: 'lock_expired',
      hint: `acquire it again: buildctl lock acquire ${name} (you get a new token)`,
      details: { token: current.token, expires_at: current.expires_at },
    });
  }
  const lock: Lock = { ...current, renewed_at: input.now.toISOString(), expires_at: expiry(input.now, ttlMs) };
  return { doc: withLock(doc, lock), lock };
};

/** Frees the owner's lock (also after it expired: it is still theirs to clean up). */
export const releaseLock = (doc: LocksDoc, input: { name: string; owner: string; token?: number | undefined; now: Date }): { doc: LocksDoc; released: Lock } => {
  const name = checkLockName(input.name);
  const owner = checkBuilderId(input.owner, 'lock owner');
  const current = findLock(doc, name);
  const broken = breakOf(doc, name, owner);
  if (broken && current?.owner !== owner) throw brokenUnder(broken, current);
  if (!current) throw notHeld(name);
  if (current.owner !== owner) throw ownedByAnother(current, owner);
  checkToken(current, input.token);
  return { doc: withoutLock(doc, name), released: current };
};

/** How many broken locks locks.json remembers (for notifications and the dashboard). */
export const BROKEN_KEPT = 20;

/**
 * The operator's forced release, whoever holds it. The reason is required; the break is
 * remembered in locks.json's `broken` list (the last BROKEN_KEPT) so that housekeeping can
 * notify it, and the commit names it too.
 */
export const breakLock = (
  doc: LocksDoc,
  input: { name: string; reason: string; by: string; now: Date },
): { doc: LocksDoc; broken: Lock; reason: string; wasExpired: boolean } => {
  const name = checkLockName(input.name);
  const reason = input.reason.trim();
  if (!reason) throw usageError('a reason is required to break a lock', { code: 'reason_required', hint: 'add --reason "why it must be freed"' });
  checkText(reason, 'reason', { multiline: false });
  const current = findLock(doc, name);
  if (!current) throw notHeld(name);
  const record = { name, owner: current.owner, token: current.token, broken_at: input.now.toISOString(), by: input.by, reason };
  const next = { ...withoutLock(doc, name), broken: [...(doc.broken ?? []), record].slice(-BROKEN_KEPT) };
  return { doc: next, broken: current, reason, wasExpired: isExpired(current, input.now) };
};

export interface LockView {
  name: string;
  /** The holder (owner) of the lock. */
  owner: string;
  token: number;
  acquired_at: string;
  expires_at: string;
  seconds_left: number;
  expired: boolean;
}

/**
 * Rows for `lock list` and `status`, by name. An expired lock stays listed (as expired) until
 * reaped. Time left is the holder's expiry time held within what this clone saw (`seen`),
 * so a holder whose clock is off does not show a lock hours too long or already gone.
 */
export const listLocks = (locks: readonly Lock[], now: Date, seen: Readonly<Record<string, Sighting>> = {}): LockView[] =>
  [...locks]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((lock) => {
      // A lock with 0.4 s left is still held and shows 1 s left, never 0.
      const leftMs = displayLeftMs(lock, Object.hasOwn(seen, lock.name) ? seen[lock.name] : undefined, now);
      return {
        name: lock.name,
        owner: lock.owner,
        token: lock.token,
        acquired_at: lock.acquired_at,
        expires_at: lock.expires_at,
        seconds_left: Math.max(0, Math.ceil(leftMs / 1000)),
        expired: leftMs <= 0,
      };
    });
