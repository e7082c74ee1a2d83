// Housekeeping: what any builder's agent does to main on its tick. One pure function of the
// documents, what this clone has watched and the time; the operation writes its result as
// one commit, and only when something changed. Every destructive step (declare dead,
// requeue, time out, reap, free) follows this clone's own watch (domain/clocks.ts), never
// another host's timestamps.
import type { BuildersDoc } from '../schemas/builders.js';
import type { DashboardDoc, Health } from '../schemas/dashboard.js';
import { type Job, type JobStatus, type JobsDoc } from '../schemas/jobs.js';
import type { LocksDoc } from '../schemas/locks.js';
import type { Message, MessagesDoc } from '../schemas/messages.js';
import type { Sighting } from '../schemas/observations.js';
import type { StatusDoc } from '../schemas/status.js';
import type { Settings } from './config.js';
import { dependenciesOf, queueCounts, requeueRunning, settleBlocked } from './jobs.js';
import { isTimedOut, judgeLock } from './clocks.js';
import { assigneeStatusAfter } from './status.js';
import { hasAcked, hasRead, recipientsOf } from './messages.js';

export interface HousekeepingInput {
  now: Date;
  settings: Settings;
  builders: BuildersDoc;
  /** Health of each registered builder for actions (domain/clocks.ts `judgeBeat`): dead only when this clone watched it silent. */
  health: ReadonlyMap<string, Health>;
  /** What this clone has watched of locks and running jobs, by name and id (domain/clocks.ts). */
  seen: { locks: Readonly<Record<string, Sighting>>; jobs: Readonly<Record<string, Sighting>> };
  statuses: ReadonlyMap<string, StatusDoc>;
  jobs: JobsDoc;
  locks: LocksDoc;
  messages: MessagesDoc;
  dashboard: DashboardDoc | undefined;
  /**
   * Set when the jobs were left unread because no job could change (`jobsMayChange`):
   * `jobs` is then empty, and these are how many jobs each status has (the dashboard's).
   */
  queueCounts?: Readonly<Record<string, number>> | undefined;
  /**
   * Jobs and locks whose latest change is not trusted (require_signed_writes): left exactly
   * as they are (no requeue, timeout, archive or reaping), and a job among them counts as
   * not finished for the jobs that depend on it.
   */
  untrusted?: { jobs: ReadonlySet<string>; locks: ReadonlySet<string> } | undefined;
}

export interface HousekeepingReport {
  dead_builders: string[];
  reaped_locks: string[];
  freed_locks: string[];
  requeued_jobs: string[];
  dead_jobs: string[];
  timed_out_jobs: string[];
  /** Queued jobs newly blocked because a dependency ended for good (e.g. it died here). */
  blocked_jobs: string[];
  archived_jobs: string[];
  archived_messages: string[];
  dashboard_changed: boolean;
  /** Jobs and locks left alone because their latest change is not trusted (`job:<id>`, `lock:<name>`). */
  not_acted_on: string[];
}

export interface HousekeepingResult {
  jobs: JobsDoc;
  locks: LocksDoc;
  messages: MessagesDoc;
  dashboard: DashboardDoc;
  /** Assignees' status documents that follow their requeued, dead or timed-out job. */
  statuses: Map<string, StatusDoc>;
  /** Entries leaving the hot files, by archive month (YYYY-MM). */
  archive: { jobs: Map<string, Job[]>; messages: Map<string, Message[]> };
  report: HousekeepingReport;
}

const FINISHED: readonly JobStatus[] = ['completed', 'failed', 'cancelled', 'dead'];

const monthOf = (iso: string): string => iso.slice(0, 7);

const olderThan = (iso: string | null | undefined, ms: number, now: Date): boolean =>
  iso !== null && iso !== undefined && now.getTime() - Date.parse(iso) > ms;

/** The earliest of `times` (ISO) plus `ms`, in ms since the epoch; +Infinity when there is none (an unreadable time never ages). */
const earliestPlus = (times: Iterable<string | null | undefined>, ms: number): number => {
  let earliest = Number.POSITIVE_INFINITY;
  for (const iso of times) {
    const at = iso === null || iso === undefined ? Number.NaN : Date.parse(iso) + ms;
    if (at < earliest) earliest = at;
  }
  return earliest;
};

/**
 * Until when (ms since the epoch, inclusive) no message (by its created_at) is old enough to
 * leave the hot file: until then a housekeeping pass archives none, whoever has read them.
 */
export const messagesQuietThrough = (createdAt: readonly string[], settings: Settings): number => earliestPlus(createdAt, settings.messageRetentionMs);

/** Whether any message is old enough to leave the hot file now (messagesQuietThrough): until one is, a pass need not look at them. */
export const messagesMayArchive = (createdAt: readonly string[], settings: Settings, now: Date): boolean => now.getTime() > messagesQuietThrough(createdAt, settings);

