// `buildctl builder key add|revoke|list` and `buildctl trust accept`: the signers document
// through the transaction cycle. Each change is checked first the way every reader will
// judge it (domain/trust.ts): a change history would leave out is refused here, with why.
import { readFile } from 'node:fs/promises';
import { findBuilder } from '../domain/fleet.js';
import { acceptCommit, addKey, EMPTY_SIGNERS, revokeKey, type KeyInput } from '../domain/signers.js';
import { applyTrustChange, judge, type CommitClaim } from '../domain/trust.js';
import { usageError } from '../errors.js';
import type { AcceptedCommit, SignerKey, SignersDoc } from '../schemas/signers.js';
import { docs } from '../schemas/layout.js';
import { mainCommit } from '../store/commit-log.js';
import { loadSigner, type Signer } from '../store/signing-key.js';
import { openSnapshot } from '../store/snapshot.js';
import { parsePrivateKey, parsePublicKey } from '../store/sshsig.js';
import { fetchMain, openStore, ORIGIN_MAIN, type Store } from '../store/store.js';
import type { ReadDoc } from '../store/transaction.js';
import type { Context } from './context.js';
import { adminActor } from './identity.js';
import { mutate, txOutcome, type Outcome } from './mutate.js';
import { fetchOrFallBack, readMainOrThrow } from './read.js';
import { keyFingerprint, ledgerAt, type Ledger } from './trust.js';

/**
 * The public key an operator named: a `.pub` line given as text, or a file (a `.pub` file,
 * or a private key, whose public half is taken). The value is never echoed: an operator
 * who pasted a private key by mistake must not see it in an error (or a log).
 */
export const readKeyInput = async (value: string): Promise<KeyInput> => {
  const asKey = (text: string): KeyInput => {
    const key = /-----BEGIN OPENSSH PRIVATE KEY-----/.test(text) ? parsePrivateKey(text).publicKey : parsePublicKey(text.split('\n').find((line) => line.trim() !== '') ?? '');
    return { key: key.text, fingerprint: key.fingerprint, comment: key.comment };
  };
  const bad = (reason: string) =>
    usageError(`--key is not an ed25519 public key: ${reason}`, { code: 'invalid_key', hint: 'give the key\'s .pub line ("ssh-ed25519 AAAA... comment") or the path of its .pub file' });
  if (value.trim().startsWith('ssh-') || value.includes('-----BEGIN')) {
    try {
      return asKey(value);
    } catch (error) {
      throw bad((error as Error).message);
    }
  }
  const text = await readFile(value, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw usageError(`cannot read the key file ${value}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`, { code: 'invalid_key', hint: 'give the path of a .pub file, or the key itself' });
  });
  try {
    return asKey(text);
  } catch (error) {
    throw bad(`${value} is ${(error as Error).message}`);
  }
};

const noClientKey = () =>
  usageError('this clone has no signing key to register', { code: 'no_signing_key', hint: 'run "buildctl init" here first (it creates one), or give --key with the key to register' });

/**
 * Refuses a change to the signers document that every reader would leave out: it is
 * judged as the commit it becomes, signed by this clone's key, against the keys in force.
 */
const checkAuthorised = (ledger: Ledger, signer: Signer | undefined, actor: string, op: string, before: SignersDoc | undefined, after: SignersDoc): void => {
  const claim: CommitClaim = {
    commit: '(new)',
    actor,
    op,
    forced: false,
    signature: signer ? { kind: 'good', key: signer.key.publicKey.text, fingerprint: signer.key.publicKey.fingerprint } : { kind: 'none' },
  };
  const enforced = ledger.state.enforce_since !== null;
  const outcome = applyTrustChange(ledger.state, { claim, judgement: judge(claim, ledger.state), signersBefore: before, signersAfter: after, enforceBefore: enforced, enforceAfter: enforced }, keyFingerprint);
  const [refused] = outcome.refused;
  if (refused === undefined) return;
  throw usageError(`no reader would count this change: ${refused}`, {
    code: 'key_change_refused',
    hint: signer ? 'run it where an operator key signs (or, for a builder\'s own keys, on that builder)' : 'this clone has no signing key: run "buildctl init" here first',
    details: { refused: outcome.refused },
  });
};

