// The agent's housekeeping on main: one transaction, and a commit only when something changed.
import { plural } from '../domain/format.js';
import { healthOf } from '../domain/health.js';
import { recordEvents } from '../domain/events.js';
import { appendToArchive, housekeep, type HousekeepingInput, type HousekeepingReport } from '../domain/housekeeping.js';
import type { Health } from '../schemas/dashboard.js';
import { docs } from '../schemas/layout.js';
import type { NotifyEvent } from '../schemas/notify.js';
import type { StatusDoc } from '../schemas/status.js';
import { openSnapshot } from '../store/snapshot.js';
import { fetchRefs, HEARTBEAT_REFSPEC, type Store } from '../store/store.js';
import type { Write } from '../store/transaction.js';
import type { Context } from './context.js';
import { mutate } from './mutate.js';
import { readFleet } from './fleet-read.js';
import { readHeartbeat } from './heartbeats-read.js';
import { eventIdOf } from './notify.js';

export interface HousekeepingOutcome extends HousekeepingReport {
  changed: boolean;
  commit: string | null;
  /** Events this commit recorded (fleets with notification targets): this builder sends them. */
  events: NotifyEvent[];
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

export const housekeepingOp = async (ctx: Context, store: Store, actor: string): Promise<HousekeepingOutcome> => {
  // Health needs every builder's latest beat; the transaction itself fetches main.
  await fetchRefs(store, [HEARTBEAT_REFSPEC], { prune: true });
  const snapshot = openSnapshot(store);
  try {
    const outcome = await mutate(ctx, store, {
      op: 'housekeeping',
      actor,
      // Nobody types anything into housekeeping: it moves what is already committed.
      input: {},
      apply: async (read) => {
        const now = ctx.now();
        const { builders, settings } = await readFleet(read);
        const [jobs, locks, messages, dashboard] = await Promise.all([read(docs.jobs), read(docs.locks), read(docs.messages), read(docs.dashboard)]);
        const health = new Map<string, Health>();
        const statuses = new Map<string, StatusDoc>();
        for (const { id } of builders.builders) {
          const beat = await readHeartbeat(snapshot, id);
          // An unreadable heartbeat says nothing about liveness: unknown, never dead.
          health.set(id, beat.status === 'ok' ? healthOf(beat.value.timestamp, now, settings) : 'unknown');
          const status = await read(docs.status(id));
          if (status) statuses.set(id, status);
        }
        const input: HousekeepingInput = {
          now,
          settings,
          builders,
          health,
          statuses,
          jobs: jobs ?? { jobs: [] },
          locks: locks ?? { locks: [], last_token: 0 },
          messages: messages ?? { messages: [] },
          dashboard,
        };
        const result = housekeep(input);
        const r = result.report;
        const writes: Write[] = [
          // Archived entries leave the hot files on purpose (they land in the archive in the same commit).
          { spec: docs.jobs, value: result.jobs, removes: r.archived_jobs },
          { spec: docs.locks, value: result.locks, removes: [...r.reaped_locks, ...r.freed_locks] },
          { spec: docs.messages, value: result.messages, removes: r.archived_messages },
          { spec: docs.dashboard, value: result.dashboard },
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
        if (((await read(docs.config))?.notify_targets ?? []).length > 0) {
          const recorded = recordEvents(input, result, await read(docs.events), { actor, idOf: eventIdOf });
          if (recorded.changed) writes.push({ spec: docs.events, value: recorded.doc, removes: recorded.pruned });
          events = recorded.events;
        }
        const trailers = trailersOf(result.report);
        // The ids (the first few: a trailer is one line); events.json in the same commit has them all.
        if (events.length > 0) trailers['Buildctl-Events'] = `${events.slice(0, 6).map((e) => e.id).join(', ')}${events.length > 6 ? ` (+${events.length - 6} more)` : ''}`;
        return { result: { report: result.report, events }, writes, summary: summaryOf(result.report, events.length), trailers };
      },
    });
    return { ...outcome.result.report, events: outcome.result.events, changed: outcome.changed, commit: outcome.commit ?? null };
  } finally {
    snapshot.close();
  }
};
