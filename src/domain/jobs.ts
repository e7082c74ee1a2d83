// The job queue (coordination/jobs.json): pure transitions and queries.
//
// Error kinds, chosen by who can fix the problem:
// - `usage` (exit 2): the input itself is wrong and retrying it unchanged can never work:
//   a malformed field, an unknown job id, a missing reason.
// - `not_now` (exit 3): the input is fine but the job's current state refuses it (not
//   running, finished, assigned to someone else, its key taken by a live job). Another
//   moment or another actor may succeed, which is what exit 3 tells a script.
// "Nothing to claim" is not an error here: claimJob returns `job: undefined` and the
// operation decides (it throws `nothingToClaimError`, exit 3).
//
// Dependencies: a job may name jobs (`dependencies`, the older scripts' field) that must
// all be completed before it is claimed. A dependency that ended for good (failed,
// cancelled, dead) or that cannot be found blocks its dependents, and theirs: every
// transition ends with `settleBlocked`, which marks such queued jobs `blocked` with the
// reason and clears the mark once the cause is gone (`job retry` of the dependency).
import { notNowError, usageError } from '../errors.js';
import type { BuilderEntry } from '../schemas/builders.js';
import { label as labelSchema } from '../schemas/common.js';
import { JOB_STATUSES, jobId, jobType, type ArtifactManifest, type Job, type JobResult, type JobsDoc, type JobStatus, type RunOutcome } from '../schemas/jobs.js';
import type { StatusDoc } from '../schemas/status.js';
import { parseDuration } from './durations.js';
import { checkBuilderId } from './ids.js';
import { checkOptionalText, checkText } from './text.js';

/** Priority when none is given: 1 is the most urgent; 5 leaves room for both more and less urgent work. */
export const DEFAULT_PRIORITY = 5;

/** A job that still occupies its key: a second add with that key returns it. */
export const LIVE_STATUSES: readonly JobStatus[] = ['queued', 'running'];
const RETRYABLE_STATUSES: readonly JobStatus[] = ['failed', 'cancelled', 'dead'];

export const isLive = (job: Job): boolean => LIVE_STATUSES.includes(job.status);

const LIST_HINT = 'see the jobs with "buildctl job list"';

const replaceJob = (doc: JobsDoc, job: Job): JobsDoc => ({ ...doc, jobs: doc.jobs.map((j) => (j.id === job.id ? job : j)) });

export const findJob = (doc: JobsDoc, id: string): Job | undefined => doc.jobs.find((job) => job.id === id);

const unknownJob = (id: string) => usageError(`unknown job "${id}"`, { code: 'unknown_job', hint: LIST_HINT });

/** The job with that id; an unknown id is bad input (exit 2). */
export const requireJob = (doc: JobsDoc, id: string): Job => {
  const found = findJob(doc, id);
  if (!found) throw unknownJob(id);
  return found;
};

/** An id no job can have (its schema refuses it) is unknown whatever the queue holds: said before the store is asked. */
export const checkJobIdMayExist = (id: string): void => {
  if (!jobId.safeParse(id).success) throw unknownJob(id);
};

const checkStatus = (status: string): JobStatus => {
  if (!(JOB_STATUSES as readonly string[]).includes(status)) {
    throw usageError(`unknown job status "${status}"`, { code: 'invalid_job_status', hint: `statuses are: ${JOB_STATUSES.join(', ')}` });
  }
  return status as JobStatus;
};

const checkType = (type: string): string => {
  if (!jobType.safeParse(type).success) {
    throw usageError(`invalid job type "${type}"`, {
      code: 'invalid_job_type',
      hint: 'a job type is a lowercase letter, then lowercase letters, digits, ".", "_" or "-" (e.g. build, package)',
    });
  }
  return type;
};

/** Jobs in document order (the order they were added), optionally of one status. */
export const listJobs = (doc: JobsDoc, options: { status?: string | undefined } = {}): Job[] => {
  const status = options.status === undefined ? undefined : checkStatus(options.status);
  return doc.jobs.filter((job) => status === undefined || job.status === status);
};

// ---- dependencies -------------------------------------------------------------------

/** A dependency in one of these states will not complete unless someone retries it. */
const ENDED_FOR_GOOD: readonly JobStatus[] = ['failed', 'cancelled', 'dead'];

const NONE: ReadonlySet<string> = new Set();

export const dependenciesOf = (job: Job): string[] => job.dependencies ?? [];

/** Whether a queued job's dependencies let it run: all completed, some still to finish, or never (blocked). */
export type Readiness =
  | { kind: 'ready' }
  /** `unverified`: the dependency's latest change is not trusted (require_signed_writes), so it counts as not finished. */
  | { kind: 'waiting'; on: Array<{ id: string; status: JobStatus; unverified?: true }> }
  | { kind: 'blocked'; by: string; reason: string; cause: string };

