// `buildctl validate --signatures`: who signed main's history and every heartbeat, as the
// ledger judges them (ops/trust.ts); and `--pre-receive`, the same rules on a bare remote
// judging what a push brings before it lands (scripts/pre-receive).
import { join } from 'node:path';
import { applyTrustChange, judge, type Judgement, type Taint, type Verdict } from '../domain/trust.js';
import { usageError } from '../errors.js';
import { BUILDER_ID_PATTERN } from '../schemas/common.js';
import { configDoc } from '../schemas/config.js';
import { parseDocumentText } from '../schemas/document-text.js';
import { signersDoc, type SignersDoc } from '../schemas/signers.js';
import { mainCommit, readCommits } from '../store/commit-log.js';
import { openObjectReader, type ObjectReader } from '../store/git.js';
import { parseCommit, treeReader } from '../store/objects.js';
import { commitsBetween, gitDirOf, isAncestor, refValue } from '../store/refs.js';
import { listHeartbeatRefs, openSnapshot } from '../store/snapshot.js';
import { HEARTBEAT_PREFIX, MAIN, ORIGIN_MAIN, openStore, type Store } from '../store/store.js';
import type { Context } from './context.js';
import { fetchFleet, type Freshness } from './read.js';
import { claimOf, judgeCommit, judgeHeartbeat, keyFingerprint, ledgerAt, verdictsFor, type Ledger } from './trust.js';

export interface CommitSignature {
  commit: string;
  at: string;
  op: string | null;
  actor: string | null;
  summary: string;
  verdict: Verdict;
  signer: string | null;
  trusted: boolean;
  reason: string;
}

export interface SignatureReport extends Freshness {
  valid: boolean;
  /** The commits checked: after `since` (exclusive) up to `tip`. */
  since: string | null;
  tip: string | null;
  checked: number;
  counts: Record<Verdict, number>;
  /** The commits that are not verified, and those require_signed_writes would not act on. */
  problems: CommitSignature[];
  /** Each builder's heartbeat ref: its tip as judged for that builder. */
  heartbeats: Array<{ builder: string; commit: string; verdict: Verdict; signer: string | null; reason: string }>;
  /** Changes to keys or settings that history leaves out (newest 50). */
  refused: Array<{ commit: string; change: string }>;
  require_signed_writes: boolean;
  /** Facts the fleet does not act on now (require_signed_writes). */
  taints: Taint[];
}

const problemOf = (verdict: Verdict, trusted: boolean, enforced: boolean): boolean => verdict !== 'verified' || (enforced && !trusted);

/** Checks the signatures of main's history after `since` (default: after the first key was registered) and of every heartbeat. */
export const validateSignatures = async (ctx: Context, options: { fetch: boolean; since?: string | undefined }): Promise<SignatureReport> => {
  const store = await openStore(ctx.storeDir);
  const freshness = options.fetch ? await fetchFleet(ctx, store) : { fetched: false, fetch_error: null };
  const snapshot = openSnapshot(store);
  try {
    const tip = await snapshot.resolve(ORIGIN_MAIN);
    const ledger = await ledgerAt(store, snapshot.objects, tip);
    let since = ledger.signing_since;
    if (options.since !== undefined) {
      since = (await mainCommit(store, options.since)) ?? null;
      if (since === null) throw usageError(`--since ${options.since} is not a commit of main`, { code: 'invalid_since', hint: 'name a commit of main (a sha from "buildctl log" or git log)' });
    }
    const records = tip === undefined ? [] : await readCommits(store, { range: since ? `${since}..${tip}` : tip });
    const { verdicts } = await verdictsFor(store, snapshot.objects, tip, records.map((r) => r.commit));
    const counts: Record<Verdict, number> = { verified: 0, unverified: 0, forged: 0 };
    const problems: CommitSignature[] = [];
    for (const record of records) {
      const v = verdicts.get(record.commit);
      const verdict = v?.verdict ?? 'unverified';
      counts[verdict]++;
      if (!v || problemOf(verdict, v.trusted, v.enforced)) {
        problems.push({ commit: record.commit, at: record.at, op: record.op, actor: record.actor, summary: record.summary, verdict, signer: v?.signer ?? null, trusted: v?.trusted ?? false, reason: v?.reason ?? 'not judged' });
      }
    }
    const heartbeats: SignatureReport['heartbeats'] = [];
    for (const id of (await listHeartbeatRefs(store)).filter((ref) => BUILDER_ID_PATTERN.test(ref))) {
      const j = await judgeHeartbeat(snapshot, id, ledger.state, { recheck: true });
      if (j) heartbeats.push({ builder: id, commit: j.commit, verdict: j.verdict, signer: j.signer, reason: j.reason });
    }
    const taints = Object.values(ledger.taints);
    return {
      ...freshness,
      valid: problems.length === 0 && heartbeats.every((h) => h.verdict === 'verified') && taints.length === 0,
      since,
      tip: tip ?? null,
      checked: records.length,
      counts,
      problems,
      heartbeats,
      refused: ledger.refused,
      require_signed_writes: ledger.state.enforce_since !== null,
      taints,
    };
  } finally {
    snapshot.close();
  }
};

// ---- the pre-receive hook ------------------------------------------------------------------

export interface RefUpdate {
  old: string;
  new: string;
  ref: string;
}

const isZero = (sha: string): boolean => /^0+$/.test(sha);

