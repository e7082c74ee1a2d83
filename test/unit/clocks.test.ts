// The clock rules (domain/clocks.ts): observations in, decisions out, no clock read.
import { describe, expect, it } from 'vitest';
import {
  clockOffsetMs,
  displayLeftMs,
  isTimedOut,
  judgeBeat,
  judgeLock,
  lockVersion,
  MAX_WATCHED,
  observeHeartbeats,
  observeJobs,
  observeLocks,
  skewedClocks,
  type BeatSight,
} from '../../src/domain/clocks.js';
import { effectiveSettings } from '../../src/domain/config.js';
import type { Job } from '../../src/schemas/jobs.js';
import type { Lock } from '../../src/schemas/locks.js';
import { emptyObservations, observationsDoc, type Observations } from '../../src/schemas/observations.js';

const T0 = Date.parse('2026-05-01T10:00:00Z');
/** A time `s` seconds after T0 on the observer's clock. */
const at = (s: number) => new Date(T0 + s * 1000);
const iso = (s: number) => at(s).toISOString();
/** A look that started at `s` and had its answer a second later. */
const look = (s: number) => ({ from: at(s), at: at(s + 1) });
const settings = effectiveSettings(undefined); // stale 3m, dead 5m
const beats = (entries: Record<string, BeatSight>) => new Map(Object.entries(entries));
const valid = (o: Observations) => {
  expect(observationsDoc.safeParse(o).success).toBe(true);
  return o;
};

describe('observeHeartbeats: what a clone records of each look', () => {
  it('records a new beat at the end of the look, after the previous look; keeps an unchanged one; forgets one gone', () => {
    let o = observeHeartbeats(emptyObservations(), beats({ b1: { version: 'c1', beat_at: iso(0) }, b2: { version: 'x', beat_at: iso(0) } }), look(10));
    expect(o.heartbeats.entries.b1).toMatchObject({ version: 'c1', first_seen: iso(11), after: null });
    o = observeHeartbeats(o, beats({ b1: { version: 'c1', beat_at: iso(0) } }), look(70));
    expect(o.heartbeats.entries.b1).toMatchObject({ version: 'c1', first_seen: iso(11) });
    expect(o.heartbeats.entries.b2).toBeUndefined();
    o = valid(observeHeartbeats(o, beats({ b1: { version: 'c2', beat_at: iso(100) } }), look(130)));
    expect(o.heartbeats.entries.b1).toMatchObject({ version: 'c2', first_seen: iso(131), after: iso(70) });
    expect(o.heartbeats).toMatchObject({ looked_from: iso(130), looked_at: iso(131) });
  });

  it('ignores a look that started before the recorded one (a slow process finishing late)', () => {
    const o = observeHeartbeats(emptyObservations(), beats({ b1: { version: 'new', beat_at: null } }), look(100));
    expect(observeHeartbeats(o, beats({ b1: { version: 'old', beat_at: null } }), look(50)).heartbeats.entries.b1?.version).toBe('new');
  });

  it(`keeps at most ${MAX_WATCHED} entries`, () => {
    const many = new Map(Array.from({ length: MAX_WATCHED + 5 }, (_, i) => [`b${i}`, { version: `v${i}`, beat_at: null }] as const));
    expect(Object.keys(observeHeartbeats(emptyObservations(), many, look(0)).heartbeats.entries)).toHaveLength(MAX_WATCHED);
  });
});

describe('clock offsets', () => {
  it('bounds an offset from both sides once a beat lands between two looks, and narrows it beat by beat', () => {
    // The builder's clock is 600 s ahead. Looks at 0, 60, 120; it beats at 30 and 90 (its clock: 630, 690).
    // Its first beat, seen at the first look, bounds it from below only: at least 589 s.
    let o = observeHeartbeats(emptyObservations(), beats({ b: { version: 'c0', beat_at: iso(590) } }), look(0));
    expect(o.heartbeats.entries.b?.offset_ms).toEqual({ low: 589_000, high: null });
    // The next landed after the look at 0: at most 630 - 0 (+5 s slack).
    o = observeHeartbeats(o, beats({ b: { version: 'c1', beat_at: iso(630) } }), look(60));
    expect(o.heartbeats.entries.b?.offset_ms).toEqual({ low: 589_000, high: 635_000 });
    o = observeHeartbeats(o, beats({ b: { version: 'c2', beat_at: iso(650) } }), look(120));
    expect(o.heartbeats.entries.b?.offset_ms).toEqual({ low: 589_000, high: 595_000 }); // 650 - 60 + 5
    expect(clockOffsetMs(o.heartbeats.entries.b)).toBe(589_000);
    expect(skewedClocks(o, ['b'], 30_000)).toEqual([{ builder: 'b', offset_seconds: 589 }]);
    expect(skewedClocks(o, ['b'], 600_000)).toEqual([]);
  });

  it('says 0 when the beats allow no offset, negative for a clock behind, null with no beat seen', () => {
    let o = observeHeartbeats(emptyObservations(), beats({ ok: { version: 'a', beat_at: iso(0) }, slow: { version: 'a', beat_at: iso(-600) } }), look(0));
    o = observeHeartbeats(o, beats({ ok: { version: 'b', beat_at: iso(30) }, slow: { version: 'b', beat_at: iso(30 - 600) } }), look(60));
    expect(clockOffsetMs(o.heartbeats.entries.ok)).toBe(0);
    expect(clockOffsetMs(o.heartbeats.entries.slow)).toBe(30_000 - 600_000 + 5000);
    expect(clockOffsetMs(undefined)).toBeNull();
  });

  it('replaces a range that no longer agrees (the clock was set)', () => {
    let o = observeHeartbeats(emptyObservations(), beats({ b: { version: 'a', beat_at: iso(600) } }), look(0));
    o = observeHeartbeats(o, beats({ b: { version: 'b', beat_at: iso(630) } }), look(60));
    o = observeHeartbeats(o, beats({ b: { version: 'c', beat_at: iso(90) } }), look(120));
    expect(clockOffsetMs(o.heartbeats.entries.b)).toBe(0);
  });
});

