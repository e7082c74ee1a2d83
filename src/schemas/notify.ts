// Notifications: the targets in coordination/config.json, the events housekeeping records
// in coordination/events.json, and each clone's own delivery state (.git/buildctl/notify.json).
import * as z from 'zod/mini';
import { builderId, timestamp } from './common.js';

/** What can be notified, as the `type` of a webhook payload (prefixed `buildctl.`). */
export const NOTIFY_EVENT_TYPES = [
  'builder.stale',
  'builder.dead',
  'builder.back',
  'job.failed',
  'job.dead',
  'job.requeued',
  'lock.broken',
  'lock.reaped',
  'message.request',
  'message.error',
  'message.unacked',
  /** `buildctl notify test`: sent at once, never recorded. */
  'notify.test',
] as const;
export const notifyEventType = z.enum(NOTIFY_EVENT_TYPES);
export type NotifyEventType = z.infer<typeof notifyEventType>;

/** A target's `events` filter: exact types, or a family (`builder`, `job`, `lock`, `message`). */
export const NOTIFY_FAMILIES = ['builder', 'job', 'lock', 'message'] as const;
const eventFilter = z.string().check(
  z.refine((v) => (NOTIFY_EVENT_TYPES as readonly string[]).includes(v) || (NOTIFY_FAMILIES as readonly string[]).includes(v), 'an event type (job.failed, ...) or a family (builder, job, lock, message)'),
);

export const NOTIFY_TARGET_TYPES = ['webhook', 'slack', 'teams'] as const;
export const targetName = z.string().check(z.regex(/^[a-z][a-z0-9-]{0,31}$/, 'a lowercase letter, then lowercase letters, digits or "-", at most 32 characters'));
const envName = z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'an environment variable name (letters, digits, "_")'));
const localPath = z.string().check(z.regex(/^\/\S.{0,1000}$/, 'an absolute path on each builder'));

/**
 * One notification target. Secrets never live in the repository: a generic webhook's
 * signing secret, and a Slack or Teams incoming-webhook URL (the URL is the credential),
 * are read on each builder from an environment variable or a local file.
 */
export const notifyTarget = z.looseObject({
  name: targetName,
  type: z.enum(NOTIFY_TARGET_TYPES),
  /** webhook only: the endpoint (it authenticates deliveries by their signature). */
  url: z.optional(z.string().check(z.regex(/^https?:\/\/\S+$/, 'an http:// or https:// URL'))),
  url_env: z.optional(envName),
  url_file: z.optional(localPath),
  /** webhook: the Standard Webhooks secret (whsec_<base64>). */
  secret_env: z.optional(envName),
  secret_file: z.optional(localPath),
  /** Only these events (types or families); all when absent. */
  events: z.optional(z.array(eventFilter)),
}).check(
  z.refine((t) => [t.url, t.url_env, t.url_file].filter((v) => v !== undefined).length === 1, 'give exactly one of url, url_env, url_file'),
  z.refine((t) => t.type === 'webhook' || t.url === undefined, 'a Slack or Teams webhook URL is a credential: give url_env or url_file, read on each builder'),
  z.refine((t) => t.type !== 'webhook' || (t.secret_env === undefined) !== (t.secret_file === undefined), 'a webhook needs its signing secret from exactly one of secret_env, secret_file'),
);
export type NotifyTarget = z.infer<typeof notifyTarget>;

export const EVENT_ID_PATTERN = /^evt_[0-9a-f]{20}$/;

/** One notifiable event, as housekeeping recorded it (and as every target is told). */
export const notifyEvent = z.looseObject({
  /** evt_ + 20 hex digits of the key's hash: the webhook-id, the same on every retry. */
  id: z.string().check(z.regex(EVENT_ID_PATTERN, 'evt_ and 20 hex digits')),
  /** What makes it unique: `job.failed:job_123_abc:2`; an event with a recorded key is never recorded again. */
  key: z.string(),
  type: notifyEventType,
  /** When housekeeping recorded it (the recording builder's clock). */
  at: timestamp,
  /** The builder whose housekeeping commit recorded it: the one that sends it. */
  recorded_by: builderId,
  /** The builder, job, lock or message it is about. */
  subject: z.string(),
  /** One line for people. */
  text: z.string(),
});
export type NotifyEvent = z.infer<typeof notifyEvent>;

/** coordination/events.json: the events housekeeping recorded, kept while they can still recur. */
export const eventsDoc = z.looseObject({
  /**
   * When housekeeping began recording (the first tick with a target). A failed job, a
   * message or a broken lock from before then is old news, never notified.
   */
  since: timestamp,
  events: z.array(notifyEvent),
});
export type EventsDoc = z.infer<typeof eventsDoc>;

/** One delivery waiting in this clone: an event for a target. */
const queued = z.looseObject({
  target: targetName,
  event: notifyEvent,
  attempts: z.int().check(z.gte(0)),
  next_at: timestamp,
  last_error: z.optional(z.string()),
});

/** .git/buildctl/notify.json: this clone's deliveries (never shared). */
export const notifyState = z.looseObject({
  queue: z.array(queued),
  /** Per target, when each delivery of the last hour went out (the rate limit). */
  sent: z.record(targetName, z.array(timestamp)),
  /** Deliveries given up on, newest last (the last 50). */
  failures: z.array(z.looseObject({ at: timestamp, target: z.string(), events: z.array(z.string()), error: z.string() })),
  /**
   * The ids of the events this builder's commits recorded that this clone has taken (still
   * in events.json): one recorded but not here was lost by a process that died between its
   * commit and its delivery, and is taken on the next tick. Absent in a state written
   * before it existed, or a fresh one: then nothing is taken late.
   */
  seen: z.optional(z.array(z.string())),
});
export type NotifyState = z.infer<typeof notifyState>;
export type QueuedDelivery = z.infer<typeof queued>;
