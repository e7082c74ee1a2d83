import { setTimeout as sleep } from 'node:timers/promises';
import { parseDuration } from '../domain/durations.js';
import { checkJobIdMayExist, checkMayClaim, chooseClaim, claimedJob, describeWait, findJob, listJobs, nothingToClaimError, readinessOf, requireJob, whyNeverRuns } from '../domain/jobs.js';
import { vetCommitted } from '../domain/committed.js';
import { setBuilderState } from '../domain/status.js';
import { BuildctlError, usageError } from '../errors.js';
import type { Job } from '../schemas/jobs.js';
import { docs } from '../schemas/layout.js';
import { openSnapshot, type Snapshot } from '../store/snapshot.js';
import { fetchMain, openStore, ORIGIN_MAIN, type Store } from '../store/store.js';
import { archiveMonths } from './archive-read.js';
import { describeArtifacts } from './artifacts.js';
import type { Context } from './context.js';
import { readActingBuilder } from './fleet-read.js';
import { adminActor, resolveActor } from './identity.js';
import { addPlan, EMPTY_JOBS, finishPlan, type AddIntent, type Finish, type FinishIntent, type FinishOptions, type NewJob } from './job-plans.js';
import { deferredOutcome, mutate, mutateOrQueue, txOutcome, type Outcome } from './mutate.js';
import { newId } from './new-id.js';
import { fetchOrFallBack, readMainOrThrow } from './read.js';
import { trustAtBase, type TrustAtBase } from './signed-writes.js';

/** A job and what the mutation did to the store (the JSON contract's changed / queued / commit). */
export interface JobResult extends Outcome {
  job: Job;
}

/** Adds a job; warns (stderr) when no enabled builder could ever claim it, or when it is blocked from the start. */
export const addJobOp = async (ctx: Context, input: NewJob): Promise<JobResult & { outcome: 'added' | 'existing' }> => {
  const store = await openStore(ctx.storeDir);
  const actor = await adminActor(ctx);
  const now = ctx.now();
  const intent: AddIntent = { ...input, id: newId('job', now), by: actor, now: now.toISOString() };
  const run = await mutateOrQueue(ctx, store, { op: 'job.add', actor, input: intent, apply: addPlan(intent) });
  const result = run.queued ? run.result : run.outcome.result;
  if (result.outcome === 'added') {
    if (result.neverRuns) ctx.warn(`warning: job ${result.job.id} can never run as the fleet stands: ${result.neverRuns}`);
    if (result.job.blocked) ctx.warn(`warning: job ${result.job.id} is blocked from the start: ${result.job.blocked.reason}`);
  }
  return { job: result.job, outcome: result.outcome, ...deferredOutcome(run) };
};

// ---- claim ---------------------------------------------------------------------------

/** The first look comes soon, later ones less often: a long wait costs the remote little. */
const POLL_FIRST_MS = 500;
const POLL_GROWTH = 1.5;
const POLL_MAX_MS = 10_000;

const claimOnce = async (ctx: Context, store: Store, id: string, type: string | undefined) => {
  const outcome = await mutate(ctx, store, {
    op: 'job.claim',
    actor: id,
    input: { type },
    apply: async (read, base) => {
      const { me } = await readActingBuilder(read, id);
      const now = ctx.now();
      const jobs = (await read(docs.jobs)) ?? EMPTY_JOBS;
      const untrusted = untrustedJobs(ctx, await trustAtBase(base), id, jobs.jobs);
      const statusSpec = docs.status(id);
      const current = await read(statusSpec);
      // One job at a time, none when disabled (domain/jobs.ts): refused here, in the claim's
      // own transaction, so every caller of the claim (job claim, job run) is held to it.
      checkMayClaim(jobs, me, current);
      const input = { builder: id, builderLabels: me.labels, type, now, untrusted };
      const chosen = chooseClaim(jobs.jobs, input);
      if (!chosen) throw nothingToClaimError(id, type);
      const job = claimedJob(chosen, input);
      const status = setBuilderState(current, { id, state: 'building', job: job.id, now });
      return {
        result: job,
        writes: [
          { spec: docs.jobs, replace: [job] },
          { spec: statusSpec, value: status },
        ],
        summary: `job.claim ${job.id} by ${id}`,
      };
    },
  });
  return outcome;
};

/**
 * The jobs this builder may not act on (require_signed_writes: their latest change is not
 * trusted), said on stderr when one of them is queued or is what a queued job waits for.
 */
