// The job operations the outbox can hold, as plans (what an add and a finish do to the
// store), apart from the commands that run them: nothing here depends on how a mutation
// is run (ops/mutate.ts).
import {
  addJob,
  cancelJob,
  completeJob,
  failJob,
  releaseJob,
  requireJob,
  retryJob,
  whyNeverRuns,
  type AddJobInput,
  type RunIdentity,
  type RunRecord,
} from '../domain/jobs.js';
import { assigneeStatusAfter } from '../domain/status.js';
import type { ArtifactManifest, Job, JobsDoc } from '../schemas/jobs.js';
import { docs } from '../schemas/layout.js';
import type { Apply, ReadDoc, Write } from '../store/transaction.js';
import { readFleet } from './fleet-read.js';
import { trustAtBase } from './signed-writes.js';
import { TRAILER_FORCED } from './trust.js';

export const EMPTY_JOBS: JobsDoc = { jobs: [] };

export type NewJob = Omit<AddJobInput, 'id' | 'by' | 'now' | 'defaultMaxAttempts' | 'knownBuilders'>;

/** What a queued add needs to be applied later: the id, the adder and the time fixed. */
export interface AddIntent extends NewJob {
  id: string;
  by: string;
  now: string;
}

export interface AddPlanResult {
  job: Job;
  outcome: 'added' | 'existing';
  /** Why no enabled builder can ever claim it, as the fleet stands. */
  neverRuns: string | undefined;
}

export const addPlan = (intent: AddIntent): Apply<AddPlanResult> => async (read) => {
  const fleet = await readFleet(read);
  const { now, ...input } = intent;
  const step = addJob((await read(docs.jobs)) ?? EMPTY_JOBS, {
    ...input,
    now: new Date(now),
    defaultMaxAttempts: fleet.settings.jobMaxAttempts,
    knownBuilders: fleet.knownBuilders,
  });
  return {
    result: { job: step.job, outcome: step.outcome, neverRuns: whyNeverRuns(step.job, fleet.builders.builders) },
    writes: [{ spec: docs.jobs, value: step.doc }],
    summary: `job.add ${step.job.id} (${step.job.type})${step.job.dependencies?.length ? ` after ${step.job.dependencies.join(',')}` : ''}`,
  };
};

/** When a running job ends, its assignee's status follows (domain/status.ts), in the same commit. */
const closeAssigneeStatus = async (read: ReadDoc, before: Job, after: Job, now: Date): Promise<Write[]> => {
  if (before.status !== 'running' || !before.assigned_to) return [];
  const spec = docs.status(before.assigned_to);
  const next = assigneeStatusAfter(await read(spec), before, after, now);
  return next ? [{ spec, value: next }] : [];
};

export type Finish = 'complete' | 'fail' | 'cancel' | 'retry' | 'release';

export interface FinishOptions {
  id: string;
  force?: boolean | undefined;
  /** Files to describe (size, sha256) in the result, never stored. */
  artifacts?: string[] | undefined;
  /** Where each artifact was published: the n-th URL belongs to the n-th path. */
  artifactUrls?: string[] | undefined;
  reason?: string | undefined;
  /** Only this run of the job (job run): refused when the job was started again since. */
  run?: RunIdentity | undefined;
  /** How job run's command ended. */
  record?: RunRecord | undefined;
}

/** complete / fail / release (the assignee, or anyone with force), cancel / retry (operators). */
export interface FinishIntent extends Omit<FinishOptions, 'artifacts' | 'artifactUrls'> {
  action: Finish;
  by: string;
  now: string;
  /** Described when the command ran: a queued intent keeps what the files were then. */
  manifests?: ArtifactManifest[] | undefined;
}

export const finishPlan = (intent: FinishIntent): Apply<Job> => async (read, base) => {
  const jobs = (await read(docs.jobs)) ?? EMPTY_JOBS;
  const before = requireJob(jobs, intent.id);
  // Acting on a job whose latest change is not trusted: only its owner, or an operator key.
  (await trustAtBase(base)).requireActable('job', intent.id, intent.by);
  const now = new Date(intent.now);
  const common = { id: intent.id, by: intent.by, force: intent.force, run: intent.run, now };
  const step =
    intent.action === 'complete' ? completeJob(jobs, { ...common, artifacts: intent.manifests, record: intent.record })
    : intent.action === 'fail' ? failJob(jobs, { ...common, reason: intent.reason ?? '', artifacts: intent.manifests, record: intent.record })
    : intent.action === 'release' ? releaseJob(jobs, { ...common, reason: intent.reason ?? '', record: intent.record })
    : intent.action === 'cancel' ? cancelJob(jobs, { id: intent.id, by: intent.by, reason: intent.reason, now })
    : retryJob(jobs, { id: intent.id, now });
  const statusWrites = await closeAssigneeStatus(read, before, step.job, now);
  const forcedFor = before.assigned_to && before.assigned_to !== intent.by && (intent.action === 'complete' || intent.action === 'fail' || intent.action === 'release') ? before.assigned_to : undefined;
  return {
    result: step.job,
    writes: [{ spec: docs.jobs, value: step.doc }, ...statusWrites],
    summary: `job.${intent.action} ${step.job.id}${intent.force ? ' (forced)' : ''}`,
    // Finishing another builder's job is an operator action (readers check it was signed by an operator key).
    ...(forcedFor ? { trailers: { [TRAILER_FORCED]: forcedFor } } : {}),
  };
};
