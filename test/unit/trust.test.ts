// The rules of trust (domain/trust.ts): how a commit is judged against the keys in force at
// its parent, which changes to the keys history lets in, and what require_signed_writes
// does not act on. Keys here are plain strings: the rules compare them, never parse them.
import { describe, expect, it } from 'vitest';
import { addKey, revokeKey } from '../../src/domain/signers.js';
import {
  applyTrustChange,
  EMPTY_TRUST,
  judge,
  mayActOn,
  trustedFor,
  updateTaints,
  withoutAccepted,
  type CommitClaim,
  type SignatureFact,
  type TrustState,
} from '../../src/domain/trust.js';
import type { SignersDoc } from '../../src/schemas/signers.js';

const K1 = 'ssh-ed25519 AAAAbuild1';
const K1B = 'ssh-ed25519 AAAAbuild1second';
const K2 = 'ssh-ed25519 AAAAbuild2';
const KOP = 'ssh-ed25519 AAAAalice';
const KX = 'ssh-ed25519 AAAAstranger';
const fp = (key: string) => `SHA256:${key.slice(16)}`;
const signed = (key: string): SignatureFact => ({ kind: 'good', key, fingerprint: fp(key) });
const now = new Date('2026-11-29T10:00:00Z');

const key = (id: string, k: string, extra: Partial<TrustState['keys'][number]> = {}) => ({ id, key: k, fingerprint: fp(k), operator: false, added_in: 'c0', revoked_in: null, ...extra });
const STATE: TrustState = { keys: [key('build1', K1), key('build2', K2), key('alice', KOP, { operator: true })], enforce_since: null, accepted: [] };

const claim = (fields: Partial<CommitClaim>): CommitClaim => ({ commit: 'c9', actor: 'build1', op: 'status.set', forced: false, signature: signed(K1), ...fields });

describe('judge: a commit against the keys in force at its parent', () => {
  it.each([
    ['its actor\'s key', claim({}), 'verified', true, "signed by build1's key"],
    ['no signature', claim({ signature: { kind: 'none' } }), 'unverified', false, 'unsigned'],
    ['a bad signature', claim({ signature: { kind: 'bad', reason: 'the signature does not match the commit' } }), 'unverified', false, 'a bad signature: the signature does not match the commit'],
    ['an unregistered key', claim({ signature: signed(KX) }), 'unverified', false, `signed by an unregistered key ${fp(KX)}`],
    ['another builder\'s key (--as build2 on build1)', claim({ actor: 'build2' }), 'forged', false, `claims to be build2, signed by build1's key ${fp(K1)}`],
    ['an operator key on a builder\'s own change', claim({ actor: 'build2', signature: signed(KOP) }), 'forged', false, 'claims to be build2'],
    ['no actor (a hand commit) by a registered key', claim({ actor: null, op: null }), 'verified', true, "signed by build1's key"],
    ['an operator action by an operator key, whoever the actor', claim({ op: 'lock.break', actor: 'build1', signature: signed(KOP) }), 'verified', true, "signed by alice's operator key"],
    ['an operator action by a builder key', claim({ op: 'lock.break' }), 'verified', false, 'not an operator key'],
    ['a forced finish by a builder key', claim({ op: 'job.complete', forced: true }), 'verified', false, 'not an operator key'],
    ['the placeholder actor "operator" by a registered key', claim({ actor: 'operator', op: 'job.add' }), 'verified', true, "signed by build1's key"],
  ] as const)('%s', (_what, c, verdict, trusted, reason) => {
    const j = judge(c, STATE);
    expect([j.verdict, j.trusted]).toEqual([verdict, trusted]);
    expect(j.reason).toContain(reason);
  });

  it('a key revoked before the commit makes it forged; the same key before its revocation is verified', () => {
    const revoked: TrustState = { ...STATE, keys: STATE.keys.map((k) => (k.key === K1 ? { ...k, revoked_in: 'c5' } : k)) };
    expect(judge(claim({}), revoked)).toMatchObject({ verdict: 'forged', signer: 'build1', reason: expect.stringContaining('revoked before this change (in c5)') });
    expect(judge(claim({}), STATE).verdict).toBe('verified');
  });

  it('a change to a builder\'s status is trusted for it only when it, an operator or housekeeping signed it', () => {
    const of = (c: CommitClaim, owner: string) => trustedFor(judge(c, STATE), owner, c.op);
    expect(of(claim({}), 'build1')).toBe(true);
    expect(of(claim({}), 'build2')).toBe(false);
    expect(of(claim({ op: 'job.cancel', signature: signed(KOP) }), 'build2')).toBe(true);
    // Housekeeping sets a builder's status after requeueing its job, under its own (verified) name.
    expect(of(claim({ op: 'housekeeping' }), 'build2')).toBe(true);
    expect(of(claim({ op: 'housekeeping', actor: 'build2' }), 'build2')).toBe(false);
  });
});