/** Parses the lines git gives a pre-receive hook: `<old> <new> <ref>`. */
export const parseRefUpdates = (text: string): RefUpdate[] =>
  text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const [old = '', next = '', ref = ''] = line.split(/\s+/);
      if (!/^[0-9a-f]{40,64}$/.test(old) || !/^[0-9a-f]{40,64}$/.test(next) || ref === '') throw usageError(`not a pre-receive line: ${line.slice(0, 200)}`, { code: 'invalid_input', hint: 'git runs the hook with "<old> <new> <ref>" lines on standard input' });
      return { old, new: next, ref };
    });

export interface PushVerdict {
  accepted: boolean;
  /** What the pusher is told (git shows each line as "remote: ..."). */
  lines: string[];
}

const readDoc = async <T>(objects: ObjectReader, trees: ReturnType<typeof treeReader>, commit: string | undefined, path: string, schema: Parameters<typeof parseDocumentText<T>>[1]): Promise<T | undefined> => {
  if (commit === undefined) return undefined;
  const read = await trees.readText(commit, path);
  if (read.kind !== 'text') return undefined;
  const parsed = parseDocumentText(read.text, schema);
  return parsed.ok ? parsed.value : undefined;
};

/**
 * Judges a push on the remote, before it lands: every new commit on main against the keys
 * in force at main's current tip (so a push can never authorise itself, even over several
 * commits), and a heartbeat ref's new commit as its builder's. Forged commits and changes
 * to the keys that no reader would count are always refused; unsigned or unknown ones, and
 * operator actions without an operator key, while require_signed_writes is on.
 */
export const checkPush = async (repo: string, updates: readonly RefUpdate[]): Promise<PushVerdict> => {
  // A bare repository (or a clone's .git): the ledger cache lives in <git dir>/buildctl.
  const gitDir = await gitDirOf(repo);
  const store: Store = { dir: repo, stateDir: join(gitDir, 'buildctl') };
  const objects = openObjectReader(repo);
  const trees = treeReader(objects);
  const lines: string[] = [];
  let accepted = true;
  const refuse = (line: string) => {
    accepted = false;
    lines.push(line);
  };
  try {
    const mainNow = await refValue(repo, `refs/heads/${MAIN}`);
    const ledger: Ledger = await ledgerAt(store, objects, mainNow);
    const state = ledger.state;
    const enforced = state.enforce_since !== null;
    if (state.keys.length === 0) lines.push('buildctl: no keys are registered yet: signatures are not checked');
    const judged = (j: Judgement, what: string): void => {
      if (j.verdict === 'forged') refuse(`buildctl: refused ${what}: forged (${j.reason})`);
      else if (enforced && !j.trusted) refuse(`buildctl: refused ${what}: ${j.verdict === 'verified' ? 'not trusted' : j.verdict} (${j.reason}); require_signed_writes is on`);
    };
    for (const update of updates) {
      if (update.ref === `refs/heads/${MAIN}`) {
        if (isZero(update.new)) {
          refuse(`buildctl: refused deleting ${MAIN}`);
          continue;
        }
        if (!isZero(update.old) && !(await isAncestor(repo, update.old, update.new))) {
          refuse(`buildctl: refused rewriting ${MAIN}: ${update.new.slice(0, 12)} does not build on ${update.old.slice(0, 12)}`);
          continue;
        }
        if (state.keys.length === 0) continue;
        const list = await commitsBetween(repo, isZero(update.old) ? undefined : update.old, update.new);
        for (const commit of list) {
          const object = await objects.readObject(commit);
          if (!object?.body) continue;
          const parsed = parseCommit(object.body);
          const claim = claimOf(commit, parsed);
          const j = judge(claim, state);
          judged(j, `${commit.slice(0, 12)} (${claim.op ?? 'no operation'} by ${claim.actor ?? 'no actor'})`);
          // Key and setting changes: judged as readers will, against the keys before the push.
          const parent = parsed.parents[0];
          const [sb, sa, cb, ca] = await Promise.all([
            readDoc<SignersDoc>(objects, trees, parent, 'coordination/signers.json', signersDoc),
            readDoc<SignersDoc>(objects, trees, commit, 'coordination/signers.json', signersDoc),
            readDoc(objects, trees, parent, 'coordination/config.json', configDoc),
            readDoc(objects, trees, commit, 'coordination/config.json', configDoc),
          ]);
          const outcome = applyTrustChange(
            state,
            { claim, judgement: j, signersBefore: sb, signersAfter: sa, enforceBefore: cb?.require_signed_writes === true, enforceAfter: ca?.require_signed_writes === true },
            keyFingerprint,
          );
          for (const change of outcome.refused) refuse(`buildctl: refused ${commit.slice(0, 12)}: ${change}`);
        }
      } else if (update.ref.startsWith(HEARTBEAT_PREFIX) && !isZero(update.new)) {
        const id = update.ref.slice(HEARTBEAT_PREFIX.length);
        if (state.keys.length === 0) continue;
        const j = await judgeCommit(objects, update.new, id, state);
        if (!j) refuse(`buildctl: refused ${update.ref}: ${update.new.slice(0, 12)} is not a commit`);
        else if (j.verdict !== 'verified' && (enforced || j.verdict === 'forged')) refuse(`buildctl: refused ${update.ref}: ${j.verdict} (${j.reason})`);
      }
    }
  } finally {
    objects.close();
  }
  if (!accepted) lines.push('buildctl: nothing was changed; see "buildctl validate --signatures" and README.md, "Trust"');
  return { accepted, lines };
};
