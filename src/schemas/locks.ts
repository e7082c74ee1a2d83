import * as z from 'zod/mini';
import { builderId, timestamp } from './common.js';

export const lockName = z.string().check(
  z.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, ".", "_" or "-", at most 64 characters'),
);

export const lock = z.looseObject({
  name: lockName,
  owner: builderId,
  /** Fencing token: grows with every acquisition in the store. */
  token: z.int().check(z.gte(1)),
  acquired_at: timestamp,
  renewed_at: timestamp,
  expires_at: timestamp,
});

export const locksDoc = z.looseObject({
  locks: z.array(lock),
  /** The last fencing token handed out; the next acquisition gets last_token + 1. */
  last_token: z._default(z.int().check(z.gte(0)), 0),
  /**
   * The last locks an operator broke (`lock break`), newest last, at most BROKEN_KEPT:
   * who held it, who broke it and why. Housekeeping notifies each break once from here, and
   * the old holder's release or renew says who broke it (`reacquired`: the holder has
   * taken the lock again since, so that break is behind it).
   */
  broken: z.optional(
    z.array(
      z.looseObject({
        name: lockName,
        owner: builderId,
        token: z.int().check(z.gte(1)),
        broken_at: timestamp,
        by: z.string(),
        reason: z.string(),
        reacquired: z.optional(z.boolean()),
      }),
    ),
  ),
});

export type Lock = z.infer<typeof lock>;
export type BrokenLock = NonNullable<LocksDoc['broken']>[number];
export type LocksDoc = z.infer<typeof locksDoc>;
