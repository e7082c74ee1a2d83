import { describe, expect, it } from 'vitest';
import { formatTime } from '../../src/domain/format.js';
import { buildctlErrorFrom } from '../helpers/errors.js';
import {
  BROKEN_KEPT,
  acquireLock,
  breakLock,
  EMPTY_LOCKS,
  findLock,
  isExpired,
  listLocks,
  releaseLock,
  renewLock,
} from '../../src/domain/locks.js';
import { lockVersion } from '../../src/domain/clocks.js';
import { locksDoc, type Lock, type LocksDoc } from '../../src/schemas/locks.js';
import type { Sighting } from '../../src/schemas/observations.js';

const T0 = Date.parse('2026-03-01T10:00:00Z');
const at = (seconds: number): Date => new Date(T0 + seconds * 1000);
const TTL = 30_000;

/** An observer that saw every lock of `doc` the moment it was taken or renewed (its watch began then). */
const watchedFromTheStart = (doc: LocksDoc): Record<string, Sighting> =>
  Object.fromEntries(doc.locks.map((lock: Lock) => [lock.name, { version: lockVersion(lock), first_seen: lock.renewed_at, after: null }]));

const acquire = (doc: LocksDoc, owner: string, seconds: number, name = 'deploy', ttlMs = TTL) =>
  acquireLock(doc, { name, owner, ttlMs, now: at(seconds), seen: watchedFromTheStart(doc) });

const errorOf = buildctlErrorFrom;

const valid = (doc: LocksDoc): LocksDoc => {
  expect(locksDoc.safeParse(doc).success).toBe(true);
  return doc;
};

