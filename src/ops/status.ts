import { effectiveSettings, type Settings } from '../domain/config.js';
import { buildFleetView, type FleetView } from '../domain/fleet-view.js';
import { queueWaits, type QueueWait } from '../domain/jobs.js';
import { invalidDataError } from '../errors.js';
import type { BuilderEntry } from '../schemas/builders.js';
import type { HeartbeatDoc } from '../schemas/heartbeat.js';
import type { Job } from '../schemas/jobs.js';
import type { Lock } from '../schemas/locks.js';
import type { Message } from '../schemas/messages.js';
import { docs } from '../schemas/layout.js';
import type { StatusDoc } from '../schemas/status.js';
import type { Problem } from '../store/documents.js';
import { listIntents } from '../store/outbox.js';
import { openSnapshot, type DocRead } from '../store/snapshot.js';
import { fetchAll, lastFetchAt, openStore } from '../store/store.js';
import type { Context } from './context.js';
import { tryResolveActor } from './identity.js';
import { readHeartbeat } from './heartbeats-read.js';
import { fetchOrFallBack, viewReads, type Freshness } from './read.js';

export interface FleetStatus extends FleetView, Freshness {
  generated_at: string;
  store: string;
  /** When this clone last fetched from its remote. */
  last_fetch_at: string | null;
  me: string | null;
  /** Operations queued in this clone's outbox while the remote was unreachable. */
  outbox: { queued: number };
  /** Documents that could not be read; the view leaves them out. */
  problems: Array<{ file: string } & Problem>;
  /** Queued jobs that wait for dependencies, are blocked, or that no enabled builder can ever run. */
  queue_waits: { never_runs: number; jobs: QueueWait[] };
}

/** Everything the fleet view and `check` read: the documents of main, every heartbeat, this clone's outbox. */
export interface FleetDocs extends Freshness {
  store: string;
  last_fetch_at: string | null;
  me: string | null;
  settings: Settings;
  builders: BuilderEntry[];
  statuses: Map<string, StatusDoc>;
  heartbeats: Map<string, HeartbeatDoc>;
  jobs: Job[];
  locks: Lock[];
  messages: Message[];
  outbox: { queued: number };
  problems: FleetStatus['problems'];
}

export const readFleetDocs = async (ctx: Context, options: { fetch: boolean }): Promise<FleetDocs> => {
  const store = await openStore(ctx.storeDir);
  const freshness: Freshness = options.fetch ? await fetchOrFallBack(() => fetchAll(store), ctx.warn) : { fetched: false, fetch_error: null };
  const problems: FleetStatus['problems'] = [];
  const take = <T>(read: DocRead<T>): T | undefined => {
    if (read.status === 'invalid') for (const p of read.problems) problems.push({ file: read.source, ...p });
    return read.status === 'ok' ? read.value : undefined;
  };
  const snapshot = openSnapshot(store);
  const views = viewReads(snapshot, ctx.warn);
  try {
    const [builders, config, jobs, locks, messages] = await Promise.all([
      views.main(docs.builders),
      views.main(docs.config),
      views.main(docs.jobs),
      views.main(docs.locks),
      views.main(docs.messages),
    ]);
    if (builders.status === 'missing' && (await snapshot.text('refs/remotes/origin/main')) === undefined) {
      throw invalidDataError('this store has no main branch yet', { code: 'store_empty', hint: 'run "buildctl init" to seed it' });
    }
    const fleet = take(builders)?.builders ?? [];
    const statuses = new Map<string, StatusDoc>();
    const heartbeats = new Map<string, HeartbeatDoc>();
    await Promise.all(
      fleet.map(async ({ id }) => {
        const status = take(await views.main(docs.status(id)));
        if (status) statuses.set(id, status);
        const beat = await readHeartbeat(snapshot, id);
        const value = take(await views.tolerate(beat, docs.heartbeat(id)));
        if (value) heartbeats.set(id, value);
      }),
    );
    return {
      store: store.dir,
      ...freshness,
      last_fetch_at: (await lastFetchAt(store)) ?? null,
      me: (await tryResolveActor(ctx))?.id ?? null,
      settings: effectiveSettings(take(config)),
      builders: fleet,
      statuses,
      heartbeats,
      jobs: take(jobs)?.jobs ?? [],
      locks: take(locks)?.locks ?? [],
      messages: take(messages)?.messages ?? [],
      outbox: { queued: (await listIntents(store)).length },
      problems,
    };
  } finally {
    snapshot.close();
  }
};

export const fleetStatus = async (ctx: Context, options: { fetch: boolean }): Promise<FleetStatus> => {
  const d = await readFleetDocs(ctx, options);
  const view = buildFleetView({
    now: ctx.now(),
    settings: d.settings,
    me: d.me ?? undefined,
    builders: d.builders,
    statuses: d.statuses,
    heartbeats: d.heartbeats,
    jobs: d.jobs,
    locks: d.locks,
    messages: d.messages,
  });
  const waits = queueWaits(d.jobs, d.builders);
  return {
    generated_at: ctx.now().toISOString(),
    store: d.store,
    fetched: d.fetched,
    fetch_error: d.fetch_error,
    last_fetch_at: d.last_fetch_at,
    me: d.me,
    outbox: d.outbox,
    ...view,
    problems: d.problems,
    queue_waits: { never_runs: waits.filter((w) => w.never_runs !== null).length, jobs: waits },
  };
};