const doc = (...entries: Array<[string, string, { operator?: boolean; revoked?: boolean }?]>): SignersDoc => {
  let d: SignersDoc = { signers: [] };
  for (const [id, k, o] of entries) {
    d = addKey(d, { id, key: { key: k, fingerprint: fp(k), comment: '' }, operator: o?.operator ?? false, by: id, now }).doc;
    if (o?.revoked) d = revokeKey(d, { id, fingerprint: fp(k), by: id, now }).doc;
  }
  return d;
};

const change = (state: TrustState, c: CommitClaim, before: SignersDoc | undefined, after: SignersDoc | undefined, enforce: [boolean, boolean] = [state.enforce_since !== null, state.enforce_since !== null]) =>
  applyTrustChange(state, { claim: c, judgement: judge(c, state), signersBefore: before, signersAfter: after, enforceBefore: enforce[0], enforceAfter: enforce[1] }, fp);

describe('applyTrustChange: which key changes history lets in', () => {
  const base = doc(['build1', K1], ['build2', K2], ['alice', KOP, { operator: true }]);

  it('lets a builder enrol its first key, signed by that key, while nothing is enforced (trust on first use)', () => {
    const c = claim({ actor: 'build3', op: 'builder.key.add', signature: signed('ssh-ed25519 AAAAbuild3') });
    const out = change(STATE, c, base, doc(['build1', K1], ['build2', K2], ['alice', KOP, { operator: true }], ['build3', 'ssh-ed25519 AAAAbuild3']));
    expect(out.refused).toEqual([]);
    expect(out.state.keys.find((k) => k.id === 'build3')).toMatchObject({ added_in: 'c9', revoked_in: null });
  });

  it('refuses a first key under enforcement, one signed by another key, and a second key a stranger adds', () => {
    const enrol = claim({ actor: 'build3', op: 'builder.key.add', signature: signed('ssh-ed25519 AAAAbuild3') });
    const after = doc(['build1', K1], ['build2', K2], ['alice', KOP, { operator: true }], ['build3', 'ssh-ed25519 AAAAbuild3']);
    expect(change({ ...STATE, enforce_since: 'c1' }, enrol, base, after).refused).toHaveLength(1);
    // build1 adding a key for build2, who has one: the takeover the rules exist to stop.
    const takeover = change(STATE, claim({ op: 'builder.key.add' }), base, doc(['build1', K1], ['build2', K2], ['build2', KX], ['alice', KOP, { operator: true }]));
    expect(takeover.refused[0]).toMatch(/add .* for build2/);
    expect(takeover.state.keys.some((k) => k.key === KX)).toBe(false);
  });

  it('lets a builder add its own second key and revoke its first (rotation); an operator anyone\'s', () => {
    const rotated = doc(['build1', K1, { revoked: true }], ['build1', K1B], ['build2', K2], ['alice', KOP, { operator: true }]);
    const added = change(STATE, claim({ op: 'builder.key.add' }), base, doc(['build1', K1], ['build1', K1B], ['build2', K2], ['alice', KOP, { operator: true }]));
    expect(added.refused).toEqual([]);
    const after = change(added.state, claim({ op: 'builder.key.revoke', commit: 'c10', signature: signed(K1B) }), doc(['build1', K1], ['build1', K1B], ['build2', K2], ['alice', KOP, { operator: true }]), rotated);
    expect(after.refused).toEqual([]);
    expect(after.state.keys.find((k) => k.key === K1)?.revoked_in).toBe('c10');
    const byOperator = change(STATE, claim({ actor: 'operator', op: 'builder.key.revoke', signature: signed(KOP) }), base, doc(['build1', K1], ['build2', K2, { revoked: true }], ['alice', KOP, { operator: true }]));
    expect(byOperator.state.keys.find((k) => k.key === K2)?.revoked_in).toBe('c9');
  });

  it('refuses revoking another builder\'s key, un-revoking, and removing a key, unless an operator does it', () => {
    const revokeOther = change(STATE, claim({ op: 'builder.key.revoke' }), base, doc(['build1', K1], ['build2', K2, { revoked: true }], ['alice', KOP, { operator: true }]));
    expect(revokeOther.refused[0]).toMatch(/revoke .* of build2/);
    expect(revokeOther.state.keys.find((k) => k.key === K2)?.revoked_in).toBeNull();
    const removed = change(STATE, claim({}), base, doc(['build1', K1], ['alice', KOP, { operator: true }]));
    expect(removed.refused[0]).toMatch(/remove .* of build2/);
    const revoked = { ...STATE, keys: STATE.keys.map((k) => (k.key === K2 ? { ...k, revoked_in: 'c3' } : k)) };
    const unrevoke = change(revoked, claim({ actor: 'operator', signature: signed(KOP) }), doc(['build2', K2, { revoked: true }]), doc(['build2', K2]));
    expect(unrevoke.state.keys.find((k) => k.key === K2)?.revoked_in).toBe('c3');
  });

  it('lets only an operator key turn require_signed_writes on or off, and only an operator accept a commit', () => {
    const byBuilder = change(STATE, claim({ op: 'config.set' }), base, base, [false, true]);
    expect([byBuilder.state.enforce_since, byBuilder.refused.length]).toEqual([null, 1]);
    const on = change(STATE, claim({ actor: 'operator', op: 'config.set', signature: signed(KOP) }), base, base, [false, true]);
    expect(on.state.enforce_since).toBe('c9');
    // Turned off by a builder's key while it is on: it stays on.
    expect(change(on.state, claim({ op: 'config.set' }), base, base, [true, false]).state.enforce_since).toBe('c9');
    const accepted = { ...base, accepted: [{ commit: 'c7', by: 'operator', at: now.toISOString(), reason: 'checked with build2' }] };
    expect(change(STATE, claim({ op: 'trust.accept' }), base, accepted).state.accepted).toEqual([]);
    expect(change(STATE, claim({ actor: 'operator', op: 'trust.accept', signature: signed(KOP) }), base, accepted).state.accepted).toEqual(['c7']);
  });

  it('lets the first operator key in while there is none and nothing is enforced, signed by that key', () => {
    const noOperators: TrustState = { ...EMPTY_TRUST, keys: [key('build1', K1)] };
    const out = change(noOperators, claim({ op: 'builder.key.add' }), doc(['build1', K1]), doc(['build1', K1, { operator: true }]));
    expect(out.refused).toEqual([]);
    expect(out.state.keys[0]?.operator).toBe(true);
    // Once one exists, only it makes another.
    const second = change(STATE, claim({ actor: 'build2', op: 'builder.key.add', signature: signed(K2) }), base, doc(['build1', K1], ['build2', K2, { operator: true }], ['alice', KOP, { operator: true }]));
    expect(second.refused).toHaveLength(1);
  });
});

