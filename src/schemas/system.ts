import * as z from 'zod/mini';
import { nonNegative } from './common.js';

/** One reading of a builder's system, as heartbeat.json and status.json carry it. */
export const systemSnapshot = z.looseObject({
  cpu_pct: nonNegative,
  memory_used_mb: nonNegative,
  memory_total_mb: nonNegative,
  disk_free_gb: nonNegative,
  disk_total_gb: z.optional(nonNegative),
  load_avg: z.tuple([nonNegative, nonNegative, nonNegative]),
  uptime_seconds: nonNegative,
});

export type SystemSnapshot = z.infer<typeof systemSnapshot>;
