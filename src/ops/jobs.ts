import { addJob, cancelJob, claimJob, completeJob, failJob, listJobs, nothingToClaimError, requireJob, retryJob, type AddJobInput } from '../domain/jobs.js';
import { setBuilderState } from '../domain/status.js';
import type { Job, JobsDoc } from '../schemas/jobs.js';
import { docs } from '../schemas/layout.js';
import type { StatusDoc } from '../schemas/status.js';
import { openSnapshot } from '../store/snapshot.js';
import { fetchMain, openStore } from '../store/store.js';
import type { ReadDoc, Write } from '../store/transaction.js';
import type { Context } from './context.js';
import { readActingBuilder, readFleet } from './fleet-read.js';
import { adminActor, resolveActor } from './identity.js';
import { mutate, mutateOrQueue, type Apply } from './mutate.js';
import { newId } from './new-id.js';
import { fetchOrFallBack, readMainOrThrow } from './read.js';

const EMPTY_JOBS: JobsDoc = { jobs: [] };

export interface JobResult {
  job: Job;
  changed: boolean;
}

export type NewJob = Omit<AddJobInput, 'id' | 'by' | 'now' | 'defaultMaxAttempts' | 'knownBuilders'>;

/** What a queued add needs to be applied later: the id, the adder and the time fixed. */
export interface AddIntent extends NewJob {
  id: string;
  by: string;
  now: string;
}

export const addPlan = (intent: AddIntent): Apply<{ job: Job; outcome: 'added' | 'existing' }> => async (read) => {
  const fleet = await readFleet(read);
  const { now, ...input } = intent;
  const step = addJob((await read(docs.jobs)) ?? EMPTY_JOBS, {
    ...input,
    now: new Date(now),
    defaultMaxAttempts: fleet.settings.jobMaxAttempts,
    knownBuilders: fleet.knownBuilders,
  });
  return {
    result: { job: step.job, outcome: step.outcome },
    writes: [{ spec: docs.jobs, value: step.doc }],
    summary: `job.add ${step.job.id} (${step.job.type})`,
  };
};

export const addJobOp = async (ctx: Context, input: NewJob): Promise<JobResult & { outcome: 'added' | 'existing'; queued: boolean }> => {
  const store = await openStore(ctx.storeDir);
  const actor = await adminActor(ctx);
  const now = ctx.now();
  const intent: AddIntent = { ...input, id: newId('job', now), by: actor, now: now.toISOString() };
  const run = await mutateOrQueue(ctx, store, { op: 'job.add', actor, input: intent, apply: addPlan(intent) });
  return run.queued ? { ...run.result, changed: true, queued: true } : { ...run.outcome.result, changed: run.outcome.changed, queued: false };
};

/** Takes the best eligible job for this builder and marks the builder building it, in one commit. */
export const claimJobOp = async (ctx: Context, input: { type?: string | undefined }): Promise<JobResult> => {
  const store = await openStore(ctx.storeDir);
  const { id } = await resolveActor(ctx);
  const outcome = await mutate(ctx, store, {
    op: 'job.claim',
    actor: id,
    input,
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
export interface FinishIntent extends FinishOptions {
  action: Finish;
  by: string;
  now: string;
}

export const finishPlan = (intent: FinishIntent): Apply<Job> => async (read) => {
  const jobs = (await read(docs.jobs)) ?? EMPTY_JOBS;
  const before = requireJob(jobs, intent.id);
  const now = new Date(intent.now);
  const common = { id: intent.id, by: intent.by, force: intent.force, now };
  const step =
    intent.action === 'complete' ? completeJob(jobs, { ...common, artifacts: intent.artifacts })
    : intent.action === 'fail' ? failJob(jobs, { ...common, reason: intent.reason ?? '' })
    : intent.action === 'cancel' ? cancelJob(jobs, { id: intent.id, by: intent.by, reason: intent.reason, now })
    : retryJob(jobs, { id: intent.id, now });
  const statusWrites = await closeAssigneeStatus(read, before, step.job, now);
  return {
    result: step.job,
    writes: [{ spec: docs.jobs, value: step.doc }, ...statusWrites],
    summary: `job.${intent.action} ${step.job.id}${intent.force ? ' (forced)' : ''}`,
  };
};

/** complete / fail (the assignee, or anyone with force) may be queued offline; cancel / retry need a fresh answer. */
export const finishJobOp = async (ctx: Context, action: Finish, options: FinishOptions): Promise<JobResult & { queued: boolean }> => {
  const store = await openStore(ctx.storeDir);
  const asAssignee = (action === 'complete' || action === 'fail') && !options.force;
  const actor = asAssignee ? (await resolveActor(ctx)).id : await adminActor(ctx);
  const intent: FinishIntent = { ...options, action, by: actor, now: ctx.now().toISOString() };
  const op = `job.${action}`;
  if (action === 'complete' || action === 'fail') {
    const run = await mutateOrQueue(ctx, store, { op, actor, input: intent, apply: finishPlan(intent) });
    return run.queued ? { job: run.result, changed: true, queued: true } : { job: run.outcome.result, changed: run.outcome.changed, queued: false };
  }
  const outcome = await mutate(ctx, store, { op, actor, input: intent, apply: finishPlan(intent) });
  return { job: outcome.result, changed: outcome.changed, queued: false };
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
