// The trust ledger: main's history read commit by commit along its first parents, each
// commit judged against the keys in force at its parent (domain/trust.ts), the keys and the
// require_signed_writes setting carried forward as history allows, and, while that setting
// is on, the facts whose latest change is not trusted. Signatures are checked in-process
// (store/sshsig.ts); the ledger is cached per commit (ops/trust-cache.ts), so a command
// judges only the commits that landed since the last one did.
import {
  applyTrustChange,
  EMPTY_TRUST,
  judge,
  trustedFor,
  updateTaints,
  withoutAccepted,
  type CommitClaim,
  type FactChange,
  type FactKind,
  type Judgement,
  type SignatureFact,
  type TrustState,
  type Verdict,
} from '../domain/trust.js';
import { configDoc } from '../schemas/config.js';
import { BUILDER_ID_PATTERN } from '../schemas/common.js';
import { parseDocumentText } from '../schemas/document-text.js';
import type { Job } from '../schemas/jobs.js';
import { jobsDoc } from '../schemas/jobs.js';
import { MAX_DOCUMENT_BYTES } from '../schemas/json-text.js';
import { locksDoc, type Lock } from '../schemas/locks.js';
import { signersDoc, type SignersDoc } from '../schemas/signers.js';
import { messageTrailers } from '../store/commit-log.js';
import type { ObjectReader } from '../store/git.js';
import { isRegularFile, MODE_TREE, parseCommit, parseTree, type ParsedCommit, type TreeEntry } from '../store/objects.js';
import { parsePublicKey, verifyMessage } from '../store/sshsig.js';
import type { Snapshot } from '../store/snapshot.js';
import type { Store } from '../store/store.js';
import { TRAILER_ACTOR, TRAILER_OP } from '../store/transaction.js';
import { appendVerdicts, formatSignatureFact, LEDGER_VERSION, NO_LEDGERS, parseSignatureFact, readLedgers, readVerdicts, writeLedger, type CommitVerdict, type Ledger, type StatusFact } from './trust-cache.js';

/** The trailer a job finished by someone other than its assignee carries (ops/jobs.ts). */
export const TRAILER_FORCED = 'Buildctl-Forced';

export type { Ledger, StatusFact };

const emptyLedger = (): Ledger => ({ version: LEDGER_VERSION, tip: '', state: EMPTY_TRUST, status: {}, taints: {}, refused: [], signing_since: null });

/** A key's fingerprint for people; a malformed one is named by its start. */
export const keyFingerprint = (key: string): string => {
  try {
    return parsePublicKey(key).fingerprint;
  } catch {
    return key.slice(0, 24);
  }
};

/** What a raw commit claims: its actor and operation (trailers), and who signed it. */
/** What checking a commit's signature finds: none, a bad one (and why), or a good one by a key. */
const signatureOf = (parsed: ParsedCommit): SignatureFact => {
  if (parsed.signature === undefined) return { kind: 'none' };
  const check = verifyMessage(parsed.signature, parsed.payload);
  return check.kind === 'good' ? { kind: 'good', key: check.key.text, fingerprint: check.key.fingerprint } : { kind: 'bad', reason: check.reason };
};

/** A commit's claim: its trailers and its signature (`signature`: already checked, e.g. remembered). */
export const claimOf = (commit: string, parsed: ParsedCommit, signature: SignatureFact = signatureOf(parsed)): CommitClaim => {
  const trailers = messageTrailers(parsed.message);
  return { commit, actor: trailers[TRAILER_ACTOR] ?? null, op: trailers[TRAILER_OP] ?? null, forced: TRAILER_FORCED in trailers, signature };
};

// ---- reading trees, one commit after another ---------------------------------------------

/** The parts of a commit's tree the ledger follows. */
interface TreeView {
  root: Map<string, TreeEntry>;
  coordination: Map<string, TreeEntry>;
  /** builder id -> status.json blob */
  status: Map<string, string>;
}

