import { describe, expect, it } from 'vitest';
import { formatAge, formatTime, plural } from '../../src/domain/format.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe('formatAge', () => {
  it.each([
    [0, '0s'],
    [-5 * SECOND, '0s'], // a clock slightly ahead never shows a negative age
    [400, '0s'],
    [42 * SECOND, '42s'],
    [59 * SECOND, '59s'],
    [59.6 * SECOND, '1m'], // rounds to 60 s, which is a minute
    [60 * SECOND, '1m'],
    [114 * SECOND, '1m 54s'], // seconds count under ten minutes (stale and dead thresholds, lock TTLs)
    [3 * MINUTE + 59 * SECOND, '3m 59s'],
    [9 * MINUTE + 59 * SECOND, '9m 59s'],
    [10 * MINUTE + 59 * SECOND, '10m'], // then minutes are floored
    [59 * MINUTE, '59m'],
    [HOUR, '1h'],
    [2 * HOUR + 5 * MINUTE, '2h 5m'],
    [47 * HOUR + 59 * MINUTE, '47h 59m'],
    [48 * HOUR, '2d'],
    [4 * DAY + 23 * HOUR, '4d'], // days are floored
  ])('%d ms is %j', (ms, text) => {
    expect(formatAge(ms)).toBe(text);
  });
});

describe('formatTime', () => {
  it.each([
    ['2026-11-28T23:47:05.123Z', '2026-11-28 23:47:05Z'],
    ['2026-11-28T23:47:05Z', '2026-11-28 23:47:05Z'],
    ['2026-11-29T01:47:05+02:00', '2026-11-28 23:47:05Z'], // every host prints UTC
    [new Date('2026-11-28T23:47:05.999Z'), '2026-11-28 23:47:05Z'],
    [Date.parse('2026-01-02T03:04:05Z'), '2026-01-02 03:04:05Z'],
    ['not a time', 'not a time'], // a hand-edited document still shows what it holds
  ])('%j reads %j', (time, text) => {
    expect(formatTime(time)).toBe(text);
  });
});

describe('plural', () => {
  it.each([
    [0, 'builder', undefined, '0 builders'],
    [1, 'builder', undefined, '1 builder'],
    [2, 'builder', undefined, '2 builders'],
    [1, 'entry', 'entries', '1 entry'],
    [3, 'entry', 'entries', '3 entries'],
  ])('%d %s', (n, noun, nouns, text) => {
    expect(plural(n, noun, nouns)).toBe(text);
  });
});
