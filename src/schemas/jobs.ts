import * as z from 'zod/mini';
import { builderId, duration, label, nonNegative, timestamp } from './common.js';

export const JOB_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled', 'dead'] as const;
export const jobStatus = z.enum(JOB_STATUSES);

export const jobId = z.string().check(
  z.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'letters, digits, ".", "_" or "-", at most 128 characters'),
);
export const jobType = z.string().check(
  z.regex(/^[a-z][a-z0-9._-]{0,63}$/, 'a lowercase letter, then lowercase letters, digits, ".", "_" or "-"'),
);

/** What a job produced, described, never stored: the file stays where the build left it. */
export const artifactManifest = z.looseObject({
  path: z.string().check(z.minLength(1)),
  size: z.int().check(z.gte(0)),
  sha256: z.string().check(z.regex(/^[0-9a-f]{64}$/, '64 lowercase hex digits')),
  url: z.optional(z.string()),
});

/** How a run of `job run` ended (the result's `outcome`). */
export const RUN_OUTCOMES = ['completed', 'failed', 'signal', 'timeout', 'lost_lease'] as const;

export const jobResult = z.looseObject({
  // Stores written before manifests hold plain paths: both stay readable.
  artifacts: z.optional(z.array(z.union([z.string(), artifactManifest]))),
  duration_seconds: z.optional(nonNegative),
  reason: z.optional(z.string()),
  outcome: z.optional(z.enum(RUN_OUTCOMES)),
  exit_code: z.optional(z.nullable(z.int())),
  signal: z.optional(z.nullable(z.string())),
  /** The run's log file on the assignee (not in the store). */
  log: z.optional(z.string()),
  /** The log's last lines, as recorded when the run ended. */
  log_tail: z.optional(z.array(z.string())),
});

/** Why a queued job cannot run until someone acts: a dependency failed, was cancelled, died, or is unknown. */
export const jobBlock = z.looseObject({
  by: z.string(),
  reason: z.string(),
  since: timestamp,
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
  // Job ids that must all be completed before this job may be claimed (the older
  // scripts' field, kept by name; their ids may be of any shape, so any string).
  dependencies: z.optional(z.array(z.string())),
  blocked: z.optional(z.nullable(jobBlock)),
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
export type ArtifactManifest = z.infer<typeof artifactManifest>;
export type RunOutcome = (typeof RUN_OUTCOMES)[number];
export type JobBlock = z.infer<typeof jobBlock>;
export type JobResult = z.infer<typeof jobResult>;
export type Job = z.infer<typeof job>;
export type JobsDoc = z.infer<typeof jobsDoc>;
