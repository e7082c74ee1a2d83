import type { Command } from 'commander';
import { formatTime, plural } from '../../domain/format.js';
import type { MetricField } from '../../domain/metrics.js';
import type { BuilderMetrics } from '../../ops/metrics.js';
import { metricsJson } from '../output.js';
import { buildContext, printJson, table, type Runtime } from '../runtime.js';
import { sparkline } from '../sparkline.js';

const ROWS: ReadonlyArray<{ field: MetricField; label: string; range?: [number, number] }> = [
  { field: 'cpu', label: 'cpu %', range: [0, 100] },
  { field: 'mem', label: 'mem %', range: [0, 100] },
  { field: 'disk', label: 'disk free GB' },
  { field: 'load', label: 'load (1 min)' },
];

const num = (value: number | null): string => (value === null ? '-' : String(Math.round(value * 10) / 10));

/** A table of now / min / avg / max per metric; on a terminal, a sparkline of the hourly averages and one of the samples. */
export const renderMetrics = (m: BuilderMetrics, options: { sparklines: boolean }): string => {
  if (!m.summary) {
    return m.source === null
      ? `${m.builder} has published no metrics yet (its agent writes them with every heartbeat)`
      : `no metrics of ${m.builder}${m.since ? ` since ${formatTime(m.since)}` : ''}`;
  }
  const summary = m.summary;
  const first = m.hours[0]?.t ?? m.samples[0]?.t;
  const head = `${m.builder}: ${plural(m.samples.length, 'one-minute sample')} and ${plural(m.hours.length, 'hourly summary', 'hourly summaries')}${first ? `, from ${formatTime(first)}` : ''}${m.samples.length > 0 ? ` to ${formatTime(m.samples.at(-1)!.t)}` : ''}`;
  const header = ['METRIC', 'NOW', 'MIN', 'AVG', 'MAX'];
  if (options.sparklines) header.push(`HOURLY AVG (${m.hours.length}h)`, `LAST ${plural(m.samples.length, 'SAMPLE', 'SAMPLES')}`);
  const rows = ROWS.map(({ field, label, range }) => {
    const s = summary[field];
    const row = [label, num(s.now), num(s.min), num(s.avg), num(s.max)];
    if (options.sparklines) {
      const bounds = range ? { min: range[0], max: range[1] } : { min: s.min, max: s.max };
      row.push(sparkline(m.hours.map((h) => h[field][1]), { ...bounds, width: 48 }) || '-', sparkline(m.samples.map((x) => x[field]), { ...bounds, width: 60 }) || '-');
    }
    return row;
  });
  return `${head}\n${table(header, rows)}`;
};

export const registerMetrics = (program: Command, runtime: Runtime): void => {
  program
    .command('metrics')
    .description("a builder's recent history: one-minute samples (the last hour) and hourly min / avg / max (metrics_window, 7d), from metrics.jsonl on its heartbeat ref")
    .argument('<id>', 'builder id')
    .option('--since <when>', 'from then on: a duration back from now (default 24h) or a time (2026-11-28T22:00:00Z)', '24h')
    .option('--no-fetch', 'use the last fetched state')
    .option('--json', 'print the samples, hourly summaries and totals as JSON')
    .addHelpText('after', `
On a terminal each metric gets two sparklines (hourly averages, then the last hour's
samples; cpu and mem scaled 0-100 %, disk and load between their own min and max).

Examples:
  buildctl metrics build1
  buildctl metrics build1 --since 7d --json | jq '.metrics.hours[] | [.t, .cpu[1]]'`)
    .action(async (id: string, options: { since: string; fetch: boolean; json?: boolean }, command: Command) => {
      const { builderMetrics } = await import('../../ops/metrics.js');
      const metrics = await builderMetrics(buildContext(runtime, command), id, { since: options.since, fetch: options.fetch });
      if (options.json) return printJson(runtime, metricsJson(metrics));
      runtime.out(renderMetrics(metrics, { sparklines: process.stdout.isTTY === true }));
    });
};
