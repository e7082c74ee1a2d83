// `buildctl metrics ID`: a builder's history from the metrics.jsonl on its heartbeat ref.
import { requireBuilder } from '../domain/fleet.js';
import { plural } from '../domain/format.js';
import { metricsSince, type MetricsHistory } from '../domain/metrics.js';
import { parseSince } from '../domain/since.js';
import { parseDocumentText } from '../schemas/document-text.js';
import { docs, paths } from '../schemas/layout.js';
import { metricsLine, type MetricsLine } from '../schemas/metrics.js';
import { openSnapshot } from '../store/snapshot.js';
import { ORIGIN_MAIN, openStore } from '../store/store.js';
import type { Context } from './context.js';
import { fetchFleet, viewReads } from './read.js';

export interface BuilderMetrics extends MetricsHistory {
  builder: string;
  since: string | null;
  /** Where the file was read: `heartbeat/<id>:<id>/metrics.jsonl`, or main's copy in older stores; null when there is none. */
  source: string | null;
  /** Lines that could not be read (skipped). */
  skipped: Array<{ line: number; reason: string }>;
}

export const builderMetrics = async (ctx: Context, id: string, options: { since?: string | undefined; fetch: boolean }): Promise<BuilderMetrics> => {
  const store = await openStore(ctx.storeDir);
  const since = options.since === undefined ? undefined : parseSince(options.since, ctx.now());
  if (options.fetch) await fetchFleet(ctx, store);
  const snapshot = openSnapshot(store);
  try {
    requireBuilder(await viewReads(snapshot, ctx.warn).mainOrThrow(docs.builders), id);
    const path = paths.metrics(id);
    let source: string | null = `heartbeat/${id}:${path}`;
    const onRef = await (await snapshot.heartbeatCommit(id))?.file(path);
    let text = onRef?.kind === 'text' ? onRef.text : undefined;
    if (text === undefined) {
      source = path;
      text = await snapshot.text(`${ORIGIN_MAIN}:${path}`);
    }
    if (text === undefined) source = null;
    const lines: MetricsLine[] = [];
    const skipped: BuilderMetrics['skipped'] = [];
    for (const [index, line] of (text ?? '').split('\n').entries()) {
      if (line.trim() === '') continue;
      const parsed = parseDocumentText(line, metricsLine);
      if (parsed.ok) lines.push(parsed.value);
      else skipped.push({ line: index + 1, reason: parsed.problems[0]?.reason ?? 'invalid' });
    }
    if (skipped.length > 0) ctx.warn(`skipped ${plural(skipped.length, 'unreadable line')} of ${source} (first: line ${skipped[0]?.line}: ${skipped[0]?.reason})`);
    return { builder: id, since: since?.toISOString() ?? null, source, skipped, ...metricsSince(lines, since) };
  } finally {
    snapshot.close();
  }
};
