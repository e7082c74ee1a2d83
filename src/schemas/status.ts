import * as z from 'zod/mini';
import { builderId, nonNegative, timestamp } from './common.js';
import { systemSnapshot } from './system.js';

export const BUILDER_STATES = ['idle', 'building', 'failed', 'success'] as const;
export const builderState = z.enum(BUILDER_STATES);

export const lastBuild = z.looseObject({
  job: z.nullable(z.string()),
  status: z.enum(['success', 'failed', 'cancelled']),
  finished_at: timestamp,
  duration_seconds: z.optional(nonNegative),
  artifacts: z.optional(z.array(z.string())),
  reason: z.optional(z.string()),
});

export const statusDoc = z.looseObject({
  id: builderId,
  state: builderState,
  current_job: z.nullable(z.string()),
  last_build: z.nullable(lastBuild),
  system: z.optional(z.nullable(systemSnapshot)),
  updated_at: timestamp,
});

export type BuilderState = z.infer<typeof builderState>;
export type LastBuild = z.infer<typeof lastBuild>;
export type StatusDoc = z.infer<typeof statusDoc>;