/** Running jobs of dead builders go back to the queue, or become dead when out of attempts. */
const requeueOrphans = (jobs: Job[], dead: ReadonlySet<string>, now: Date, report: HousekeepingReport, untrusted: ReadonlySet<string>): Job[] =>
  jobs.map((job) => {
    if (job.status !== 'running' || !job.assigned_to || !dead.has(job.assigned_to) || untrusted.has(job.id)) return job;
    const next = requeueRunning(job, `${job.assigned_to} died while running it (attempt ${job.attempts} of ${job.max_attempts})`, now);
    (next.status === 'dead' ? report.dead_jobs : report.requeued_jobs).push(job.id);
    return next;
  });

const own = <T>(record: Readonly<Record<string, T>>, key: string): T | undefined => (Object.hasOwn(record, key) ? record[key] : undefined);

/** Running jobs that this clone watched run for longer than their timeout fail as timed out. */
const failTimedOut = (jobs: Job[], seen: HousekeepingInput['seen'], now: Date, report: HousekeepingReport, untrusted: ReadonlySet<string>): Job[] =>
  jobs.map((job) => {
    if (untrusted.has(job.id) || !isTimedOut(job, own(seen.jobs, job.id), now)) return job;
    report.timed_out_jobs.push(job.id);
    // Shown, not decided on: the claimer's clock wrote started_at.
    const duration = Math.max(0, Math.round((now.getTime() - Date.parse(job.started_at ?? '')) / 1000) || 0);
    return {
      ...job,
      status: 'failed',
      completed_at: now.toISOString(),
      result: { ...(job.result ?? {}), reason: `timed out after ${job.timeout}`, duration_seconds: duration },
    };
  });

/** Read by every recipient, and acknowledged by each where an ack was asked for. */
export const isSettled = (message: Message, builders: readonly string[]): boolean =>
  recipientsOf(message, builders).every((id) => hasRead(message, id) && (!message.ack_required || hasAcked(message, id)));

const addTo = <T>(map: Map<string, T[]>, key: string, value: T): void => {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
};

/** What a job's canonical text tells housekeeping without parsing the job (ops/housekeeping.ts reads it). */
export interface JobGlance {
  id: string;
  status: string;
  /** It lists dependencies (a non-empty `dependencies`). */
  dependencies: boolean;
  /** It has a `blocked` field, whatever its value. */
  blocked: boolean;
  /** completed_at, else created_at: what archiving goes by. */
  finishedAt: string | null;
}

/**
 * Whether a pass could change any job, from glances at them: a running one (requeued, timed
 * out), one with dependencies or a block (settled), a finished one older than job_retention
 * (archived), one whose latest change is not trusted (reported). When none could, the queue
 * stays as it is, and the dashboard needs only how many jobs each status has.
 */
export const jobsMayChange = (jobs: readonly JobGlance[], settings: Settings, now: Date, untrusted: ReadonlySet<string>): boolean =>
  now.getTime() > jobsQuietThrough(jobs, settings, untrusted);

/**
 * Until when (ms since the epoch, inclusive) a pass changes no job (jobsMayChange): -Infinity
 * when one may change whatever the time (running, with dependencies or a block, not
 * trusted), else when the first finished job passes job_retention (+Infinity: never by time).
 */
export const jobsQuietThrough = (jobs: readonly JobGlance[], settings: Settings, untrusted: ReadonlySet<string>): number => {
  if (jobs.some((job) => job.status === 'running' || job.dependencies || job.blocked || untrusted.has(job.id))) return Number.NEGATIVE_INFINITY;
  return earliestPlus(
    jobs.filter((job) => (FINISHED as readonly string[]).includes(job.status)).map((job) => job.finishedAt),
    settings.jobRetentionMs,
  );
};

export const buildDashboard = (input: Pick<HousekeepingInput, 'builders' | 'health' | 'statuses' | 'now'>, queue: Readonly<Record<string, number>>, previous: DashboardDoc | undefined): { dashboard: DashboardDoc; changed: boolean } => {
  const builders = input.builders.builders.map((b) => ({
    id: b.id,
    health: input.health.get(b.id) ?? 'unknown',
    state: input.statuses.get(b.id)?.state ?? null,
    current_job: input.statuses.get(b.id)?.current_job ?? null,
  }));
  const counts: Record<Health, number> = { healthy: 0, stale: 0, dead: 0, unknown: 0 };
  for (const b of builders) counts[b.health]++;
  const content = { builders, counts, queue };
  const same = previous !== undefined && JSON.stringify({ builders: previous.builders, counts: previous.counts, queue: previous.queue }) === JSON.stringify(content);
  if (same) return { dashboard: previous, changed: false };
  return { dashboard: { ...(previous ?? {}), updated_at: input.now.toISOString(), ...content }, changed: true };
};

