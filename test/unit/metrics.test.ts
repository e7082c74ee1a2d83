import { describe, expect, it } from 'vitest';
import { metricsToText, RAW_SAMPLES_KEPT, rollMetrics } from '../../src/domain/metrics.js';
import { metricsLine, type MetricsHour, type MetricsLine, type MetricsSample } from '../../src/schemas/metrics.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
const START = Date.parse('2026-01-01T00:00:00Z');

const at = (ms: number): string => new Date(ms).toISOString();
const sample = (ms: number, cpu: number, rest: Partial<MetricsSample> = {}): MetricsSample => ({ kind: 'sample', t: at(ms), cpu, mem: cpu, disk: cpu, load: cpu, ...rest });
const hours = (lines: readonly MetricsLine[]): MetricsHour[] => lines.filter((l): l is MetricsHour => l.kind === 'hour');
const samples = (lines: readonly MetricsLine[]): MetricsSample[] => lines.filter((l): l is MetricsSample => l.kind === 'sample');

/** One beat a minute for `count` minutes from `from`, as the agent does it: each beat reads the file the last one wrote. */
const beat = (count: number, value: (minute: number) => Partial<MetricsSample> & { cpu: number }, from = START): MetricsLine[] => {
  let text = '';
  for (let minute = 0; minute < count; minute++) {
    const t = from + minute * MINUTE;
    const lines = text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as MetricsLine);
    const v = value(minute);
    text = metricsToText(rollMetrics(lines, sample(t, v.cpu, v), new Date(t), WEEK));
  }
  return text.split('\n').filter(Boolean).map((line) => metricsLine.parse(JSON.parse(line)));
};

const near = (value: number): unknown => expect.closeTo(value, 6);
const mean = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0) / values.length;

