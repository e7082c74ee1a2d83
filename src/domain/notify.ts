// Notifications: which target gets which event, what each target's message looks like, and
// the delivery rules of one clone (retries with backoff, a bound, a rate limit per target,
// a storm collapsed into one summary). Pure: time and ids are inputs; the agent sends.
import type { NotifyEvent, NotifyState, NotifyTarget, QueuedDelivery } from '../schemas/notify.js';
import { plural } from './format.js';

export const EMPTY_NOTIFY_STATE: NotifyState = { queue: [], sent: {}, failures: [] };

/** Waits before the 2nd, 3rd, ... attempt; after the last, the delivery is given up. */
export const RETRY_BACKOFF_MS = [60_000, 2 * 60_000, 4 * 60_000, 8 * 60_000, 16 * 60_000] as const;
export const MAX_ATTEMPTS = RETRY_BACKOFF_MS.length + 1;
const HOUR_MS = 3_600_000;
const FAILURES_KEPT = 50;
/** How many events a summary lists by name (the rest are counted). */
const SUMMARY_LISTED = 10;

export const targetWants = (target: NotifyTarget, event: Pick<NotifyEvent, 'type'>): boolean =>
  target.events === undefined || target.events.some((f) => f === event.type || event.type.startsWith(`${f}.`));

/** New events join the queue once per target that wants them (an event already queued for a target is not added again). */
export const enqueueEvents = (state: NotifyState, events: readonly NotifyEvent[], targets: readonly NotifyTarget[], now: Date): NotifyState => {
  const queued = new Set(state.queue.map((q) => `${q.target}\u0000${q.event.id}`));
  const added: QueuedDelivery[] = [];
  for (const event of events) {
    for (const target of targets) {
      if (!targetWants(target, event) || queued.has(`${target.name}\u0000${event.id}`)) continue;
      queued.add(`${target.name}\u0000${event.id}`);
      added.push({ target: target.name, event, attempts: 0, next_at: now.toISOString() });
    }
  }
  return added.length === 0 ? state : { ...state, queue: [...state.queue, ...added] };
};

/** How old an event recorded by this builder may be and still be taken late (its `at` is this builder's own clock). */
export const MISSED_WITHIN_MS = 60 * 60_000;

/**
 * The events `me`'s commits recorded (in events.json, `recorded`) in the last hour that the
 * delivery state never took: the process died between the commit and its delivery step
 * (a kill, a reboot). None while the state has no `seen` yet: nothing is known then, and
 * sending old events again would be worse than missing one. The hour bounds what a state
 * left stale (notifications off for a while, then on again) can send late.
 */
export const missedEvents = (state: NotifyState, recorded: readonly NotifyEvent[], me: string, fresh: readonly NotifyEvent[], now: Date): NotifyEvent[] => {
  if (state.seen === undefined) return [];
  const known = new Set([...state.seen, ...fresh.map((e) => e.id)]);
  const since = now.getTime() - MISSED_WITHIN_MS;
  return recorded.filter((e) => e.recorded_by === me && !known.has(e.id) && Date.parse(e.at) >= since);
};

/** `seen` after a delivery step: `me`'s events still in events.json, and those just taken (bounded by events.json's own pruning). */
export const seenAfter = (recorded: readonly NotifyEvent[], me: string, taken: readonly NotifyEvent[]): string[] =>
  [...new Set([...recorded.filter((e) => e.recorded_by === me).map((e) => e.id), ...taken.map((e) => e.id)])].sort();

/** One request to one target: a single event, or a summary of several. */
export interface Delivery {
  target: string;
  /** The webhook-id: the event's id, or for a summary one derived from its events' ids (the same on a retry of the same set). */
  id: string;
  events: NotifyEvent[];
  summary: boolean;
}

export interface DeliveryLimits {
  /** Deliveries per target per hour. */
  rateLimit: number;
  /** More due events than this for one target go as one summary. */
  storm: number;
  idOf: (key: string) => string;
}

