import { effectiveSettings } from '../domain/config.js';
import { buildFleetView, type FleetView } from '../domain/fleet-view.js';
import { invalidDataError } from '../errors.js';
import type { HeartbeatDoc } from '../schemas/heartbeat.js';
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
}

export const fleetStatus = async (ctx: Context, options: { fetch: boolean }): Promise<FleetStatus> => {
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
    const me = (await tryResolveActor(ctx))?.id;
    const view = buildFleetView({
      now: ctx.now(),
      settings: effectiveSettings(take(config)),
      me,
      builders: fleet,
      statuses,
      heartbeats,
      jobs: take(jobs)?.jobs ?? [],
      locks: take(locks)?.locks ?? [],
      messages: take(messages)?.messages ?? [],
    });
    return {
      generated_at: ctx.now().toISOString(),
      store: store.dir,
      ...freshness,
      last_fetch_at: (await lastFetchAt(store)) ?? null,
      me: me ?? null,
      outbox: { queued: (await listIntents(store)).length },
      ...view,
      problems,
    };
  } finally {
    snapshot.close();
  }
};


