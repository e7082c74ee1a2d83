// The lease rules of lock run and job run (src/domain/lease.ts) and the log tail job run
// records (src/domain/run-log.ts): pure, table-style.
import { constants } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  checkLeaseTtl,
  leaseTiming,
  LOST_LEASE_EXIT_CODE,
  MIN_LEASE_TTL_MS,
  minLeaseTtlMs,
  nextRenewal,
  signalExitCode,
  stopPoint,
  TIMEOUT_EXIT_CODE,
} from '../../src/domain/lease.js';
import { cleanLine, tailLines, WITHHELD_LINE } from '../../src/domain/run-log.js';
import { buildctlErrorFrom } from '../helpers/errors.js';

describe('lease timing', () => {
  it.each([
    // ttl, renew every, margin, grace
    [6_000, 2_000, 1_500, 750],
    [30_000, 10_000, 7_500, 3_750],
    [3_600_000, 1_200_000, 30_000, 15_000], // a long lease does not stop 15 minutes early
  ])('a %i ms lease renews every %i ms and stops %i ms before its end, killing %i ms later', (ttl, every, margin, grace) => {
    const timing = leaseTiming(ttl);
    expect([timing.renewEveryMs, timing.marginMs, timing.graceMs]).toEqual([every, margin, grace]);
    // The command is dead (SIGKILL) before the lease ends.
    expect(stopPoint(0, timing) + timing.graceMs).toBeLessThan(ttl);
  });

  it('may renew more often than a third (a job keeps its builder healthy), never less often', () => {
    expect(leaseTiming(300_000, 60_000).renewEveryMs).toBe(60_000);
    expect(leaseTiming(9_000, 60_000).renewEveryMs).toBe(3_000);
  });

  it.each([
    ['after a confirmed renewal: a third of the TTL after it was sent', 1_000, 1_500, false, 3_000],
    ['never before the previous try finished (no pile-up)', 1_000, 9_000, false, 9_000],
    ['soon after a failed try', 1_000, 4_000, true, 4_500],
  ] as const)('%s', (_name, confirmedSentAt, lastFinished, failed, expected) => {
    expect(nextRenewal(confirmedSentAt, lastFinished, failed, leaseTiming(6_000))).toBe(expected);
  });

  it('measures from when the renewal was sent, not from when it was confirmed', () => {
    const timing = leaseTiming(6_000);
    expect(stopPoint(10_000, timing)).toBe(10_000 + 6_000 - 1_500);
  });
});

describe('a TTL too short for the store', () => {
  it.each([
    [undefined, MIN_LEASE_TTL_MS],
    [100, MIN_LEASE_TTL_MS],
    [1_000, 5_000],
    [2_500, 12_500],
  ])('a store whose last cycle took %s ms needs at least %i ms', (cycle, min) => {
    expect(minLeaseTtlMs(cycle)).toBe(min);
  });

  it('refuses a shorter one as bad input (exit 2), with the measured cycle and what would do', () => {
    const error = buildctlErrorFrom(() => checkLeaseTtl(3_000, 1_000, 'lock run --ttl'));
    expect([error.exitCode, error.code]).toEqual([2, 'ttl_too_short']);
    expect(error.message).toBe("lock run --ttl 3s is too short: this store's last transaction took 1000 ms, and a lease must be at least 5 cycles and never under 2s");
    expect(error.hint).toBe('use at least 5s');
    expect(checkLeaseTtl(5_000, 1_000, 'lock run --ttl')).toBe(5_000);
  });
});

describe('exit codes', () => {
  it('reports a signal as 128 + its number on this system: SIGSEGV is 139, not 129', () => {
    expect(signalExitCode(constants.signals.SIGSEGV)).toBe(139);
    expect(signalExitCode(constants.signals.SIGKILL)).toBe(137);
    expect(signalExitCode(constants.signals.SIGTERM)).toBe(143);
  });

  it('keeps the lost-lease code clear of buildctl codes, timeout(1), shell codes and every signal code', () => {
    const signalCodes = Object.values(constants.signals).map(signalExitCode);
    const taken = new Set([0, 1, 2, 3, 4, 5, TIMEOUT_EXIT_CODE, 125, 126, 127, 255, ...signalCodes]);
    expect(taken.has(LOST_LEASE_EXIT_CODE)).toBe(false);
    expect(LOST_LEASE_EXIT_CODE).toBeGreaterThan(Math.max(...signalCodes));
    expect(LOST_LEASE_EXIT_CODE).toBeLessThan(200);
  });
});

describe('the log tail a result keeps', () => {
  it('keeps the last lines, without terminal escapes, progress redraws or empty lines', () => {
    const text = ['one', '\u001b[32mgreen\u001b[0m', 'progress 10%\rprogress 100%', '', 'carriage\r', 'last\ttabbed', ''].join('\n');
    expect(tailLines(text, 4)).toEqual(['green', 'progress 100%', 'carriage', 'last\ttabbed']);
  });

  it('cuts long lines and removes other control characters', () => {
    expect(cleanLine(`${'x'.repeat(300)}`, 10)).toBe(`${'x'.repeat(9)}…`);
    expect(cleanLine('bell\u0007 and \u001b]0;title\u0007done')).toBe('bell and done');
  });

  it('withholds a line that looks like it holds a credential (git history keeps what is committed)', () => {
    expect(tailLines('building\nexport DB_PASSWORD=s3cr3t-value\ndone')).toEqual(['building', WITHHELD_LINE, 'done']);
  });
});