const LAYOUT_DIRS = new Set(['coordination', 'shared', 'all']);
const isBuilderDir = (name: string, entry: TreeEntry): boolean => entry.mode === MODE_TREE && BUILDER_ID_PATTERN.test(name) && !LAYOUT_DIRS.has(name);

const readTree = async (objects: ObjectReader, sha: string): Promise<Map<string, TreeEntry>> => {
  const object = await objects.readObject(sha);
  if (!object?.body || object.type !== 'tree') throw new Error(`git tree ${sha} is missing from the clone`);
  return parseTree(object.body, object.sha.length / 2);
};

const statusBlob = async (objects: ObjectReader, dir: TreeEntry): Promise<string | undefined> => {
  const entry = (await readTree(objects, dir.sha)).get('status.json');
  return entry && isRegularFile(entry.mode) ? entry.sha : undefined;
};

/** The view of `tree`, reading only what differs from `previous` (the parent's view). */
const viewOf = async (objects: ObjectReader, tree: string, previous: TreeView | undefined): Promise<TreeView> => {
  const root = await readTree(objects, tree);
  const coordEntry = root.get('coordination');
  const prevCoord = previous?.root.get('coordination');
  const coordination =
    coordEntry?.mode !== MODE_TREE ? new Map<string, TreeEntry>()
    : previous && prevCoord?.sha === coordEntry.sha ? previous.coordination
    : await readTree(objects, coordEntry.sha);
  const status = new Map<string, string>();
  for (const [name, entry] of root) {
    if (!isBuilderDir(name, entry)) continue;
    const before = previous?.root.get(name);
    const known = previous && before?.sha === entry.sha ? previous.status.get(name) : await statusBlob(objects, entry);
    if (known !== undefined) status.set(name, known);
  }
  return { root, coordination, status };
};

const blobOf = (view: TreeView | undefined, name: string): string | undefined => {
  const entry = view?.coordination.get(name);
  return entry && isRegularFile(entry.mode) ? entry.sha : undefined;
};

/** Parsed documents by blob id, so a blob shared by a commit and its parent is parsed once. */
const documentReader = (objects: ObjectReader) => {
  const parsed = new Map<string, unknown>();
  return async <T>(sha: string | undefined, schema: Parameters<typeof parseDocumentText<T>>[1]): Promise<{ ok: true; value: T | undefined } | { ok: false }> => {
    if (sha === undefined) return { ok: true, value: undefined };
    if (parsed.has(sha)) {
      const value = parsed.get(sha);
      return value === INVALID ? { ok: false } : { ok: true, value: value as T };
    }
    const object = await objects.readObject(sha, { maxBytes: MAX_DOCUMENT_BYTES });
    const outcome = object?.body ? parseDocumentText(object.body.toString('utf8'), schema) : { ok: false as const };
    if (parsed.size > 64) parsed.clear();
    parsed.set(sha, outcome.ok ? outcome.value : INVALID);
    return outcome.ok ? { ok: true, value: outcome.value } : { ok: false };
  };
};
const INVALID = Symbol('invalid');

const changedEntries = <T>(before: readonly T[], after: readonly T[], idOf: (entry: T) => string, ownerOf: (before: T | undefined, after: T | undefined) => string | null, kind: FactKind): FactChange[] => {
  const was = new Map(before.map((entry) => [idOf(entry), entry]));
  const now = new Map(after.map((entry) => [idOf(entry), entry]));
  const changes: FactChange[] = [];
  for (const id of new Set([...was.keys(), ...now.keys()])) {
    const a = was.get(id);
    const b = now.get(id);
    if (a !== undefined && b !== undefined && JSON.stringify(a) === JSON.stringify(b)) continue;
    changes.push({ kind, id, owner: ownerOf(a, b) });
  }
  return changes;
};

// ---- the walk ------------------------------------------------------------------------------

