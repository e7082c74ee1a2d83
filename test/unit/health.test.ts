import { describe, expect, it } from 'vitest';
import { healthOf } from '../../src/domain/health.js';

const NOW = new Date('2026-01-01T00:00:00Z');
const MINUTE = 60_000;
const defaults = { staleAfterMs: 3 * MINUTE, deadAfterMs: 5 * MINUTE };
const beatAgo = (ms: number): string => new Date(NOW.getTime() - ms).toISOString();

describe('healthOf', () => {
  it.each([
    ['a beat just now', 0, 'healthy'],
    ['a beat from the future (clock skew)', -30_000, 'healthy'],
    ['a beat one minute old', MINUTE, 'healthy'],
    ['a beat exactly stale_after old', 3 * MINUTE, 'healthy'],
    ['a beat 1 ms past stale_after', 3 * MINUTE + 1, 'stale'],
    ['a beat 4 minutes old', 4 * MINUTE, 'stale'],
    ['a beat exactly dead_after old', 5 * MINUTE, 'stale'],
    ['a beat 1 ms past dead_after', 5 * MINUTE + 1, 'dead'],
    ['a beat a day old', 24 * 60 * MINUTE, 'dead'],
  ])('%s is %s', (_, age, health) => {
    expect(healthOf(beatAgo(age), NOW, defaults)).toBe(health);
  });

  it.each([
    ['no heartbeat', undefined],
    ['an unreadable time', 'yesterday'],
  ])('%s is unknown', (_, at) => {
    expect(healthOf(at, NOW, defaults)).toBe('unknown');
  });

  it('uses the thresholds it is given', () => {
    const tight = { staleAfterMs: 10_000, deadAfterMs: 20_000 };
    expect(healthOf(beatAgo(10_000), NOW, tight)).toBe('healthy');
    expect(healthOf(beatAgo(15_000), NOW, tight)).toBe('stale');
    expect(healthOf(beatAgo(20_001), NOW, tight)).toBe('dead');
  });
});