const endedReason = (dep: Job): string => {
  const why = dep.result?.reason ? `: ${dep.result.reason}` : '';
  if (dep.status === 'cancelled') return `${dep.id} was cancelled${why}`;
  if (dep.status === 'dead') return `${dep.id} is dead${why}`;
  return `${dep.id} failed${why}`;
};

/**
 * The readiness of every job reachable from the ones asked about, computed once each. A
 * cycle blocks every job on it (none of them can ever be first). A dependency in
 * `untrusted` (its latest change is not trusted: require_signed_writes) neither lets a job
 * run nor blocks it: the job waits until the change is settled.
 */
export const readinessOf = (jobs: readonly Job[], untrusted: ReadonlySet<string> = NONE): ((job: Job) => Readiness) => {
  const byId = new Map(jobs.map((job) => [job.id, job]));
  const memo = new Map<string, Readiness>();
  const visit = (job: Job, path: readonly string[]): Readiness => {
    const known = memo.get(job.id);
    if (known) return known;
    const waiting: Array<{ id: string; status: JobStatus; unverified?: true }> = [];
    let result: Readiness | undefined;
    for (const depId of [...new Set(dependenciesOf(job))]) {
      const dep = byId.get(depId);
      if (!dep) {
        const cause = `${depId} is not in the queue`;
        result = { kind: 'blocked', by: depId, reason: cause, cause };
        break;
      }
      if (untrusted.has(dep.id)) {
        waiting.push({ id: dep.id, status: dep.status, unverified: true });
        continue;
      }
      if (dep.status === 'completed') continue;
      if (ENDED_FOR_GOOD.includes(dep.status)) {
        const cause = endedReason(dep);
        result = { kind: 'blocked', by: dep.id, reason: cause, cause };
        break;
      }
      if (dep.status === 'queued' && dependenciesOf(dep).length > 0) {
        const at = path.indexOf(dep.id);
        const cycle = dep.id === job.id ? [job.id, job.id] : at >= 0 ? [...path.slice(at), job.id, dep.id] : undefined;
        const inner: Readiness = cycle
          ? { kind: 'blocked', by: dep.id, reason: '', cause: `dependency cycle ${cycle.join(' -> ')}` }
          : visit(dep, [...path, job.id]);
        if (inner.kind === 'blocked') {
          result = { kind: 'blocked', by: dep.id, reason: `waits for ${dep.id}, which is blocked: ${inner.cause}`, cause: inner.cause };
          break;
        }
      }
      waiting.push({ id: dep.id, status: dep.status });
    }
    result ??= waiting.length > 0 ? { kind: 'waiting', on: waiting } : { kind: 'ready' };
    // Only a real chain of dependencies is ever on the path, so a cycle found below this job
    // blocks it wherever the walk came from (only the cycle's wording depends on that).
    memo.set(job.id, result);
    return result;
  };
  return (job) => visit(job, []);
};

const sameBlock = (job: Job, readiness: Readiness & { kind: 'blocked' }): boolean =>
  job.blocked?.by === readiness.by && job.blocked.reason === readiness.reason;

const withoutBlock = (job: Job): Job => {
  const { blocked: _blocked, ...rest } = job;
  return rest as Job;
};

/**
 * Marks every queued job that can never run as things stand (`blocked`, with the reason),
 * and clears the mark of any job whose cause is gone or that is no longer queued. Jobs
 * that do not change keep their identity, and the doc itself is returned when none does.
 */
export const settleBlocked = (doc: JobsDoc, now: Date, untrusted: ReadonlySet<string> = NONE): { doc: JobsDoc; blocked: string[]; unblocked: string[] } => {
  const readiness = readinessOf(doc.jobs, untrusted);
  const blocked: string[] = [];
  const unblocked: string[] = [];
  let changed = false;
  const jobs = doc.jobs.map((job) => {
    if (untrusted.has(job.id)) return job;
    const state = job.status === 'queued' && dependenciesOf(job).length > 0 ? readiness(job) : undefined;
    if (state?.kind === 'blocked') {
      if (sameBlock(job, state)) return job;
      changed = true;
      if (!job.blocked) blocked.push(job.id);
      return { ...job, blocked: { by: state.by, reason: state.reason, since: now.toISOString() } };
    }
    if (job.blocked === undefined) return job;
    changed = true;
    if (job.blocked !== null && job.status === 'queued') unblocked.push(job.id);
    return withoutBlock(job);
  });
  return { doc: changed ? { ...doc, jobs } : doc, blocked, unblocked };
};

