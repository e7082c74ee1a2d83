// The agent's housekeeping on main: one transaction, and a commit only when something changed.
// It is also this clone's regular look at the fleet: every heartbeat, lock and running job
// it sees is recorded (ops/observe.ts), and only what this clone itself watched long enough
// is acted on (domain/clocks.ts).
import { judgeBeat, skewedClocks } from '../domain/clocks.js';
import type { Settings } from '../domain/config.js';
import { plural } from '../domain/format.js';
import { recordEvents } from '../domain/events.js';
import { appendToArchive, housekeep, jobsQuietThrough, messagesQuietThrough, type HousekeepingInput, type HousekeepingReport, type JobGlance } from '../domain/housekeeping.js';
import { queueCounts } from '../domain/jobs.js';
import type { Health } from '../schemas/dashboard.js';
import type { HeartbeatDoc } from '../schemas/heartbeat.js';
import { docs } from '../schemas/layout.js';
import type { NotifyEvent } from '../schemas/notify.js';
import type { StatusDoc } from '../schemas/status.js';
import { fieldString } from '../store/documents.js';
import { loadQuietMemo, quietEntry, saveQuietMemo, stillQuiet } from '../store/quiet-memo.js';
import { heartbeatCommits, openSnapshot } from '../store/snapshot.js';
import { fetchAll, type Store } from '../store/store.js';
import type { ReadDoc, Write } from '../store/transaction.js';
import type { Context } from './context.js';
import { mutate } from './mutate.js';
import { readFleet } from './fleet-read.js';
import { readHeartbeat } from './heartbeats-read.js';
import { eventIdOf } from './notify.js';
import { beatSights, recordLook } from './observe.js';
import { trustAtBase } from './signed-writes.js';
import { judgeHeartbeat } from './trust.js';

export interface HousekeepingOutcome extends HousekeepingReport {
  changed: boolean;
  commit: string | null;
  /** Events this commit recorded (fleets with notification targets): this builder sends them. */
  events: NotifyEvent[];
  /** Builders whose clock is further off than max_clock_skew from this clone's. */
  clock_skew: Array<{ builder: string; offset_seconds: number }>;
}

const summaryOf = (r: HousekeepingReport, events: number): string => {
  const parts = [
    r.requeued_jobs.length && `requeued ${plural(r.requeued_jobs.length, 'job')}`,
    r.dead_jobs.length && `${plural(r.dead_jobs.length, 'job')} dead`,
    r.timed_out_jobs.length && `${plural(r.timed_out_jobs.length, 'job')} timed out`,
    r.blocked_jobs.length && `${plural(r.blocked_jobs.length, 'job')} blocked`,
    r.reaped_locks.length + r.freed_locks.length && `freed ${plural(r.reaped_locks.length + r.freed_locks.length, 'lock')}`,
    r.archived_jobs.length && `archived ${plural(r.archived_jobs.length, 'job')}`,
    r.archived_messages.length && `archived ${plural(r.archived_messages.length, 'message')}`,
    r.dead_builders.length && `dead: ${r.dead_builders.join(',')}`,
    r.dashboard_changed && 'dashboard',
    events && plural(events, 'event'),
  ].filter(Boolean);
  return `housekeeping: ${parts.join(', ') || 'nothing'}`;
};

/** Which jobs, locks and builders it acted on, for `buildctl log` (the summary only counts them). */
const trailersOf = (r: HousekeepingReport): Record<string, string> => {
  const named: Array<[string, readonly string[]]> = [
    ['Buildctl-Requeued', r.requeued_jobs],
    ['Buildctl-Dead-Jobs', r.dead_jobs],
    ['Buildctl-Timed-Out', r.timed_out_jobs],
    ['Buildctl-Reaped-Locks', r.reaped_locks],
    ['Buildctl-Freed-Locks', r.freed_locks],
    ['Buildctl-Dead-Builders', r.dead_builders],
  ];
  return Object.fromEntries(named.filter(([, ids]) => ids.length > 0).map(([name, ids]) => [name, ids.join(', ')]));
};

/** The fields a job's glance is made of. */
const GLANCE_FIELDS = ['id', 'status', 'dependencies', 'blocked', 'completed_at', 'created_at'];

/** What housekeeping needs of a job, off its text; undefined when the text does not say (the queue is then read). */
const glanceAtJob = (fields: Map<string, string>): JobGlance | undefined => {
  const id = fieldString(fields.get('id'));
  const status = fieldString(fields.get('status'));
  if (typeof id !== 'string' || typeof status !== 'string') return undefined;
  return {
    id,
    status,
    dependencies: fields.has('dependencies') && fields.get('dependencies') !== '[]',
    blocked: fields.has('blocked'),
    finishedAt: fieldString(fields.get('completed_at')) ?? fieldString(fields.get('created_at')) ?? null,
  };
};