interface Walk {
  ledger: Ledger;
  view: TreeView | undefined;
  /** The commit `view` and `ledger` describe. */
  at: string;
  verdicts: CommitVerdict[];
}

const step = async (objects: ObjectReader, docs: ReturnType<typeof documentReader>, walk: Walk, commit: string, parsed: ParsedCommit): Promise<void> => {
  const parent = parsed.parents[0];
  let before = walk.view;
  if (parent === undefined) before = undefined;
  else if (parent !== walk.at || before === undefined) {
    const parentBody = await objects.readObject(parent);
    before = parentBody?.body ? await viewOf(objects, parseCommit(parentBody.body).tree, undefined) : undefined;
  }
  const after = await viewOf(objects, parsed.tree, before);
  const { ledger } = walk;
  const state = ledger.state;
  const claim = claimOf(commit, parsed);
  let j: Judgement = judge(claim, state);
  const enforced = state.enforce_since !== null;

  // The keys and the setting, as this commit's signer may change them.
  let nextState = state;
  const refused: string[] = [];
  const signersBefore = blobOf(before, 'signers.json');
  const signersAfter = blobOf(after, 'signers.json');
  const configBefore = blobOf(before, 'config.json');
  const configAfter = blobOf(after, 'config.json');
  if (signersBefore !== signersAfter || configBefore !== configAfter) {
    const [sb, sa, cb, ca] = await Promise.all([docs<SignersDoc>(signersBefore, signersDoc), docs<SignersDoc>(signersAfter, signersDoc), docs(configBefore, configDoc), docs(configAfter, configDoc)]);
    if (signersBefore !== signersAfter && (!sb.ok || !sa.ok)) refused.push('coordination/signers.json is not valid: its changes are left out');
    const enforceOf = (read: typeof cb) => (read.ok ? read.value?.require_signed_writes === true : state.enforce_since !== null);
    const outcome = applyTrustChange(
      state,
      {
        claim,
        judgement: j,
        signersBefore: sb.ok && sa.ok ? sb.value : undefined,
        signersAfter: sb.ok && sa.ok ? sa.value : undefined,
        enforceBefore: enforceOf(cb),
        enforceAfter: ca.ok ? enforceOf(ca) : enforceOf(cb),
      },
      keyFingerprint,
    );
    nextState = outcome.state;
    refused.push(...outcome.refused);
    // A builder's first key, enrolled by a commit that key signs: trusted on first use.
    const sig = claim.signature;
    const enrolled = sig.kind === 'good' && j.signer === null ? nextState.keys.find((k) => k.key === sig.key && k.added_in === commit && k.id === claim.actor) : undefined;
    if (enrolled) {
      j = { ...j, verdict: 'verified', signer: enrolled.id, operator_key: enrolled.operator, trusted: !j.operator_action || enrolled.operator, reason: `signed by the key it registers, ${enrolled.id}'s first (trust on first use)` };
    }
  }

  // The facts this commit changed: builders' status (always followed), jobs and locks (under enforcement).
  const status = { ...ledger.status };
  const changes: FactChange[] = [];
  for (const id of new Set([...(before?.status.keys() ?? []), ...after.status.keys()])) {
    if (before?.status.get(id) === after.status.get(id)) continue;
    if (after.status.has(id)) status[id] = { commit, verdict: j.verdict, trusted: trustedFor(j, id, claim.op), actor: claim.actor, signer: j.signer, reason: j.reason };
    else delete status[id];
    changes.push({ kind: 'status', id, owner: id });
  }
  if (enforced) {
    const tainted = (kind: FactKind) => Object.values(ledger.taints).some((t) => t.kind === kind);
    const jobsBefore = blobOf(before, 'jobs.json');
    const jobsAfter = blobOf(after, 'jobs.json');
    if (jobsBefore !== jobsAfter && (!j.trusted || tainted('job'))) {
      const [a, b] = await Promise.all([docs(jobsBefore, jobsDoc), docs(jobsAfter, jobsDoc)]);
      changes.push(...changedEntries<Job>(a.ok ? (a.value?.jobs ?? []) : [], b.ok ? (b.value?.jobs ?? []) : [], (job) => job.id, (x, y) => y?.assigned_to ?? x?.assigned_to ?? null, 'job'));
    }
    const locksBefore = blobOf(before, 'locks.json');
    const locksAfter = blobOf(after, 'locks.json');
    if (locksBefore !== locksAfter && (!j.trusted || tainted('lock'))) {
      const [a, b] = await Promise.all([docs(locksBefore, locksDoc), docs(locksAfter, locksDoc)]);
      changes.push(...changedEntries<Lock>(a.ok ? (a.value?.locks ?? []) : [], b.ok ? (b.value?.locks ?? []) : [], (lock) => lock.name, (x, y) => x?.owner ?? y?.owner ?? null, 'lock'));
    }
  }
  let taints = updateTaints(ledger.taints, enforced, claim, j, changes);
  taints = nextState.enforce_since === null ? {} : withoutAccepted(taints, nextState.accepted);

  walk.ledger = {
    version: LEDGER_VERSION,
    tip: commit,
    state: nextState,
    status,
    taints,
    refused: [...ledger.refused, ...refused.map((change) => ({ commit, change }))].slice(-50),
    signing_since: ledger.signing_since ?? (nextState.keys.length > 0 ? commit : null),
  };
  walk.view = after;
  walk.at = commit;
  walk.verdicts.push({ commit, verdict: j.verdict, signer: j.signer, fingerprint: j.fingerprint, trusted: j.trusted, enforced, reason: j.reason });
};