describe('judgeBeat', () => {
  const watchFrom = (firstSeen: number, after: number | null) => ({ version: 'v', first_seen: iso(firstSeen), after: after === null ? null : iso(after), beat_at: null, offset_ms: null });
  const beat = (beatAt: number): BeatSight => ({ version: 'v', beat_at: iso(beatAt) });

  it('never acts on a first look: an old timestamp shows dead, but the action health is stale at most', () => {
    const j = judgeBeat(beat(-3600), watchFrom(1, null), at(0), at(5), settings);
    expect([j.health, j.actionHealth]).toEqual(['dead', 'stale']);
  });

  it('declares dead only after this clone watched it silent for longer than dead_after, whatever its timestamp', () => {
    expect(judgeBeat(beat(+3600), watchFrom(0, null), at(300), at(300), settings).actionHealth).not.toBe('dead');
    expect(judgeBeat(beat(+3600), watchFrom(0, null), at(301), at(301), settings)).toMatchObject({ health: 'dead', actionHealth: 'dead' });
  });

  it('holds a timestamp age within the window the beat landed in: a slow clock that just beat is healthy', () => {
    // Landed between looks at 0 and 60: at most 60 s old, though stamped 10 minutes ago.
    const j = judgeBeat(beat(60 - 600), watchFrom(61, 0), at(60), at(62), settings);
    expect([j.health, j.actionHealth, j.silent?.low]).toEqual(['healthy', 'healthy', 0]);
  });

  it('is unknown without a beat, and timestamp-only (no action) without a look', () => {
    expect(judgeBeat(undefined, undefined, at(0), at(0), settings).health).toBe('unknown');
    expect(judgeBeat(beat(-200), undefined, undefined, at(0), settings)).toMatchObject({ health: 'stale', actionHealth: 'stale', silent: undefined });
  });
});

describe('judgeLock and displayLeftMs', () => {
  const lock = (renewed: number, ttl: number): Lock => ({ name: 'deploy', owner: 'b2', token: 4, acquired_at: iso(renewed), renewed_at: iso(renewed), expires_at: iso(renewed + ttl) });

  it('frees another builder\'s lock only after this clone watched that generation for its TTL, whatever its clock says', () => {
    const fast = lock(3600, 30); // a holder 1 h fast
    const o = observeLocks(emptyObservations(), [fast], look(0));
    const seen = o.locks.entries.deploy;
    expect(judgeLock(fast, seen, at(30))).toMatchObject({ expired: false, leftMs: 1000, expiredByItsClock: false });
    expect(judgeLock(fast, seen, at(31)).expired).toBe(true);
    const slow = lock(-3600, 30); // a holder 1 h slow: its expiry passed long ago
    const s = observeLocks(emptyObservations(), [slow], look(0)).locks.entries.deploy;
    expect(judgeLock(slow, s, at(10))).toMatchObject({ expired: false, expiredByItsClock: true, watchedMs: 9000, leftMs: 21_000 });
  });

  it('treats a renewal as a new generation, and a generation never seen as unwatched', () => {
    const first = lock(0, 30);
    let o = observeLocks(emptyObservations(), [first], look(0));
    const renewed = { ...first, renewed_at: iso(20), expires_at: iso(50) };
    o = observeLocks(o, [renewed], look(25));
    expect(lockVersion(renewed)).not.toBe(lockVersion(first));
    expect(judgeLock(renewed, o.locks.entries.deploy, at(50)).expired).toBe(false);
    expect(judgeLock(renewed, o.locks.entries.deploy, at(56)).expired).toBe(true);
    expect(judgeLock(renewed, undefined, at(1000)).expired).toBe(false);
  });

  it('shows time left by the holder\'s clock, held within what this clone saw', () => {
    const slow = lock(-3600, 30);
    // First seen at the look of 0, absent at the look of -5: it landed within those 6 s.
    const o = observeLocks(observeLocks(emptyObservations(), [], look(-5)), [slow], look(0));
    expect(displayLeftMs(slow, o.locks.entries.deploy, at(10))).toBe(15_000);
    // Seen at a first look only, it may be as old as its clock says.
    expect(displayLeftMs(slow, observeLocks(emptyObservations(), [slow], look(0)).locks.entries.deploy, at(10))).toBe(-3_580_000);
    expect(displayLeftMs(slow, undefined, at(10))).toBe(-3_580_000);
  });
});

describe('job time-outs', () => {
  const job = (startedAt: number): Job => ({ id: 'j', type: 'build', priority: 5, status: 'running', assigned_to: 'b2', labels: [], attempts: 1, max_attempts: 3, created_at: iso(-100), started_at: iso(startedAt), timeout: '1m' });

  it('times a run out after this clone watched it for longer than its timeout, not by its start time', () => {
    const j = job(-7200); // started 2 h ago by its claimer's clock
    const o = observeJobs(emptyObservations(), [j], look(0));
    expect(isTimedOut(j, o.jobs.entries.j, at(30))).toBe(false);
    expect(isTimedOut(j, o.jobs.entries.j, at(62))).toBe(true);
    expect(isTimedOut({ ...j, attempts: 2 }, o.jobs.entries.j, at(600))).toBe(false); // a new run: unwatched
  });
});
