import * as z from 'zod/mini';
import { builderId, nonNegative, timestamp } from './common.js';
import { systemSnapshot } from './system.js';

/**
 * buildctl writes every field; only id and timestamp are required, because heartbeats
 * written by older tools (and migrated by `buildctl migrate`) know no more than that.
 */
export const heartbeatDoc = z.looseObject({
  id: builderId,
  timestamp,
  host: z.optional(z.string()),
  pid: z.optional(z.int().check(z.gte(1))),
  version: z.optional(z.string()),
  uptime_seconds: z.optional(nonNegative),
  system: z.optional(systemSnapshot),
  /**
   * Set when this beat took the ref back from another agent beating as the same id (a copied
   * id file): what that other agent's last beat said. Both agents report it every beat until
   * one stops; `status` shows it.
   */
  duplicate: z.optional(
    z.looseObject({
      detected_at: timestamp,
      other_host: z.nullable(z.string()),
      other_pid: z.nullable(z.int()),
      other_beat_at: z.nullable(z.string()),
    }),
  ),
});

export type HeartbeatDoc = z.infer<typeof heartbeatDoc>;