const firstParent = (body: Buffer): string | undefined => /\nparent ([0-9a-f]{40,64})\n/.exec(`\n${body.toString('latin1', 0, Math.min(body.length, 400))}`)?.[1];

/** Commits kept in memory between the walk back and the walk forward; past this many, read twice. */
const KEEP_BODIES = 2000;

/**
 * The ledger at `target` (a commit of main, normally origin/main or a transaction's base):
 * the cached ledger of the nearest ancestor on the first-parent line, advanced commit by
 * commit (from the root when there is none). `rebuild` ignores the cache.
 */
export const ledgerAt = async (store: Store, objects: ObjectReader, target: string | undefined, options: { rebuild?: boolean } = {}): Promise<Ledger> => {
  if (target === undefined) return emptyLedger();
  const cached = options.rebuild ? NO_LEDGERS : await readLedgers(store);
  const hit = cached.at(target);
  if (hit) return hit;
  const path: string[] = [];
  const bodies = new Map<string, Buffer>();
  let from: Ledger | undefined;
  for (let at: string | undefined = target; at !== undefined; ) {
    const known = cached.at(at);
    if (known) {
      from = known;
      break;
    }
    const object = await objects.readObject(at);
    if (!object?.body || object.type !== 'commit') {
      // A clone cut short (a shallow clone made by hand): history starts where it does.
      if (path.length > 0) break;
      throw new Error(`commit ${at} is missing from the clone`);
    }
    path.push(at);
    if (path.length <= KEEP_BODIES) bodies.set(at, object.body);
    at = firstParent(object.body);
  }
  path.reverse();
  const walk: Walk = { ledger: from ?? emptyLedger(), view: undefined, at: from?.tip ?? '', verdicts: [] };
  const docs = documentReader(objects);
  for (const commit of path) {
    const body = bodies.get(commit) ?? (await objects.readObject(commit))?.body;
    if (!body) throw new Error(`commit ${commit} is missing from the clone`);
    await step(objects, docs, walk, commit, parseCommit(body));
    if (walk.verdicts.length >= 1000) await appendVerdicts(store, walk.verdicts.splice(0));
  }
  await appendVerdicts(store, walk.verdicts);
  await writeLedger(store, walk.ledger, cached);
  return walk.ledger;
};