/** Every entry's glance, or undefined when there are no fields to look at or one entry's do not say. */
const glanceAll = <T>(entries: Array<Map<string, string>> | undefined, glance: (fields: Map<string, string>) => T | undefined): T[] | undefined => {
  if (entries === undefined) return undefined;
  const glances: T[] = [];
  for (const entry of entries) {
    const seen = glance(entry);
    if (seen === undefined) return undefined;
    glances.push(seen);
  }
  return glances;
};

/** Whether a pass must read the job queue and the messages, and the queue's counts when it need not. */
interface Largest {
  readJobs: boolean;
  readMessages: boolean;
  queue: Record<string, number> | undefined;
}

/**
 * The job queue and the messages are the largest documents, and an idle pass changes
 * neither: where this clone validated them before, a glance at each entry's text (its
 * status, dates, dependencies) tells whether the pass could change any, and only then are
 * they parsed. And where an earlier pass found the same blobs quiet until later than now
 * (under the same settings and trust: store/quiet-memo.ts), they are not even glanced at.
 * (Events, on fleets with notification targets, look at every entry: the caller reads both.)
 */
const glanceAtLargest = async (read: ReadDoc, store: Store, settings: Settings, untrusted: ReadonlySet<string>, now: Date): Promise<Largest> => {
  const at = now.getTime();
  const [memo, jobsBlob, messagesBlob] = await Promise.all([loadQuietMemo(store), read.blobId(docs.jobs), read.blobId(docs.messages)]);
  const jobsKey = JSON.stringify([settings.jobRetentionMs, [...untrusted].sort()]);
  const messagesKey = JSON.stringify([settings.messageRetentionMs]);
  const jobsQuiet = stillQuiet(memo.jobs, jobsBlob, jobsKey, at) && memo.jobs.counts !== undefined ? memo.jobs : undefined;
  const jobGlances = jobsQuiet ? undefined : glanceAll(await read.entryFields(docs.jobs, GLANCE_FIELDS), glanceAtJob);
  const jobsThrough = jobGlances === undefined ? undefined : jobsQuietThrough(jobGlances, settings, untrusted);
  const readJobs = !jobsQuiet && (jobsThrough === undefined || at > jobsThrough);
  const messagesQuiet = stillQuiet(memo.messages, messagesBlob, messagesKey, at);
  const created = messagesQuiet ? undefined : glanceAll(await read.entryFields(docs.messages, ['created_at']), (fields) => fieldString(fields.get('created_at')) ?? undefined);
  const messagesThrough = created === undefined ? undefined : messagesQuietThrough(created, settings);
  const readMessages = !messagesQuiet && (messagesThrough === undefined || at > messagesThrough);
  const queue = jobsQuiet?.counts ?? (readJobs ? undefined : queueCounts(jobGlances!.map((job) => job.status)));
  if (jobsThrough !== undefined || messagesThrough !== undefined) {
    const jobsEntry = jobsThrough === undefined ? memo.jobs : quietEntry(jobsBlob, jobsKey, at, jobsThrough, queue);
    const messagesEntry = messagesThrough === undefined ? memo.messages : quietEntry(messagesBlob, messagesKey, at, messagesThrough);
    await saveQuietMemo(store, { ...(jobsEntry ? { jobs: jobsEntry } : {}), ...(messagesEntry ? { messages: messagesEntry } : {}) });
  }
  return { readJobs, readMessages, queue };
};

/** A fetch of main and the heartbeats the caller started at `from` (the agent's tick, beside its own beat). */
export interface StartedFetch {
  from: Date;
  done: Promise<void>;
}

