// Notifiable events: one pure function of housekeeping's before and after state. Housekeeping
// records what it finds in coordination/events.json in its own commit, and the agent whose
// commit landed sends them: several agents see the same transition, but only one commit can
// record it (the transaction's compare-and-swap), and an event whose key is recorded is never
// recorded again. (METHODOLOGY.md, "Notifications".)
import type { Health } from '../schemas/dashboard.js';
import type { Job } from '../schemas/jobs.js';
import type { Lock } from '../schemas/locks.js';
import type { Message } from '../schemas/messages.js';
import type { EventsDoc, NotifyEvent, NotifyEventType } from '../schemas/notify.js';
import { formatAge, plural } from './format.js';
import type { HousekeepingInput, HousekeepingResult } from './housekeeping.js';
import { awaitingAckFrom } from './messages.js';

/** A recorded event is kept this long, and after that while what it is about is still in the hot files. */
export const EVENT_KEEP_MS = 7 * 86_400_000;

export interface EventMeta {
  /** The builder whose housekeeping records them. */
  actor: string;
  /** The event id of a key (evt_ + 20 hex digits of its hash): ids are inputs, like time. */
  idOf: (key: string) => string;
}

export interface RecordedEvents {
  /** Events recorded now, to be sent by the builder whose commit lands them. */
  events: NotifyEvent[];
  doc: EventsDoc;
  changed: boolean;
  /** Ids of recorded events dropped from the document (old, and about nothing still there). */
  pruned: string[];
}

interface Candidate {
  key: string;
  type: NotifyEventType;
  subject: string;
  text: string;
  /** When it happened by the store's own times; candidates from before `since` are old news. */
  happened_at?: string | undefined;
}

const healthEvents = (before: HousekeepingInput, settings: HousekeepingInput['settings']): Candidate[] => {
  // Without an earlier dashboard there is no earlier health to compare with.
  const previous = new Map(before.dashboard?.builders.map((b) => [b.id, b.health]) ?? []);
  if (previous.size === 0) return [];
  const at = before.now.toISOString();
  const out: Candidate[] = [];
  for (const builder of before.builders.builders.filter((b) => b.enabled)) {
    const was: Health | undefined = previous.get(builder.id);
    const is = before.health.get(builder.id) ?? 'unknown';
    if (was === undefined || was === is) continue;
    const id = builder.id;
    if (is === 'stale' && was === 'healthy') out.push({ key: `builder.stale:${id}:${at}`, type: 'builder.stale', subject: id, text: `${id} is stale: no heartbeat for over ${formatAge(settings.staleAfterMs)}` });
    else if (is === 'dead') out.push({ key: `builder.dead:${id}:${at}`, type: 'builder.dead', subject: id, text: `${id} is dead: no heartbeat for over ${formatAge(settings.deadAfterMs)}; its running jobs go back to the queue and its locks are freed` });
    else if (is === 'healthy' && (was === 'stale' || was === 'dead')) out.push({ key: `builder.back:${id}:${at}`, type: 'builder.back', subject: id, text: `${id} is back: healthy again after being ${was}` });
  }
  return out;
};

const reasonOf = (job: Job): string => (job.result?.reason ? `: ${job.result.reason}` : '');

const jobEvents = (after: HousekeepingResult): Candidate[] => {
  const out: Candidate[] = [];
  const requeued = new Set(after.report.requeued_jobs);
  for (const job of after.jobs.jobs) {
    if (requeued.has(job.id)) {
      out.push({ key: `job.requeued:${job.id}:${job.attempts}`, type: 'job.requeued', subject: job.id, text: `job ${job.id} (${job.type}) was requeued${reasonOf(job)}` });
    } else if (job.status === 'failed') {
      out.push({ key: `job.failed:${job.id}:${job.attempts}`, type: 'job.failed', subject: job.id, happened_at: job.completed_at ?? undefined, text: `job ${job.id} (${job.type}) failed${job.assigned_to ? ` on ${job.assigned_to}` : ''}${reasonOf(job)}` });
    } else if (job.status === 'dead') {
      out.push({ key: `job.dead:${job.id}`, type: 'job.dead', subject: job.id, happened_at: job.completed_at ?? undefined, text: `job ${job.id} (${job.type}) is dead after ${plural(job.attempts, 'attempt')}${reasonOf(job)}: buildctl job retry ${job.id}` });
    }
  }
  return out;
};