const untrustedJobs = (ctx: Context, trust: TrustAtBase, id: string, jobs: readonly Job[]): Set<string> => {
  const untrusted = trust.untouchable('job', id);
  if (untrusted.size === 0) return untrusted;
  const waitedFor = new Set(jobs.filter((job) => job.status === 'queued').flatMap((job) => [job.id, ...(job.dependencies ?? [])]));
  const said = [...untrusted].filter((job) => waitedFor.has(job));
  if (said.length > 0) ctx.warn(`not acting on ${said.map((job) => `job ${job}`).join(', ')}: the latest change is not trusted, and require_signed_writes is on (buildctl validate --signatures)`);
  return untrusted;
};

/** Whether origin/main, fetched now, has a job this builder may claim: a fetch and a local read, no commit. */
const lookForWork = async (ctx: Context, store: Store, id: string, type: string | undefined): Promise<boolean> => {
  await fetchMain(store);
  const snapshot = openSnapshot(store);
  try {
    const builders = await readMainOrThrow(snapshot, docs.builders);
    const me = builders?.builders.find((b) => b.id === id);
    const queue = ((await readMainOrThrow(snapshot, docs.jobs)) ?? EMPTY_JOBS).jobs;
    const trust = await trustAtBase({ commit: (await snapshot.resolve(ORIGIN_MAIN)) ?? '', objects: snapshot.objects, store });
    return chooseClaim(queue, { builder: id, builderLabels: me?.labels ?? [], type, now: ctx.now(), untrusted: trust.untouchable('job', id) }) !== undefined;
  } finally {
    snapshot.close();
  }
};

export interface ClaimOptions {
  type?: string | undefined;
  /** Keep looking this long (e.g. "10m") while nothing is eligible. */
  wait?: string | undefined;
  /** Runs right before the claim is sent (job run beats first, so the job's lease starts alive). */
  beforeClaim?: (() => Promise<void>) | undefined;
}

export interface ClaimResult extends JobResult {
  /** The monotonic time just before the winning claim was sent: where a holder's deadlines start. */
  sentAt: number;
}

/**
 * Takes the best eligible job for this builder and marks the builder building it, in one
 * commit. With `wait`, looks again with growing pauses (a fetch each, no commit) until a
 * job is eligible or the wait is over (then exit 3, as without it).
 */
export const claimJobOp = async (ctx: Context, options: ClaimOptions): Promise<ClaimResult> => {
  const store = await openStore(ctx.storeDir);
  const { id } = await resolveActor(ctx);
  const waitMs = options.wait === undefined ? 0 : parseDuration(options.wait, 'wait');
  chooseClaim([], { builder: id, builderLabels: [], type: options.type, now: ctx.now() }); // bad input fails before any waiting
  const deadline = ctx.monotonic() + waitMs;
  const look = waitMs > 0 || options.beforeClaim !== undefined;
  let pause = POLL_FIRST_MS;
  for (;;) {
    const eligible = look ? await lookForWork(ctx, store, id, options.type) : true;
    if (eligible) {
      try {
        await options.beforeClaim?.();
        const sentAt = ctx.monotonic();
        const outcome = await claimOnce(ctx, store, id, options.type);
        return { job: outcome.result, ...txOutcome(outcome), sentAt };
      } catch (error) {
        // Another builder took it between the look and the claim: look again while time is left.
        if (!(error instanceof BuildctlError && error.code === 'nothing_to_claim')) throw error;
      }
    }
    const left = deadline - ctx.monotonic();
    if (left <= 0) throw nothingToClaimError(id, options.type);
    await sleep(Math.min(left, pause * (0.8 + 0.4 * Math.random())));
    pause = Math.min(POLL_MAX_MS, pause * POLL_GROWTH);
  }
};

// ---- finish --------------------------------------------------------------------------

