import * as z from 'zod/mini';
import { builderId, nonNegative, timestamp } from './common.js';
import { systemSnapshot } from './system.js';

export const heartbeatDoc = z.looseObject({
  id: builderId,
  timestamp,
  host: z.string(),
  pid: z.int().check(z.gte(1)),
  version: z.string(),
  uptime_seconds: nonNegative,
  system: systemSnapshot,
});

export type HeartbeatDoc = z.infer<typeof heartbeatDoc>;
