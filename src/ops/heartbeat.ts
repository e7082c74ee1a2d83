import { effectiveSettings } from '../domain/config.js';
import { isOlderHeartbeatRef } from '../domain/legacy/heartbeat-ref.js';
import { findBuilder, requireBuilder } from '../domain/fleet.js';
import { metricsToText, rollMetrics, splitSettled } from '../domain/metrics.js';
import { parseDocumentText } from '../schemas/document-text.js';
import type { HeartbeatDoc } from '../schemas/heartbeat.js';
import { docs, paths } from '../schemas/layout.js';
import { metricsLine, type MetricsLine } from '../schemas/metrics.js';
import type { SystemSnapshot } from '../schemas/system.js';
import { serializeDocument } from '../store/documents.js';
import { BuildctlError } from '../errors.js';
import { fetchedHeartbeatRef, fetchHeartbeatRef, keepLegacyRef, publishHeartbeat, type OtherBeat } from '../store/heartbeat-ref.js';
import { withLocalLock } from '../store/local-lock.js';
import { openSnapshot, type Snapshot } from '../store/snapshot.js';
import { fetchMain, openStore, ORIGIN_MAIN, type Store } from '../store/store.js';
import { VERSION } from '../version.js';
import type { Context } from './context.js';
import { resolveActor } from './identity.js';
import { readMainOrThrow } from './read.js';
import { checkSignedAs } from './signed-writes.js';
import { collectSystemMetrics } from './system-metrics.js';

export interface HeartbeatResult {
  id: string;
  timestamp: string;
  commit: string;
  took_over: boolean;
  /** The ref was the older scripts' heartbeat branch: where its tip was kept. */
  replaced_legacy_branch: string | null;
  /**
   * Another agent is beating as this id (a copied id file): what its last beat said. This
   * beat took the ref back and says so in the beat itself, so the fleet keeps seeing the
   * builder alive while both sides (and `status`) report the duplicate until one stops.
   */
  duplicate: NonNullable<HeartbeatDoc['duplicate']> | null;
  system: SystemSnapshot;
  metrics_lines: number;
  metrics_bytes: number;
}

/**
 * Before a clone's first beat replaces the ref: if it is the older scripts' heartbeat
 * branch (a history of the whole repository, no metrics), its tip is kept as
 * `legacy/heartbeat/<id>` and the replacement is said on stderr. Returns that branch.
 */
const takeOverOlderBranch = async (ctx: Context, store: Store, id: string, current: string): Promise<string | null> => {
  await fetchHeartbeatRef(store, id);
  const fetched = await fetchedHeartbeatRef(store, id);
  if (!fetched || fetched.sha !== current || !isOlderHeartbeatRef(fetched)) return null;
  const kept = await keepLegacyRef(store, id, current);
  ctx.warn(`heartbeat/${id} was the older scripts' heartbeat branch (${fetched.commits} commit${fetched.commits === 1 ? '' : 's'}): replaced by this heartbeat; its tip ${current.slice(0, 12)} is kept as ${kept}`);
  return kept;
};

/** The other agent's beat, when `error` is a duplicate-agent refusal. */
const duplicateOf = (error: unknown): OtherBeat | undefined => {
  if (!(error instanceof BuildctlError) || error.code !== 'duplicate_agent') return undefined;
  const other = error.details?.other as OtherBeat | undefined;
  return other && typeof other.commit === 'string' && other.commit !== '' ? other : undefined;
};

