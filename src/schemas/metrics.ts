import * as z from 'zod/mini';
import { nonNegative, timestamp } from './common.js';

/** One line of `<id>/metrics.jsonl`: a one-minute sample. */
export const metricsSample = z.looseObject({
  kind: z.literal('sample'),
  t: timestamp,
  /** cpu busy, percent */
  cpu: nonNegative,
  /** memory used, percent of total */
  mem: nonNegative,
  /** disk free on the store's file system, GB */
  disk: nonNegative,
  /** one-minute load average */
  load: nonNegative,
});

const minAvgMax = z.tuple([nonNegative, nonNegative, nonNegative]);

/** One line of `<id>/metrics.jsonl`: min / avg / max over one hour of samples. */
export const metricsHour = z.looseObject({
  kind: z.literal('hour'),
  /** start of the hour */
  t: timestamp,
  /** how many samples the hour summarises */
  n: z.int().check(z.gte(1)),
  cpu: minAvgMax,
  mem: minAvgMax,
  disk: minAvgMax,
  load: minAvgMax,
});

export const metricsLine = z.discriminatedUnion('kind', [metricsSample, metricsHour]);

export type MetricsSample = z.infer<typeof metricsSample>;
export type MetricsHour = z.infer<typeof metricsHour>;
export type MetricsLine = z.infer<typeof metricsLine>;