export const housekeepingOp = async (ctx: Context, store: Store, actor: string, started?: StartedFetch): Promise<HousekeepingOutcome> => {
  // Health needs every builder's latest beat, and the transaction main: one fetch brings
  // both, and the transaction's first attempt builds on it.
  const from = started?.from ?? ctx.now();
  await (started?.done ?? fetchAll(store, from));
  const look = { from, at: ctx.now() };
  const commits = await heartbeatCommits(store);
  const snapshot = openSnapshot(store);
  let clockSkew: HousekeepingOutcome['clock_skew'] = [];
  try {
    const outcome = await mutate(ctx, store, {
      op: 'housekeeping',
      actor,
      // Nobody types anything into housekeeping: it moves what is already committed.
      input: {},
      apply: async (read, base) => {
        const now = ctx.now();
        const { builders, settings } = await readFleet(read);
        const trust = await trustAtBase(base);
        const notifying = ((await read(docs.config))?.notify_targets ?? []).length > 0;
        const { readJobs, readMessages, queue } = notifying ? { readJobs: true, readMessages: true, queue: undefined } : await glanceAtLargest(read, store, settings, trust.tainted('job'), now);
        const [jobs, locks, messages, dashboard] = await Promise.all([readJobs ? read(docs.jobs) : undefined, read(docs.locks), readMessages ? read(docs.messages) : undefined, read(docs.dashboard)]);
        const beats = new Map<string, HeartbeatDoc>();
        const statuses = new Map<string, StatusDoc>();
        const ids = builders.builders.map((b) => b.id);
        // Every builder's beat and status at once: one request each to the readers, not one after another.
        const perBuilder = await Promise.all(ids.map((id) => Promise.all([readHeartbeat(snapshot, id), read(docs.status(id))])));
        for (const [i, id] of ids.entries()) {
          const [beat, status] = perBuilder[i]!;
          if (beat.status === 'ok') beats.set(id, beat.value);
          if (status) statuses.set(id, status);
        }
        const jobsDoc = jobs ?? { jobs: [] };
        const locksDoc = locks ?? { locks: [], last_token: 0 };
        // An unreadable heartbeat still counts as a beat when its commit changes; one that is
        // neither readable nor on a ref says nothing about liveness: unknown, never dead.
        const sights = beatSights(new Map([...commits].filter(([id]) => ids.includes(id))), beats);
        const observations = await recordLook(ctx, store, {
          heartbeats: { look, beats: sights },
          main: { look: { from: now, at: now }, locks: locksDoc.locks, jobs: jobsDoc.jobs },
        });
        const seenBeat = (id: string) => (Object.hasOwn(observations.heartbeats.entries, id) ? observations.heartbeats.entries[id] : undefined);
        const health = new Map<string, Health>(ids.map((id) => [id, judgeBeat(sights.get(id), seenBeat(id), look.from, now, settings).actionHealth]));
        // Under require_signed_writes, a heartbeat its builder did not sign says nothing about
        // liveness either way: that builder is unknown (never dead, never alive on another's word).
        if (trust.enforced) {
          for (const id of ids) {
            const signed = (await judgeHeartbeat(snapshot, id, trust.ledger.state))?.verdict === 'verified';
            if (!signed) health.set(id, 'unknown');
          }
        }
        clockSkew = skewedClocks(observations, ids, settings.maxClockSkewMs);
        const input: HousekeepingInput = {
          now,
          settings,
          builders,
          health,
          seen: { locks: observations.locks.entries, jobs: observations.jobs.entries },
          statuses,
          jobs: jobsDoc,
          queueCounts: queue,
          locks: locksDoc,
          messages: messages ?? { messages: [] },
          dashboard,
          untrusted: { jobs: trust.tainted('job'), locks: trust.tainted('lock') },
        };
        const result = housekeep(input);
        const r = result.report;
        const writes: Write[] = [
          // Archived entries leave the hot files on purpose (they land in the archive in the same commit).
          // A document not read is not changed (and nothing may be written in its place).
          ...(readJobs ? [{ spec: docs.jobs, value: result.jobs, removes: r.archived_jobs }] : []),
          { spec: docs.locks, value: result.locks, removes: [...r.reaped_locks, ...r.freed_locks] },
          ...(readMessages ? [{ spec: docs.messages, value: result.messages, removes: r.archived_messages }] : []),
          { spec: docs.dashboard, value: result.dashboard },
          ...[...result.statuses].map(([id, status]) => ({ spec: docs.status(id), value: status })),
        ];
        for (const [month, entries] of result.archive.jobs) {
          const spec = docs.jobsArchive(month);
          const existing = (await read(spec)) ?? { jobs: [] };
          writes.push({ spec, value: { ...existing, jobs: appendToArchive(existing.jobs, entries) } });
        }
        for (const [month, entries] of result.archive.messages) {
          const spec = docs.messagesArchive(month);
          const existing = (await read(spec)) ?? { messages: [] };
          writes.push({ spec, value: { ...existing, messages: appendToArchive(existing.messages, entries) } });
        }
        // Notifiable events are recorded only where someone listens (a target is configured).
        let events: NotifyEvent[] = [];
        if (notifying) {
          const recorded = recordEvents(input, result, await read(docs.events), { actor, idOf: eventIdOf });
          if (recorded.changed) writes.push({ spec: docs.events, value: recorded.doc, removes: recorded.pruned });
          events = recorded.events;
        }
        const trailers = trailersOf(result.report);
        // The ids (the first few: a trailer is one line); events.json in the same commit has them all.
        if (events.length > 0) trailers['Buildctl-Events'] = `${events.slice(0, 6).map((e) => e.id).join(', ')}${events.length > 6 ? ` (+${events.length - 6} more)` : ''}`;
        return { result: { report: result.report, events }, writes, summary: summaryOf(result.report, events.length), trailers };
      },
    }, { baseFetched: true });
    const untouched = outcome.result.report.not_acted_on;
    if (untouched.length > 0) ctx.warn(`housekeeping did not act on ${untouched.join(', ')}: their latest change is not trusted, and require_signed_writes is on (buildctl validate --signatures)`);
    return { ...outcome.result.report, events: outcome.result.events, changed: outcome.changed, commit: outcome.commit ?? null, clock_skew: clockSkew };
  } finally {
    snapshot.close();
  }
};