const lockEvents = (before: HousekeepingInput, after: HousekeepingResult): Candidate[] => {
  const held = new Map<string, Lock>(before.locks.locks.map((l) => [l.name, l]));
  const out: Candidate[] = [];
  for (const name of after.report.reaped_locks) {
    const lock = held.get(name);
    if (lock) out.push({ key: `lock.reaped:${name}:${lock.token}`, type: 'lock.reaped', subject: name, text: `lock ${name} (${lock.owner}, token ${lock.token}) expired and was reaped` });
  }
  for (const name of after.report.freed_locks) {
    const lock = held.get(name);
    if (lock) out.push({ key: `lock.broken:${name}:${lock.token}`, type: 'lock.broken', subject: name, text: `lock ${name} (token ${lock.token}) was freed: its holder ${lock.owner} is dead` });
  }
  for (const b of after.locks.broken ?? []) {
    out.push({ key: `lock.broken:${b.name}:${b.token}`, type: 'lock.broken', subject: b.name, happened_at: b.broken_at, text: `lock ${b.name} (held by ${b.owner}, token ${b.token}) was broken by ${b.by}: ${b.reason}` });
  }
  return out;
};

const messageEvents = (before: HousekeepingInput, after: HousekeepingResult): Candidate[] => {
  const fleet = before.builders.builders.map((b) => b.id);
  const out: Candidate[] = [];
  const sent = (m: Message) => `from ${m.from} to ${m.to.join(', ')}`;
  for (const m of after.messages.messages) {
    if (m.type === 'request' || m.type === 'error') {
      out.push({ key: `message.${m.type}:${m.id}`, type: `message.${m.type}`, subject: m.id, happened_at: m.created_at, text: `${m.type} ${sent(m)}: ${m.subject}` });
    }
    if (!m.ack_required) continue;
    const waiting = awaitingAckFrom(m, fleet);
    const age = before.now.getTime() - Date.parse(m.created_at);
    // An escalation is about the state now, so an old message still unacked escalates too.
    if (waiting.length > 0 && age > before.settings.checkUnackedAfterMs) {
      out.push({ key: `message.unacked:${m.id}`, type: 'message.unacked', subject: m.id, text: `message ${m.id} ${sent(m)} ("${m.subject}") still awaits an ack from ${waiting.join(', ')} after ${formatAge(age)}` });
    }
  }
  return out;
};

/** Whether what an event is about is still in the hot files (so it could be found again). */
const stillPresent = (event: NotifyEvent, after: HousekeepingResult): boolean => {
  if (event.type.startsWith('job.')) return after.jobs.jobs.some((j) => j.id === event.subject);
  if (event.type.startsWith('message.')) return after.messages.messages.some((m) => m.id === event.subject);
  if (event.type === 'lock.broken') return (after.locks.broken ?? []).some((b) => event.key === `lock.broken:${b.name}:${b.token}`);
  return false;
};

/**
 * The events housekeeping's transition (before -> after) shows, less those already
 * recorded: the new ones, and coordination/events.json as it should be written.
 */
export const recordEvents = (before: HousekeepingInput, after: HousekeepingResult, recorded: EventsDoc | undefined, meta: EventMeta): RecordedEvents => {
  const now = before.now;
  const since = recorded?.since ?? now.toISOString();
  const known = new Set(recorded?.events.map((e) => e.key) ?? []);
  const candidates = [...healthEvents(before, before.settings), ...jobEvents(after), ...lockEvents(before, after), ...messageEvents(before, after)];
  const events: NotifyEvent[] = [];
  for (const c of candidates) {
    if (known.has(c.key)) continue;
    if (c.happened_at !== undefined && Date.parse(c.happened_at) < Date.parse(since)) continue;
    known.add(c.key);
    events.push({ id: meta.idOf(c.key), key: c.key, type: c.type, at: now.toISOString(), recorded_by: meta.actor, subject: c.subject, text: c.text });
  }
  const previous = recorded?.events ?? [];
  const kept = previous.filter((e) => now.getTime() - Date.parse(e.at) < EVENT_KEEP_MS || stillPresent(e, after));
  const pruned = previous.filter((e) => !kept.includes(e)).map((e) => e.id);
  const changed = recorded === undefined || events.length > 0 || pruned.length > 0;
  return { events, doc: changed ? { ...(recorded ?? {}), since, events: [...kept, ...events] } : recorded, changed, pruned };
};