/** What a queued job waits for, for `job show` and `status`: unfinished dependencies, or the block. */
export const describeWait = (readiness: Readiness): string | undefined => {
  if (readiness.kind === 'waiting') return `waits for ${readiness.on.map((d) => `${d.id} (${d.status}${d.unverified ? ', its latest change unverified' : ''})`).join(', ')}`;
  if (readiness.kind === 'blocked') return `blocked: ${readiness.reason}`;
  return undefined;
};

/**
 * Why no builder can ever claim this job as the fleet stands (a target that is disabled or
 * unknown, labels no enabled builder has all of, no enabled builder at all), or undefined.
 */
export const whyNeverRuns = (job: { target?: string | null | undefined; labels: readonly string[] }, builders: readonly BuilderEntry[]): string | undefined => neverRunsIn(builders)(job);

/**
 * whyNeverRuns for many jobs of one fleet: the fleet is indexed once (by id, the enabled
 * ones, each label set answered once), not once per job.
 */
export const neverRunsIn = (builders: readonly BuilderEntry[]): ((job: { target?: string | null | undefined; labels: readonly string[] }) => string | undefined) => {
  const enabled = builders.filter((b) => b.enabled);
  const byId = new Map<string, BuilderEntry>();
  // The first entry of an id wins, as a search of the list finds it.
  for (const b of builders) if (!byId.has(b.id)) byId.set(b.id, b);
  const fitsLabels = new Map<string, boolean>();
  return (job) => {
    if (job.target != null) {
      const target = byId.get(job.target);
      if (!target) return `its target ${job.target} is not a registered builder`;
      return target.enabled ? undefined : `its target ${job.target} is disabled`;
    }
    if (enabled.length === 0) return 'no builder is enabled';
    if (job.labels.length === 0) return undefined;
    const key = JSON.stringify(job.labels);
    let fits = fitsLabels.get(key);
    if (fits === undefined) {
      fits = enabled.some((b) => job.labels.every((l) => b.labels.includes(l)));
      fitsLabels.set(key, fits);
    }
    return fits ? undefined : `no enabled builder has the label${job.labels.length === 1 ? '' : 's'} ${job.labels.join(', ')}`;
  };
};

export interface QueueWait {
  id: string;
  /** Dependencies still to finish (running or queued). */
  waits_for: string[];
  /** Why it is blocked, when it is. */
  blocked: string | null;
  /** Why no builder can ever claim it, when none can. */
  never_runs: string | null;
}

/** How many jobs have each status (every status named, 0 where none has it). */
export const queueCounts = (statuses: Iterable<string>): Record<string, number> => {
  const queue: Record<string, number> = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0]));
  for (const status of statuses) queue[status] = (queue[status] ?? 0) + 1;
  return queue;
};

/** What a job's canonical text tells a view of the queue without parsing the job. */
export interface QueueGlance {
  status: string;
  /** It has a non-empty `dependencies`, or a `blocked` field. */
  waits: boolean;
  /** Its target, null for none. */
  target: string | null;
  /** It asks for labels (a non-empty `labels`). */
  labels: boolean;
}

/**
 * Whether queueWaits could list any job, from glances at the queue: a queued job with
 * dependencies or a block, with a target, or with labels, or any queued job when no builder
 * is enabled. When none could, the list is empty and the view needs only the counts.
 */
export const queueMayWait = (jobs: readonly QueueGlance[], builders: readonly BuilderEntry[]): boolean => {
  const noneEnabled = !builders.some((b) => b.enabled);
  return jobs.some((job) => job.status === 'queued' && (job.waits || job.target !== null || job.labels || noneEnabled));
};

/** Queued jobs that wait on something other than a free builder, in claim order. */
export const queueWaits = (jobs: readonly Job[], builders: readonly BuilderEntry[], untrusted: ReadonlySet<string> = NONE): QueueWait[] => {
  const readiness = readinessOf(jobs, untrusted);
  const neverRuns = neverRunsIn(builders);
  return inClaimOrder(jobs.filter((job) => job.status === 'queued'))
    .map((job): QueueWait => {
      const state = readiness(job);
      return {
        id: job.id,
        waits_for: state.kind === 'waiting' ? state.on.map((d) => d.id) : [],
        blocked: state.kind === 'blocked' ? state.reason : null,
        never_runs: neverRuns(job) ?? null,
      };
    })
    .filter((wait) => wait.waits_for.length > 0 || wait.blocked !== null || wait.never_runs !== null);
};

// ---- add ----------------------------------------------------------------------------

