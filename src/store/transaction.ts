// The transaction cycle of DESIGN.md: every mutation of main goes through `transact`.
// lock -> fetch -> reset to origin/main -> read + parse -> pure transition -> validate ->
// atomic write -> commit with trailers -> push; on rejection, start again from the fresh
// state and re-apply the intent (never a textual merge).
import { randomUUID } from 'node:crypto';
import { readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { followsWin, formatLastWin, parseLastWin, RECENT_COMMITS, retryDelayMs, turnDelayMs, type LastWin } from '../domain/fairness.js';
import type { Collection, DocSpec } from '../schemas/layout.js';
import { failedError, notNowError } from '../errors.js';
import { writeFileAtomic } from './atomic-write.js';
import { invalidDocument, parseDocumentText, serializeDocument, withoutBom } from './documents.js';
import { git, GitError, gitReason } from './git.js';
import { withLocalLock } from './local-lock.js';
import { crashPoint } from './test-seam.js';
import { fetchMain, MAIN, ORIGIN_MAIN, REMOTE, remoteUnreachable, type Store } from './store.js';

export interface ReadDoc {
  /** The parsed document, or undefined when the file does not exist. Invalid: throws (exit 5). */
  <T>(spec: DocSpec<T>): Promise<T | undefined>;
}

export interface Write {
  spec: DocSpec<unknown>;
  value: unknown;
  /** Ids of the spec's collection this write removes on purpose; any other id that disappears aborts. */
  removes?: readonly string[];
}

export interface Plan<R> {
  result: R;
  writes: Write[];
  /** One-line commit summary: operation and ids, never free text from a message. */
  summary: string;
  /**
   * More trailers for the commit, after the op, actor and op-id ones (e.g. a refusal an
   * operator overrode, entries converted from a legacy layout). Names are `Buildctl-*`
   * words, values one line.
   */
  trailers?: Readonly<Record<string, string>>;
}

export interface TxRequest<R> {
  /** Operation name for the commit trailer, e.g. `status.set`. */
  op: string;
  actor: string;
  /** Reads what it needs and returns the plan. Called again, on fresh state, after a rejected push. */
  apply: (read: ReadDoc) => Promise<Plan<R>> | Plan<R>;
  opId?: string;
  /**
   * Vets the commit message before anything is written (ops/ passes the credential
   * check: the store knows no such rule). Throws to refuse the commit.
   */
  checkCommit?: (message: string) => void;
  /**
   * For a document that fails its schema: the value ops/ reads it as (an older layout it
   * knows, see ops/tolerance.ts), or undefined to refuse it as invalid (exit 5).
   */
  readInvalid?: (spec: DocSpec<unknown>, text: string) => Promise<unknown>;
}

export interface TxOptions {
  maxAttempts?: number;
  /** Jitter source for the waits between attempts (see domain/fairness.ts). */
  random?: () => number;
}

export interface TxOutcome<R> {
  result: R;
  /** False when the transition changed nothing: no commit was made. */
  changed: boolean;
  commit: string | undefined;
  opId: string;
  /** Pushes rejected because another writer got there first. */
  retries: number;
}

export const TRAILER_OP = 'Buildctl-Op';
export const TRAILER_ACTOR = 'Buildctl-Actor';
export const TRAILER_OP_ID = 'Buildctl-Op-Id';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const oneLine = (text: string): string => text.replace(/[\r\n]+/g, ' ').slice(0, 200);

export const commitMessage = (summary: string, op: string, actor: string, opId: string, trailers: Readonly<Record<string, string>> = {}): string =>
  `${oneLine(summary)}\n\n${TRAILER_OP}: ${op}\n${TRAILER_ACTOR}: ${actor}\n${TRAILER_OP_ID}: ${opId}\n${Object.entries(trailers)
    .map(([name, value]) => `${name}: ${oneLine(value)}\n`)
    .join('')}`;

/** The commit on origin/main (after `since`) that carries this op id, if it landed. */
const findLandedOp = async (store: Store, since: string, opId: string): Promise<string | undefined> => {
  const { stdout } = await git(store.dir, [
    'log', '--format=%H', '--fixed-strings', `--grep=${TRAILER_OP_ID}: ${opId}`, `${since}..${ORIGIN_MAIN}`,
  ]);
  return stdout.trim().split('\n')[0] || undefined;
};

/**
 * Whether an op already landed on origin/main (as last fetched) in a commit made since
 * `sinceIso`: an intent delivered by a process that died before it heard back.
 */
export const findLandedOpSince = async (store: Store, opId: string, sinceIso: string): Promise<string | undefined> => {
  const { stdout } = await git(store.dir, ['log', '--format=%H', '--fixed-strings', `--grep=${TRAILER_OP_ID}: ${opId}`, `--since=${sinceIso}`, ORIGIN_MAIN]);
  return stdout.trim().split('\n')[0] || undefined;
};

/**
 * Fairness rule 2 (domain/fairness.ts): straight after its own win, while other builders are
 * landing commits, a builder waits a random part of a cycle before it starts again.
 * Costs one small file read per transaction; main's log is read only right after a win.
 */
/** This clone's last winning attempt (when, and how long its cycle took), if recorded. */
export const readLastWin = async (store: Store): Promise<LastWin | undefined> =>
  parseLastWin(await readFile(join(store.stateDir, 'last-win'), 'utf8').catch(() => undefined));

const takeTurn = async (store: Store, actor: string, random: () => number): Promise<void> => {
  const win = await readLastWin(store);
  const now = Date.now();
  if (!followsWin(win, now)) return;
  const { stdout } = await git(store.dir, ['log', `-${RECENT_COMMITS}`, `--format=%ct %(trailers:key=${TRAILER_ACTOR},valueonly,separator=)`, ORIGIN_MAIN], { allowFail: true });
  const recent = stdout.split('\n').filter(Boolean).map((line) => {
    const space = line.indexOf(' ');
    return { at: Number(line.slice(0, space)) * 1000, actor: line.slice(space + 1).trim() };
  });
  const wait = turnDelayMs(win, now, actor, recent, random);
  if (wait > 0) await sleep(wait);
};

/** Remembers the winning attempt, for rule 2. Best effort: a failure only skips a yield. */
const rememberWin = (store: Store, cycleMs: number): Promise<void> =>
  writeFile(join(store.stateDir, 'last-win'), formatLastWin({ at: Date.now(), cycleMs })).catch(() => undefined);

type PushOutcome = { kind: 'pushed'; commit: string | undefined } | { kind: 'rejected' } | { kind: 'unknown'; error: GitError };

/** The ids of a collection in document text: array entries' id field, or the keys of a map (older layouts). */
const collectionIds = (text: string | undefined, collection: Collection): Set<string> => {
  if (text === undefined) return new Set();
  let entries: unknown;
  try {
    entries = (JSON.parse(withoutBom(text)) as Record<string, unknown> | null)?.[collection.field];
  } catch {
    return new Set(); // unreadable before: the strict read of the operation has said so already
  }
  if (Array.isArray(entries)) {
    return new Set(entries.map((entry) => (entry as Record<string, unknown> | null)?.[collection.id]).filter((id): id is string => typeof id === 'string'));
  }
  return entries !== null && typeof entries === 'object' ? new Set(Object.keys(entries)) : new Set();
};

/**
 * No silent loss: an entry of a guarded collection may leave its document only when the
 * write names it in `removes`. A transition that would drop others (a rewrite from a
 * stale copy, a bug) aborts the whole transaction before anything is written.
 */
const checkNoLoss = (write: Write, before: string | undefined, after: string): void => {
  const collection = write.spec.collection;
  if (!collection) return;
  const kept = collectionIds(after, collection);
  const allowed = new Set(write.removes ?? []);
  const lost = [...collectionIds(before, collection)].filter((id) => !kept.has(id) && !allowed.has(id));
  if (lost.length === 0) return;
  const shown = lost.slice(0, 10).join(', ');
  throw failedError(
    `refusing to write ${write.spec.path}: it would lose ${lost.length} ${collection.field} entr${lost.length === 1 ? 'y' : 'ies'} the operation did not ask to remove (${shown}${lost.length > 10 ? `, and ${lost.length - 10} more` : ''})`,
    {
      code: 'would_lose_data',
      hint: 'nothing was written; this is a bug in the operation that asked for it: please report it with --debug output',
      details: { file: write.spec.path, lost },
    },
  );
};

const push = async (store: Store): Promise<PushOutcome> => {
  const run = await git(store.dir, ['push', '--porcelain', REMOTE, `HEAD:refs/heads/${MAIN}`], { allowFail: true });
  // The commit pushed is HEAD, by its full id (--porcelain shows abbreviated ones).
  if (run.code === 0) return { kind: 'pushed', commit: (await git(store.dir, ['rev-parse', 'HEAD'])).stdout.trim() };
  const output = `${run.stdout}\n${run.stderr}`;
  // Another writer held or moved the ref at the same moment: contention, like a rejection.
  if (/\[remote rejected\] \((failed to update ref|cannot lock ref|failed to lock|incorrect old value)/.test(output)) return { kind: 'rejected' };
  if (/\[remote rejected\]/.test(output)) {
    throw failedError(`the remote refused the push: ${run.stdout.trim().split('\n').find((l) => l.includes('remote rejected')) ?? ''}`, {
      code: 'push_refused',
      hint: 'a hook or branch protection on the remote declined the commit; check the remote\'s rules for main',
    });
  }
  if (/\[rejected\]/.test(output)) return { kind: 'rejected' };
  return { kind: 'unknown', error: new GitError(['push'], run) };
};

export const transact = async <R>(store: Store, request: TxRequest<R>, options: TxOptions = {}): Promise<TxOutcome<R>> => {
  const opId = request.opId ?? randomUUID();
  const maxAttempts = options.maxAttempts ?? 25;
  const random = options.random ?? Math.random;
  const marker = join(store.stateDir, 'tx-in-progress');

  return withLocalLock(store.stateDir, async () => {
    crashPoint('after-lock');
    if (await readFile(marker).then(() => true, () => false)) {
      // An earlier process died between writing files and committing: drop its leftovers.
      await git(store.dir, ['clean', '-fdq']);
      await rm(marker, { force: true });
    }
    await takeTurn(store, request.actor, random);
    const started = Date.now();
    let cyclesMs = 0; // time spent in attempts that lost, for the age-ordered wait
    let retries = 0;
    let unexplained = 0;
    let pending: { plan: Plan<R> } | undefined;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const attemptStarted = Date.now();
      await fetchMain(store);
      if (pending && unexplained > 0) {
        // A push whose answer was lost may have landed since (the remote can finish after
        // the connection dropped): never apply twice. A clean rejection moved nothing, so
        // a retry after only those skips this look (it would make retries slower than
        // fresh operations, which then keep winning).
        const landed = await findLandedOp(store, 'HEAD^', opId);
        if (landed) return { result: pending.plan.result, changed: true, commit: landed, opId, retries };
      }
      await git(store.dir, ['checkout', '-q', '-f', '-B', MAIN, ORIGIN_MAIN]);

      const original = new Map<string, string | undefined>();
      const readText = async (path: string): Promise<string | undefined> => {
        if (original.has(path)) return original.get(path);
        const text = await readFile(join(store.dir, path), 'utf8').catch((error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT') return undefined;
          throw error;
        });
        original.set(path, text);
        return text;
      };
      const read: ReadDoc = async <T>(spec: DocSpec<T>) => {
        const text = await readText(spec.path);
        if (text === undefined) return undefined;
        const outcome = parseDocumentText(text, spec.schema);
        if (outcome.ok) return outcome.value;
        // The hook of request.readInvalid: an older layout that ops/ knows how to read.
        const tolerated = await request.readInvalid?.(spec as DocSpec<unknown>, text);
        if (tolerated !== undefined) return tolerated as T;
        throw invalidDocument(spec.path, outcome.problems);
      };

      const plan = await request.apply(read);
      const changed: Array<{ path: string; text: string; isNew: boolean }> = [];
      for (const write of plan.writes) {
        const text = serializeDocument(write.spec.path, write.value, write.spec.schema);
        const before = await readText(write.spec.path);
        if (before === text) continue; // unchanged: nothing written, nothing can be lost
        checkNoLoss(write, before, text);
        changed.push({ path: write.spec.path, text, isNew: before === undefined });
      }
      if (changed.length === 0) return { result: plan.result, changed: false, commit: undefined, opId, retries };
      const message = commitMessage(plan.summary, request.op, request.actor, opId, plan.trailers);
      request.checkCommit?.(message);

      await mkdir(store.stateDir, { recursive: true });
      await writeFile(marker, `${opId}\n`);
      for (const file of changed) await writeFileAtomic(join(store.dir, file.path), file.text);
      crashPoint('after-write');
      const changedPaths = changed.map((file) => file.path);
      if (changed.some((file) => file.isNew)) await git(store.dir, ['add', '--', ...changedPaths]);
      await git(store.dir, ['commit', '-q', '--no-verify', '-m', message, '--', ...changedPaths]);
      await rm(marker, { force: true });
      crashPoint('after-commit');

      const pushed = await push(store);
      if (pushed.kind === 'pushed') crashPoint('after-push');
      if (pushed.kind === 'pushed') {
        await rememberWin(store, Date.now() - attemptStarted);
        return { result: plan.result, changed: true, commit: pushed.commit, opId, retries };
      }
      if (pushed.kind === 'unknown') {
        // Unreachable, or the answer was lost. The next fetch tells which.
        try {
          await fetchMain(store);
        } catch {
          throw remoteUnreachable('push', pushed.error);
        }
        const landed = await findLandedOp(store, 'HEAD^', opId);
        if (landed) return { result: plan.result, changed: true, commit: landed, opId, retries };
        if (++unexplained >= 3) {
          throw failedError(`git push keeps failing: ${gitReason(pushed.error.result.stderr)}`, {
            code: 'push_failed',
            hint: 'check that this host may push to the store\'s remote (git -C <store> push --dry-run)',
            cause: pushed.error,
          });
        }
      } else {
        retries++;
      }
      pending = { plan };
      cyclesMs += Date.now() - attemptStarted;
      // No wait after the last attempt: the caller hears "contention" at once.
      if (attempt < maxAttempts) await sleep(retryDelayMs(Date.now() - started, cyclesMs / attempt, random));
    }
    throw notNowError(`gave up after ${maxAttempts} attempts: other builders kept changing the store first`, {
      code: 'contention_exhausted',
      hint: 'try again in a moment; nothing was changed',
      details: { opId, retries },
    });
  });
};
