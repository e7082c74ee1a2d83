import * as z from 'zod/mini';
import { builderId, duration } from './common.js';
import { notifyTarget } from './notify.js';

/** coordination/config.json: every key optional, flat snake_case. */
export const configShape = {
  stale_after: z.optional(duration),
  dead_after: z.optional(duration),
  schedule: z.optional(z.string().check(z.minLength(1))),
  metrics_window: z.optional(duration),
  lock_ttl: z.optional(duration),
  job_max_attempts: z.optional(z.int().check(z.gte(1), z.lte(100))),
  job_retention: z.optional(duration),
  message_retention: z.optional(duration),
  subject_max: z.optional(z.int().check(z.gte(1), z.lte(1000))),
  body_max: z.optional(z.int().check(z.gte(1), z.lte(1_000_000))),
  /** A builder clock further off than this from an observer's is shown (status), logged (agent) and a warning (check). */
  max_clock_skew: z.optional(duration),
  /** `buildctl check`: a job running longer than this (without a timeout of its own) is a warning. */
  check_job_running: z.optional(duration),
  /** `buildctl check`: a message still awaiting an ack this long after it was sent is a warning. */
  check_unacked_after: z.optional(duration),
  /**
   * While a fleet moves to buildctl builder by builder: the builders still running the
   * older scripts. Messages for them are stored the way those scripts read them.
   */
  legacy_readers: z.optional(z.array(builderId)),
  /** Notifications: the most one agent tick spends delivering (a dead endpoint waits for the next tick). */
  notify_timeout: z.optional(duration),
  /** Notifications: at most this many deliveries per target per hour, from one builder. */
  notify_rate_limit: z.optional(z.int().check(z.gte(1), z.lte(10_000))),
  /** Notifications: more events than this for one target at once are sent as one summary. */
  notify_storm: z.optional(z.int().check(z.gte(1), z.lte(1000))),
  /**
   * Trust: act only on state whose latest change is signed by the builder it belongs to
   * (METHODOLOGY.md, "Trust"). An operator action to change; refused on while a registered
   * builder has no key.
   */
  require_signed_writes: z.optional(z.boolean()),
};

export const configDoc = z.looseObject({
  ...configShape,
  /** Where notifications go (buildctl notify add); not a setting of `config set`. */
  notify_targets: z.optional(z.array(notifyTarget)),
});

export type ConfigKey = keyof typeof configShape;
export type ConfigDoc = z.infer<typeof configDoc>;
export const CONFIG_KEYS = Object.keys(configShape) as ConfigKey[];