export interface AddJobInput {
  /** The new job's id, made by the caller (ids are inputs so transitions stay deterministic). */
  id: string;
  type: string;
  priority?: number | undefined;
  branch?: string | undefined;
  commit?: string | undefined;
  description?: string | undefined;
  target?: string | undefined;
  labels?: readonly string[] | undefined;
  key?: string | undefined;
  maxAttempts?: number | undefined;
  /** From settings (job_max_attempts), used when maxAttempts is not given. */
  defaultMaxAttempts: number;
  /** ISO-8601 time with a zone (Z or +hh:mm), or a date (midnight UTC). */
  runAfter?: string | undefined;
  /** A duration such as "30m" or "2h". */
  timeout?: string | undefined;
  /** Who added it (recorded as created_by). */
  by: string;
  /** Registered builders; when given, a target must be one of them. */
  knownBuilders?: readonly string[] | undefined;
  /** Jobs that must be completed first (`--after`); each must be in the queue. */
  after?: readonly string[] | undefined;
  now: Date;
}

const checkPriority = (priority: number): number => {
  if (!Number.isInteger(priority) || priority < 1 || priority > 100) {
    throw usageError(`invalid priority ${String(priority)}`, { code: 'invalid_priority', hint: 'a priority is a whole number from 1 (most urgent) to 100' });
  }
  return priority;
};

const checkMaxAttempts = (value: number): number => {
  if (!Number.isInteger(value) || value < 1 || value > 100) {
    throw usageError(`invalid max attempts ${String(value)}`, { code: 'invalid_max_attempts', hint: 'max attempts is a whole number from 1 to 100' });
  }
  return value;
};

// A time without a zone would be read in the local zone of whichever host parses it, and
// builders may not agree on that: require Z or an offset (a bare date is UTC by spec).
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2}))?$/i;

/** An ISO time from user input, normalised to UTC `...Z`. */
export const parseIsoTime = (text: string, what: string): string => {
  const trimmed = text.trim();
  const ms = ISO_TIME.test(trimmed) ? Date.parse(trimmed.replace(' ', 'T')) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw usageError(`invalid ${what} "${text}"`, {
      code: 'invalid_time',
      hint: 'write an ISO-8601 time with a zone, e.g. 2026-11-27T18:00:00Z or 2026-11-27T19:00:00+01:00',
    });
  }
  return new Date(ms).toISOString();
};

const optionalText = (value: string | undefined): string | null => {
  const trimmed = value?.trim();
  return trimmed ? trimmed : null;
};

/**
 * Adds a queued job. When `key` matches a live (queued or running) job, that job is
 * returned and nothing changes (outcome `existing`), so a script can add idempotently.
 */
export const addJob = (doc: JobsDoc, input: AddJobInput): { doc: JobsDoc; job: Job; outcome: 'added' | 'existing' } => {
  const type = checkType(input.type);
  checkOptionalText(input.description, 'description', { multiline: true });
  for (const [value, what] of [[input.branch, 'branch'], [input.commit, 'commit'], [input.key, 'key']] as const) checkOptionalText(value, what, { multiline: false });
  const priority = checkPriority(input.priority ?? DEFAULT_PRIORITY);
  const maxAttempts = checkMaxAttempts(input.maxAttempts ?? input.defaultMaxAttempts);
  const labels = [...new Set(input.labels ?? [])].sort();
  for (const l of labels) {
    if (!labelSchema.safeParse(l).success) {
      throw usageError(`invalid label "${l}"`, { code: 'invalid_label', hint: 'a label is lowercase letters, digits, ".", "_" or "-", at most 64 characters' });
    }
  }
  const target = optionalText(input.target);
  if (target !== null) {
    checkBuilderId(target, 'target builder');
    if (labels.length > 0) {
      throw usageError('a job takes a target builder or labels, not both', {
        code: 'target_and_labels',
        hint: 'use --target ID for one builder, or --label L (repeatable) for any builder with those labels',
      });
    }
    if (input.knownBuilders && !input.knownBuilders.includes(target)) {
      throw usageError(`unknown target builder "${target}"`, {
        code: 'unknown_builder',
        hint: `registered builders: ${input.knownBuilders.join(', ') || 'none yet'}`,
      });
    }
  }
  const runAfter = input.runAfter === undefined ? null : parseIsoTime(input.runAfter, 'run-after time');
  const timeout = optionalText(input.timeout);
  if (timeout !== null && parseDuration(timeout, 'timeout') <= 0) {
    throw usageError(`invalid timeout "${timeout}": it must be longer than zero`, { code: 'invalid_duration', hint: 'e.g. 30m or 2h' });
  }
  const key = input.key === undefined ? null : input.key.trim();
  if (key === '') throw usageError('a job key cannot be empty', { code: 'invalid_job_key', hint: 'leave --key out, or give a non-empty key' });
  const after = [...new Set((input.after ?? []).map((id) => id.trim()))];
  for (const id of after) requireJob(doc, id);

  // Dedupe comes after validation (a bad add is reported even if its key exists) and
  // before the id check (the caller's fresh id is irrelevant when nothing is added).
  if (key !== null) {
    const existing = doc.jobs.find((job) => job.key === key && isLive(job));
    if (existing) return { doc, job: existing, outcome: 'existing' };
  }
  if (!jobId.safeParse(input.id).success) {
    throw usageError(`invalid job id "${input.id}"`, { code: 'invalid_job_id', hint: 'a job id is letters, digits, ".", "_" or "-", at most 128 characters' });
  }
  if (findJob(doc, input.id)) {
    throw usageError(`a job with id "${input.id}" already exists`, { code: 'duplicate_job_id', hint: 'job ids are unique; run the add again for a fresh id' });
  }
  const job: Job = {
    id: input.id,
    type,
    priority,
    branch: optionalText(input.branch),
    commit: optionalText(input.commit),
    description: optionalText(input.description),
    status: 'queued',
    assigned_to: null,
    target,
    labels,
    key,
    ...(after.length > 0 ? { dependencies: after } : {}),
    attempts: 0,
    max_attempts: maxAttempts,
    run_after: runAfter,
    timeout,
    created_at: input.now.toISOString(),
    created_by: input.by,
    started_at: null,
    completed_at: null,
    result: null,
  };
  refuseCycle({ ...doc, jobs: [...doc.jobs, job] }, job);
  // Only the new job is judged: an add changes no other job (the next finish or
  // housekeeping settles the rest).
  const state = after.length > 0 ? readinessOf([...doc.jobs, job])(job) : undefined;
  const added: Job = state?.kind === 'blocked' ? { ...job, blocked: { by: state.by, reason: state.reason, since: input.now.toISOString() } } : job;
  return { doc: { ...doc, jobs: [...doc.jobs, added] }, job: added, outcome: 'added' };
};