/**
 * One change to the signers document through the transaction cycle, checked first as every
 * reader will judge it (when it changes anything).
 */
const changeSigners = async <R>(
  ctx: Context,
  store: Store,
  op: string,
  input: unknown,
  change: (before: SignersDoc | undefined, actor: string, read: ReadDoc) => Promise<{ doc: SignersDoc; result: R; summary: string; changed: boolean }>,
): Promise<{ result: R } & Outcome> => {
  const signer = await loadSigner(store);
  const actor = await adminActor(ctx);
  const outcome = await mutate(ctx, store, {
    op,
    actor,
    input,
    apply: async (read, base) => {
      const before = await read(docs.signers);
      const step = await change(before, actor, read);
      if (step.changed) checkAuthorised(await ledgerAt(base.store, base.objects, base.commit || undefined), signer, actor, op, before, step.doc);
      return { result: step.result, writes: [{ spec: docs.signers, value: step.doc }], summary: `${op} ${step.summary}` };
    },
  });
  return { result: outcome.result, ...txOutcome(outcome) };
};

export interface KeyResult extends Outcome {
  id: string;
  key: SignerKey;
  outcome: 'added' | 'updated' | 'unchanged' | 'revoked';
}

/**
 * Registers a public key for a builder (or an operator's name, with `operator`): the one
 * given, else this clone's own. A builder's id must be registered; an operator's need not.
 */
export const addKeyOp = async (ctx: Context, options: { id: string; key?: string | undefined; operator?: boolean | undefined }, store?: Store): Promise<KeyResult> => {
  const target = store ?? (await openStore(ctx.storeDir));
  const own = options.key === undefined ? await loadSigner(target) : undefined;
  const key = options.key !== undefined ? await readKeyInput(options.key) : own ? { key: own.key.publicKey.text, fingerprint: own.key.publicKey.fingerprint, comment: own.key.publicKey.comment } : undefined;
  if (!key) throw noClientKey();
  const operator = options.operator === true;
  const outcome = await changeSigners(ctx, target, 'builder.key.add', { id: options.id, key: key.key, operator }, async (before, actor, read) => {
    if (!operator && !findBuilder(await read(docs.builders), options.id)) {
      throw usageError(`unknown builder "${options.id}"`, {
        code: 'unknown_builder',
        hint: `register it first (buildctl builder add ${options.id}); an operator's key, for someone who is not a builder, is added with --operator`,
      });
    }
    const step = addKey(before, { id: options.id, key, operator, by: actor, now: ctx.now() });
    return { doc: step.doc, result: step, summary: `${options.id} ${key.fingerprint}${step.key.operator ? ' (operator)' : ''}`, changed: step.outcome !== 'unchanged' };
  });
  return { id: options.id, key: outcome.result.key, outcome: outcome.result.outcome, changed: outcome.changed, queued: outcome.queued, commit: outcome.commit };
};

/** Revokes a key of a builder or operator (the one with `fingerprint`, or its only active one). */
export const revokeKeyOp = async (ctx: Context, options: { id: string; key?: string | undefined; reason?: string | undefined }): Promise<KeyResult> => {
  const store = await openStore(ctx.storeDir);
  const outcome = await changeSigners(ctx, store, 'builder.key.revoke', options, async (before, actor) => {
    const step = revokeKey(before, { id: options.id, fingerprint: options.key, reason: options.reason, by: actor, now: ctx.now() });
    return { doc: step.doc, result: step.key, summary: `${options.id} ${step.key.fingerprint}`, changed: true };
  });
  return { id: options.id, key: outcome.result, outcome: 'revoked', changed: outcome.changed, queued: outcome.queued, commit: outcome.commit };
};

