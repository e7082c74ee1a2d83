// Trust: who wrote a change, and whether the fleet acts on it. Pure rules over facts the
// store found (a commit's claimed actor and operation, whose key signed it) and the trust
// state history built up to that commit (METHODOLOGY.md, "Trust").
//
// - A commit is judged against the keys in force at its parent: signed by a key registered
//   for the actor in its trailer: verified; by another signer's key (or a key revoked
//   before it): forged; unsigned, a bad signature or an unknown key: unverified.
// - Which changes to coordination/signers.json and to require_signed_writes count is
//   decided the same way, commit by commit: a key is added by an operator key, by the
//   builder's own key, or (while nothing is enforced) by a builder enrolling its first key
//   with a commit that key signs; a key is revoked by an operator or its own builder. A
//   change nobody may make is left out of the state (and reported), so a push can never
//   authorise itself.
// - With require_signed_writes on, a fact whose latest change is not trusted (status.json
//   of a builder, a job, a lock) is tainted: nobody but its owner or an operator acts on
//   it until a trusted change supersedes it or an operator accepts the commit.
import { invalidDataError, type BuildctlError } from '../errors.js';
import type { SignerKey, SignersDoc } from '../schemas/signers.js';

export type Verdict = 'verified' | 'unverified' | 'forged';

/** What the store found about a commit's signature. */
export type SignatureFact =
  | { kind: 'none' }
  | { kind: 'bad'; reason: string }
  /** `key`: `ssh-ed25519 <base64>`. */
  | { kind: 'good'; key: string; fingerprint: string };

export interface CommitClaim {
  commit: string;
  /** The Buildctl-Actor trailer; null for a commit without one (made by hand or other tools). */
  actor: string | null;
  op: string | null;
  /** A job finished for its assignee by someone else (the Buildctl-Forced trailer). */
  forced: boolean;
  signature: SignatureFact;
}

/** A key as history let it in. */
export interface TrustedKey {
  /** The builder (or operator name) it signs for. */
  id: string;
  key: string;
  fingerprint: string;
  operator: boolean;
  /** The commit that registered it. */
  added_in: string;
  /** The commit that revoked it: commits built on it or later count its signatures as forged. */
  revoked_in: string | null;
}

export interface TrustState {
  keys: TrustedKey[];
  /** The commit that turned require_signed_writes on, while it is on. */
  enforce_since: string | null;
  /** Commits an operator vouched for (`buildctl trust accept`). */
  accepted: string[];
}

export const EMPTY_TRUST: TrustState = { keys: [], enforce_since: null, accepted: [] };

/** The actor an administrative change records when no builder id is known (ops/identity.ts). */
export const OPERATOR_ACTOR = 'operator';

/** Operations only an operator key may sign while require_signed_writes is on. */
const OPERATOR_OPS = new Set(['lock.break', 'job.cancel', 'job.retry', 'builder.add', 'builder.remove', 'config.set', 'notify.add', 'notify.remove', 'store.migrate', 'trust.accept']);

export const isOperatorAction = (op: string | null, forced: boolean): boolean => forced || (op !== null && OPERATOR_OPS.has(op));

export interface Judgement {
  verdict: Verdict;
  /** Whose key signed it (a builder or operator name), when the key is registered. */
  signer: string | null;
  fingerprint: string | null;
  operator_action: boolean;
  /** Signed by an operator key. */
  operator_key: boolean;
  /** Verified, and an operator action signed by an operator key: what enforcement acts on. */
  trusted: boolean;
  /** Why, in words: "signed by build1's key", "claims build2, signed by build1's key SHA256:...". */
  reason: string;
}

const judgement = (verdict: Verdict, fields: Partial<Judgement> & { reason: string; operator_action: boolean }): Judgement => ({
  verdict,
  signer: null,
  fingerprint: null,
  operator_key: false,
  trusted: false,
  ...fields,
});

