import { setTimeout as sleep } from 'node:timers/promises';
import { parseDuration } from '../domain/durations.js';
import { acquireLock, breakLock, checkLockName, EMPTY_LOCKS, listLocks, releaseLock, renewLock, type AcquireOutcome, type LockView } from '../domain/locks.js';
import { BuildctlError } from '../errors.js';
import { docs } from '../schemas/layout.js';
import type { Lock, LocksDoc } from '../schemas/locks.js';
import { loadObservations } from '../store/observations.js';
import { openSnapshot } from '../store/snapshot.js';
import { fetchMain, openStore, type Store } from '../store/store.js';
import type { Context } from './context.js';
import { mutate, txOutcome, type Outcome } from './mutate.js';
import { readActingBuilder, readFleet } from './fleet-read.js';
import { adminActor, resolveActor } from './identity.js';
import { recordLook } from './observe.js';
import { fetchOrFallBack, readMainOrThrow } from './read.js';
import { trustAtBase } from './signed-writes.js';

export interface LockResult extends Outcome {
  lock: Lock;
  /** What the acquire did: a new lock, the holder's own lock renewed, or an expired one taken over. */
  outcome: AcquireOutcome | 'renewed';
  /** The monotonic time just before the winning try was sent: where the holder's lease starts. */
  sentAt: number;
}

/** A lock's name and TTL as given, checked alone (mutate runs it before the fetch). */
const checkLockInput = (name: string, ttl: string | undefined): void => {
  checkLockName(name);
  if (ttl !== undefined) parseDuration(ttl, 'TTL');
};

/** The TTL in ms: --ttl when given, else the fleet's lock_ttl setting. */
const ttlOf = (ttl: string | undefined, fallbackMs: number): number => (ttl === undefined ? fallbackMs : parseDuration(ttl, 'TTL'));

const acquireOnce = async (ctx: Context, store: Store, id: string, name: string, ttl: string | undefined, exclusive: boolean): Promise<LockResult> => {
  const sentAt = ctx.monotonic();
  const outcome = await mutate(ctx, store, {
    op: 'lock.acquire',
    actor: id,
    input: { name, ttl },
    check: () => checkLockInput(name, ttl),
    apply: async (read, base) => {
      const { settings } = await readActingBuilder(read, id);
      (await trustAtBase(base)).requireActable('lock', name, id);
      const doc = (await read(docs.locks)) ?? EMPTY_LOCKS;
      // The base was just fetched: this is a look, and a take-over needs this clone's own watch.
      const now = ctx.now();
      const observations = await recordLook(ctx, store, { main: { look: { from: now, at: now }, locks: doc.locks } });
      const step = acquireLock(doc, { name, owner: id, ttlMs: ttlOf(ttl, settings.lockTtlMs), now, exclusive, seen: observations.locks.entries });
      return {
        result: { lock: step.lock, outcome: step.outcome, sentAt },
        writes: [{ spec: docs.locks, value: step.doc }],
        summary: `lock.${step.outcome === 'renewed' ? 'renew' : 'acquire'} ${name} by ${id} token ${step.lock.token}`,
      };
    },
  });
  return { ...outcome.result, ...txOutcome(outcome) };
};

/**
 * Acquires NAME for this builder; with `wait`, keeps trying (about once a second, each try
 * a fresh transaction) until the lock is free or the wait is over, then exit 3.
 */
export const acquireLockOp = async (
  ctx: Context,
  options: { name: string; ttl?: string | undefined; wait?: string | undefined; exclusive?: boolean | undefined },
): Promise<LockResult> => {
  const store = await openStore(ctx.storeDir);
  const { id } = await resolveActor(ctx);
  const waitMs = options.wait === undefined ? 0 : parseDuration(options.wait, 'wait');
  const deadline = ctx.monotonic() + waitMs;
  for (;;) {
    try {
      return await acquireOnce(ctx, store, id, options.name, options.ttl, options.exclusive ?? false);
    } catch (error) {
      const held = error instanceof BuildctlError && error.code === 'lock_held';
      const left = deadline - ctx.monotonic();
      if (!held || left <= 0) throw error;
      await sleep(Math.min(left, 500 + Math.random() * 1000));
    }
  }
};