/**
 * A send in the last hour. One stamped after `now` was stamped by a clock since set back
 * (the state is this builder's own): it does not count, or it would hold the rate limit
 * for as long as the clock was ahead, and it is forgotten.
 */
const inLastHour = (stamp: string, now: Date): boolean => {
  const age = now.getTime() - Date.parse(stamp);
  return age >= 0 && age < HOUR_MS;
};

/** Longer than any retry's backoff: a retry due further ahead was scheduled by a clock since set back, and is due now. */
const LATEST_RETRY_MS = HOUR_MS;

const sentLastHour = (state: NotifyState, target: string, now: Date): number => (state.sent[target] ?? []).filter((t) => inLastHour(t, now)).length;

/**
 * What to send now. Per target, the due deliveries go one request each; when there are more
 * than `storm` of them, or more than the rate limit still allows, they go as one summary.
 * A target at its rate limit gets nothing now: its events wait, and go as a summary later.
 */
export const planDeliveries = (state: NotifyState, now: Date, limits: DeliveryLimits): Delivery[] => {
  const due = new Map<string, NotifyEvent[]>();
  for (const q of state.queue) {
    const wait = Date.parse(q.next_at) - now.getTime();
    if (wait > 0 && wait <= LATEST_RETRY_MS) continue;
    const list = due.get(q.target) ?? [];
    list.push(q.event);
    due.set(q.target, list);
  }
  const out: Delivery[] = [];
  for (const [target, events] of due) {
    const allowed = limits.rateLimit - sentLastHour(state, target, now);
    if (allowed <= 0) continue;
    if (events.length > limits.storm || events.length > allowed) {
      const ids = events.map((e) => e.id).sort();
      out.push({ target, id: limits.idOf(`summary:${ids.join(',')}`), events, summary: true });
    } else {
      for (const event of events) out.push({ target, id: event.id, events: [event], summary: false });
    }
  }
  return out;
};

export interface DeliveryResult {
  delivery: Delivery;
  /** Delivered (a 2xx answer). */
  ok: boolean;
  /** Not tried at all (the tick's time for deliveries ran out first): not an attempt. */
  skipped?: boolean;
  error?: string;
}

/**
 * The queue after a round of deliveries: delivered events leave it; a failed one waits
 * RETRY_BACKOFF_MS before its next attempt and is given up (recorded in `failures`) after
 * MAX_ATTEMPTS. The record of sends is trimmed to the last hour.
 */
export const settleDeliveries = (state: NotifyState, results: readonly DeliveryResult[], now: Date): NotifyState => {
  const outcome = new Map<string, DeliveryResult>();
  for (const r of results) for (const e of r.delivery.events) outcome.set(`${r.delivery.target}\u0000${e.id}`, r);
  const queue: QueuedDelivery[] = [];
  const failures = [...state.failures];
  const givenUp = new Map<string, { target: string; events: string[]; error: string }>();
  for (const q of state.queue) {
    const r = outcome.get(`${q.target}\u0000${q.event.id}`);
    if (!r || r.skipped) {
      queue.push(q);
      continue;
    }
    if (r.ok) continue;
    const attempts = q.attempts + 1;
    const error = r.error ?? 'failed';
    if (attempts >= MAX_ATTEMPTS) {
      const key = `${q.target}\u0000${r.delivery.id}`;
      const entry = givenUp.get(key) ?? { target: q.target, events: [], error };
      entry.events.push(q.event.id);
      givenUp.set(key, entry);
      continue;
    }
    queue.push({ ...q, attempts, last_error: error, next_at: new Date(now.getTime() + (RETRY_BACKOFF_MS[attempts - 1] ?? HOUR_MS)).toISOString() });
  }
  for (const g of givenUp.values()) failures.push({ at: now.toISOString(), target: g.target, events: g.events, error: `gave up after ${plural(MAX_ATTEMPTS, 'attempt')}: ${g.error}` });
  const sent: Record<string, string[]> = {};
  for (const [target, times] of Object.entries(state.sent)) {
    const recent = times.filter((t) => inLastHour(t, now));
    if (recent.length > 0) sent[target] = recent;
  }
  for (const r of results) if (r.ok) (sent[r.delivery.target] ??= []).push(now.toISOString());
  return { ...state, queue, sent, failures: failures.slice(-FAILURES_KEPT) };
};

