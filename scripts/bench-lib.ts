// Small helpers both benchmark modules use (scripts/bench.ts, scripts/bench-scale.ts).
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

export const progress = (line: string): void => void process.stderr.write(`bench: ${line}\n`);

export const median = (samples: readonly number[]): number => {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
};

export const percentile = (samples: readonly number[], p: number): number => {
  const sorted = [...samples].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
};

export const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
export const round1 = (x: number): number => Math.round(x * 10) / 10;
export const round2 = (x: number): number => Math.round(x * 100) / 100;

export const timed = async (fn: () => Promise<unknown>): Promise<number> => {
  const start = performance.now();
  await fn();
  return performance.now() - start;
};

/** Apparent size of every file under a directory, in bytes. */
export const dirBytes = async (dir: string): Promise<number> => {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await dirBytes(path);
    else if (entry.isFile()) total += (await stat(path)).size;
  }
  return total;
};

export const mb = (bytes: number): number => Math.round((bytes / 2 ** 20) * 100) / 100;

export const renderTable = (header: string[], rows: string[][]): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
};

/** A synthetic job for the benches' seeded queues: `status` and its times as given, the rest derived from `i`; a finished one has a result. */
export const benchJob = (
  i: number,
  status: string,
  assignee: string | null,
  times: { created: string; started: string | null; completed: string | null },
): Record<string, unknown> => ({
  id: `job_bench_${i}`,
  type: i % 3 === 0 ? 'test' : 'build',
  priority: 1 + (i % 9),
  branch: 'main',
  description: `benchmark job ${i}`,
  status,
  assigned_to: assignee,
  labels: [],
  attempts: status === 'queued' ? 0 : 1,
  max_attempts: 3,
  created_at: times.created,
  started_at: times.started,
  completed_at: times.completed,
  ...(status === 'completed' || status === 'failed' ? { result: { artifacts: [`artifacts/${i}.tar.gz`], duration_seconds: 1200, ...(status === 'failed' ? { reason: 'tests failed' } : {}) } } : {}),
});