/** A new job on, or after, a dependency cycle could never run: refused (exit 2). */
const refuseCycle = (doc: JobsDoc, job: Job): void => {
  const state = readinessOf(doc.jobs)(job);
  if (state.kind === 'blocked' && state.cause.startsWith('dependency cycle')) {
    throw usageError(`job ${job.id} would never run: ${state.cause}`, {
      code: 'dependency_cycle',
      hint: 'a job cannot wait, directly or through others, for itself; cancel a job on the cycle, or add this one after other jobs',
      details: { cycle: state.cause },
    });
  }
};

// ---- claim --------------------------------------------------------------------------

export interface ClaimInput {
  builder: string;
  builderLabels: readonly string[];
  type?: string | undefined;
  now: Date;
  /** Jobs whose latest change is not trusted (require_signed_writes): never claimed, and not finished as dependencies. */
  untrusted?: ReadonlySet<string> | undefined;
}

/** Whether `builder` may take this job now (status, run_after, target, labels, type); dependencies aside. */
export const isEligible = (job: Job, input: ClaimInput): boolean =>
  job.status === 'queued' &&
  (job.run_after == null || Date.parse(job.run_after) <= input.now.getTime()) &&
  (job.target == null || job.target === input.builder) &&
  job.labels.every((l) => input.builderLabels.includes(l)) &&
  (input.type === undefined || job.type === input.type);

const timeOf = (iso: string): number => {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms;
};

/** Claim order: priority (1 first), then oldest created_at, then id, so every clone agrees. */
export const claimOrder = (a: Job, b: Job): number =>
  a.priority - b.priority || timeOf(a.created_at) - timeOf(b.created_at) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Jobs in claim order, each job's time read once (a comparison reads two: thousands of queued jobs read each many times). */
export const inClaimOrder = (jobs: readonly Job[]): Job[] =>
  jobs
    .map((job) => ({ job, at: timeOf(job.created_at) }))
    .sort((a, b) => a.job.priority - b.job.priority || a.at - b.at || (a.job.id < b.job.id ? -1 : a.job.id > b.job.id ? 1 : 0))
    .map(({ job }) => job);

/** The job a claim takes: the first eligible queued job in claim order whose dependencies are all completed; undefined when none is. */
export const chooseClaim = (jobs: readonly Job[], input: ClaimInput): Job | undefined => {
  checkBuilderId(input.builder);
  if (input.type !== undefined) checkType(input.type);
  const untrusted = input.untrusted ?? NONE;
  const readiness = readinessOf(jobs, untrusted);
  // The first in claim order, found in one pass: sorting 10,000 queued jobs to take one
  // parsed each created_at about 28 times (measured: 5 ms of a claim).
  let candidate: Job | undefined;
  for (const job of jobs) {
    if (isEligible(job, input) && !untrusted.has(job.id) && (candidate === undefined || claimOrder(job, candidate) < 0) && readiness(job).kind === 'ready') candidate = job;
  }
  return candidate;
};