export const housekeep = (input: HousekeepingInput): HousekeepingResult => {
  const { now, settings } = input;
  const report: HousekeepingReport = {
    dead_builders: [],
    reaped_locks: [],
    freed_locks: [],
    requeued_jobs: [],
    dead_jobs: [],
    timed_out_jobs: [],
    blocked_jobs: [],
    archived_jobs: [],
    archived_messages: [],
    dashboard_changed: false,
    not_acted_on: [],
  };
  const untrustedJobs = input.untrusted?.jobs ?? new Set<string>();
  const untrustedLocks = input.untrusted?.locks ?? new Set<string>();
  report.not_acted_on = [
    ...input.jobs.jobs.filter((job) => untrustedJobs.has(job.id)).map((job) => `job:${job.id}`),
    ...input.locks.locks.filter((lock) => untrustedLocks.has(lock.name)).map((lock) => `lock:${lock.name}`),
  ];
  const ids = input.builders.builders.map((b) => b.id);
  // Only a builder whose heartbeat went silent counts as dead; one that never beat is unknown,
  // and its jobs are left alone (it may be run by hand, without an agent).
  const dead = new Set(ids.filter((id) => input.health.get(id) === 'dead'));
  report.dead_builders = [...dead];

  let jobs = requeueOrphans(input.jobs.jobs, dead, now, report, untrustedJobs);
  jobs = failTimedOut(jobs, input.seen, now, report, untrustedJobs);

  // One truth per builder: an assignee whose job went back to the queue, died or timed out
  // no longer shows it as its current job (same commit as the job).
  const statuses = new Map<string, StatusDoc>();
  input.jobs.jobs.forEach((before, i) => {
    const after = jobs[i];
    if (!after || after === before || !before.assigned_to) return;
    const next = assigneeStatusAfter(statuses.get(before.assigned_to) ?? input.statuses.get(before.assigned_to), before, after, now);
    if (next) statuses.set(before.assigned_to, next);
  });
  const settled = settleBlocked({ ...input.jobs, jobs }, now, untrustedJobs);
  jobs = settled.doc.jobs;
  report.blocked_jobs = settled.blocked;

  // A finished job that a live job still depends on stays: claim must see it completed, or why not.
  const needed = new Set(jobs.filter((job) => job.status === 'queued' || job.status === 'running').flatMap(dependenciesOf));
  const archive = { jobs: new Map<string, Job[]>(), messages: new Map<string, Message[]>() };
  const keptJobs: Job[] = [];
  for (const job of jobs) {
    const finishedAt = job.completed_at ?? job.created_at;
    if (FINISHED.includes(job.status) && !needed.has(job.id) && !untrustedJobs.has(job.id) && olderThan(finishedAt, settings.jobRetentionMs, now)) {
      addTo(archive.jobs, monthOf(finishedAt), job);
      report.archived_jobs.push(job.id);
    } else keptJobs.push(job);
  }

  const keptMessages: Message[] = [];
  for (const message of input.messages.messages) {
    if (olderThan(message.created_at, settings.messageRetentionMs, now) && isSettled(message, ids)) {
      addTo(archive.messages, monthOf(message.created_at), message);
      report.archived_messages.push(message.id);
    } else keptMessages.push(message);
  }

  const keptLocks = input.locks.locks.filter((lock) => {
    if (untrustedLocks.has(lock.name)) return true;
    if (judgeLock(lock, own(input.seen.locks, lock.name), now).expired) {
      report.reaped_locks.push(lock.name);
      return false;
    }
    if (dead.has(lock.owner)) {
      report.freed_locks.push(lock.name);
      return false;
    }
    return true;
  });

  const queue = input.queueCounts ?? queueCounts(keptJobs.map((job) => job.status));
  const { dashboard, changed } = buildDashboard({ ...input, statuses: new Map([...input.statuses, ...statuses]) }, queue, input.dashboard);
  report.dashboard_changed = changed;
  const changedJobs = keptJobs.length !== input.jobs.jobs.length || keptJobs.some((job, i) => job !== input.jobs.jobs[i]);
  return {
    jobs: changedJobs ? { ...input.jobs, jobs: keptJobs } : input.jobs,
    locks: keptLocks.length === input.locks.locks.length ? input.locks : { ...input.locks, locks: keptLocks },
    messages: keptMessages.length === input.messages.messages.length ? input.messages : { ...input.messages, messages: keptMessages },
    dashboard,
    statuses,
    archive,
    report,
  };
};

/** Appends archived entries to an archive document, once each (a re-run never doubles them). */
export const appendToArchive = <T extends { id: string }>(existing: readonly T[], entries: readonly T[]): T[] => {
  const seen = new Set(existing.map((e) => e.id));
  return [...existing, ...entries.filter((e) => !seen.has(e.id))];
};
