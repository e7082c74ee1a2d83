// A builder's own status document (<id>/status.json).
import { usageError } from '../errors.js';
import { jobId, type Job } from '../schemas/jobs.js';
import type { BuilderState, LastBuild, StatusDoc } from '../schemas/status.js';
import { BUILDER_STATES } from '../schemas/status.js';
import type { SystemSnapshot } from '../schemas/system.js';

export const isBuilderState = (value: string): value is BuilderState => (BUILDER_STATES as readonly string[]).includes(value);

export const initialStatus = (id: string, now: Date): StatusDoc => ({
  id,
  state: 'idle',
  current_job: null,
  last_build: null,
  updated_at: now.toISOString(),
});

/**
 * The state and job of a `status set`, checked alone: wrong whatever the store holds, so
 * refused before the store is asked (and while its remote is unreachable).
 */
export const checkStateInput = (input: { state: string; job?: string | undefined }): BuilderState => {
  const { state } = input;
  if (!isBuilderState(state)) {
    throw usageError(`unknown state "${state}"`, { code: 'invalid_state', hint: `states are: ${BUILDER_STATES.join(', ')}` });
  }
  // The job is shown in every `status` table: a job id, not free text (no "/", spaces or controls).
  if (input.job !== undefined && !jobId.safeParse(input.job).success) {
    throw usageError(`invalid job id ${JSON.stringify(input.job)}`, { code: 'invalid_job_id', hint: 'a job id is letters, digits, ".", "_" or "-", at most 128 characters' });
  }
  return state;
};

export interface SetStateInput {
  id: string;
  state: string;
  job?: string | undefined;
  system?: SystemSnapshot | undefined;
  /** For success / failed: what the finished build left (recorded in last_build). */
  details?: Pick<LastBuild, 'duration_seconds' | 'artifacts' | 'reason'> | undefined;
  now: Date;
}

/**
 * Sets the builder's state. `building` takes the job it builds; `success` and `failed`
 * close the current (or given) job into last_build; `idle` clears the current job.
 * Setting the state it already has, for the same job, changes nothing (no commit).
 */
export const setBuilderState = (current: StatusDoc | undefined, input: SetStateInput): StatusDoc => {
  const { now } = input;
  const state = checkStateInput(input);
  const base = current ?? initialStatus(input.id, now);
  const stamp = now.toISOString();
  let next: StatusDoc;
  if (state === 'building') {
    next = { ...base, state, current_job: input.job ?? base.current_job };
  } else if (state === 'idle') {
    next = { ...base, state, current_job: null };
  } else {
    const alreadyClosed = base.state === state && (input.job === undefined || base.last_build?.job === input.job);
    const lastBuild: LastBuild = { job: input.job ?? base.current_job, status: state, finished_at: stamp, ...definedOnly(input.details ?? {}) };
    next = { ...base, state, current_job: null, last_build: alreadyClosed ? base.last_build : lastBuild };
  }
  if (input.system) next = { ...next, system: input.system };
  const same = current !== undefined && JSON.stringify(next) === JSON.stringify(base);
  return same ? base : { ...next, updated_at: stamp };
};

const definedOnly = <T extends object>(value: T): Partial<T> =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;

/**
 * When a running job ends or goes back to the queue (complete, fail, cancel, housekeeping's
 * requeue or time-out), its assignee's status follows in the same commit: the job leaves
 * current_job (and becomes last_build when it finished). Only when that status still shows
 * the job; undefined when nothing changes.
 */
export const assigneeStatusAfter = (status: StatusDoc | undefined, before: Job, after: Job, now: Date): StatusDoc | undefined => {
  const assignee = before.assigned_to;
  if (before.status !== 'running' || !assignee || !status || status.current_job !== before.id) return undefined;
  const state = after.status === 'completed' ? 'success' : after.status === 'cancelled' || after.status === 'queued' ? 'idle' : 'failed';
  const next = setBuilderState(status, {
    id: assignee,
    state,
    job: before.id,
    now,
    details: {
      duration_seconds: after.result?.duration_seconds,
      artifacts: after.result?.artifacts?.map((a) => (typeof a === 'string' ? a : a.path)),
      reason: after.result?.reason,
    },
  });
  return next === status ? undefined : next;
};