/** The job `chooseClaim` chose, claimed: running, assigned to the claimer, started now, one more attempt. */
export const claimedJob = (job: Job, input: ClaimInput): Job => ({
  ...job,
  status: 'running',
  assigned_to: input.builder,
  started_at: input.now.toISOString(),
  completed_at: null,
  result: null,
  attempts: job.attempts + 1,
});

/**
 * Takes the first eligible queued job in claim order (chooseClaim) and claims it
 * (claimedJob). `job` is undefined when nothing is eligible (the doc is returned unchanged).
 */
export const claimJob = (doc: JobsDoc, input: ClaimInput): { doc: JobsDoc; job: Job | undefined } => {
  const candidate = chooseClaim(doc.jobs, input);
  if (!candidate) return { doc, job: undefined };
  const job = claimedJob(candidate, input);
  return { doc: replaceJob(doc, job), job };
};

/**
 * What this builder is building now: a running job of the queue assigned to it, else the job
 * its own status shows as `building` (a build outside the queue, set with `status set`).
 * A status that still names a queue job that is no longer its running job is out of date,
 * and builds nothing.
 */
export const buildingNow = (doc: JobsDoc, builder: string, status: Pick<StatusDoc, 'state' | 'current_job'> | undefined): string | undefined => {
  const running = doc.jobs.find((job) => job.status === 'running' && job.assigned_to === builder);
  if (running) return running.id;
  if (status?.state !== 'building' || !status.current_job) return undefined;
  return findJob(doc, status.current_job) === undefined ? status.current_job : undefined;
};

/**
 * One truth per builder: a builder builds one job at a time, and a disabled one takes none.
 * Throws the refusal (exit 3) before a claim, naming the job it is building.
 */
export const checkMayClaim = (doc: JobsDoc, me: Pick<BuilderEntry, 'id' | 'enabled'>, status: Pick<StatusDoc, 'state' | 'current_job'> | undefined): void => {
  if (!me.enabled) {
    throw notNowError(`${me.id} is disabled: a disabled builder takes no jobs`, {
      code: 'builder_disabled',
      hint: `enable it with: buildctl builder add ${me.id} --enabled`,
    });
  }
  const building = buildingNow(doc, me.id, status);
  if (building !== undefined) {
    throw notNowError(`${me.id} is already building ${building}: one job at a time`, {
      code: 'already_building',
      hint: `finish it first (buildctl job complete ${building}, or job fail ${building} --reason "..."); if it is not running any more: buildctl status set idle`,
      details: { job: building },
    });
  }
};

/** The refusal an operation throws when claimJob finds nothing (exit 3: try again later). */
export const nothingToClaimError = (builder: string, type?: string) =>
  notNowError(`nothing to claim for ${builder}${type === undefined ? '' : ` of type "${type}"`}`, {
    code: 'nothing_to_claim',
    hint: 'no queued job is eligible now (target, labels, run-after and dependencies decide); see "buildctl job list --status queued"',
  });

// ---- finish: complete / fail / cancel / retry / requeue ------------------------------

const durationSeconds = (job: Job, now: Date): number | undefined => {
  if (job.started_at == null) return undefined;
  const ms = now.getTime() - Date.parse(job.started_at);
  return Number.isNaN(ms) ? undefined : Math.max(0, Math.round(ms) / 1000);
};

/** One run of a job: which claim it was (a later claim of the same job is another run). */
export interface RunIdentity {
  started_at: string | null;
  attempts: number;
}

export const runIdentityOf = (job: Job): RunIdentity => ({ started_at: job.started_at ?? null, attempts: job.attempts });

/** What `job run` records about how its command ended, beside the usual result fields. */
export interface RunRecord {
  outcome: RunOutcome;
  exit_code?: number | null | undefined;
  signal?: string | null | undefined;
  log?: string | undefined;
  log_tail?: readonly string[] | undefined;
}

export interface FinishInput {
  id: string;
  /** Who asks: the assignee, or an operator with `force`. */
  by: string;
  /** Lets someone other than the assignee finish a running job (an operator cleaning up). */
  force?: boolean | undefined;
  /** Only this run of the job (job run, and a queued finish): refused when the job was started again since. */
  run?: RunIdentity | undefined;
  now: Date;
}

