// require_signed_writes in the operations: every mutation goes through ops/mutate.ts, which
// asks here before it commits (so the MCP tools and the CLI meet the same rule), and the
// operations that act on another builder's state ask which facts they may not act on.
import { factKey, judge, mayActOn, untrustedError, type FactKind, type Taint, type TrustedKey } from '../domain/trust.js';
import { usageError } from '../errors.js';
import { messageTrailers } from '../store/commit-log.js';
import type { ObjectReader } from '../store/git.js';
import { loadSigner, type Signer } from '../store/signing-key.js';
import type { Store } from '../store/store.js';
import { TRAILER_ACTOR, TRAILER_OP, type BaseView } from '../store/transaction.js';
import { ledgerAt, TRAILER_FORCED, type Ledger } from './trust.js';

/** What a mutation needs to know about trust at its base. */
export interface TrustAtBase {
  ledger: Ledger;
  enforced: boolean;
  signer: Signer | undefined;
  /** This clone's key as history registered it, if it is in force. */
  myKey: TrustedKey | undefined;
  /** The taint of a fact, if it has one (only while require_signed_writes is on). */
  taintOf(kind: FactKind, id: string): Taint | undefined;
  /** Throws (exit 5) unless `actor` may act on the fact: it is untainted, `actor` owns it, or this clone signs with an operator key. */
  requireActable(kind: FactKind, id: string, actor: string): void;
  /** The tainted facts of a kind that `actor` may not act on. */
  untouchable(kind: FactKind, actor: string): Set<string>;
  /** Every tainted fact of a kind (what housekeeping leaves alone, whoever runs it). */
  tainted(kind: FactKind): Set<string>;
}

/** Trust at a base: worked out once per transaction attempt (its memo), or per call for a snapshot's read. */
export const trustAtBase = (base: { commit: string; objects: ObjectReader; store: Store; ident?: BaseView['ident']; memo?: BaseView['memo'] }): Promise<TrustAtBase> => {
  const memo = base.memo;
  const known = memo?.get('trust') as Promise<TrustAtBase> | undefined;
  if (known) return known;
  const computed = computeTrust(base);
  memo?.set('trust', computed);
  return computed;
};

const computeTrust = async (base: { commit: string; objects: ObjectReader; store: Store; ident?: BaseView['ident'] }): Promise<TrustAtBase> => {
  const signerOf = base.ident ? base.ident.then((ident) => ident.signer) : loadSigner(base.store);
  const [ledger, signer] = await Promise.all([ledgerAt(base.store, base.objects, base.commit || undefined), signerOf]);
  const myKey = signer ? ledger.state.keys.find((k) => k.key === signer.key.publicKey.text && k.revoked_in === null) : undefined;
  const operatorKey = myKey?.operator === true;
  const taintOf = (kind: FactKind, id: string): Taint | undefined => ledger.taints[factKey(kind, id)];
  return {
    ledger,
    enforced: ledger.state.enforce_since !== null,
    signer,
    myKey,
    taintOf,
    requireActable: (kind, id, actor) => {
      const taint = taintOf(kind, id);
      if (taint && !mayActOn(taint, actor, operatorKey)) throw untrustedError(taint);
    },
    untouchable: (kind, actor) => new Set(Object.values(ledger.taints).filter((t) => t.kind === kind && !mayActOn(t, actor, operatorKey)).map((t) => t.id)),
    tainted: (kind) => new Set(Object.values(ledger.taints).filter((t) => t.kind === kind).map((t) => t.id)),
  };
};

/**
 * Before a commit is written: with require_signed_writes on, the commit must be one the
 * fleet will act on, judged exactly as readers will judge it (its trailers and this clone's
 * key against the keys in force at the base). Refused (exit 2) with what to do otherwise.
 */
export const checkSignedWrite = async (base: BaseView, message: string): Promise<void> => {
  const trailers = messageTrailers(message);
  await checkSignedAs(base, { actor: trailers[TRAILER_ACTOR] ?? null, op: trailers[TRAILER_OP] ?? null, forced: TRAILER_FORCED in trailers });
};

/** The same rule for a commit off main (a heartbeat): as `claim.actor`, with this clone's key. */
export const checkSignedAs = async (base: Parameters<typeof trustAtBase>[0], claimed: { actor: string | null; op: string | null; forced: boolean }): Promise<void> => {
  const trust = await trustAtBase(base);
  if (!trust.enforced) return;
  const { actor } = claimed;
  const signer = trust.signer;
  const claim = {
    commit: '(new)',
    ...claimed,
    signature: signer ? { kind: 'good' as const, key: signer.key.publicKey.text, fingerprint: signer.key.publicKey.fingerprint } : { kind: 'none' as const },
  };
  const j = judge(claim, trust.ledger.state);
  if (j.trusted) return;
  const who = actor ?? 'this builder';
  const hint =
    !signer ? `this clone has no signing key: run "buildctl init" here (it creates one), then have an operator register it for ${who} (buildctl builder key add ${who} --key '<the .pub line>')`
    : j.signer === null ? `register this clone's key for ${who}: an operator runs buildctl builder key add ${who} --key '${signer.key.publicKey.text}'`
    : j.verdict === 'forged' ? `this clone's key signs for ${j.signer}: act as ${j.signer} here, or run it on ${who}'s own host`
    : j.operator_action ? 'an operator action: run it where an operator key signs (buildctl builder key add NAME --operator, by an operator)'
    : 'see buildctl builder key list';
  throw usageError(`require_signed_writes is on, and this change would be ${j.verdict === 'verified' ? 'refused' : j.verdict}: ${j.reason}`, {
    code: 'unsigned_write',
    hint,
    details: { verdict: j.verdict, signer: j.signer, operator_action: j.operator_action },
  });
};

/** Whether every registered builder has a key in force (turning require_signed_writes on needs it). */
export const buildersWithoutKeys = (ledger: Ledger, builders: readonly string[]): string[] =>
  builders.filter((id) => !ledger.state.keys.some((k) => k.id === id && k.revoked_in === null));