/** One registered key as `builder key list` shows it: as the document says, and as history let it in. */
export interface KeyView extends SignerKey {
  id: string;
  /** What readers go by: `active`, `revoked`, or `not trusted` (history left its registration out). */
  standing: 'active' | 'revoked' | 'not trusted';
  /** The commit that revoked it, as history has it. */
  revoked_in: string | null;
}

export interface KeyList {
  keys: KeyView[];
  require_signed_writes: boolean;
  /** This clone's key, when it has one. */
  this_clone: { fingerprint: string; path: string } | null;
}

export const listKeysOp = async (ctx: Context, options: { fetch: boolean }): Promise<KeyList> => {
  const store = await openStore(ctx.storeDir);
  if (options.fetch) await fetchOrFallBack(() => fetchMain(store), ctx.warn);
  const snapshot = openSnapshot(store);
  try {
    const [doc, ledger, signer] = await Promise.all([
      readMainOrThrow(snapshot, docs.signers, ctx.warn),
      snapshot.resolve(ORIGIN_MAIN).then((tip) => ledgerAt(store, snapshot.objects, tip)),
      loadSigner(store).catch(() => undefined),
    ]);
    const keys: KeyView[] = (doc ?? EMPTY_SIGNERS).signers.flatMap((entry) =>
      entry.keys.map((key) => {
        const known = ledger.state.keys.find((k) => k.key === key.key && k.id === entry.id);
        const standing = !known ? ('not trusted' as const) : known.revoked_in ? ('revoked' as const) : ('active' as const);
        return { id: entry.id, ...key, operator: known?.operator ?? false, standing, revoked_in: known?.revoked_in ?? null };
      }),
    );
    return {
      keys,
      require_signed_writes: ledger.state.enforce_since !== null,
      this_clone: signer ? { fingerprint: signer.key.publicKey.fingerprint, path: signer.path } : null,
    };
  } finally {
    snapshot.close();
  }
};

/** Revocation time as ssh-keygen's allowed-signers format wants it (YYYYMMDDHHMMSSZ). */
const sshTime = (iso: string): string => `${iso.replace(/[-:]/g, '').replace('T', '').slice(0, 14)}Z`;

/**
 * The keys as a git allowed-signers file (gpg.ssh.allowedSignersFile), for checking by hand
 * with `git log --show-signature`. git judges by commit time, which a forger sets; buildctl
 * judges a revocation by its place in history.
 */
export const allowedSigners = (list: KeyList): string =>
  list.keys
    .filter((k) => k.standing !== 'not trusted')
    .map((k) => `${k.id} namespaces="git"${k.revoked_at ? `,valid-before="${sshTime(k.revoked_at)}"` : ''} ${k.key}${k.comment ? ` ${k.comment}` : ''}\n`)
    .join('');

/** `buildctl trust accept`: an operator vouches for a commit whose changes were not trusted. */
export const acceptCommitOp = async (ctx: Context, options: { commit: string; reason: string }): Promise<{ accepted: AcceptedCommit } & Outcome> => {
  const store = await openStore(ctx.storeDir);
  await fetchOrFallBack(() => fetchMain(store), ctx.warn);
  const commit = await mainCommit(store, options.commit);
  if (commit === undefined) throw usageError(`"${options.commit}" is not a commit of main`, { code: 'unknown_commit', hint: 'name a commit of main, as "buildctl validate --signatures" shows it' });
  const outcome = await changeSigners(ctx, store, 'trust.accept', options, async (before, actor) => {
    const step = acceptCommit(before, { commit, by: actor, reason: options.reason, now: ctx.now() });
    return { doc: step.doc, result: step.accepted, summary: commit, changed: step.outcome === 'added' };
  });
  return { accepted: outcome.result, changed: outcome.changed, queued: outcome.queued, commit: outcome.commit };
};