/** A running job that `by` may finish; refusals are state conflicts (exit 3). */
const requireOwnRunningJob = (doc: JobsDoc, input: FinishInput, verb: string): Job => {
  const job = requireJob(doc, input.id);
  if (job.status !== 'running') {
    throw notNowError(`job ${job.id} is ${job.status}, not running: it cannot be ${verb}`, {
      code: 'job_not_running',
      hint: job.status === 'queued' ? 'claim it first, or cancel it' : `it is already ${job.status}; use "buildctl job retry ${job.id}" to run it again`,
      details: { status: job.status },
    });
  }
  if (job.assigned_to !== input.by && !input.force) {
    throw notNowError(`job ${job.id} is assigned to ${job.assigned_to ?? 'nobody'}, not ${input.by}`, {
      code: 'not_assignee',
      hint: `only ${job.assigned_to ?? 'its assignee'} may finish it; an operator can add --force`,
      details: { assigned_to: job.assigned_to },
    });
  }
  if (input.run && ((job.started_at ?? null) !== input.run.started_at || job.attempts !== input.run.attempts)) {
    throw notNowError(`job ${job.id} was started again (attempt ${job.attempts}, at ${job.started_at ?? '?'}) since this run claimed it`, {
      code: 'job_run_replaced',
      hint: 'this run no longer owns the job: the later run finishes it',
      details: { started_at: job.started_at, attempts: job.attempts },
    });
  }
  return job;
};

const forcedBy = (job: Job, by: string): { forced_by?: string } => (job.assigned_to === by ? {} : { forced_by: by });

const URL_PATTERN = /^[a-z][a-z0-9+.-]*:\/\/\S+$/i;

/**
 * Artifact URLs as given (`--artifact-url`, the n-th for the n-th `--artifact`): one line, a
 * scheme, no more of them than artifacts. Checked before any work is done. (Like every
 * committed value, they also pass the credential check of ops/mutate.ts.)
 */
export const checkArtifactUrls = (paths: readonly string[], urls: readonly string[]): void => {
  if (urls.length > paths.length) {
    throw usageError(`${urls.length} artifact URLs for ${paths.length} artifact${paths.length === 1 ? '' : 's'}`, {
      code: 'artifact_url_without_artifact',
      hint: 'give one --artifact PATH for each --artifact-url URL; the n-th URL belongs to the n-th path',
    });
  }
  for (const url of urls) {
    checkText(url, 'artifact URL', { multiline: false });
    if (!URL_PATTERN.test(url)) {
      throw usageError(`invalid artifact URL "${url}"`, { code: 'invalid_artifact_url', hint: 'give a URL with a scheme, e.g. https://artifacts.example/app-1.2.tar.gz or s3://bucket/key' });
    }
  }
};

/** Artifact manifests as the operation described them: one-line path, valid URL. */
const checkArtifacts = (artifacts: readonly ArtifactManifest[]): ArtifactManifest[] =>
  artifacts.map((artifact) => {
    checkText(artifact.path, 'artifact path', { multiline: false });
    if (artifact.url !== undefined) checkArtifactUrls([artifact.path], [artifact.url]);
    return { ...artifact };
  });

/** The run fields of a result (log tail lines are one line each, no control characters: the caller cleans them). */
const runFields = (run: RunRecord | undefined): Partial<JobResult> => {
  if (!run) return {};
  for (const line of run.log_tail ?? []) checkText(line, 'log line', { multiline: false });
  if (run.log !== undefined) checkText(run.log, 'log path', { multiline: false });
  return {
    outcome: run.outcome,
    ...(run.exit_code === undefined ? {} : { exit_code: run.exit_code }),
    ...(run.signal === undefined ? {} : { signal: run.signal }),
    ...(run.log === undefined ? {} : { log: run.log }),
    ...(run.log_tail === undefined ? {} : { log_tail: [...run.log_tail] }),
  };
};

/** Every finishing transition ends here: the job replaced, and its dependents' blocks settled. */
const finish = (doc: JobsDoc, job: Job, now: Date): { doc: JobsDoc; job: Job } => {
  const settled = settleBlocked(replaceJob(doc, job), now).doc;
  return { doc: settled, job: requireJob(settled, job.id) };
};

export const completeJob = (
  doc: JobsDoc,
  input: FinishInput & { artifacts?: readonly ArtifactManifest[] | undefined; record?: RunRecord | undefined },
): { doc: JobsDoc; job: Job } => {
  const artifacts = checkArtifacts(input.artifacts ?? []);
  const current = requireOwnRunningJob(doc, input, 'completed');
  const duration = durationSeconds(current, input.now);
  const job: Job = {
    ...current,
    status: 'completed',
    completed_at: input.now.toISOString(),
    result: {
      artifacts,
      ...(duration === undefined ? {} : { duration_seconds: duration }),
      ...runFields(input.record),
      ...forcedBy(current, input.by),
    },
  };
  return finish(doc, job, input.now);
};

const requireReason = (reason: string | undefined, verb: string): string => {
  const trimmed = reason?.trim();
  if (!trimmed) throw usageError(`a reason is required to ${verb} a job`, { code: 'reason_required', hint: 'add --reason "what went wrong"' });
  checkText(trimmed, 'reason', { multiline: false });
  return trimmed;
};