export const keyOf = (state: TrustState, key: string): TrustedKey | undefined => state.keys.find((k) => k.key === key);

/** Judges one commit against the trust state at its parent. */
export const judge = (claim: CommitClaim, state: TrustState): Judgement => {
  const operator_action = isOperatorAction(claim.op, claim.forced);
  const sig = claim.signature;
  if (sig.kind === 'none') return judgement('unverified', { operator_action, reason: 'unsigned' });
  if (sig.kind === 'bad') return judgement('unverified', { operator_action, reason: `a bad signature: ${sig.reason}` });
  const fingerprint = sig.fingerprint;
  const held = keyOf(state, sig.key);
  if (!held) return judgement('unverified', { operator_action, fingerprint, reason: `signed by an unregistered key ${fingerprint}` });
  const common = { operator_action, fingerprint, signer: held.id, operator_key: held.operator && held.revoked_in === null };
  if (held.revoked_in !== null) return judgement('forged', { ...common, reason: `signed by ${held.id}'s key ${fingerprint}, revoked before this change (in ${held.revoked_in.slice(0, 12)})` });
  if (operator_action && held.operator) return judgement('verified', { ...common, trusted: true, reason: `an operator action signed by ${held.id}'s operator key` });
  const claimed = claim.actor;
  if (claimed !== null && claimed !== OPERATOR_ACTOR && claimed !== held.id) {
    return judgement('forged', { ...common, reason: `claims to be ${claimed}, signed by ${held.id}'s key ${fingerprint}` });
  }
  return judgement('verified', {
    ...common,
    trusted: !operator_action,
    reason: `signed by ${held.id}'s key${operator_action ? ', which is not an operator key (an operator action)' : ''}`,
  });
};

/**
 * Whether a change to `owner`'s own document (its status.json) is one the fleet may act on:
 * signed by the owner; an operator action by an operator key; or housekeeping, which (signed
 * by whichever builder ran it) sets a builder's status after its job was requeued, died or
 * timed out by the fleet's rules, under its own name.
 */
export const trustedFor = (j: Judgement, owner: string, op: string | null): boolean =>
  j.trusted && (j.signer === owner || (j.operator_action && j.operator_key) || op === HOUSEKEEPING_OP);

/** The operation of the agent's housekeeping commits. */
export const HOUSEKEEPING_OP = 'housekeeping';

// ---- trust changes ---------------------------------------------------------------------

export interface TrustChange {
  claim: CommitClaim;
  judgement: Judgement;
  signersBefore: SignersDoc | undefined;
  signersAfter: SignersDoc | undefined;
  /** require_signed_writes as config.json says before and after the commit. */
  enforceBefore: boolean;
  enforceAfter: boolean;
}

const indexKeys = (doc: SignersDoc | undefined): Map<string, { id: string; key: SignerKey }> => {
  const map = new Map<string, { id: string; key: SignerKey }>();
  for (const entry of doc?.signers ?? []) for (const key of entry.keys) if (!map.has(key.key)) map.set(key.key, { id: entry.id, key });
  return map;
};

/**
 * The trust state after a commit: the changes it made to signers.json and to
 * require_signed_writes that its signer may make, and why the others are left out.
 * `fingerprintOf` names keys for people (the store computes it).
 */