/** complete / fail / release (the assignee, or anyone with force) may be queued offline; cancel / retry need a fresh answer. */
export const finishJobOp = async (ctx: Context, action: Finish, options: FinishOptions): Promise<JobResult> => {
  const store = await openStore(ctx.storeDir);
  const byAssignee = action === 'complete' || action === 'fail' || action === 'release';
  if ((action === 'cancel' || action === 'retry') && (options.artifacts?.length || options.artifactUrls?.length)) {
    throw usageError(`job ${action} takes no artifacts`, { code: 'unexpected_artifacts', hint: 'artifacts belong to job complete (or job fail)' });
  }
  // The paths and URLs are committed (in the manifests): vetted before any file is read,
  // so an error about a file never echoes a credential typed as its path.
  vetCommitted(`job.${action}`, { artifacts: options.artifacts, artifactUrls: options.artifactUrls }, ctx.allowSecretLike === true);
  const manifests = options.artifacts?.length || options.artifactUrls?.length ? await describeArtifacts(options.artifacts ?? [], options.artifactUrls ?? []) : undefined;
  const actor = byAssignee && !options.force ? (await resolveActor(ctx)).id : await adminActor(ctx);
  const { artifacts: _paths, artifactUrls: _urls, ...rest } = options;
  const intent: FinishIntent = { ...rest, ...(manifests ? { manifests } : {}), action, by: actor, now: ctx.now().toISOString() };
  const op = `job.${action}`;
  const check = () => checkJobIdMayExist(options.id);
  if (byAssignee) {
    const run = await mutateOrQueue(ctx, store, { op, actor, input: intent, check, apply: finishPlan(intent) });
    return { job: run.queued ? run.result : run.outcome.result, ...deferredOutcome(run) };
  }
  const outcome = await mutate(ctx, store, { op, actor, input: intent, check, apply: finishPlan(intent) });
  return { job: outcome.result, ...txOutcome(outcome) };
};

// ---- reads ---------------------------------------------------------------------------

const withSnapshot = async <T>(ctx: Context, fetch: boolean, read: (snapshot: Snapshot, store: Store) => Promise<T>): Promise<T> => {
  const store = await openStore(ctx.storeDir);
  if (fetch) await fetchOrFallBack(() => fetchMain(store), ctx.warn);
  const snapshot = openSnapshot(store);
  try {
    return await read(snapshot, store);
  } finally {
    snapshot.close();
  }
};


export const listJobsOp = async (ctx: Context, options: { status?: string | undefined; fetch: boolean; archived?: boolean | undefined }): Promise<Job[]> =>
  withSnapshot(ctx, options.fetch, async (snapshot, store) => {
    if (!options.archived) return listJobs((await readMainOrThrow(snapshot, docs.jobs, ctx.warn)) ?? EMPTY_JOBS, { status: options.status });
    const jobs: Job[] = [];
    // Oldest month first, each in the order it was archived: the order they left the queue.
    for (const month of await archiveMonths(store, 'jobs')) {
      const doc = await readMainOrThrow(snapshot, docs.jobsArchive(month), ctx.warn);
      jobs.push(...listJobs(doc ?? EMPTY_JOBS, { status: options.status }));
    }
    return jobs;
  });

export interface JobView {
  job: Job;
  /** The archive file that holds it, when it is no longer in coordination/jobs.json. */
  archive: string | null;
  /** For a queued job: what it waits for (unfinished dependencies, or why it is blocked). */
  waits: string | null;
  /** For a queued job: why no enabled builder can ever claim it. */
  never_runs: string | null;
}

/** One job: from the queue, else from the archives (newest month first); unknown in both is exit 2. */
export const showJobOp = async (ctx: Context, id: string, options: { fetch: boolean }): Promise<JobView> =>
  withSnapshot(ctx, options.fetch, async (snapshot, store) => {
    const jobs = (await readMainOrThrow(snapshot, docs.jobs, ctx.warn)) ?? EMPTY_JOBS;
    const found = findJob(jobs, id);
    if (found) {
      const builders = (await readMainOrThrow(snapshot, docs.builders, ctx.warn))?.builders ?? [];
      const queued = found.status === 'queued';
      // A dependency whose latest change is not trusted is not finished (require_signed_writes).
      const trust = queued ? await trustAtBase({ commit: (await snapshot.resolve(ORIGIN_MAIN)) ?? '', objects: snapshot.objects, store }) : undefined;
      return {
        job: found,
        archive: null,
        waits: queued ? (describeWait(readinessOf(jobs.jobs, trust?.tainted('job'))(found)) ?? null) : null,
        never_runs: queued ? (whyNeverRuns(found, builders) ?? null) : null,
      };
    }
    for (const month of (await archiveMonths(store, 'jobs')).reverse()) {
      const archived = findJob((await readMainOrThrow(snapshot, docs.jobsArchive(month), ctx.warn)) ?? EMPTY_JOBS, id);
      if (archived) return { job: archived, archive: docs.jobsArchive(month).path, waits: null, never_runs: null };
    }
    return { job: requireJob(jobs, id), archive: null, waits: null, never_runs: null }; // throws: unknown job
  });
