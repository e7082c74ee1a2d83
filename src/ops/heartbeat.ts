import { effectiveSettings } from '../domain/config.js';
import { isOlderHeartbeatRef } from '../domain/legacy/heartbeat-ref.js';
import { findBuilder, requireBuilder } from '../domain/fleet.js';
import { metricsToText, rollMetrics } from '../domain/metrics.js';
import type { HeartbeatDoc } from '../schemas/heartbeat.js';
import { docs, paths } from '../schemas/layout.js';
import { metricsLine, type MetricsLine } from '../schemas/metrics.js';
import type { SystemSnapshot } from '../schemas/system.js';
import { parseDocumentText, serializeDocument } from '../store/documents.js';
import { fetchedHeartbeatRef, fetchHeartbeatRef, keepLegacyRef, publishHeartbeat, readLastHeartbeatFile } from '../store/heartbeat-ref.js';
import { withLocalLock } from '../store/local-lock.js';
import { fetchMain, openStore, type Store } from '../store/store.js';
import { VERSION } from '../version.js';
import type { Context } from './context.js';
import { resolveActor } from './identity.js';
import { readLastFetched } from './read.js';
import { collectSystemMetrics } from './system-metrics.js';

export interface HeartbeatResult {
  id: string;
  timestamp: string;
  commit: string;
  took_over: boolean;
  /** The ref was the older scripts' heartbeat branch: where its tip was kept. */
  replaced_legacy_branch: string | null;
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

/** One heartbeat: metrics now, published on this builder's heartbeat ref. Main is not touched. */
export const heartbeat = async (ctx: Context, options: { force?: boolean } = {}): Promise<HeartbeatResult> => {
  const store = await openStore(ctx.storeDir);
  const { id } = await resolveActor(ctx);
  let [builders, config] = await readLastFetched(store, docs.builders, docs.config);
  if (!findBuilder(builders, id)) {
    // This clone's copy of main may predate the registration: ask the remote once.
    await fetchMain(store);
    [builders, config] = await readLastFetched(store, docs.builders, docs.config);
    requireBuilder(builders, id);
  }
  const settings = effectiveSettings(config);

  const system = await collectSystemMetrics(store.dir, store.stateDir);
  // One beat at a time per clone: two processes pushing against the same lease (the agent
  // and a `job run` keeping its job alive) would otherwise look like a duplicate agent, and
  // each would roll the metrics from the same previous beat.
  return withLocalLock(
    store.stateDir,
    async () => {
      const previous = await readLastHeartbeatFile(store, id, paths.metrics(id));
      const now = ctx.now();
      const lines: MetricsLine[] = [];
      for (const text of (previous ?? '').split('\n')) {
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
      let replaced: string | null = null;
      const published = await publishHeartbeat(store, {
        builder: id,
        now,
        force: options.force,
        onTakeOver: async (current) => {
          replaced = await takeOverOlderBranch(ctx, store, id, current);
        },
        files: {
          [paths.heartbeat(id)]: serializeDocument(paths.heartbeat(id), beat, docs.heartbeat(id).schema),
          [paths.metrics(id)]: metricsText,
        },
      });
      return {
        id,
        timestamp: beat.timestamp,
        commit: published.commit,
        took_over: published.tookOver,
        replaced_legacy_branch: replaced,
        system,
        metrics_lines: rolled.length,
        metrics_bytes: Buffer.byteLength(metricsText),
      };
    },
    { name: 'heartbeat', waitMs: 30_000, busyMessage: 'another process of this clone has been publishing a heartbeat for 30 s' },
  );
};
