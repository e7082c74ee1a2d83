import { describe, expect, it } from 'vitest';
import {
  followsWin,
  formatLastWin,
  HORIZON_CYCLES,
  nextWin,
  parseLastWin,
  RECENT_COMMITS,
  retryDelayMs,
  cycleEstimateMs,
  STALL_FACTOR,
  turnDelayMs,
  TURN_WINDOW_CYCLES,
} from '../../src/domain/fairness.js';

const half = () => 0.5; // jitter factor 1.0

describe('retryDelayMs: older operations wait less', () => {
  it('waits out the rest of the horizon for a young operation', () => {
    expect(retryDelayMs(100, 100, half)).toBe((HORIZON_CYCLES - 1) * 100);
  });

  it('orders operations rejected together by age, whatever the jitter', () => {
    const young = retryDelayMs(200, 100, () => 0); // shortest jitter for the young one
    const old = retryDelayMs(500, 100, () => 0.999); // longest for the old one
    expect(old).toBeLessThan(young);
  });

  it('retries at once after the horizon, and never waits a negative time', () => {
    expect(retryDelayMs(HORIZON_CYCLES * 100, 100, half)).toBe(0);
    expect(retryDelayMs(60_000, 100, () => 0.99)).toBe(0);
    expect(retryDelayMs(-5, -1, half)).toBe(0);
  });

  it('jitters by at most 20% either way', () => {
    const base = retryDelayMs(0, 100, half);
    expect(retryDelayMs(0, 100, () => 0)).toBeCloseTo(base * 0.8);
    expect(retryDelayMs(0, 100, () => 1)).toBeCloseTo(base * 1.2);
  });
});

describe('last win record', () => {
  it('round-trips and rejects anything else', () => {
    expect(parseLastWin(formatLastWin({ at: 1_700_000_000_123, cycleMs: 187.6, mine: [] }))).toEqual({ at: 1_700_000_000_123, cycleMs: 188, mine: [] });
    const mine = ['a'.repeat(40), 'b'.repeat(64)];
    expect(parseLastWin(formatLastWin({ at: 5, cycleMs: 6, mine }))).toEqual({ at: 5, cycleMs: 6, mine });
    // A record an older build wrote (no commits) still reads.
    expect(parseLastWin('1700000000123 188\n')).toEqual({ at: 1_700_000_000_123, cycleMs: 188, mine: [] });
    for (const bad of [undefined, '', 'garbage', '12', '12 x', '-1 5', '1 2 3', `1 2 ${'a'.repeat(39)}`, `1 2 ${'A'.repeat(40)}`]) expect(parseLastWin(bad)).toBeUndefined();
  });

  it('remembers this clone\'s latest winning commits, newest first, at most RECENT_COMMITS', () => {
    let win = nextWin(undefined, 1, 100, 'c0'.padEnd(40, '0'));
    for (let i = 1; i <= RECENT_COMMITS + 3; i++) win = nextWin(win, 1 + i, 100, `c${i}`.padEnd(40, '0'));
    expect(win.mine).toHaveLength(RECENT_COMMITS);
    expect(win.mine[0]).toBe(`c${RECENT_COMMITS + 3}`.padEnd(40, '0'));
    expect(win).toMatchObject({ at: RECENT_COMMITS + 4, cycleMs: 100 });
  });

  it('counts as followed on only within one cycle after the win', () => {
    const win = { at: 10_000, cycleMs: 200, mine: [] };
    expect(followsWin(win, 10_150)).toBe(true);
    expect(followsWin(win, 10_201)).toBe(false);
    expect(followsWin(win, 9_000)).toBe(false); // clock went back: no yield
    expect(followsWin(undefined, 10_000)).toBe(false);
  });
});

describe('turnDelayMs: a winner yields while others are landing commits', () => {
  const win = { at: 100_000, cycleMs: 200, mine: ['f'.repeat(40)] };
  const now = 100_050;
  const c = (n: number) => String(n).padStart(40, '0');
  const always = () => 0.75;

  it('yields part of a cycle when another builder landed a commit within the window', () => {
    const recent = [{ commit: c(1), actor: 'build1', at: 100_000 }, { commit: c(2), actor: 'build2', at: 99_000 }];
    expect(turnDelayMs(win, now, 'build1', recent, always)).toBe(150);
  });

  it('does not count a commit this clone landed as another builder\'s, whoever it was made as (--as)', () => {
    const recent = [{ commit: 'f'.repeat(40), actor: 'build2', at: 100_000 }, { commit: c(3), actor: 'build1', at: 99_500 }];
    expect(turnDelayMs(win, now, 'build1', recent, always)).toBe(0);
    // The same commit landed by another clone is another builder's turn.
    expect(turnDelayMs({ ...win, mine: [] }, now, 'build1', recent, always)).toBe(150);
  });

  it('does not yield when only this builder has been writing', () => {
    const recent = [{ commit: c(1), actor: 'build1', at: 100_000 }, { commit: c(2), actor: 'build1', at: 99_800 }, { commit: c(3), actor: '', at: 99_900 }];
    expect(turnDelayMs(win, now, 'build1', recent, always)).toBe(0);
  });

  it('does not yield for another builder\'s commit older than the window', () => {
    const old = now - (TURN_WINDOW_CYCLES * win.cycleMs + 1000) - 1;
    expect(turnDelayMs(win, now, 'build1', [{ commit: c(1), actor: 'build2', at: old }], always)).toBe(0);
    expect(turnDelayMs(win, now, 'build1', [{ commit: c(1), actor: 'build2', at: old + 2 }], always)).toBe(150);
  });

  it('does not yield when the operation does not follow straight on from a win', () => {
    const recent = [{ commit: c(1), actor: 'build2', at: 100_000 }];
    expect(turnDelayMs(win, win.at + 1_000, 'build1', recent, always)).toBe(0);
    expect(turnDelayMs(undefined, now, 'build1', recent, always)).toBe(0);
  });
});

describe('cycleEstimateMs: a stall is not contention', () => {
  const win = { at: 1_700_000_000_000, cycleMs: 200, mine: [] };
  it('is the mean of the attempts while they look like cycles', () => {
    expect(cycleEstimateMs(350, win)).toBe(350);
    expect(cycleEstimateMs(STALL_FACTOR * 200, win)).toBe(STALL_FACTOR * 200);
    expect(cycleEstimateMs(12_000, undefined)).toBe(12_000);
  });
  it('is the last winning cycle when a stall made the attempts far slower', () => {
    expect(cycleEstimateMs(STALL_FACTOR * 200 + 1, win)).toBe(200);
    expect(cycleEstimateMs(14_000, win)).toBe(200);
    // So an operation that stalled 14 s retries at once instead of waiting 8 x 14 s.
    expect(retryDelayMs(14_000, cycleEstimateMs(14_000, win), () => 0.5)).toBe(0);
  });
});
