import * as z from 'zod/mini';
import { builderId, duration, label, nonNegative, timestamp } from './common.js';

export const JOB_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled', 'dead'] as const;
export const jobStatus = z.enum(JOB_STATUSES);

export const jobId = z.string().check(
  z.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'a job id is letters, digits, ".", "_" or "-", at most 128 characters'),
);
export const jobType = z.string().check(
  z.regex(/^[a-z][a-z0-9._-]{0,63}$/, 'a job type is a lowercase letter, then lowercase letters, digits, ".", "_" or "-"'),
);

export const jobResult = z.looseObject({
  artifacts: z.optional(z.array(z.string())),
  duration_seconds: z.optional(nonNegative),
  reason: z.optional(z.string()),
});

export const job = z.looseObject({
  id: jobId,
  type: jobType,
  priority: z.int().check(z.gte(1), z.lte(100)),
  branch: z.optional(z.nullable(z.string())),
  commit: z.optional(z.nullable(z.string())),
  description: z.optional(z.nullable(z.string())),
  status: jobStatus,
  assigned_to: z.nullable(builderId),
  target: z.optional(z.nullable(builderId)),
  labels: z._default(z.array(label), []),
  key: z.optional(z.nullable(z.string())),
  attempts: z._default(z.int().check(z.gte(0)), 0),
  max_attempts: z._default(z.int().check(z.gte(1)), 3),
  run_after: z.optional(z.nullable(timestamp)),
  timeout: z.optional(z.nullable(duration)),
  created_at: timestamp,
  created_by: z.optional(z.string()),
  started_at: z.optional(z.nullable(timestamp)),
  completed_at: z.optional(z.nullable(timestamp)),
  result: z.optional(z.nullable(jobResult)),
});

export const jobsDoc = z.looseObject({
  jobs: z.array(job),
});

export type JobStatus = z.infer<typeof jobStatus>;
export type Job = z.infer<typeof job>;
export type JobsDoc = z.infer<typeof jobsDoc>;