describe('rollMetrics', () => {
  it('keeps up to 60 samples as they are, oldest first', () => {
    const existing = [sample(START + 2 * MINUTE, 3), sample(START, 1), sample(START + MINUTE, 2)];
    const rolled = rollMetrics(existing, sample(START + 3 * MINUTE, 4), new Date(START + 3 * MINUTE), WEEK);
    expect(rolled.map((l) => l.kind === 'sample' && l.cpu)).toEqual([1, 2, 3, 4]);
  });

  it.each([
    [59, 60, 0],
    [60, 60, 1],
    [99, 60, 40],
  ])('with %d samples already, one more keeps %d samples and folds %d', (before, kept, folded) => {
    const existing = Array.from({ length: before }, (_, i) => sample(START + i * MINUTE, i));
    const now = START + before * MINUTE;
    const rolled = rollMetrics(existing, sample(now, before), new Date(now), WEEK);
    expect(RAW_SAMPLES_KEPT).toBe(60);
    expect(samples(rolled)).toHaveLength(kept);
    // the newest ones stay: the last kept sample is the new one, the first is `folded` minutes in
    expect(samples(rolled)[0]?.cpu).toBe(folded);
    expect(samples(rolled).at(-1)?.cpu).toBe(before);
    expect(hours(rolled).reduce((n, h) => n + h.n, 0)).toBe(folded);
  });

  it('folds older samples into hourly min / avg / max with their count', () => {
    // 100 samples from 00:30, one a minute; cpu = i, mem = 2i, disk = 500 - i, load = i % 4.
    const all = Array.from({ length: 100 }, (_, i) => sample(START + 30 * MINUTE + i * MINUTE, i, { mem: 2 * i, disk: 500 - i, load: i % 4 }));
    const now = START + 30 * MINUTE + 99 * MINUTE;
    const rolled = rollMetrics(all.slice(0, 99), all[99]!, new Date(now), WEEK);
    // 40 fold: i = 0..29 are 00:30-00:59 (hour 00), i = 30..39 are 01:00-01:09 (hour 01).
    expect(hours(rolled)).toEqual([
      { kind: 'hour', t: '2026-01-01T00:00:00Z', n: 30, cpu: [0, 14.5, 29], mem: [0, 29, 58], disk: [471, 485.5, 500], load: [0, 1.4, 3] },
      // Still open (samples of 01:10 onwards will fold into it): its averages are not rounded yet.
      { kind: 'hour', t: '2026-01-01T01:00:00Z', n: 10, cpu: [30, near(34.5), 39], mem: [60, near(69), 78], disk: [461, near(465.5), 470], load: [0, near(1.7), 3] },
    ]);
    // load for i = 0..29 is 0,1,2,3 repeated: 7 cycles (sum 42) + 0 + 1 = 43 / 30 = 1.433 -> 1.4;
    // for i = 30..39 it is 2,3,0,1,2,3,0,1,2,3 = 17 / 10 = 1.7.
    expect(hours(rolled)[1]?.load[1]).toBeCloseTo(mean(all.slice(30, 40).map((s) => s.load)), 6);
    expect(samples(rolled)).toHaveLength(60);
    expect(rolled.slice(0, 2).every((l) => l.kind === 'hour')).toBe(true); // hours come first
  });

  it('merges a folded sample into the hour already in the file', () => {
    const existingHour: MetricsHour = { kind: 'hour', t: '2026-01-01T00:00:00Z', n: 10, cpu: [5, 10, 20], mem: [1, 1, 1], disk: [50, 50, 50], load: [0, 0.5, 1] };
    const raw = Array.from({ length: 60 }, (_, i) => sample(START + 10 * MINUTE + i * MINUTE, 32, { mem: 12, disk: 40, load: 3 }));
    const now = START + 70 * MINUTE;
    const rolled = rollMetrics([existingHour, ...raw], sample(now, 1), new Date(now), WEEK);
    // the 00:10 sample leaves the raw window and joins the hour of 00:00, which stays open (unrounded)
    expect(hours(rolled)).toEqual([
      // cpu (10 * 10 + 32) / 11 = 12; mem (10 + 12) / 11 = 2; disk (500 + 40) / 11 = 49.09; load (5 + 3) / 11 = 0.727
      { kind: 'hour', t: '2026-01-01T00:00:00Z', n: 11, cpu: [5, 12, 32], mem: [1, 2, 12], disk: [40, near(540 / 11), 50], load: [0, near(8 / 11), 3] },
    ]);
  });

  it('keeps each hour average equal to the mean of its samples when they arrive one beat at a time', () => {
    // A single 100 % spike in an otherwise idle hour: the hour's average is 100 / 60.
    const spike = hours(beat(130, (minute) => ({ cpu: minute === 0 ? 100 : 0 })));
    expect(spike[0]).toMatchObject({ t: '2026-01-01T00:00:00Z', n: 60, cpu: [0, expect.any(Number), 100] });
    expect(spike[0]?.cpu[1]).toBeCloseTo(100 / 60, 1);

    // Uneven values over two full hours.
    const value = (minute: number) => ((minute * 37) % 101) / 10 + (minute % 7 === 0 ? 40 : 0);
    const folded = hours(beat(180, (minute) => ({ cpu: value(minute) })));
    for (const [index, hour] of folded.slice(0, 2).entries()) {
      const expected = mean(Array.from({ length: 60 }, (_, i) => value(index * 60 + i)));
      expect(hour.n).toBe(60);
      expect(hour.cpu[1]).toBeCloseTo(expected, 1);
    }
  });

  it('drops hours that ended before the window and keeps the rest', () => {
    const now = Date.parse('2026-01-08T00:00:00Z'); // window of 7 d: cutoff 2026-01-01T00:00Z
    const hour = (t: string): MetricsHour => ({ kind: 'hour', t, n: 60, cpu: [1, 1, 1], mem: [1, 1, 1], disk: [1, 1, 1], load: [1, 1, 1] });
    const lines = [hour('2025-12-31T22:00:00Z'), hour('2025-12-31T23:00:00Z'), hour('2026-01-01T00:00:00Z'), hour('2026-01-07T12:00:00Z')];
    const rolled = rollMetrics(lines, sample(now, 5), new Date(now), WEEK);
    expect(hours(rolled).map((h) => h.t)).toEqual(['2026-01-01T00:00:00Z', '2026-01-07T12:00:00Z']);
    expect(samples(rolled)).toHaveLength(1);
  });

  it('keeps a week of one-minute samples under 32 KB', () => {
    // Values as wide as they get in practice: cpu and mem up to 100.0 %, disk up to 9999.9 GB, load up to 64.0.
    let seed = 1;
    const next = (max: number) => {
      seed = (seed * 48271) % 2147483647;
      return Math.round((seed / 2147483647) * max * 10) / 10;
    };
    const lines = beat(7 * 24 * 60, () => ({ cpu: next(100), mem: next(100), disk: 1000 + next(8999.9), load: next(64) }));
    // The last 60 beats stay raw; the 167 hours before them are summarised, all inside the window.
    expect(samples(lines)).toHaveLength(60);
    expect(hours(lines)).toHaveLength(7 * 24 - 1);
    expect(hours(lines).every((h) => h.n === 60)).toBe(true);
    // every hour is closed, so its averages are rounded to one decimal like the samples
    expect(hours(lines).every((h) => [h.cpu, h.mem, h.disk, h.load].every(([, avg]) => Number.isInteger(Math.round(avg * 1e6) / 1e5)))).toBe(true);
    expect(lines.every((line) => metricsLine.safeParse(line).success)).toBe(true);
    const bytes = Buffer.byteLength(metricsToText(lines), 'utf8');
    expect(bytes).toBeLessThan(32 * 1024);
  }, 120_000);
});

describe('metricsToText', () => {
  it('writes one JSON document per line with a trailing newline, and nothing for no lines', () => {
    const lines = [sample(START, 1), sample(START + MINUTE, 2)];
    expect(metricsToText(lines)).toBe(`${JSON.stringify(lines[0])}\n${JSON.stringify(lines[1])}\n`);
    expect(metricsToText([])).toBe('');
  });
});