/**
 * Renews this builder's lock. `once`: a single try, refused at the first rejected push
 * (lock run retries on its own schedule, and a wait inside a transaction would eat its lease).
 */
export const renewLockOp = async (
  ctx: Context,
  options: { name: string; ttl?: string | undefined; token?: number | undefined; once?: boolean | undefined },
): Promise<LockResult> => {
  const store = await openStore(ctx.storeDir);
  const { id } = await resolveActor(ctx);
  const sentAt = ctx.monotonic();
  const outcome = await mutate(ctx, store, {
    op: 'lock.renew',
    actor: id,
    input: options,
    check: () => checkLockInput(options.name, options.ttl),
    apply: async (read, base) => {
      const { settings } = await readFleet(read);
      (await trustAtBase(base)).requireActable('lock', options.name, id);
      const step = renewLock((await read(docs.locks)) ?? EMPTY_LOCKS, {
        name: options.name,
        owner: id,
        ttlMs: ttlOf(options.ttl, settings.lockTtlMs),
        now: ctx.now(),
        token: options.token,
      });
      return { result: step.lock, writes: [{ spec: docs.locks, value: step.doc }], summary: `lock.renew ${options.name} by ${id}` };
    },
  }, options.once ? { maxAttempts: 1 } : {});
  return { lock: outcome.result, outcome: 'renewed', sentAt, ...txOutcome(outcome) };
};

/** Frees this builder's lock; with `token`, only if it is still that acquisition (lock run). */
export const releaseLockOp = async (ctx: Context, name: string, options: { token?: number | undefined } = {}): Promise<{ lock: Lock } & Outcome> => {
  const store = await openStore(ctx.storeDir);
  const { id } = await resolveActor(ctx);
  const outcome = await mutate(ctx, store, {
    op: 'lock.release',
    actor: id,
    input: { name },
    check: () => void checkLockName(name),
    apply: async (read, base) => {
      (await trustAtBase(base)).requireActable('lock', name, id);
      const step = releaseLock((await read(docs.locks)) ?? EMPTY_LOCKS, { name, owner: id, token: options.token, now: ctx.now() });
      return { result: step.released, writes: [{ spec: docs.locks, value: step.doc, removes: [name] }], summary: `lock.release ${name} by ${id}` };
    },
  });
  return { lock: outcome.result, ...txOutcome(outcome) };
};

/** The operator's forced release. The reason is an operator's words, kept in the commit. */
export const breakLockOp = async (ctx: Context, options: { name: string; reason: string }): Promise<{ lock: Lock; reason: string } & Outcome> => {
  const store = await openStore(ctx.storeDir);
  const actor = await adminActor(ctx);
  const outcome = await mutate(ctx, store, {
    op: 'lock.break',
    actor,
    input: options,
    check: () => void checkLockName(options.name),
    apply: async (read) => {
      const step = breakLock((await read(docs.locks)) ?? EMPTY_LOCKS, { name: options.name, reason: options.reason, by: actor, now: ctx.now() });
      return {
        result: { lock: step.broken, reason: step.reason },
        writes: [{ spec: docs.locks, value: step.doc, removes: [step.broken.name] }],
        summary: `lock.break ${options.name} held by ${step.broken.owner} token ${step.broken.token}: ${step.reason}`,
      };
    },
  });
  return { ...outcome.result, ...txOutcome(outcome) };
};

export const listLocksOp = async (ctx: Context, options: { fetch: boolean }): Promise<LockView[]> => {
  const store = await openStore(ctx.storeDir);
  const from = ctx.now();
  const fetched = options.fetch && (await fetchOrFallBack(() => fetchMain(store), ctx.warn)).fetched;
  const snapshot = openSnapshot(store);
  try {
    const doc: LocksDoc = (await readMainOrThrow(snapshot, docs.locks, ctx.warn)) ?? EMPTY_LOCKS;
    const now = ctx.now();
    const observations = fetched ? await recordLook(ctx, store, { main: { look: { from, at: now }, locks: doc.locks } }) : await loadObservations(store, ctx.warn);
    return listLocks(doc.locks, now, observations.locks.entries);
  } finally {
    snapshot.close();
  }
};