export const failJob = (
  doc: JobsDoc,
  input: FinishInput & { reason: string; artifacts?: readonly ArtifactManifest[] | undefined; record?: RunRecord | undefined },
): { doc: JobsDoc; job: Job } => {
  const reason = requireReason(input.reason, 'fail');
  const artifacts = checkArtifacts(input.artifacts ?? []);
  const current = requireOwnRunningJob(doc, input, 'failed');
  const duration = durationSeconds(current, input.now);
  const job: Job = {
    ...current,
    status: 'failed',
    completed_at: input.now.toISOString(),
    result: {
      reason,
      ...(artifacts.length > 0 ? { artifacts } : {}),
      ...(duration === undefined ? {} : { duration_seconds: duration }),
      ...runFields(input.record),
      ...forcedBy(current, input.by),
    },
  };
  return finish(doc, job, input.now);
};

/**
 * A running job goes back to the queue (it keeps its attempts), or becomes dead when it
 * has used them all: what housekeeping does when its builder died, and what `job run`
 * does when it lost the job's lease while the job was still its own.
 */
export const requeueRunning = (job: Job, reason: string, now: Date, extra: Partial<JobResult> = {}): Job => {
  const result = { ...(job.result ?? {}), reason, ...extra };
  if (job.attempts >= job.max_attempts) return { ...job, status: 'dead', completed_at: now.toISOString(), result };
  return { ...job, status: 'queued', assigned_to: null, started_at: null, result };
};

/** `job run` gives up a job it can no longer hold (its lease was lost): requeued, or dead when out of attempts. */
export const releaseJob = (
  doc: JobsDoc,
  input: FinishInput & { reason: string; record?: RunRecord | undefined },
): { doc: JobsDoc; job: Job } => {
  const reason = requireReason(input.reason, 'release');
  const current = requireOwnRunningJob(doc, input, 'released');
  const duration = durationSeconds(current, input.now);
  const job = requeueRunning(current, `${reason} (attempt ${current.attempts} of ${current.max_attempts})`, input.now, {
    ...(duration === undefined ? {} : { duration_seconds: duration }),
    ...runFields(input.record),
  });
  return finish(doc, job, input.now);
};

/**
 * Cancels a queued or running job. Anyone may cancel (it is how an operator withdraws
 * work); a running job's builder learns of it when it tries to complete (`job run`
 * notices at its next check and stops its command).
 */
export const cancelJob = (
  doc: JobsDoc,
  input: { id: string; by: string; reason?: string | undefined; now: Date },
): { doc: JobsDoc; job: Job } => {
  const current = requireJob(doc, input.id);
  if (!isLive(current)) {
    throw notNowError(`job ${current.id} is already ${current.status}`, {
      code: 'job_finished',
      hint: 'only a queued or running job can be cancelled',
      details: { status: current.status },
    });
  }
  const reason = checkOptionalText(input.reason?.trim(), 'reason', { multiline: false });
  const duration = durationSeconds(current, input.now);
  const job: Job = {
    ...current,
    status: 'cancelled',
    completed_at: input.now.toISOString(),
    result: {
      ...(reason ? { reason } : {}),
      ...(duration === undefined ? {} : { duration_seconds: duration }),
      cancelled_by: input.by,
    },
  };
  return finish(doc, job, input.now);
};

/**
 * Queues a failed, cancelled or dead job again. It is a fresh start: assignment, times and
 * result are cleared and attempts go back to 0, so the max_attempts limit applies anew.
 * Refused while another live job holds the same key (the key would no longer be unique).
 * Jobs it blocked are unblocked (they wait for it again).
 */
export const retryJob = (doc: JobsDoc, input: { id: string; now: Date }): { doc: JobsDoc; job: Job } => {
  const current = requireJob(doc, input.id);
  if (!RETRYABLE_STATUSES.includes(current.status)) {
    const blockedHint = current.blocked ? `it is blocked: ${current.blocked.reason}; retry ${current.blocked.by} instead` : undefined;
    throw notNowError(`job ${current.id} is ${current.status}: only a failed, cancelled or dead job can be retried`, {
      code: 'job_not_retryable',
      hint: blockedHint ?? (current.status === 'completed' ? 'add a new job to run it again' : 'it is still live; wait for it to finish or cancel it'),
      details: { status: current.status },
    });
  }
  const holder = current.key == null ? undefined : doc.jobs.find((j) => j.id !== current.id && j.key === current.key && isLive(j));
  if (holder) {
    throw notNowError(`job ${holder.id} (${holder.status}) already has the key "${current.key ?? ''}"`, {
      code: 'key_in_use',
      hint: `wait for ${holder.id} to finish, or cancel it first`,
      details: { job: holder.id },
    });
  }
  const job: Job = {
    ...current,
    status: 'queued',
    assigned_to: null,
    attempts: 0,
    started_at: null,
    completed_at: null,
    result: null,
  };
  return finish(doc, job, input.now);
};
