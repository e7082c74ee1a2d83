// The dashboard's data: every interval one fetch, then the same operations the CLI's --json
// reads call (status, job list, lock list, msg list --all, log, metrics, check), each kept
// as the JSON document that command prints. A channel whose document changed is pushed to
// the open pages (server-sent events). Nothing here models the fleet a second time.
import { mailboxCounts } from '../domain/messages.js';
import { eventsAbout } from '../domain/audit.js';
import type { Context } from '../ops/context.js';
import { readJson } from '../cli/output.js';
import { openStore } from '../store/store.js';
import { remoteRefsFingerprint } from '../store/snapshot.js';

export const CHANNELS = ['fleet', 'check', 'jobs', 'locks', 'messages', 'log', 'metrics'] as const;
export type Channel = (typeof CHANNELS)[number];

/** How many audit events the log page shows (the newest). */
const LOG_SHOWN = 300;
/** Heavy channels are read again when a fetch brought something, else at least this often (times depend on the clock too). */
const HEAVY_EVERY = 6;

export interface FeedMeta {
  /** When the server last refreshed (its clock), and how often it does. */
  refreshed_at: string | null;
  interval_ms: number;
  /** Why the last refresh failed, if it did (the pages keep the data they have). */
  error: string | null;
}

export interface Feed {
  /** The current JSON text of each channel that has data. */
  current(): ReadonlyMap<Channel | 'meta', string>;
  /** Called with the channels whose text changed after each refresh (meta included). */
  subscribe(listener: (changed: ReadonlyMap<Channel | 'meta', string>) => void): () => void;
  /** One refresh now (the loop calls it; tests too). */
  refresh(): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export const createFeed = (ctx: Context, options: { intervalMs: number }): Feed => {
  const texts = new Map<Channel | 'meta', string>();
  const listeners = new Set<(changed: ReadonlyMap<Channel | 'meta', string>) => void>();
  let fingerprint: string | undefined;
  let rounds = 0;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const meta: FeedMeta = { refreshed_at: null, interval_ms: options.intervalMs, error: null };

  const read = async (): Promise<Partial<Record<Channel, unknown>>> => {
    const [{ fleetStatus }, { listLocksOp }] = await Promise.all([import('../ops/status.js'), import('../ops/locks.js')]);
    // status fetches main and every heartbeat ref (or says why it could not): the rest read what it brought.
    const fleet = await fleetStatus(ctx, { fetch: true });
    const out: Partial<Record<Channel, unknown>> = {
      fleet: readJson('fleet', fleet),
      locks: readJson('locks', await listLocksOp(ctx, { fetch: false })),
    };
    const now = await remoteRefsFingerprint(await openStore(ctx.storeDir));
    if (now === fingerprint && rounds % HEAVY_EVERY !== 0) return out;
    fingerprint = now;
    const [{ listJobsOp }, { listMessagesOp }, { auditLog }, { builderMetrics }, { checkFleet }] = await Promise.all([
      import('../ops/jobs.js'),
      import('../ops/messages.js'),
      import('../ops/log.js'),
      import('../ops/metrics.js'),
      import('../ops/check.js'),
    ]);
    const jobs = await listJobsOp(ctx, { fetch: false });
    // Eight days of history: every job still in the hot file (job_retention, 7d) has its timeline.
    const log = await auditLog(ctx, { fetch: false, since: '8d' });
    const timelines = Object.fromEntries(jobs.map((job) => [job.id, eventsAbout(log.events, job.id)]));
    const messages = await listMessagesOp(ctx, { all: true, includeRead: true, sent: false, archived: false, fetch: false });
    const ids = fleet.builders.map((b) => b.id);
    const metrics: Record<string, unknown> = {};
    for (const id of ids) metrics[id] = await builderMetrics(ctx, id, { since: '7d', fetch: false });
    out.jobs = { ...readJson('jobs', jobs), timelines };
    out.messages = { ...readJson('messages', messages.messages), awaiting: messages.awaiting, mailboxes: Object.fromEntries(ids.map((id) => [id, mailboxCounts(messages.messages, id)])) };
    out.log = { ...readJson('events', log.events.slice(-LOG_SHOWN).reverse()), matched: log.matched };
    out.metrics = readJson('metrics', metrics);
    out.check = readJson('check', await checkFleet(ctx, { fetch: false }));
    return out;
  };

  const refreshOnce = async (): Promise<void> => {
    const changed = new Map<Channel | 'meta', string>();
    try {
      const data = await read();
      meta.error = null;
      for (const [channel, value] of Object.entries(data) as Array<[Channel, unknown]>) {
        const text = JSON.stringify(value);
        if (texts.get(channel) !== text) changed.set(channel, text);
        texts.set(channel, text);
      }
    } catch (error) {
      // The pages keep what they have and say how old it is.
      meta.error = errorText(error);
      ctx.warn(`dashboard refresh failed: ${meta.error}`);
    }
    rounds++;
    meta.refreshed_at = ctx.now().toISOString();
    const metaText = JSON.stringify({ meta });
    texts.set('meta', metaText);
    changed.set('meta', metaText);
    for (const listener of listeners) listener(changed);
  };

  const loop = (): void => {
    if (stopped) return;
    running = refreshOnce().finally(() => {
      if (!stopped) timer = setTimeout(loop, options.intervalMs);
    });
  };

  return {
    current: () => texts,
    subscribe: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    refresh: () => (running = running.then(refreshOnce)),
    start: loop,
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
};