/** The verdicts of these commits (all of them when the ledger has walked past them), and the ledger at `tip`. */
export const verdictsFor = async (store: Store, objects: ObjectReader, tip: string | undefined, commits: readonly string[]): Promise<{ ledger: Ledger; verdicts: Map<string, CommitVerdict> }> => {
  let ledger = await ledgerAt(store, objects, tip);
  let verdicts = await readVerdicts(store);
  if (commits.some((c) => !verdicts.has(c))) {
    // A verdict file cut short (a process killed mid-write): judge the whole line again, once.
    ledger = await ledgerAt(store, objects, tip, { rebuild: true });
    verdicts = await readVerdicts(store);
  }
  return { ledger, verdicts };
};

/** A commit off main's line (a heartbeat ref's tip), judged as `actor`'s against the current keys. */
export const judgeCommit = async (objects: ObjectReader, ref: string, actor: string, state: TrustState): Promise<(Judgement & { commit: string }) | undefined> => {
  const object = await objects.readObject(ref);
  if (!object?.body || object.type !== 'commit') return undefined;
  return judgeRaw(object.sha, object.body, actor, state);
};

const judgeRaw = (commit: string, body: Buffer, actor: string, state: TrustState): Judgement & { commit: string } => ({ ...judge({ ...claimOf(commit, parseCommit(body)), actor }, state), commit });

/**
 * A builder's heartbeat commit as a snapshot read it (the commit its view shows), judged as
 * that builder's: the commit is not read a second time. Undefined when it has no heartbeat ref.
 */
export const judgeHeartbeat = async (snapshot: Snapshot, builder: string, state: TrustState, options: { recheck?: boolean } = {}): Promise<(Judgement & { commit: string }) | undefined> => {
  const beat = await snapshot.heartbeatCommit(builder);
  if (!beat) return undefined;
  // Past the size limit the snapshot kept no bytes: read it whole, as any commit.
  if (!beat.body) return judgeCommit(snapshot.objects, beat.commit, builder, state);
  // A beat this clone checked before (a view looks every few seconds): its signature is
  // what it was then, unless asked to check again (the audit); who may sign for whom is judged now.
  const parsed = parseCommit(beat.body);
  let signature = options.recheck ? undefined : parseSignatureFact(await snapshot.signatures.get(beat.commit));
  if (signature === undefined) {
    signature = signatureOf(parsed);
    snapshot.signatures.remember(builder, beat.commit, formatSignatureFact(signature));
  }
  return { ...judge({ ...claimOf(beat.commit, parsed, signature), actor: builder }, state), commit: beat.commit };
};

/** A signature's verdict as the views show it (status, log). */
export interface SignatureView {
  verdict: Verdict;
  signer: string | null;
  reason: string;
  /** The commit judged, when there is one. */
  commit: string | null;
  /** What a reader should know besides: a key revoked since, a write others do not act on. */
  note: string | null;
}

/** A note for a verified commit whose key has been revoked since (position in history, not time). */
export const revokedSinceNote = (state: TrustState, fingerprint: string | null): string | null => {
  const key = fingerprint === null ? undefined : state.keys.find((k) => k.fingerprint === fingerprint);
  return key?.revoked_in ? `made before its key was revoked (in ${key.revoked_in.slice(0, 12)})` : null;
};

/** A commit's verdict as a view shows it. */
export const signatureView = (verdict: CommitVerdict | undefined, ledger: Ledger, commit: string | null): SignatureView => {
  if (!verdict) return { verdict: 'unverified', signer: null, reason: 'not judged yet', commit, note: null };
  const untrusted = verdict.verdict === 'verified' && verdict.enforced && !verdict.trusted;
  return {
    verdict: verdict.verdict,
    signer: verdict.signer,
    reason: verdict.reason,
    commit,
    note: untrusted ? 'require_signed_writes does not act on it' : verdict.verdict === 'verified' ? revokedSinceNote(ledger.state, verdict.fingerprint) : null,
  };
};

