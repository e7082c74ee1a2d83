import * as z from 'zod/mini';
import { builderId, nonNegative, timestamp } from './common.js';

export const HEALTH_STATES = ['healthy', 'stale', 'dead', 'unknown'] as const;
export const health = z.enum(HEALTH_STATES);

/**
 * shared/health_dashboard.json. It holds states, not heartbeat times: it is rewritten only
 * when its content changes, and a heartbeat time would change it every minute.
 */
export const dashboardDoc = z.looseObject({
  updated_at: timestamp,
  builders: z.array(
    z.looseObject({
      id: builderId,
      health,
      state: z.nullable(z.string()),
      current_job: z.nullable(z.string()),
    }),
  ),
  counts: z.record(health, z.int().check(z.gte(0))),
  queue: z.record(z.string(), nonNegative),
});

export type Health = z.infer<typeof health>;
export type DashboardDoc = z.infer<typeof dashboardDoc>;
