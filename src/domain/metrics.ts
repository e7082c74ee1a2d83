// The rolling metrics window of <id>/metrics.jsonl: the last 60 one-minute samples, and
// hourly min / avg / max summaries for the samples older than that, back to metrics_window.
import type { MetricsHour, MetricsLine, MetricsSample } from '../schemas/metrics.js';
import { compareTimes } from './durations.js';

export const RAW_SAMPLES_KEPT = 60;
const HOUR_MS = 3_600_000;
const FIELDS = ['cpu', 'mem', 'disk', 'load'] as const;

const round1 = (value: number): number => Math.round(value * 10) / 10;

const hourStart = (iso: string): string => new Date(Math.floor(Date.parse(iso) / HOUR_MS) * HOUR_MS).toISOString().replace('.000Z', 'Z');

const foldIntoHour = (hour: MetricsHour | undefined, sample: MetricsSample): MetricsHour => {
  const n = (hour?.n ?? 0) + 1;
  const next: MetricsHour = { kind: 'hour', t: hourStart(sample.t), n, cpu: [0, 0, 0], mem: [0, 0, 0], disk: [0, 0, 0], load: [0, 0, 0] };
  for (const field of FIELDS) {
    const value = sample[field];
    const [min, avg, max] = hour?.[field] ?? [value, value, value];
    next[field] = [Math.min(min, value), (avg * (n - 1) + value) / n, Math.max(max, value)];
  }
  return next;
};

const roundAverages = (hour: MetricsHour): MetricsHour => {
  const next = { ...hour };
  for (const field of FIELDS) next[field] = [hour[field][0], round1(hour[field][1]), hour[field][2]];
  return next;
};

/**
 * Adds one sample: the newest 60 samples stay as they are; older ones fold into their
 * hour's summary; summaries that end before `now - windowMs` are dropped.
 */
export const rollMetrics = (lines: readonly MetricsLine[], sample: MetricsSample, now: Date, windowMs: number): MetricsLine[] => {
  const samples = [...lines.filter((l): l is MetricsSample => l.kind === 'sample'), sample].sort((a, b) => compareTimes(a.t, b.t));
  const hours = new Map<string, MetricsHour>();
  for (const line of lines) if (line.kind === 'hour') hours.set(line.t, line);
  const overflow = samples.length - RAW_SAMPLES_KEPT;
  for (const old of samples.slice(0, Math.max(0, overflow))) {
    const key = hourStart(old.t);
    hours.set(key, foldIntoHour(hours.get(key), old));
  }
  const kept = samples.slice(Math.max(0, overflow));
  // An hour's average is rounded only once no more samples can fold into it (its end is at
  // or before the oldest raw sample): rounding at every fold drifts, e.g. one 100 % spike in
  // an idle hour would average 2.1 instead of 1.7.
  const oldestKept = Date.parse(kept[0]?.t ?? sample.t);
  const cutoff = now.getTime() - windowMs;
  const keptHours = [...hours.values()]
    .filter((h) => Date.parse(h.t) + HOUR_MS > cutoff)
    .sort((a, b) => compareTimes(a.t, b.t))
    .map((h) => (Date.parse(h.t) + HOUR_MS <= oldestKept ? roundAverages(h) : h));
  return [...keptHours, ...kept];
};

/**
 * A window split where it stops changing: `settled` are the hours no sample can fold into
 * any more (they end at or before the oldest one-minute sample kept, and are rounded), in
 * order; `recent` is the rest (the hour being folded into, and the samples). Their texts
 * put one after the other are the window's text.
 */
export const splitSettled = (lines: readonly MetricsLine[]): { settled: MetricsLine[]; recent: MetricsLine[] } => {
  const oldestSample = lines.find((l): l is MetricsSample => l.kind === 'sample');
  const oldest = oldestSample ? Date.parse(oldestSample.t) : Number.POSITIVE_INFINITY;
  let cut = 0;
  while (cut < lines.length && lines[cut]!.kind === 'hour' && Date.parse(lines[cut]!.t) + HOUR_MS <= oldest) cut++;
  return { settled: lines.slice(0, cut), recent: lines.slice(cut) };
};

export const metricsToText = (lines: readonly MetricsLine[]): string => lines.map((line) => JSON.stringify(line)).join('\n') + (lines.length ? '\n' : '');

export type MetricField = (typeof FIELDS)[number];
export const METRIC_FIELDS: readonly MetricField[] = FIELDS;

export interface FieldSummary {
  /** The newest sample's value (null without samples). */
  now: number | null;
  min: number;
  avg: number;
  max: number;
}

export interface MetricsHistory {
  /** One-minute samples from `since` on, oldest first. */
  samples: MetricsSample[];
  /** Hourly summaries of hours that end after `since`, oldest first. */
  hours: MetricsHour[];
  /** Over everything kept (hours weighted by their sample count); null without any data. */
  summary: Record<MetricField, FieldSummary> | null;
}

/** The part of a metrics window from `since` on, with min / avg / max per field. */
export const metricsSince = (lines: readonly MetricsLine[], since: Date | undefined): MetricsHistory => {
  const from = since?.getTime() ?? Number.NEGATIVE_INFINITY;
  const samples = lines.filter((l): l is MetricsSample => l.kind === 'sample' && Date.parse(l.t) >= from).sort((a, b) => compareTimes(a.t, b.t));
  const hours = lines.filter((l): l is MetricsHour => l.kind === 'hour' && Date.parse(l.t) + HOUR_MS > from).sort((a, b) => compareTimes(a.t, b.t));
  if (samples.length === 0 && hours.length === 0) return { samples, hours, summary: null };
  const summary = {} as Record<MetricField, FieldSummary>;
  for (const field of FIELDS) {
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    let total = 0;
    let count = 0;
    for (const hour of hours) {
      const [lo, avg, hi] = hour[field];
      min = Math.min(min, lo);
      max = Math.max(max, hi);
      total += avg * hour.n;
      count += hour.n;
    }
    for (const sample of samples) {
      min = Math.min(min, sample[field]);
      max = Math.max(max, sample[field]);
      total += sample[field];
      count += 1;
    }
    summary[field] = { now: samples.at(-1)?.[field] ?? null, min, avg: round1(total / count), max };
  }
  return { samples, hours, summary };
};
