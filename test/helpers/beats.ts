// Many builders' heartbeats at once, written straight into a repository (the fleet's bare
// remote) in buildctl's own commit form: for fleets of hundreds of builders in tests and
// the benchmark, where one agent per builder would take minutes a simulated minute.
import { spawnSync } from 'node:child_process';
import { metricsToText } from '../../src/domain/metrics.js';
import { serializeDocument } from '../../src/store/documents.js';
import { beatObjects } from '../../src/store/heartbeat-ref.js';
import { objectsDirOf, writeLooseObjects, type NewObject } from '../../src/store/objects.js';
import { docs, paths } from '../../src/schemas/layout.js';
import type { MetricsLine } from '../../src/schemas/metrics.js';

export interface SimulatedBeat {
  id: string;
  /** The last 60 samples (and the hour being folded), as the beat carries them. */
  recent: MetricsLine[];
  /** Settled hours, carried by the beat's parent. */
  settled?: MetricsLine[];
}

/** The heartbeat document a simulated builder sends. */
export const simulatedHeartbeat = (id: string, at: Date): string =>
  serializeDocument(paths.heartbeat(id), {
    id,
    timestamp: at.toISOString(),
    host: `${id}.bench.invalid`,
    pid: 4242,
    version: 'bench',
    uptime_seconds: 86_400,
    system: { cpu_pct: 42, cpu_count: 16, memory_used_mb: 6000, memory_total_mb: 16000, disk_free_gb: 120.5, disk_total_gb: 500, load_avg: [1, 1, 1], uptime_seconds: 86_400 },
  }, docs.heartbeat(id).schema);

/**
 * Writes one beat per builder into `repo` (a bare repository) and moves every
 * `refs/heads/heartbeat/<id>` to it in one `git update-ref --stdin`. Returns the commits
 * the refs pointed at before (what each builder's agent would journal as replaced).
 */
export const writeBeats = async (repo: string, beats: readonly SimulatedBeat[], at: Date): Promise<Map<string, string>> => {
  const objects: NewObject[] = [];
  const refs = new Map<string, string>();
  for (const beat of beats) {
    const files = { [paths.heartbeat(beat.id)]: simulatedHeartbeat(beat.id, at), [paths.metrics(beat.id)]: metricsToText(beat.recent) };
    const carried = beat.settled && beat.settled.length > 0 ? { [paths.metrics(beat.id)]: metricsToText(beat.settled) } : undefined;
    const made = beatObjects(beat.id, files, carried, at, 'sha1');
    objects.push(...made.objects);
    refs.set(beat.id, made.beat.id);
  }
  writeLooseObjects(await objectsDirOf(repo), objects);
  const before = new Map<string, string>();
  const current = spawnSync('git', ['for-each-ref', '--format=%(objectname) %(refname)', 'refs/heads/heartbeat/'], { cwd: repo, encoding: 'utf8' }).stdout;
  for (const line of current.split('\n')) {
    const [sha, ref] = line.split(' ');
    if (sha && ref) before.set(ref.slice('refs/heads/heartbeat/'.length), sha);
  }
  const input = [...refs].map(([id, sha]) => `update refs/heads/heartbeat/${id} ${sha}\n`).join('');
  const run = spawnSync('git', ['update-ref', '--stdin'], { cwd: repo, input, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`git update-ref --stdin failed: ${run.stderr}`);
  return new Map([...before].filter(([id]) => refs.has(id)));
};