describe('taints: what require_signed_writes does not act on', () => {
  const enforced: TrustState = { ...STATE, enforce_since: 'c1' };
  const forged = claim({ actor: 'build2', op: 'job.complete' });

  it('a forged change taints what it changed; a trusted change of the same fact clears it', () => {
    const j = judge(forged, enforced);
    const taints = updateTaints({}, true, forged, j, [{ kind: 'job', id: 'job_1', owner: 'build2' }, { kind: 'status', id: 'build2', owner: 'build2' }]);
    expect(Object.keys(taints).sort()).toEqual(['job:job_1', 'status:build2']);
    expect(taints['job:job_1']).toMatchObject({ commit: 'c9', verdict: 'forged', owner: 'build2', actor: 'build2', signer: 'build1' });
    const fixed = claim({ commit: 'c10', actor: 'build2', signature: signed(K2) });
    expect(updateTaints(taints, true, fixed, judge(fixed, enforced), [{ kind: 'status', id: 'build2', owner: 'build2' }])).not.toHaveProperty('status:build2');
  });

  it('a builder\'s own key writing another builder\'s status is not trusted for that builder', () => {
    const c = claim({ op: 'status.set' });
    expect(updateTaints({}, true, c, judge(c, enforced), [{ kind: 'status', id: 'build2', owner: 'build2' }])['status:build2']?.reason).toMatch(/writing build2's own status/);
  });

  it('nothing is tracked while it is off; an accepted commit clears its taints', () => {
    expect(updateTaints({}, false, forged, judge(forged, STATE), [{ kind: 'job', id: 'job_1', owner: 'build2' }])).toEqual({});
    const taints = updateTaints({}, true, forged, judge(forged, enforced), [{ kind: 'job', id: 'job_1', owner: 'build2' }]);
    expect(withoutAccepted(taints, ['c9'])).toEqual({});
  });

  it('its owner or an operator key may act on a tainted fact; nobody else', () => {
    const taint = updateTaints({}, true, forged, judge(forged, enforced), [{ kind: 'lock', id: 'deploy', owner: 'build2' }])['lock:deploy']!;
    expect([mayActOn(taint, 'build2', false), mayActOn(taint, 'build1', false), mayActOn(taint, 'build1', true)]).toEqual([true, false, true]);
  });
});
