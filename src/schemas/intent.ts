// An operation queued in a clone's outbox while the remote was unreachable
// (.git/buildctl/outbox/*.json, never committed). Read back with this schema: a file a crash
// left empty or half-written is set aside, never taken on trust.
import * as z from 'zod/mini';
import { timestamp } from './common.js';

export const intentDoc = z.object({
  /** Delivery order within this clone. */
  seq: z.int().check(z.gte(1)),
  /** The op id its commit will carry: delivery is exactly once. */
  op_id: z.string().check(z.regex(/^[A-Za-z0-9-]{4,64}$/, 'an op id')),
  /** Operation name, e.g. `msg.send`. */
  op: z.string().check(z.minLength(1), z.maxLength(64)),
  actor: z.string().check(z.minLength(1), z.maxLength(64)),
  queued_at: timestamp,
  /**
   * origin/main as this clone knew it when it queued: the op can only have landed after it,
   * so delivery looks for its op id in the commits since, whatever the clocks did.
   */
  base: z.optional(z.string().check(z.regex(/^([0-9a-f]{40}|[0-9a-f]{64})$/, 'a full commit id'))),
  /** Everything the operation needs to be applied later: ids and time included. */
  input: z.unknown(),
  /** Why it was queued. */
  reason: z.string(),
  /** The operator let a credential-like value through (--allow-secret-like); delivery keeps that choice. */
  allow_secret_like: z.optional(z.boolean()),
});

export type Intent = z.infer<typeof intentDoc>;
