// Notifications: the targets (coordination/config.json), this clone's deliveries, and
// `buildctl notify test`. Events are recorded by housekeeping (ops/housekeeping.ts); the
// agent whose commit recorded them calls deliverNotifications in the same tick.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { effectiveSettings, type Settings } from '../domain/config.js';
import { bodyFor, deliveryText, EMPTY_NOTIFY_STATE, enqueueEvents, missedEvents, planDeliveries, seenAfter, settleDeliveries, type Delivery, type DeliveryResult } from '../domain/notify.js';
import { failedError, usageError } from '../errors.js';
import { postJson, secretKey } from '../net/webhook.js';
import type { ConfigDoc } from '../schemas/config.js';
import { docs } from '../schemas/layout.js';
import { notifyTarget, targetName, type NotifyEvent, type NotifyState, type NotifyTarget } from '../schemas/notify.js';
import { readNotifyState, writeNotifyState } from '../store/notify-state.js';
import { remoteUrl } from '../store/setup.js';
import { openSnapshot } from '../store/snapshot.js';
import { fetchMain, openStore, ORIGIN_MAIN, type Store } from '../store/store.js';
import { crashPoint } from '../store/test-seam.js';
import type { Context } from './context.js';
import { adminActor, tryResolveActor } from './identity.js';
import { mutate, txOutcome, type Outcome } from './mutate.js';
import { fetchOrFallBack, readMainOrThrow } from './read.js';
import { trustAtBase } from './signed-writes.js';

/** An event's id: evt_ and 20 hex digits of its key's SHA-256 (the webhook-id every retry repeats). */
export const eventIdOf = (key: string): string => `evt_${createHash('sha256').update(key).digest('hex').slice(0, 20)}`;

/** The fleet's name in notifications: the remote repository's name (`coordination.git` -> `coordination`). */
const fleetNameOf = async (store: Store): Promise<string> => {
  const url = (await remoteUrl(store.dir)) ?? 'buildctl';
  return basename(url.replace(/[/:]+$/, '')).replace(/\.git$/, '') || 'buildctl';
};

interface Endpoint {
  url: string;
  /** The signing key (generic webhooks). */
  key?: Buffer;
}

const fromEnvOrFile = async (ctx: Context, target: NotifyTarget, envName: string | undefined, file: string | undefined, what: string): Promise<string> => {
  if (envName !== undefined) {
    const value = ctx.env?.[envName]?.trim();
    if (!value) throw usageError(`notification target ${target.name}: environment variable ${envName} (its ${what}) is not set on this builder`, { code: 'notify_secret_missing', hint: `set ${envName} in the agent's environment on every builder (it is never stored in the repository)` });
    return value;
  }
  if (file !== undefined) {
    const value = (await readFile(file, 'utf8').catch(() => undefined))?.trim();
    if (!value) throw usageError(`notification target ${target.name}: ${file} (its ${what}) is missing or empty on this builder`, { code: 'notify_secret_missing', hint: `put the ${what} in ${file} on every builder, readable by the agent's user (chmod 600)` });
    return value;
  }
  throw usageError(`notification target ${target.name} names no ${what}`, { code: 'notify_secret_missing', hint: 'buildctl notify add --help' });
};

/** Where a target's deliveries go, with what this builder keeps locally (URL, signing secret). */
const endpointOf = async (ctx: Context, target: NotifyTarget): Promise<Endpoint> => {
  const url = target.url ?? (await fromEnvOrFile(ctx, target, target.url_env, target.url_file, 'URL'));
  if (target.type !== 'webhook') return { url };
  return { url, key: secretKey(await fromEnvOrFile(ctx, target, target.secret_env, target.secret_file, 'signing secret')) };
};

/** Sends one delivery; any failure (a missing secret included) is a result, never a throw. */
const send = async (ctx: Context, target: NotifyTarget, delivery: Delivery, fleet: string, timeoutMs: number): Promise<DeliveryResult> => {
  try {
    const endpoint = await endpointOf(ctx, target);
    const now = ctx.now();
    const body = JSON.stringify(bodyFor(target.type, delivery, fleet, now));
    const sign = endpoint.key ? { id: delivery.id, timestampSeconds: Math.floor(now.getTime() / 1000), key: endpoint.key } : undefined;
    const result = await postJson({ url: endpoint.url, body, sign, timeoutMs });
    return result.ok ? { delivery, ok: true } : { delivery, ok: false, error: result.error ?? 'failed' };
  } catch (error) {
    return { delivery, ok: false, error: error instanceof Error ? error.message : String(error) };
  }
};

export interface NotifyReport {
  /** Events this tick added to the queue (one per target that wants it). */
  queued: number;
  /** Requests that got a 2xx answer, and how many of them were summaries. */
  delivered: number;
  summaries: number;
  /** Requests that failed this time (they are retried later), and the deliveries given up on. */
  failed: number;
  gave_up: number;
  /** Deliveries still waiting (a retry, a rate limit, or no time left this tick). */
  waiting: number;
  errors: string[];
}