/** One heartbeat: metrics now, published on this builder's heartbeat ref. Main is not touched. */
export const heartbeat = async (ctx: Context, options: { force?: boolean } = {}): Promise<HeartbeatResult> => {
  const store = await openStore(ctx.storeDir);
  const { id } = await resolveActor(ctx);
  const workspaces = (ctx.env?.BUILDCTL_WORKSPACE ?? '').split(':').filter((path) => path !== '');
  const systemMetrics = collectSystemMetrics(store.dir, store.stateDir, workspaces);
  systemMetrics.catch(() => undefined); // awaited below; a refusal first must not leave it unhandled
  // The registry, the settings and (under the lock) the last metrics, all from git objects
  // through one reader; without a registry, builders found by their folders count (said once).
  const registry = async (snapshot: Snapshot) => ({
    builders: await readMainOrThrow(snapshot, docs.builders, ctx.warn),
    config: await readMainOrThrow(snapshot, docs.config),
  });
  let snapshot = openSnapshot(store);
  try {
    let state = await registry(snapshot);
    if (!findBuilder(state.builders, id)) {
      // This clone's copy of main may predate the registration: ask the remote once.
      await fetchMain(store);
      snapshot.close();
      snapshot = openSnapshot(store);
      state = await registry(snapshot);
      requireBuilder(state.builders, id);
    }
    const settings = effectiveSettings(state.config);
    // Under require_signed_writes a beat this clone cannot sign as `id` would count for nothing: refused here.
    await checkSignedAs({ commit: (await snapshot.resolve(ORIGIN_MAIN)) ?? '', objects: snapshot.objects, store }, { actor: id, op: 'heartbeat', forced: false });
    const system = await systemMetrics;
    const reader = snapshot;
    // One beat at a time per clone: two processes pushing against the same lease (the agent
    // and a `job run` keeping its job alive) would otherwise look like a duplicate agent, and
    // each would roll the metrics from the same previous beat.
    return await withLocalLock(
      store.stateDir,
      async () => {
        // The lease is read afresh under the lock: this is the beat the last holder published.
        const last = await reader.lastHeartbeat(id);
        const previous = await last?.file(paths.metrics(id));
        const now = ctx.now();
        const lines: MetricsLine[] = [];
        for (const text of (previous?.kind === 'text' ? previous.text : '').split('\n')) {
          if (text.trim() === '') continue;
          const parsed = parseDocumentText(text, metricsLine);
          if (parsed.ok) lines.push(parsed.value);
        }
        const memPct = system.memory_total_mb > 0 ? (system.memory_used_mb / system.memory_total_mb) * 100 : 0;
        const rolled = rollMetrics(
          lines,
          { kind: 'sample', t: now.toISOString().replace(/\.\d{3}Z$/, 'Z'), cpu: system.cpu_pct, mem: Math.round(memPct * 10) / 10, disk: system.disk_free_gb, load: system.load_avg[0] },
          now,
          settings.metricsWindowMs,
        );
        const beat: HeartbeatDoc = {
          id,
          timestamp: now.toISOString(),
          host: ctx.hostname,
          pid: process.pid,
          version: VERSION,
          uptime_seconds: system.uptime_seconds,
          system,
        };
        const metricsText = metricsToText(rolled);
        // The hours that no longer change ride in the beat's parent: one new object a beat.
        const { settled, recent } = splitSettled(rolled);
        let replaced: string | null = null;
        const hexLength = last?.commit.length ?? (await reader.resolve(ORIGIN_MAIN))?.length;
        const publish = (doc: HeartbeatDoc, lease?: string) =>
          publishHeartbeat(store, {
            builder: id,
            now,
            force: options.force,
            ...(lease === undefined ? {} : { lease }),
            ...(hexLength === undefined ? {} : { hexLength }),
            onTakeOver: async (current) => {
              replaced = await takeOverOlderBranch(ctx, store, id, current);
            },
            files: {
              [paths.heartbeat(id)]: serializeDocument(paths.heartbeat(id), doc, docs.heartbeat(id).schema),
              [paths.metrics(id)]: metricsToText(recent),
            },
            ...(settled.length > 0 ? { carried: { [paths.metrics(id)]: metricsToText(settled) } } : {}),
          });
        let published: Awaited<ReturnType<typeof publish>>;
        let duplicate: HeartbeatResult['duplicate'] = null;
        try {
          published = await publish(beat);
        } catch (error) {
          const other = duplicateOf(error);
          if (!other) throw error;
          // Neither side may lock the other out (the real builder could be either): take the
          // ref back, saying so in the beat, and report it. Whichever agent is stopped, the
          // other's next beat lands plainly and the report ends, without anyone running --force.
          duplicate = { detected_at: now.toISOString(), other_host: other.host, other_pid: other.pid, other_beat_at: other.beat_at };
          published = await publish({ ...beat, duplicate }, other.commit);
        }
        return {
          id,
          timestamp: beat.timestamp,
          commit: published.commit,
          took_over: published.tookOver,
          replaced_legacy_branch: replaced,
          duplicate,
          system,
          metrics_lines: rolled.length,
          metrics_bytes: Buffer.byteLength(metricsText),
        };
      },
      { name: 'heartbeat', waitMs: 30_000, busyMessage: 'another process of this clone has been publishing a heartbeat for 30 s' },
    );
  } finally {
    snapshot.close();
  }
};