export const applyTrustChange = (state: TrustState, change: TrustChange, fingerprintOf: (key: string) => string): { state: TrustState; refused: string[]; applied: string[] } => {
  const { claim } = change;
  const sig = claim.signature;
  // The key that signed, if it was in force at the parent.
  const signing = sig.kind === 'good' ? state.keys.find((k) => k.key === sig.key && k.revoked_in === null) : undefined;
  const byOperator = signing?.operator === true;
  const noOperators = !state.keys.some((k) => k.operator && k.revoked_in === null);
  const hasActive = (id: string) => state.keys.some((k) => k.id === id && k.revoked_in === null);
  const keys = state.keys.map((k) => ({ ...k }));
  const refused: string[] = [];
  const applied: string[] = [];
  const name = (key: string) => fingerprintOf(key);
  const refuse = (what: string, why: string) => refused.push(`${what}: ${why}`);
  const who = signing ? `${signing.id}'s key` : sig.kind === 'good' ? `an unregistered key ${sig.fingerprint}` : sig.kind === 'bad' ? 'a bad signature' : 'no signature';

  const before = indexKeys(change.signersBefore);
  const after = indexKeys(change.signersAfter);
  for (const [key, now] of after) {
    const was = before.get(key);
    const effective = keys.find((k) => k.key === key);
    if (!was) {
      const what = `add ${name(key)} for ${now.id}${now.key.operator ? ' (operator)' : ''}`;
      if (effective) {
        if (effective.id !== now.id || effective.revoked_in !== null) refuse(what, effective.revoked_in !== null ? 'that key was revoked' : `that key signs for ${effective.id}`);
        continue;
      }
      const own = signing?.id === now.id && !now.key.operator;
      // Trust on first use: a builder enrolling its first key, proving it holds that key.
      const firstKey = state.enforce_since === null && !hasActive(now.id) && sig.kind === 'good' && sig.key === key && claim.actor === now.id && (!now.key.operator || noOperators);
      if (byOperator || own || firstKey) {
        keys.push({ id: now.id, key, fingerprint: name(key), operator: now.key.operator, added_in: claim.commit, revoked_in: now.key.revoked_at ? claim.commit : null });
        applied.push(what);
      } else {
        refuse(what, `signed with ${who}; a key is added by an operator key, by the builder's own key, or as a builder's first key while signed writes are not required`);
      }
      continue;
    }
    if (!effective || effective.revoked_in !== null) continue; // never let in, or already revoked: nothing to change
    if (was.id !== now.id) {
      refuse(`move ${name(key)} from ${was.id} to ${now.id}`, 'a key never changes hands');
      continue;
    }
    if (!was.key.revoked_at && now.key.revoked_at) {
      const what = `revoke ${name(key)} of ${now.id}`;
      if (byOperator || signing?.id === now.id) {
        effective.revoked_in = claim.commit;
        applied.push(what);
      } else refuse(what, `signed with ${who}; a key is revoked by an operator key or by its own builder`);
    }
    if (!was.key.operator && now.key.operator) {
      const what = `make ${name(key)} of ${now.id} an operator key`;
      if (byOperator || (state.enforce_since === null && noOperators && signing?.key === key)) {
        effective.operator = true;
        applied.push(what);
      } else refuse(what, `signed with ${who}; only an operator key makes another (or the first key, while signed writes are not required)`);
    }
    if (was.key.operator && !now.key.operator) {
      const what = `drop the operator flag of ${name(key)} (${now.id})`;
      if (byOperator || signing?.id === now.id) {
        effective.operator = false;
        applied.push(what);
      } else refuse(what, `signed with ${who}`);
    }
  }
  for (const [key, was] of before) {
    if (after.has(key)) continue;
    const effective = keys.find((k) => k.key === key && k.revoked_in === null);
    if (!effective) continue;
    const what = `remove ${name(key)} of ${was.id} (counted as a revocation)`;
    if (byOperator || signing?.id === was.id) {
      effective.revoked_in = claim.commit;
      applied.push(what);
    } else refuse(what, `signed with ${who}`);
  }

  const accepted = [...state.accepted];
  const acceptedBefore = new Set((change.signersBefore?.accepted ?? []).map((a) => a.commit));
  for (const entry of change.signersAfter?.accepted ?? []) {
    if (acceptedBefore.has(entry.commit) || accepted.includes(entry.commit)) continue;
    const what = `accept ${entry.commit.slice(0, 12)}`;
    if (byOperator) {
      accepted.push(entry.commit);
      applied.push(what);
    } else refuse(what, `signed with ${who}; only an operator key accepts a commit`);
  }

  let enforce_since = state.enforce_since;
  if (change.enforceAfter !== change.enforceBefore && change.enforceAfter !== (state.enforce_since !== null)) {
    const what = `turn require_signed_writes ${change.enforceAfter ? 'on' : 'off'}`;
    if (byOperator) {
      enforce_since = change.enforceAfter ? claim.commit : null;
      applied.push(what);
    } else refuse(what, `signed with ${who}; only an operator key changes it`);
  }
  return { state: { keys, enforce_since, accepted }, refused, applied };
};