describe('acquireLock', () => {
  it('takes a free lock with token last_token + 1 and bumps last_token', () => {
    const { doc, lock, outcome } = acquire({ locks: [], last_token: 41 }, 'build1', 0);
    expect(outcome).toBe('acquired');
    expect(lock).toEqual({
      name: 'deploy',
      owner: 'build1',
      token: 42,
      acquired_at: at(0).toISOString(),
      renewed_at: at(0).toISOString(),
      expires_at: at(30).toISOString(),
    });
    expect(valid(doc).last_token).toBe(42);
  });

  it('refuses while another holds it, naming the owner and the expiry (not now)', () => {
    const held = acquire(EMPTY_LOCKS, 'build1', 0).doc;
    const error = errorOf(() => acquire(held, 'build2', 10));
    expect([error.kind, error.exitCode, error.code]).toEqual(['not_now', 3, 'lock_held']);
    expect(error.message).toContain('build1');
    expect(error.message).toContain(formatTime(at(30)));
    expect(error.message).toContain('20s left');
    expect(error.hint).toContain('lock break deploy');
  });

  it('renews for the owner who holds it: same token, later expiry, last_token unchanged', () => {
    const first = acquire(EMPTY_LOCKS, 'build1', 0);
    const again = acquire(first.doc, 'build1', 20);
    expect(again.outcome).toBe('renewed');
    expect(again.lock).toMatchObject({ token: first.lock.token, acquired_at: at(0).toISOString(), renewed_at: at(20).toISOString(), expires_at: at(50).toISOString() });
    expect(again.doc.last_token).toBe(first.doc.last_token);
  });

  it('takes over an expired lock with a new token, and says whose it was', () => {
    const first = acquire(EMPTY_LOCKS, 'build1', 0);
    const taken = acquire(first.doc, 'build2', 30); // exactly at expires_at: expired
    expect(taken.outcome).toBe('taken_over');
    expect(taken.previous?.owner).toBe('build1');
    expect(taken.lock).toMatchObject({ owner: 'build2', token: first.lock.token + 1 });
    expect(valid(taken.doc).locks).toHaveLength(1);
  });

  it('gives its own expired lock back to the owner as a new acquisition (new token)', () => {
    const first = acquire(EMPTY_LOCKS, 'build1', 0);
    const again = acquire(first.doc, 'build1', 31);
    expect(again.outcome).toBe('taken_over');
    expect(again.lock.token).toBe(first.lock.token + 1);
  });

  it('hands out strictly increasing tokens across acquisitions, releases, expiries and names', () => {
    const tokens: number[] = [];
    let doc = EMPTY_LOCKS;
    const step = (r: { doc: LocksDoc; lock: { token: number } }) => {
      doc = r.doc;
      tokens.push(r.lock.token);
    };
    step(acquire(doc, 'build1', 0));
    doc = releaseLock(doc, { name: 'deploy', owner: 'build1', now: at(1) }).doc;
    step(acquire(doc, 'build2', 2)); // after release
    step(acquire(doc, 'build1', 3, 'cache')); // another name shares the counter
    step(acquire(doc, 'build3', 40)); // after expiry
    doc = { ...doc, locks: doc.locks.filter((l) => l.name !== 'deploy') }; // reaped
    step(acquire(doc, 'build1', 100)); // after reaping
    doc = breakLock(doc, { name: 'deploy', reason: 'stuck', by: 'ops', now: at(101) }).doc;
    step(acquire(doc, 'build2', 102)); // after a break
    expect(tokens).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('never goes backwards when last_token lags the held locks', () => {
    const lagging: LocksDoc = { locks: [{ ...acquire(EMPTY_LOCKS, 'build1', 0).lock, name: 'other', token: 9 }], last_token: 2 };
    expect(acquire(lagging, 'build2', 0).lock.token).toBe(10);
  });

  it.each([
    ['name', { name: 'bad name' }, 'invalid_lock_name'],
    ['name starting with a dot', { name: '.hidden' }, 'invalid_lock_name'],
    ['owner', { owner: 'Build1' }, 'invalid_builder_id'],
    ['zero ttl', { ttlMs: 0 }, 'invalid_ttl'],
    ['negative ttl', { ttlMs: -5 }, 'invalid_ttl'],
  ] as const)('refuses a bad %s as usage', (_what, input, code) => {
    const error = errorOf(() => acquireLock(EMPTY_LOCKS, { name: 'deploy', owner: 'build1', ttlMs: TTL, now: at(0), seen: {}, ...input }));
    expect([error.kind, error.exitCode, error.code]).toEqual(['usage', 2, code]);
    expect(error.hint).toBeTruthy();
  });
});

describe('renewLock', () => {
  const held = acquire(EMPTY_LOCKS, 'build1', 0);

  it('extends the owner lock from now, keeping the token', () => {
    const { lock } = renewLock(held.doc, { name: 'deploy', owner: 'build1', ttlMs: 60_000, now: at(25) });
    expect(lock).toMatchObject({ token: held.lock.token, renewed_at: at(25).toISOString(), expires_at: at(85).toISOString() });
  });

  it.each([
    ['another owner', held.doc, 'build2', 10, 'not_lock_owner'],
    ['a lock nobody holds', EMPTY_LOCKS, 'build1', 10, 'lock_not_held'],
    ['an expired lock', held.doc, 'build1', 30, 'lock_expired'],
  ] as const)('refuses %s (not now)', (_case, doc, owner, seconds, code) => {
    const error = errorOf(() => renewLock(doc, { name: 'deploy', owner, ttlMs: TTL, now: at(seconds) }));
    expect([error.kind, error.exitCode, error.code]).toEqual(['not_now', 3, code]);
  });

  it('names the owner when refusing another', () => {
    expect(errorOf(() => renewLock(held.doc, { name: 'deploy', owner: 'build2', ttlMs: TTL, now: at(5) })).message).toContain('held by build1');
  });
});

describe('releaseLock', () => {
  const held = acquire(EMPTY_LOCKS, 'build1', 0);

  it.each([
    ['valid', 10],
    ['expired', 60],
  ])('frees the owner %s lock and returns it', (_state, seconds) => {
    const { doc, released } = releaseLock(held.doc, { name: 'deploy', owner: 'build1', now: at(seconds) });
    expect(released).toEqual(held.lock);
    expect(findLock(doc, 'deploy')).toBeUndefined();
    expect(doc.last_token).toBe(held.doc.last_token);
  });

  it('refuses another builder, naming the owner (not now)', () => {
    const error = errorOf(() => releaseLock(held.doc, { name: 'deploy', owner: 'build2', now: at(5) }));
    expect([error.kind, error.code]).toEqual(['not_now', 'not_lock_owner']);
    expect(error.message).toContain('build1');
  });

  it('refuses a lock nobody holds (not now)', () => {
    expect(errorOf(() => releaseLock(EMPTY_LOCKS, { name: 'deploy', owner: 'build1', now: at(5) })).code).toBe('lock_not_held');
  });
});

describe('a holder that must be the only one, and knows its token (lock run)', () => {
  it('exclusive: a valid lock of the same owner counts as held (another process of that builder has it)', () => {
    const { doc } = acquire(EMPTY_LOCKS, 'build1', 0);
    const error = errorOf(() => acquireLock(doc, { name: 'deploy', owner: 'build1', ttlMs: TTL, now: at(5), exclusive: true, seen: {} }));
    expect([error.exitCode, error.code]).toEqual([3, 'lock_held']);
    expect(error.message).toContain('another holder on this builder');
    // Once it expired it is free, for the exclusive holder too, with a new token.
    expect(acquireLock(doc, { name: 'deploy', owner: 'build1', ttlMs: TTL, now: at(31), exclusive: true, seen: {} }).lock.token).toBe(2);
  });

  it('renew and release with a token touch only that acquisition', () => {
    const first = acquire(EMPTY_LOCKS, 'build1', 0);
    // It expired and the same builder (another process) took it again: token 2.
    const again = acquire(first.doc, 'build1', 40);
    expect(again.lock.token).toBe(2);
    for (const refuse of [
      () => renewLock(again.doc, { name: 'deploy', owner: 'build1', ttlMs: TTL, now: at(41), token: 1 }),
      () => releaseLock(again.doc, { name: 'deploy', owner: 'build1', now: at(41), token: 1 }),
    ]) {
      const error = errorOf(refuse);
      expect([error.exitCode, error.code]).toEqual([3, 'lock_token_changed']);
    }
    expect(renewLock(again.doc, { name: 'deploy', owner: 'build1', ttlMs: TTL, now: at(41), token: 2 }).lock.token).toBe(2);
    expect(releaseLock(again.doc, { name: 'deploy', owner: 'build1', now: at(41), token: 2 }).doc.locks).toEqual([]);
  });
});

describe('breakLock', () => {
  const held = acquire(EMPTY_LOCKS, 'build1', 0);

  it('frees a lock whoever holds it and returns what was broken and why', () => {
    const r = breakLock(held.doc, { name: 'deploy', reason: ' build1 is dead ', by: 'ops', now: at(5) });
    expect(r.broken).toEqual(held.lock);
    expect(r.reason).toBe('build1 is dead');
    expect(r.wasExpired).toBe(false);
    expect(r.doc.locks).toEqual([]);
    // Remembered for notifications: who held it, who broke it, why.
    expect(r.doc.broken).toEqual([{ name: 'deploy', owner: 'build1', token: held.lock.token, broken_at: at(5).toISOString(), by: 'ops', reason: 'build1 is dead' }]);
  });

  it('remembers only the last BROKEN_KEPT breaks', () => {
    let doc = held.doc;
    for (let i = 0; i < BROKEN_KEPT + 3; i++) {
      doc = breakLock(doc, { name: 'deploy', reason: `break ${i}`, by: 'ops', now: at(5 + i) }).doc;
      doc = acquire(doc, 'build1', 6 + i).doc;
    }
    expect(doc.broken).toHaveLength(BROKEN_KEPT);
    expect(doc.broken?.at(-1)?.reason).toBe(`break ${BROKEN_KEPT + 2}`);
  });

  it('requires a reason (usage) and a held lock (not now)', () => {
    expect(errorOf(() => breakLock(held.doc, { name: 'deploy', reason: '  ', by: 'ops', now: at(5) })).code).toBe('reason_required');
    const error = errorOf(() => breakLock(EMPTY_LOCKS, { name: 'deploy', reason: 'x', by: 'ops', now: at(5) }));
    expect([error.kind, error.code]).toEqual(['not_now', 'lock_not_held']);
  });
});

describe('listLocks', () => {
  let doc = acquire(EMPTY_LOCKS, 'build1', 0, 'short', 10_000).doc;
  doc = acquire(doc, 'build2', 0, 'long', 120_000).doc;
  doc = acquire(doc, 'build3', 0, 'edge', 30_000).doc;

  it('lists holder, token, seconds left and expired, by name', () => {
    expect(listLocks(doc.locks, at(20)).map((r) => [r.name, r.owner, r.token, r.seconds_left, r.expired])).toEqual([
      ['edge', 'build3', 3, 10, false],
      ['long', 'build2', 2, 100, false],
      ['short', 'build1', 1, 0, true],
    ]);
  });

  it('agrees with isExpired at the boundary', () => {
    const edge = findLock(doc, 'edge');
    expect(edge && isExpired(edge, at(29.999))).toBe(false);
    expect(edge && isExpired(edge, at(30))).toBe(true);
  });
});

describe('a lock broken under its holder', () => {
  it('the holder\'s release and renew say who broke it, when and why, until it holds the lock again', () => {
    const held = acquire(EMPTY_LOCKS, 'build1', 0);
    const broken = breakLock(held.doc, { name: 'deploy', reason: 'host reinstalled', now: at(5), by: 'build3' }).doc;
    const release = errorOf(() => releaseLock(broken, { name: 'deploy', owner: 'build1', now: at(6) }));
    expect([release.code, release.exitCode]).toEqual(['lock_broken', 3]);
    expect(release.message).toBe('lock "deploy" was broken by build3 at 2026-03-01 10:00:05Z while build1 held it (token 1): host reinstalled; nobody holds it now');
    expect(release.details).toMatchObject({ by: 'build3', reason: 'host reinstalled', owner: 'build1', token: 1, holder: null });
    expect(errorOf(() => renewLock(broken, { name: 'deploy', owner: 'build1', ttlMs: TTL, now: at(6) })).code).toBe('lock_broken');
    const other = acquire(broken, 'build2', 7);
    expect(errorOf(() => releaseLock(other.doc, { name: 'deploy', owner: 'build1', now: at(8) })).message).toContain('build2 holds it now (token 2)');
    // build1 taking it again puts the break behind it (kept for notifications, marked).
    const mine = acquire(releaseLock(other.doc, { name: 'deploy', owner: 'build2', now: at(9) }).doc, 'build1', 10);
    expect(mine.doc.broken).toEqual([expect.objectContaining({ name: 'deploy', owner: 'build1', reacquired: true })]);
    const released = releaseLock(mine.doc, { name: 'deploy', owner: 'build1', now: at(11) });
    expect(released.released.token).toBe(3);
    expect(errorOf(() => releaseLock(released.doc, { name: 'deploy', owner: 'build1', now: at(12) })).code).toBe('lock_not_held');
  });
});