// ---- What each target receives ----

/** The one line a person reads. */
export const deliveryText = (delivery: Pick<Delivery, 'events' | 'summary'>): string => {
  if (!delivery.summary) return delivery.events[0]?.text ?? '';
  const counts = new Map<string, number>();
  for (const e of delivery.events) counts.set(e.type, (counts.get(e.type) ?? 0) + 1);
  const byType = [...counts].map(([type, n]) => `${n} ${type}`).join(', ');
  return `${plural(delivery.events.length, 'event')} (${byType})`;
};

const listed = (delivery: Pick<Delivery, 'events'>): string[] => {
  const lines = delivery.events.slice(0, SUMMARY_LISTED).map((e) => e.text);
  if (delivery.events.length > SUMMARY_LISTED) lines.push(`... and ${delivery.events.length - SUMMARY_LISTED} more (buildctl log, or the dashboard)`);
  return lines;
};

export interface WebhookBody {
  /** `buildctl.job.failed`, `buildctl.summary`, `buildctl.test`. */
  type: string;
  timestamp: string;
  data: Record<string, unknown>;
}

/** A generic webhook's JSON body, in the Standard Webhooks shape (type, timestamp, data). */
export const webhookBody = (delivery: Delivery, fleet: string, now: Date): WebhookBody => {
  const first = delivery.events[0];
  if (!delivery.summary && first) return { type: `buildctl.${first.type}`, timestamp: now.toISOString(), data: { fleet, ...first } };
  return { type: 'buildctl.summary', timestamp: now.toISOString(), data: { fleet, text: deliveryText(delivery), count: delivery.events.length, events: delivery.events } };
};

/** Slack mrkdwn treats &, < and > as control characters: `<!channel>` in a subject must stay text. */
export const slackEscape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A Slack incoming webhook's body: a plain `text` fallback and one mrkdwn section. */
export const slackBody = (delivery: Delivery, fleet: string): Record<string, unknown> => {
  const head = `buildctl (${fleet}): ${deliveryText(delivery)}`;
  const lines = delivery.summary ? listed(delivery).map((l) => `• ${slackEscape(l)}`) : [];
  return {
    text: slackEscape(head),
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text: [`*buildctl* (${slackEscape(fleet)}): ${slackEscape(deliveryText(delivery))}`, ...lines].join('\n') } }],
  };
};

/**
 * A Teams incoming webhook (Workflows) body: an Adaptive Card. Text from the store goes in
 * TextRuns, which Teams shows as they are (a TextBlock would render markdown links).
 */
export const teamsBody = (delivery: Delivery, fleet: string): Record<string, unknown> => {
  const run = (text: string, extra: Record<string, unknown> = {}) => ({ type: 'RichTextBlock', inlines: [{ type: 'TextRun', text, ...extra }] });
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body: [run(`buildctl (${fleet})`, { weight: 'Bolder' }), run(deliveryText(delivery)), ...(delivery.summary ? listed(delivery).map((l) => run(`• ${l}`)) : [])],
        },
      },
    ],
  };
};

/** The body a target of this type receives. */
export const bodyFor = (type: NotifyTarget['type'], delivery: Delivery, fleet: string, now: Date): unknown =>
  type === 'slack' ? slackBody(delivery, fleet) : type === 'teams' ? teamsBody(delivery, fleet) : webhookBody(delivery, fleet, now);
