// coordination/jobs.json of the older scripts: the same list, with times in other formats,
// `timestamp` for `created_at`, and a few other words for a job's status.
import { job as jobSchema, JOB_STATUSES, jobType } from '../../schemas/jobs.js';
import { changeLog, isObject, rename, type ChangeLog, type Json } from './changes.js';
import { convertTime } from './timestamps.js';
import type { LegacyConverter } from './types.js';

const STATUS_WORDS: Record<string, (typeof JOB_STATUSES)[number]> = {
  pending: 'queued',
  new: 'queued',
  assigned: 'running',
  claimed: 'running',
  in_progress: 'running',
  done: 'completed',
  success: 'completed',
  succeeded: 'completed',
  error: 'failed',
  failure: 'failed',
  canceled: 'cancelled',
};

const PRIORITY_WORDS: Record<string, number> = { critical: 1, urgent: 1, highest: 1, high: 2, medium: 5, normal: 5, low: 8, lowest: 10 };

const convertJob = (raw: Json, log: ChangeLog): Json => {
  const job: Json = { ...raw };
  const priority = typeof job.priority === 'string' ? PRIORITY_WORDS[job.priority.trim().toLowerCase()] ?? (/^\d+$/.test(job.priority.trim()) ? Number(job.priority) : undefined) : undefined;
  if (priority !== undefined) {
    job.legacy_priority = job.priority;
    log.name('priorities as numbers (the original kept in legacy_priority):', [`${String(job.priority)} -> ${priority}`]);
    job.priority = priority;
  }
  if (typeof job.type === 'string' && !jobType.safeParse(job.type).success) {
    const type = job.type.trim().toLowerCase().replace(/[^a-z0-9._-]+/g, '_').replace(/^[^a-z]+/, '');
    if (jobType.safeParse(type).success) {
      job.legacy_type = job.type;
      log.name('job types in lowercase form (the original kept in legacy_type):', [`${job.type} -> ${type}`]);
      job.type = type;
    }
  }
  if (rename(job, 'timestamp', 'created_at')) log.tally('"timestamp" renamed "created_at"');
  for (const field of ['created_at', 'started_at', 'completed_at', 'run_after']) convertTime(job, field, log);
  const word = typeof job.status === 'string' ? STATUS_WORDS[job.status.toLowerCase()] : undefined;
  if (word) {
    job.legacy_status = job.status;
    log.name('job statuses mapped (the original kept in legacy_status):', [`${String(job.status)} -> ${word}`]);
    job.status = word;
  }
  if (job.assigned_to === undefined) {
    job.assigned_to = null;
    log.tally('missing assigned_to set to null');
  }
  return job;
};

export const convertLegacyJobs: LegacyConverter = (json) => {
  if (!isObject(json) || !Array.isArray(json.jobs)) return undefined;
  const log = changeLog();
  let entries = 0;
  const jobs = json.jobs.map((entry: unknown) => {
    if (!isObject(entry) || jobSchema.safeParse(entry).success) return entry;
    entries++;
    return convertJob(entry, log);
  });
  return { value: { ...json, jobs }, changes: log.list(), removes: [], entries };
};