/**
 * One round of this clone's deliveries: the new events join the queue, what is due goes out
 * within `notify_timeout` (targets in parallel, each target's deliveries in order), and the
 * queue is settled and written back. Targets come from the last fetched config.
 */
export const deliverNotifications = async (ctx: Context, store: Store, fresh: readonly NotifyEvent[], me?: string): Promise<NotifyReport> => {
  const snapshot = openSnapshot(store);
  let config: ConfigDoc | undefined;
  let recorded: NotifyEvent[] | undefined;
  try {
    config = await readMainOrThrow(snapshot, docs.config);
    // What the fleet recorded, to find what this builder's own commits recorded and it never took.
    // Not under require_signed_writes: events.json's entries are not judged by signature
    // here, and an entry claiming to be this builder's would be sent with its secret.
    if (me !== undefined && (config?.notify_targets?.length ?? 0) > 0) {
      const trust = await trustAtBase({ commit: (await snapshot.resolve(ORIGIN_MAIN)) ?? '', objects: snapshot.objects, store });
      if (!trust.enforced) recorded = (await readMainOrThrow(snapshot, docs.events).catch(() => undefined))?.events;
    }
  } finally {
    snapshot.close();
  }
  const targets = config?.notify_targets ?? [];
  const settings = effectiveSettings(config);
  const before = (await readNotifyState(store, ctx.warn)) ?? EMPTY_NOTIFY_STATE;
  const events = me !== undefined && recorded !== undefined ? [...fresh, ...missedEvents(before, recorded, me, fresh, ctx.now())] : fresh;
  const seen = me !== undefined && recorded !== undefined ? seenAfter(recorded, me, events) : before.seen;
  const withSeen = (state: NotifyState): NotifyState => (seen === undefined ? state : { ...state, seen });
  if (before.queue.length === 0 && events.length === 0) {
    if (seen !== undefined && (before.seen === undefined || seen.join() !== before.seen.join())) await writeNotifyState(store, withSeen(before));
    return { queued: 0, delivered: 0, summaries: 0, failed: 0, gave_up: 0, waiting: 0, errors: [] };
  }
  const byName = new Map(targets.map((t) => [t.name, t]));
  let state = withSeen(dropRemovedTargets(before, byName, ctx.now()));
  const queuedBefore = state.queue.length;
  state = enqueueEvents(state, events, targets, ctx.now());
  const queued = state.queue.length - queuedBefore;
  const deliveries = planDeliveries(state, ctx.now(), { rateLimit: settings.notifyRateLimit, storm: settings.notifyStorm, idOf: eventIdOf });
  const results = await sendWithin(ctx, deliveries, byName, await fleetNameOf(store), settings);
  // Sent, not yet recorded: a process that dies here sends them again (same webhook-id).
  crashPoint('notify-after-send');
  const failuresBefore = state.failures.length;
  state = settleDeliveries(state, results, ctx.now());
  await writeNotifyState(store, state);
  const done = results.filter((r) => r.ok);
  const failed = results.filter((r) => !r.ok && !r.skipped);
  return {
    queued,
    delivered: done.length,
    summaries: done.filter((r) => r.delivery.summary).length,
    failed: failed.length,
    gave_up: Math.max(0, state.failures.length - failuresBefore),
    waiting: state.queue.length,
    errors: failed.map((r) => `${r.delivery.target}: ${r.error ?? 'failed'}`),
  };
};

/** A queued delivery whose target was removed from the config can never go: it is given up, on the record. */
const dropRemovedTargets = (state: NotifyState, targets: ReadonlyMap<string, NotifyTarget>, now: Date): NotifyState => {
  const gone = state.queue.filter((q) => !targets.has(q.target));
  if (gone.length === 0) return state;
  return {
    ...state,
    queue: state.queue.filter((q) => targets.has(q.target)),
    failures: [...state.failures, ...gone.map((q) => ({ at: now.toISOString(), target: q.target, events: [q.event.id], error: 'the target was removed from the config' }))].slice(-50),
  };
};

/** Every target's deliveries in order, targets side by side, none started after the deadline. */
const sendWithin = async (ctx: Context, deliveries: readonly Delivery[], targets: ReadonlyMap<string, NotifyTarget>, fleet: string, settings: Settings): Promise<DeliveryResult[]> => {
  const deadline = ctx.monotonic() + settings.notifyTimeoutMs;
  const perTarget = new Map<string, Delivery[]>();
  for (const d of deliveries) perTarget.set(d.target, [...(perTarget.get(d.target) ?? []), d]);
  const results = await Promise.all(
    [...perTarget].map(async ([name, list]) => {
      const out: DeliveryResult[] = [];
      const target = targets.get(name);
      for (const delivery of list) {
        const left = deadline - ctx.monotonic();
        if (!target || left <= 0) out.push({ delivery, ok: false, skipped: true });
        else out.push(await send(ctx, target, delivery, fleet, left));
      }
      return out;
    }),
  );
  return results.flat();
};

// ---- The targets: notify add / remove / list / test ----

