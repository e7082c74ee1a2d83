import { describe, expect, it } from 'vitest';
import { compareTimes, parseDuration } from '../../src/domain/durations.js';
import { buildctlErrorFrom } from '../helpers/errors.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['0s', 0],
    ['1s', SECOND],
    ['90s', 90 * SECOND],
    ['5m', 5 * MINUTE],
    ['2h', 2 * HOUR],
    ['7d', 7 * DAY],
    ['30d', 30 * DAY],
    [' 5m ', 5 * MINUTE], // surrounding whitespace from a config file or a shell is ignored
  ])('%j is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    ['5', 'no unit'],
    ['5x', 'unknown unit'],
    ['-1m', 'negative'],
    ['', 'empty'],
    ['1.5h', 'fraction'],
    ['m', 'no number'],
    ['5 m', 'space inside'],
    ['5M', 'upper-case unit'],
    ['1h30m', 'two units'],
  ])('refuses %j (%s) as a usage error naming what it parsed', (text) => {
    const error = buildctlErrorFrom(() => parseDuration(text, 'stale_after'));
    expect(error.kind).toBe('usage');
    expect(error.exitCode).toBe(2);
    expect(error.code).toBe('invalid_duration');
    expect(error.message).toBe(`invalid stale_after "${text}"`);
    expect(error.hint).toMatch(/90s.*5m.*7d/);
  });

  it('says "duration" when not told what it parses', () => {
    expect(buildctlErrorFrom(() => parseDuration('soon')).message).toBe('invalid duration "soon"');
  });
});

describe('compareTimes', () => {
  it('orders ISO times by their instant, whatever their precision, older first', () => {
    const times = ['2026-11-29T10:00:01Z', '2026-11-29T10:00:00.500Z', '2026-11-29T10:00:00Z', '2026-11-28T23:59:59.999Z', '2026-11-29T10:00:00.000Z'];
    expect([...times].sort(compareTimes)).toEqual(['2026-11-28T23:59:59.999Z', '2026-11-29T10:00:00.000Z', '2026-11-29T10:00:00Z', '2026-11-29T10:00:00.500Z', '2026-11-29T10:00:01Z']);
    expect(compareTimes('2026-11-29T10:00:00Z', '2026-11-29T10:00:00Z')).toBe(0);
  });
});