// ---- taints: what the fleet does not act on ------------------------------------------------

export type FactKind = 'status' | 'job' | 'lock';

/** A document entry a commit changed: a builder's status.json, a job, a lock. */
export interface FactChange {
  kind: FactKind;
  id: string;
  /** The builder it belongs to (a status' builder, a job's assignee, a lock's holder), if any. */
  owner: string | null;
}

export interface Taint extends FactChange {
  commit: string;
  verdict: Verdict;
  actor: string | null;
  op: string | null;
  signer: string | null;
  reason: string;
}

export const factKey = (kind: FactKind, id: string): string => `${kind}:${id}`;

/**
 * The taints after a commit: under require_signed_writes (on at its parent), each fact it
 * changed is tainted unless the commit is trusted (for a builder's status: trusted for
 * that builder); a trusted change clears the fact's taint.
 */
export const updateTaints = (taints: Readonly<Record<string, Taint>>, enforced: boolean, claim: CommitClaim, j: Judgement, changes: readonly FactChange[]): Record<string, Taint> => {
  if (!enforced) return {};
  const next = { ...taints };
  for (const change of changes) {
    const key = factKey(change.kind, change.id);
    const ok = change.kind === 'status' ? trustedFor(j, change.id, claim.op) : j.trusted;
    if (ok) delete next[key];
    else {
      // A trusted commit can still not be trusted for a builder's status: another signer wrote it.
      const reason = j.trusted ? `${j.reason}, writing ${change.id}'s own status` : j.reason;
      next[key] = { ...change, commit: claim.commit, verdict: j.verdict, actor: claim.actor, op: claim.op, signer: j.signer, reason };
    }
  }
  return next;
};

/** Taints left once an operator accepted their commits. */
export const withoutAccepted = (taints: Readonly<Record<string, Taint>>, accepted: readonly string[]): Record<string, Taint> =>
  Object.fromEntries(Object.entries(taints).filter(([, t]) => !accepted.includes(t.commit)));

/**
 * Whether `actor` may act on a tainted fact: its owner may (re-asserting its own state
 * supersedes the taint), and so may an operator key; nobody else.
 */
export const mayActOn = (taint: Taint, actor: string, operatorKey: boolean): boolean => operatorKey || (taint.owner !== null && taint.owner === actor);

/** Says what a taint is: "job job_1's latest change (a1b2c3d4e5f6, job.complete by build2) is forged: claims ..." */
export const describeTaint = (taint: Taint): string =>
  `${taint.kind === 'status' ? `${taint.id}'s status` : `${taint.kind} ${taint.id}`}: its latest change (${taint.commit.slice(0, 12)}, ${taint.op ?? 'no operation'} by ${taint.actor ?? 'no actor'}) is ${taint.verdict === 'verified' ? 'not trusted' : taint.verdict}: ${taint.reason}`;

/** The refusal of a command asked to act on a tainted fact (exit 5: the data cannot be trusted). */
export const untrustedError = (taint: Taint): BuildctlError =>
  invalidDataError(`refusing to act on ${describeTaint(taint)}`, {
    code: 'unverified_write',
    hint: `require_signed_writes is on: ${taint.owner ? `${taint.owner} itself can set it right, or ` : ''}an operator can (or, once it is checked, run "buildctl trust accept ${taint.commit.slice(0, 12)} --reason ..." with an operator key); see "buildctl validate --signatures"`,
    details: { taint },
  });