const readConfig = async (ctx: Context, fetch: boolean): Promise<{ store: Store; config: ConfigDoc | undefined }> => {
  const store = await openStore(ctx.storeDir);
  if (fetch) await fetchOrFallBack(() => fetchMain(store), ctx.warn);
  const snapshot = openSnapshot(store);
  try {
    return { store, config: await readMainOrThrow(snapshot, docs.config, ctx.warn) };
  } finally {
    snapshot.close();
  }
};

const unknownTarget = (name: string, targets: readonly NotifyTarget[]) =>
  usageError(`no notification target named "${name}"`, {
    code: 'unknown_target',
    hint: targets.length > 0 ? `targets: ${targets.map((t) => t.name).join(', ')}` : 'add one with "buildctl notify add NAME --type webhook|slack|teams ..."',
  });

/** Adds or replaces a target (validated by its schema: no secret can be given inline). */
export const addTargetOp = async (ctx: Context, input: Record<string, unknown>): Promise<{ target: NotifyTarget } & Outcome> => {
  const parsed = notifyTarget.safeParse(input, { reportInput: true });
  if (!parsed.success) {
    const { issuesToProblems } = await import('../schemas/issues.js');
    const problem = issuesToProblems(parsed.error.issues)[0];
    throw usageError(`invalid notification target: ${problem?.path ? `${problem.path}: ` : ''}${problem?.reason ?? 'invalid'}`, { code: 'invalid_target', hint: 'see "buildctl notify add --help"' });
  }
  const target = parsed.data;
  const store = await openStore(ctx.storeDir);
  const outcome = await mutate(ctx, store, {
    op: 'notify.add',
    actor: await adminActor(ctx),
    input: target,
    apply: async (read) => {
      const config = (await read(docs.config)) ?? {};
      const others = (config.notify_targets ?? []).filter((t) => t.name !== target.name);
      return { result: target, writes: [{ spec: docs.config, value: { ...config, notify_targets: [...others, target] } }], summary: `notify.add ${target.name} (${target.type})` };
    },
  });
  return { target: outcome.result, ...txOutcome(outcome) };
};

export const removeTargetOp = async (ctx: Context, name: string): Promise<{ target: NotifyTarget } & Outcome> => {
  const store = await openStore(ctx.storeDir);
  const outcome = await mutate(ctx, store, {
    op: 'notify.remove',
    actor: await adminActor(ctx),
    input: { name },
    // No target can have a name its schema refuses.
    check: () => {
      if (!targetName.safeParse(name).success) throw unknownTarget(name, []);
    },
    apply: async (read) => {
      const config = (await read(docs.config)) ?? {};
      const targets = config.notify_targets ?? [];
      const target = targets.find((t) => t.name === name);
      if (!target) throw unknownTarget(name, targets);
      const rest = targets.filter((t) => t.name !== name);
      const { notify_targets: _dropped, ...others } = config;
      return { result: target, writes: [{ spec: docs.config, value: rest.length > 0 ? { ...others, notify_targets: rest } : others }], summary: `notify.remove ${name}` };
    },
  });
  return { target: outcome.result, ...txOutcome(outcome) };
};

export interface TargetsView {
  targets: NotifyTarget[];
  /** This clone's deliveries: waiting per target, and the failures it gave up on. */
  local: NotifyState;
}

export const listTargetsOp = async (ctx: Context, options: { fetch: boolean }): Promise<TargetsView> => {
  const { store, config } = await readConfig(ctx, options.fetch);
  return { targets: config?.notify_targets ?? [], local: (await readNotifyState(store, ctx.warn)) ?? EMPTY_NOTIFY_STATE };
};

/** Sends a test event to one target now, from this host (its local secrets); fails (exit 1) unless delivered. */
export const notifyTestOp = async (ctx: Context, name: string): Promise<{ target: string; delivered: true; id: string; text: string }> => {
  const { store, config } = await readConfig(ctx, true);
  const targets = config?.notify_targets ?? [];
  const target = targets.find((t) => t.name === name);
  if (!target) throw unknownTarget(name, targets);
  const now = ctx.now();
  const by = (await tryResolveActor(ctx))?.id ?? 'operator';
  const key = `test:${name}:${now.toISOString()}`;
  const event: NotifyEvent = { id: eventIdOf(key), key, type: 'notify.test', at: now.toISOString(), recorded_by: /^[a-z][a-z0-9-]{0,31}$/.test(by) ? by : 'operator', subject: name, text: `test notification from ${by} to target ${name}` };
  const delivery: Delivery = { target: name, id: event.id, events: [event], summary: false };
  const settings = effectiveSettings(config);
  const result = await send(ctx, target, delivery, await fleetNameOf(store), settings.notifyTimeoutMs);
  if (!result.ok) {
    throw failedError(`the test notification to ${name} failed: ${result.error ?? 'failed'}`, {
      code: 'notify_failed',
      hint: target.type === 'webhook' ? 'check the URL, that the receiver answers 2xx, and the signing secret on this host' : `check the ${target.type} webhook URL on this host (${target.url_env ? `$${target.url_env}` : target.url_file ?? 'url'})`,
    });
  }
  return { target: name, delivered: true, id: event.id, text: deliveryText(delivery) };
};
