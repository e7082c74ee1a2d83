import { addJob, cancelJob, claimJob, completeJob, failJob, listJobs, nothingToClaimError, requireJob, retryJob, type AddJobInput } from '../domain/jobs.js';
import { setBuilderState } from '../domain/status.js';
import type { Job, JobsDoc } from '../schemas/jobs.js';
import { docs } from '../schemas/layout.js';
import type { StatusDoc } from '../schemas/status.js';
import { openSnapshot } from '../store/snapshot.js';
import { fetchMain, openStore } from '../store/store.js';
import { transact, type ReadDoc, type Write } from '../store/transaction.js';
import type { Context } from './context.js';
import { readActingBuilder, readFleet } from './fleet-read.js';
import { adminActor, resolveActor } from './identity.js';
import { newId } from './new-id.js';
import { fetchOrFallBack, readMainOrThrow } from './read.js';

const EMPTY_JOBS: JobsDoc = { jobs: [] };

export interface JobResult {
  job: Job;
  changed: boolean;
}

export type NewJob = Omit<AddJobInput, 'id' | 'by' | 'now' | 'defaultMaxAttempts' | 'knownBuilders'>;

export const addJobOp = async (ctx: Context, input: NewJob): Promise<JobResult & { outcome: 'added' | 'existing' }> => {
  const store = await openStore(ctx.storeDir);
  const actor = await adminActor(ctx);
  const outcome = await transact(store, {
    op: 'job.add',
    actor,
    apply: async (read) => {
      const fleet = await readFleet(read);
      const now = ctx.now();
      const step = addJob((await read(docs.jobs)) ?? EMPTY_JOBS, {
        ...input,
        id: newId('job', now),
        by: actor,
        now,
        defaultMaxAttempts: fleet.settings.jobMaxAttempts,
        knownBuilders: fleet.knownBuilders,
      });
      return {
        result: { job: step.job, outcome: step.outcome },
        writes: [{ spec: docs.jobs, value: step.doc }],
        summary: `job.add ${step.job.id} (${step.job.type})`,
      };
    },
  });
  return { ...outcome.result, changed: outcome.changed };
};

/** Takes the best eligible job for this builder and marks the builder building it, in one commit. */
export const claimJobOp = async (ctx: Context, input: { type?: string | undefined }): Promise<JobResult> => {
  const store = await openStore(ctx.storeDir);
  const { id } = await resolveActor(ctx);
  const outcome = await transact(store, {
    op: 'job.claim',
    actor: id,
    apply: async (read) => {
      const { me } = await readActingBuilder(read, id);
      const now = ctx.now();
      const step = claimJob((await read(docs.jobs)) ?? EMPTY_JOBS, { builder: id, builderLabels: me.labels, type: input.type, now });
      if (!step.job) throw nothingToClaimError(id, input.type);
      const statusSpec = docs.status(id);
      const status = setBuilderState(await read(statusSpec), { id, state: 'building', job: step.job.id, now });
      return {
        result: step.job,
        writes: [
          { spec: docs.jobs, value: step.doc },
          { spec: statusSpec, value: status },
        ],
        summary: `job.claim ${step.job.id} by ${id}`,
      };
    },
  });
  return { job: outcome.result, changed: outcome.changed };
};

/**
 * When a running job ends, its assignee's status follows: the job leaves current_job and
 * becomes last_build. Only the assignee's own document, and only if it still shows the job.
 */
const closeAssigneeStatus = async (
  read: ReadDoc,
  before: Job,
  after: Job,
  now: Date,
): Promise<Write[]> => {
  const assignee = before.assigned_to;
  if (before.status !== 'running' || !assignee) return [];
  const spec = docs.status(assignee);
  const status: StatusDoc | undefined = await read(spec);
  if (!status || status.current_job !== before.id) return [];
  const state = after.status === 'completed' ? 'success' : after.status === 'cancelled' ? 'idle' : 'failed';
  const next = setBuilderState(status, {
    id: assignee,
    state,
    job: before.id,
    now,
    details: { duration_seconds: after.result?.duration_seconds, artifacts: after.result?.artifacts, reason: after.result?.reason },
  });
  return [{ spec, value: next }];
};

type Finish = 'complete' | 'fail' | 'cancel' | 'retry';

export interface FinishOptions {
  id: string;
  force?: boolean | undefined;
  artifacts?: string[] | undefined;
  reason?: string | undefined;
}

/** complete / fail (the assignee, or anyone with force), cancel / retry (operators). */
export const finishJobOp = async (ctx: Context, action: Finish, options: FinishOptions): Promise<JobResult> => {
  const store = await openStore(ctx.storeDir);
  const asAssignee = (action === 'complete' || action === 'fail') && !options.force;
  const actor = asAssignee ? (await resolveActor(ctx)).id : await adminActor(ctx);
  const outcome = await transact(store, {
    op: `job.${action}`,
    actor,
    apply: async (read) => {
      const jobs = (await read(docs.jobs)) ?? EMPTY_JOBS;
      const before = requireJob(jobs, options.id);
      const now = ctx.now();
      const common = { id: options.id, by: actor, force: options.force, now };
      const step =
        action === 'complete' ? completeJob(jobs, { ...common, artifacts: options.artifacts })
        : action === 'fail' ? failJob(jobs, { ...common, reason: options.reason ?? '' })
        : action === 'cancel' ? cancelJob(jobs, { id: options.id, by: actor, reason: options.reason, now })
        : retryJob(jobs, { id: options.id, now });
      const statusWrites = await closeAssigneeStatus(read, before, step.job, now);
      return {
        result: step.job,
        writes: [{ spec: docs.jobs, value: step.doc }, ...statusWrites],
        summary: `job.${action} ${step.job.id}${options.force ? ' (forced)' : ''}`,
      };
    },
  });
  return { job: outcome.result, changed: outcome.changed };
};

const readJobs = async (ctx: Context, fetch: boolean): Promise<JobsDoc> => {
  const store = await openStore(ctx.storeDir);
  if (fetch) await fetchOrFallBack(() => fetchMain(store), ctx.warn);
  const snapshot = openSnapshot(store);
  try {
    return (await readMainOrThrow(snapshot, docs.jobs, ctx.warn)) ?? EMPTY_JOBS;
  } finally {
    snapshot.close();
  }
};

export const listJobsOp = async (ctx: Context, options: { status?: string | undefined; fetch: boolean }): Promise<Job[]> =>
  listJobs(await readJobs(ctx, options.fetch), { status: options.status });

export const showJobOp = async (ctx: Context, id: string, options: { fetch: boolean }): Promise<Job> =>
  requireJob(await readJobs(ctx, options.fetch), id);
