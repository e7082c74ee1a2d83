// The transaction cycle of DESIGN.md: every mutation of main goes through `transact`.
// Correctness rests on git's compare-and-swap, never on the work tree, the index or the
// local lock: the new commit is built from blobs of the fetched base with plumbing, and
// its parent is that base, so its push can land only if main has not moved since the
// base was read. A process that stalls after reading (its lock taken over meanwhile)
// gets its push rejected and re-applies its intent to the fresh state, like any writer
// that lost a race; it can never overwrite a newer commit.
//
//   lock -> [turn] -> fetch base -> read + apply + serialise -> commit object -> push
//        -> landed: move local main (CAS), refresh the work tree view
//        -> rejected: wait, then again from a fresh base (the intent, never a textual merge)
//        -> unknown: fetch; landed if its op id is there, else again
import { randomUUID } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { failedError, notNowError, type BuildctlError } from '../errors.js';
import { faultInGitOutput } from '../faults.js';
import { parseDocumentText, withoutBom } from '../schemas/document-text.js';
import type { Collection, DocSpec } from '../schemas/layout.js';
import { appendToCanonicalText, canonicalEntryText, deepFreeze, entryFieldsInCanonicalText, idLookupInCanonicalText, invalidDocument, replaceInCanonicalText, serializeDocumentValue, validatedEntries } from './documents.js';
import { git, GitError, gitReason, openObjectReader, type ObjectReader } from './git.js';
import { blockingLockIn, clearStaleRefLock } from './git-locks.js';
import { withLocalLock } from './local-lock.js';
import { treeReader, writeCommitObjects, type NewFile, type TreeReader, type WrittenCommit } from './objects.js';
import { localRemoteDir } from './maintenance.js';
import { loadSigner, type Signer } from './signing-key.js';
import { fetchMain, MAIN, ORIGIN_MAIN, REMOTE, remoteUnreachable, transferSettings, type Store } from './store.js';
import { crashPoint, freezeReads } from './test-seam.js';
import { openValidCache, type ValidCache } from './valid-cache.js';
import { IDENTITY_FILE, refreshView } from './view.js';

export interface ReadDoc {
  /** The parsed document, or undefined when the file does not exist. Invalid: throws (exit 5). */
  <T>(spec: DocSpec<T>): Promise<T | undefined>;
  /**
   * Which ids a collection document's entries have (`spec.collection`). Of a document this
   * clone has validated before, each question is a search of its text: no entry is parsed.
   */
  ids(spec: DocSpec<unknown>): Promise<IdLookup>;
  /**
   * Some fields of each entry of a collection document this clone has validated before, read
   * off its canonical text without parsing it (store/documents.ts, entryFieldsInCanonicalText:
   * each value's JSON text); undefined when it cannot be (not validated yet, not canonical,
   * parsed already, missing): the caller reads the document.
   */
  entryFields(spec: DocSpec<unknown>, keys: readonly string[]): Promise<Array<Map<string, string>> | undefined>;
  /** The id of the document's blob at the base, without reading it; undefined when there is no such file (or no base to say). */
  blobId(spec: DocSpec<unknown>): Promise<string | undefined>;
}

/** Whether an id is among a collection's (a Set is one). */
export interface IdLookup {
  has(id: string): boolean;
}

/** A read that parses: its `ids` come from the parsed document, and it has no text to read fields off. */
export const parsingRead = (read: <T>(spec: DocSpec<T>) => Promise<T | undefined>): ReadDoc =>
  Object.assign(read, {
    ids: async (spec: DocSpec<unknown>) => (spec.collection ? idsIn(await read(spec), spec.collection) : new Set<string>()),
    entryFields: async () => undefined,
    blobId: async () => undefined,
  });

/** The document's new value. */
export interface ValueWrite {
  spec: DocSpec<unknown>;
  value: unknown;
  /** Ids of the spec's collection this write removes on purpose; any other id that disappears aborts. */
  removes?: readonly string[];
}

/**
 * The document as it is, with `append` added at the end of its collection: all a send
 * changes. Of a document this clone has validated, the new text is the old one with the
 * new entries' text added, and only the new entries are validated; nothing is parsed.
 */
export interface AppendWrite {
  spec: DocSpec<unknown>;
  append: readonly unknown[];
}

/**
 * The document as it is, with the entries of `replace` in place of those with the same ids
 * (each must be there): all a claim changes. Of a document this clone has validated, the
 * new text is the old one with those entries' text replaced, and only they are validated.
 */
export interface ReplaceWrite {
  spec: DocSpec<unknown>;
  replace: readonly unknown[];
}

export type Write = ValueWrite | AppendWrite | ReplaceWrite;

export const isAppend = (write: Write): write is AppendWrite => 'append' in write;
export const isReplace = (write: Write): write is ReplaceWrite => 'replace' in write;

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

/** The commit an attempt builds on, for operations that read its history (ops/trust.ts). */
export interface BaseView {
  commit: string;
  /** The attempt's reader of git objects. */
  objects: ObjectReader;
  store: Store;
  /** Who commits and with which key (when a transaction reads: it loaded them once). */
  ident?: Promise<Ident> | undefined;
  /** The attempt's scratch space: what an operation works out once per base (e.g. ops/signed-writes.ts). */
  memo?: Map<string, Promise<unknown>> | undefined;
}

/** A plan builder: the operation applied to whatever state the store has when it runs. */
export type Apply<R> = (read: ReadDoc, base: BaseView) => Promise<Plan<R>> | Plan<R>;

export interface TxRequest<R> {
  /** Operation name for the commit trailer, e.g. `status.set`. */
  op: string;
  actor: string;
  /** Reads what it needs and returns the plan. Called again, on fresh state, after a rejected push. */
  apply: Apply<R>;
  opId?: string;
  /**
   * Vets the commit message before anything is written (ops/ passes the credential check
   * and the signed-writes rule: the store knows no such rule). Throws to refuse the commit.
   */
  checkCommit?: (message: string, base: BaseView) => void | Promise<void>;
  /**
   * For a document that fails its schema: the value ops/ reads it as (an older layout it
   * knows, see ops/tolerance.ts), or undefined to refuse it as invalid (exit 5). Never
   * asked about a document over the bounds (size, depth, duplicate keys).
   */
  readInvalid?: (spec: DocSpec<unknown>, text: string) => Promise<unknown>;
}

/** One of main's latest commits, for the turn-taking rule. */
export interface RecentCommit {
  commit: string;
  actor: string;
  /** Commit time, ms since the epoch (whole seconds). */
  at: number;
}

/**
 * How a transaction paces itself under contention. The rules are ops' to give
 * (domain/fairness.ts); the store only measures and waits. Without one, no waits.
 */
export interface Pacing {
  /** The wait before the first attempt, from this clone's last win record; `recent` reads main's latest commits. */
  turnDelayMs(lastWin: string | undefined, now: number, actor: string, recent: (count: number) => Promise<RecentCommit[]>): Promise<number>;
  /** The wait after an attempt that lost, from the operation's age, its mean attempt time and the clone's last win record. */
  retryDelayMs(ageMs: number, meanAttemptMs: number, lastWin: string | undefined): number;
  /** The record kept after `commit` landed (`.git/buildctl/last-win`), from the one before; handed to turnDelayMs next time. */
  winRecord(at: number, cycleMs: number, commit: string, previous: string | undefined): string;
}

export interface TxOptions {
  maxAttempts?: number;
  pacing?: Pacing;
  /** Where warnings go (the work tree view could not be refreshed). */
  warn?: (line: string) => void;
  /**
   * The caller fetched main a moment ago (with other refs, in one fetch): the first attempt
   * builds on it without fetching again. A base gone stale meanwhile only loses its push,
   * and the next attempt fetches.
   */
  baseFetched?: boolean;
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

const oneLine = (text: string): string => text.replace(/[\r\n]+/g, ' ').slice(0, 200);

export const commitMessage = (summary: string, op: string, actor: string, opId: string, trailers: Readonly<Record<string, string>> = {}): string =>
  `${oneLine(summary)}\n\n${TRAILER_OP}: ${op}\n${TRAILER_ACTOR}: ${actor}\n${TRAILER_OP_ID}: ${opId}\n${Object.entries(trailers)
    .map(([name, value]) => `${name}: ${oneLine(value)}\n`)
    .join('')}`;

/**
 * Whether an op already landed on origin/main (as last fetched) in a commit made since
 * `sinceIso`: an intent delivered by a process that died before it heard back.
 */
export const findLandedOpSince = async (store: Store, opId: string, sinceIso: string): Promise<string | undefined> => {
  const { stdout } = await git(store.dir, ['log', '--format=%H', '--fixed-strings', `--grep=${TRAILER_OP_ID}: ${opId}`, `--since=${sinceIso}`, ORIGIN_MAIN]);
  return stdout.trim().split('\n')[0] || undefined;
};

/**
 * The commit on origin/main after `base` (a commit this clone had) carrying `opId`: no clock
 * involved. Undefined when there is none; null when `base` is no longer here (the caller
 * then falls back to findLandedOpSince).
 */
export const findLandedOpAfter = async (store: Store, opId: string, base: string): Promise<string | undefined | null> => {
  const run = await git(store.dir, ['log', '--format=%H', '--fixed-strings', `--grep=${TRAILER_OP_ID}: ${opId}`, `${base}..${ORIGIN_MAIN}`], { allowFail: true });
  if (run.code !== 0) return null;
  return run.stdout.trim().split('\n')[0] || undefined;
};

const NO_PACING: Pacing = { turnDelayMs: async () => 0, retryDelayMs: () => 0, winRecord: () => '' };

// ---------------------------------------------------------------------------------------
// The steps. Each does one thing and returns what happened; `transact` strings them.

/** The commit a transaction builds on, and the local main it found (for the view's CAS). */
export interface Base {
  commit: string;
  /** The base commit's root tree. */
  tree: string;
  localMain: string | undefined;
}

/** Step: fetch the remote's main (unless `fetched`: the caller just did). Its commit is the base. */
export const fetchBase = async (store: Store, objects: ObjectReader, fetched = false): Promise<Base> => {
  if (!fetched) await fetchMain(store, { autoMaintenance: false });
  const [base, localMain] = await Promise.all([objects.readObject(ORIGIN_MAIN), objects.readObject(`refs/heads/${MAIN}`)]);
  const tree = base?.type === 'commit' ? /^tree ([0-9a-f]+)\n/.exec(base.body?.toString('latin1') ?? '')?.[1] : undefined;
  if (!base || tree === undefined) throw new Error(`${ORIGIN_MAIN} is not a commit after a fetch`);
  return { commit: base.sha, tree, localMain: localMain?.type === 'commit' ? localMain.sha : undefined };
};

/** A document as the base has it. */
interface BaseDoc {
  text: string | undefined;
  /** The blob's id (undefined for a new file). */
  sha: string | undefined;
  /** The file mode to keep on rewrite (100644 for a new file). */
  mode: string;
}

/** A file a commit writes; `perBuilder`: one of a builder's own documents (the valid-blob cache remembers those whatever their size). */
export type ChangedFile = NewFile & { perBuilder?: true };

export type Staged<R> = { kind: 'unchanged'; result: R } | { kind: 'changed'; plan: Plan<R>; files: ChangedFile[] };

/** A document as one attempt read it: parsed once, whatever asks for it again. */
interface ReadValue {
  schema: unknown;
  value: unknown;
  /** Read through request.readInvalid (an older layout): its entries are judged from the text. */
  tolerated: boolean;
  /** Its text is known to be the canonical text of `value`: handing it back unchanged writes nothing. */
  canonical: boolean;
}

/** The ids of a collection in a parsed document: array entries' id field, or the keys of a map (older layouts). */
const idsIn = (doc: unknown, collection: Collection): Set<string> => {
  const entries = doc !== null && typeof doc === 'object' && Object.hasOwn(doc, collection.field) ? (doc as Record<string, unknown>)[collection.field] : undefined;
  if (Array.isArray(entries)) {
    return new Set(entries.map((entry) => (entry as Record<string, unknown> | null)?.[collection.id]).filter((id): id is string => typeof id === 'string'));
  }
  return entries !== null && typeof entries === 'object' ? new Set(Object.keys(entries)) : new Set();
};

/** The ids of a collection in document text (an older layout's, or a document the operation did not read). */
const collectionIds = (text: string | undefined, collection: Collection): Set<string> => {
  if (text === undefined) return new Set();
  try {
    return idsIn(JSON.parse(withoutBom(text)) as unknown, collection);
  } catch {
    return new Set(); // unreadable before: the strict read of the operation has said so already
  }
};

/** A read value, frozen under the test runner (test-seam.ts freezeReads). */
const frozen = <T>(value: T): T => (freezeReads() ? deepFreeze(value) : value);

/** The new text of a document a write gives a whole value (undefined: the document as read, unchanged). */
const valueText = async (write: ValueWrite, before: BaseDoc, readValue: ReadValue | undefined, keepProtoKeys: boolean): Promise<string | undefined> => {
  const asRead = readValue !== undefined && !readValue.tolerated && readValue.schema === write.spec.schema;
  // The document it read, handed back as it was: nothing to write, nothing to validate.
  if (asRead && readValue.canonical && write.value === readValue.value) return undefined;
  const collection = write.spec.collection;
  const readEntries = asRead && collection ? (readValue.value as Record<string, unknown>)[collection.field] : undefined;
  const trusted = collection && Array.isArray(readEntries) ? { field: collection.field, entries: new Set<unknown>(readEntries) } : undefined;
  const written = serializeDocumentValue(write.spec.path, write.value, write.spec.schema, { keepProtoKeys, ...(trusted ? { trusted } : {}) });
  if (before.text === written.text) return undefined;
  if (collection) checkNoLoss(write, asRead ? idsIn(readValue.value, collection) : collectionIds(before.text, collection), idsIn(written.value, collection));
  return written.text;
};

/**
 * The new text of a document a write appends to: of a canonical base this clone trusts, its
 * text with the new entries' text added (only they are validated); else the parsed
 * document with the entries added, serialised as any write (its entries kept as read).
 */
const appendText = async (
  write: AppendWrite,
  before: BaseDoc,
  at: { read: ReadDoc; trustedText: (spec: DocSpec<unknown>) => Promise<string | undefined>; keepProtoKeys: boolean },
): Promise<string | undefined> => {
  const collection = write.spec.collection;
  if (!collection) throw new Error(`${write.spec.path}: only a collection document can be appended to`);
  const entries = validatedEntries(write.spec.path, write.spec.schema, collection.field, write.append, at.keepProtoKeys);
  const trusted = await at.trustedText(write.spec);
  const spliced = trusted === undefined ? undefined : appendToCanonicalText(trusted, collection.field, entries.map(canonicalEntryText));
  if (spliced !== undefined) return spliced;
  const doc = (await at.read(write.spec)) as Record<string, unknown> | undefined;
  const current = doc?.[collection.field];
  const kept = Array.isArray(current) ? current : [];
  const written = serializeDocumentValue(write.spec.path, { ...(doc ?? {}), [collection.field]: [...kept, ...entries] }, write.spec.schema, {
    keepProtoKeys: at.keepProtoKeys,
    trusted: { field: collection.field, entries: new Set<unknown>([...kept, ...entries]) },
  });
  if (before.text !== undefined) checkNoLoss({ spec: write.spec, value: written.value }, collectionIds(before.text, collection), idsIn(written.value, collection));
  return written.text;
};

/**
 * The new text of a document a write replaces entries of: of a canonical base this clone
 * trusts, its text with those entries' text replaced (only they are validated); else the
 * document as read with them replaced, written as a whole value is (valueText).
 */
const replaceText = async (
  write: ReplaceWrite,
  before: BaseDoc,
  at: { read: ReadDoc; readValue: ReadValue | undefined; trustedText: (spec: DocSpec<unknown>) => Promise<string | undefined>; keepProtoKeys: boolean },
): Promise<string | undefined> => {
  const collection = write.spec.collection;
  if (!collection) throw new Error(`${write.spec.path}: only a collection document's entries can be replaced`);
  const idOf = (entry: unknown): unknown => (entry as Record<string, unknown> | null)?.[collection.id];
  let text = await at.trustedText(write.spec);
  for (const entry of validatedEntries(write.spec.path, write.spec.schema, collection.field, write.replace, at.keepProtoKeys)) {
    const id = idOf(entry);
    text = text === undefined || typeof id !== 'string' ? undefined : replaceInCanonicalText(text, collection.field, collection.id, id, canonicalEntryText(entry));
  }
  if (text !== undefined) return text;
  const doc = (await at.read(write.spec)) as Record<string, unknown> | undefined;
  const current = doc?.[collection.field];
  const kept = Array.isArray(current) ? current : [];
  const byId = new Map(write.replace.map((entry) => [idOf(entry), entry]));
  const missing = [...byId.keys()].filter((id) => !kept.some((entry) => idOf(entry) === id));
  if (missing.length > 0) throw new Error(`${write.spec.path}: no entry to replace with the id ${String(missing[0])}`);
  return valueText({ spec: write.spec, value: { ...doc, [collection.field]: kept.map((entry) => byId.get(idOf(entry)) ?? entry) } }, before, at.readValue, at.keepProtoKeys);
};

/**
 * Step: read the documents the operation asks for as blobs of the base, apply its pure
 * transition, serialise what changed. Anything but a regular file at a document path, or
 * a document that fails its schema or the bounds, is an invalid document (exit 5).
 *
 * Each document is parsed once per attempt, whoever asks for it. A blob this clone has
 * validated before (`cache`) is only parsed; what a transition writes is validated where it
 * changed: entries it kept (the very objects it read, frozen) are not validated again.
 */
export const stage = async <R>(trees: TreeReader, base: Base, request: TxRequest<R>, view: Omit<BaseView, 'commit'>, cache?: ValidCache): Promise<Staged<R>> => {
  const docs = new Map<string, Promise<BaseDoc>>();
  const readBase = (path: string): Promise<BaseDoc> => {
    let doc = docs.get(path);
    if (!doc) {
      doc = trees.readText(base.commit, path).then((read) => {
        if (read.kind === 'invalid') throw invalidDocument(path, [read.problem]);
        return read.kind === 'missing' ? { text: undefined, sha: undefined, mode: '100644' } : { text: read.text, sha: read.sha, mode: read.mode };
      });
      docs.set(path, doc);
    }
    return doc;
  };
  const values = new Map<string, Promise<ReadValue | undefined>>();
  const parse = async <T>(spec: DocSpec<T>): Promise<ReadValue | undefined> => {
    const { text, sha } = await readBase(spec.path);
    if (text === undefined || sha === undefined) return undefined;
    if (cache && (await cache.has(sha, spec.path, spec.perBuilder))) return { schema: spec.schema, value: frozen(JSON.parse(withoutBom(text)) as unknown), tolerated: false, canonical: true };
    const outcome = parseDocumentText(text, spec.schema);
    if (outcome.ok) {
      // Large documents (and a builder's own, read by the hundred) are checked for the canonical form once, to be remembered as valid.
      const canonical = cache?.worth(text, spec.perBuilder) === true && `${JSON.stringify(outcome.value, null, 2)}\n` === text;
      if (canonical) cache?.add(sha, spec.path, spec.perBuilder);
      return { schema: spec.schema, value: frozen(outcome.value), tolerated: false, canonical };
    }
    // The hook of request.readInvalid: an older layout that ops/ knows how to read.
    const tolerated = outcome.bounded ? undefined : await request.readInvalid?.(spec as DocSpec<unknown>, text);
    if (tolerated !== undefined) return { schema: spec.schema, value: frozen(tolerated), tolerated: true, canonical: false };
    throw invalidDocument(spec.path, outcome.problems);
  };
  const parsed = async <T>(spec: DocSpec<T>) => {
    let value = values.get(spec.path);
    // The same path under another schema (rare: a converter's view) is parsed for that schema.
    if (!value || (await value)?.schema !== spec.schema) {
      value = parse(spec);
      values.set(spec.path, value);
    }
    return (await value)?.value as T | undefined;
  };
  /** The base's text of `spec`, when it is canonical and valid (validated before, or in this attempt): it can be edited as text. */
  const trustedText = async (spec: DocSpec<unknown>): Promise<string | undefined> => {
    const { text, sha } = await readBase(spec.path);
    if (text === undefined || sha === undefined) return undefined;
    const readValue = await values.get(spec.path)?.catch(() => undefined);
    if (readValue) return !readValue.tolerated && readValue.canonical && readValue.schema === spec.schema ? text : undefined;
    return cache && (await cache.has(sha, spec.path, spec.perBuilder)) ? text : undefined;
  };
  const read: ReadDoc = Object.assign(parsed, {
    ids: async (spec: DocSpec<unknown>): Promise<IdLookup> => {
      const collection = spec.collection;
      if (!collection) return new Set<string>();
      const text = values.has(spec.path) ? undefined : await trustedText(spec);
      // A search of the text per question: a send asks one or two, of 10,000 ids.
      const has = text === undefined ? undefined : idLookupInCanonicalText(text, collection.field, collection.id);
      return has ? { has } : idsIn(await parsed(spec), collection);
    },
    entryFields: async (spec: DocSpec<unknown>, keys: readonly string[]): Promise<Array<Map<string, string>> | undefined> => {
      const text = spec.collection && !values.has(spec.path) ? await trustedText(spec) : undefined;
      return text === undefined ? undefined : entryFieldsInCanonicalText(text, spec.collection!.field, keys);
    },
    blobId: async (spec: DocSpec<unknown>): Promise<string | undefined> => {
      const located = await trees.locate(base.commit, spec.path);
      return located.kind === 'file' ? located.sha : undefined;
    },
  });
  const plan = await request.apply(read, { commit: base.commit, ...view });
  const befores = await Promise.all(plan.writes.map((write) => readBase(write.spec.path)));
  // Own `__proto__` keys can only come from a document read: look for them only then.
  const texts = await Promise.all(docs.values());
  const keepProtoKeys = texts.some((doc) => doc.text?.includes('"__proto__"') === true);
  const files: ChangedFile[] = [];
  for (const [i, write] of plan.writes.entries()) {
    const before = befores[i]!;
    const text = isAppend(write)
      ? await appendText(write, before, { read, trustedText, keepProtoKeys })
      : isReplace(write)
        ? await replaceText(write, before, { read, readValue: await values.get(write.spec.path)?.catch(() => undefined), trustedText, keepProtoKeys })
        : await valueText(write, before, await values.get(write.spec.path)?.catch(() => undefined), keepProtoKeys);
    if (text === undefined || before.text === text) continue; // unchanged: nothing written, nothing can be lost
    files.push({ path: write.spec.path, mode: before.mode, text, ...(write.spec.perBuilder ? { perBuilder: true as const } : {}) });
  }
  return files.length === 0 ? { kind: 'unchanged', result: plan.result } : { kind: 'changed', plan, files };
};

/** Who commits (`Name <email>`), in which time zone, and how the commit is signed. */
export interface Ident {
  who: string;
  zone: string;
  /** The clone's signing key (store/signing-key.ts); undefined: unsigned commits. */
  sign?: ((payload: Buffer) => string) | undefined;
  /** The signer itself, for operations that judge what they commit. */
  signer?: Signer | undefined;
}

/** The host's time zone as git writes it (+0100), now: git takes it from the same place (TZ, the system's zone). */
const zoneNow = (): string => {
  const offset = -new Date().getTimezoneOffset();
  const abs = Math.abs(offset);
  return `${offset < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}${String(abs % 60).padStart(2, '0')}`;
};

/** What git's identity depends on besides the repository: the environment and the config files' times. */
const identityKey = async (store: Store): Promise<string> => {
  const env = ['GIT_COMMITTER_NAME', 'GIT_COMMITTER_EMAIL', 'EMAIL', 'HOME', 'XDG_CONFIG_HOME', 'GIT_CONFIG', 'GIT_CONFIG_GLOBAL', 'GIT_CONFIG_SYSTEM', 'GIT_CONFIG_NOSYSTEM', 'GIT_CONFIG_PARAMETERS', 'GIT_CONFIG_COUNT'].map((name) => process.env[name] ?? '');
  const home = process.env.HOME ?? '';
  const files = [join(store.dir, '.git', 'config'), process.env.GIT_CONFIG_GLOBAL ?? join(home, '.gitconfig'), join(process.env.XDG_CONFIG_HOME ?? join(home, '.config'), 'git', 'config'), process.env.GIT_CONFIG_SYSTEM ?? '/etc/gitconfig'];
  const times = await Promise.all(files.map((file) => stat(file).then((info) => `${info.mtimeMs}:${info.size}`, () => '-')));
  return JSON.stringify([...env, ...times]);
};

/**
 * Who commits: git's own answer (GIT_COMMITTER_*, user.name / user.email), without its time,
 * and the clone's key.
 * Remembered in the clone while nothing it depends on changed (the environment, the config
 * files), so that most transactions start one git process fewer; the zone is the host's now.
 */
export const committer = async (store: Store): Promise<Ident> => {
  const file = join(store.stateDir, 'ident');
  const key = await identityKey(store);
  const [cachedKey, cachedWho] = (await readFile(file, 'utf8').catch(() => '')).split('\n');
  const signer = await loadSigner(store);
  if (cachedKey === key && cachedWho) return { who: cachedWho, zone: zoneNow(), sign: signer?.sign, signer };
  const run = await git(store.dir, ['var', 'GIT_COMMITTER_IDENT'], { allowFail: true });
  const match = /^(.*>) \d+ ([+-]\d{4})\s*$/.exec(run.stdout);
  if (run.code !== 0 || !match) {
    throw failedError(`git has no identity to commit with in the store: ${gitReason(run.stderr) || run.stdout.trim()}`, {
      code: 'no_git_identity',
      hint: `run "buildctl init" again (it sets one), or: git -C ${store.dir} config user.name NAME && git -C ${store.dir} config user.email EMAIL`,
    });
  }
  await writeFile(file, `${key}\n${match[1]}\n`).catch(() => undefined);
  return { who: match[1]!, zone: match[2]!, sign: signer?.sign, signer };
};

/**
 * Step: the new blobs, the trees on the changed paths and the commit, whose parent is the
 * base, signed with the clone's key, written as loose objects (store/objects.ts). Raw
 * bytes: no attribute or filter applies. Nothing refers to the commit until its push lands.
 */
export const writeCommit = (store: Store, trees: TreeReader, base: Base, files: readonly ChangedFile[], message: string, ident: Ident): Promise<WrittenCommit> =>
  writeCommitObjects(
    store.dir,
    trees,
    { parent: { commit: base.commit, tree: base.tree }, files, message, who: ident.who, zone: ident.zone, time: Math.floor(Date.now() / 1000), sign: ident.sign },
    base.commit.length,
  );

export type Pushed = { kind: 'landed' } | { kind: 'rejected' } | { kind: 'unknown'; error: GitError };

/**
 * Step: push the commit to main. It lands only if main is still its parent; otherwise the
 * remote rejects it (`[rejected]`), or another push held or moved the ref at that moment.
 */
export const pushCommit = async (store: Store, commit: string): Promise<Pushed> => {
  const run = await git(store.dir, [...(await transferSettings(store)), 'push', '--porcelain', REMOTE, `${commit}:refs/heads/${MAIN}`], { allowFail: true });
  if (run.code === 0) return { kind: 'landed' };
  const output = `${run.stdout}\n${run.stderr}`;
  const fault = faultInGitOutput(run.stderr, store.dir);
  if (fault) throw fault;
  // Another writer held or moved the ref at the same moment: contention, like a rejection.
  if (/\[remote rejected\] \((failed to update ref|cannot lock ref|failed to lock|incorrect old value)/.test(output) || /\[remote rejected\].*(cannot lock ref|failed to lock)/.test(output)) {
    // A ref lock a killed push left in a local remote blocks every push: clear it once stale.
    const lock = blockingLockIn(output);
    const remote = lock === undefined ? undefined : await localRemoteDir(store.dir);
    if (lock !== undefined && remote !== undefined) await clearStaleRefLock(lock, [remote]);
    return { kind: 'rejected' };
  }
  if (/\[remote rejected\]/.test(output)) {
    // What the remote's hook said (git shows it as "remote: ..." lines), e.g. buildctl's pre-receive.
    const said = run.stderr.split('\n').filter((l) => l.startsWith('remote: ')).map((l) => l.slice('remote: '.length).trim()).filter(Boolean);
    throw failedError(`the remote refused the push: ${run.stdout.trim().split('\n').find((l) => l.includes('remote rejected')) ?? ''}${said.length > 0 ? `: ${said.join('; ')}` : ''}`, {
      code: 'push_refused',
      hint: 'a hook or branch protection on the remote declined the commit; check the remote\'s rules for main',
      details: { remote: said },
    });
  }
  if (/\[rejected\]/.test(output)) return { kind: 'rejected' };
  return { kind: 'unknown', error: new GitError(['push'], run) };
};

/** Step: the commit on origin/main (after `since`) that carries this op id, if it landed. */
export const findLanded = async (store: Store, since: string, opId: string): Promise<string | undefined> => {
  const { stdout } = await git(store.dir, ['log', '--format=%H', '--fixed-strings', `--grep=${TRAILER_OP_ID}: ${opId}`, `${since}..${ORIGIN_MAIN}`]);
  return stdout.trim().split('\n')[0] || undefined;
};

/**
 * No silent loss: an entry of a guarded collection may leave its document only when the
 * write names it in `removes`. A transition that would drop others (a rewrite from a
 * stale copy, a bug) aborts the whole transaction before anything is written.
 */
const checkNoLoss = (write: ValueWrite, before: ReadonlySet<string>, kept: ReadonlySet<string>): void => {
  const collection = write.spec.collection!;
  const allowed = new Set(write.removes ?? []);
  const lost = [...before].filter((id) => !kept.has(id) && !allowed.has(id));
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

/** main's latest commits as last fetched: who made them and when. */
const recentCommits = async (store: Store, count: number): Promise<RecentCommit[]> => {
  const { stdout } = await git(store.dir, ['log', `-${count}`, `--format=%H %ct %(trailers:key=${TRAILER_ACTOR},valueonly,separator=)`, ORIGIN_MAIN], { allowFail: true });
  return stdout.split('\n').filter(Boolean).map((line) => {
    const [commit = '', at = '', ...actor] = line.split(' ');
    return { commit, at: Number(at) * 1000, actor: actor.join(' ').trim() };
  });
};

const lastWinFile = (store: Store) => join(store.stateDir, 'last-win');

/** This clone's last win record, as the pacing wrote it (another process of the clone may have written it meanwhile), if any. */
export const readLastWinRecord = (store: Store): Promise<string | undefined> => readFile(lastWinFile(store), 'utf8').catch(() => undefined);

/** Step: the pacing's turn before the first attempt (e.g. a builder that just won yields). */
const takeTurn = async (store: Store, actor: string, pacing: Pacing): Promise<void> => {
  const record = await readLastWinRecord(store);
  const wait = await pacing.turnDelayMs(record, Date.now(), actor, (count) => recentCommits(store, count));
  if (wait > 0) await sleep(wait);
};

/** Remembers the winning attempt for the pacing. Best effort: a failure only skips a yield. */
const rememberWin = async (store: Store, pacing: Pacing, cycleMs: number, commit: string): Promise<void> => {
  if (pacing === NO_PACING) return;
  await writeFile(lastWinFile(store), pacing.winRecord(Date.now(), cycleMs, commit, await readLastWinRecord(store))).catch(() => undefined);
};

const pushKeepsFailing = (error: GitError): BuildctlError =>
  failedError(`git push keeps failing: ${gitReason(error.result.stderr)}`, {
    code: 'push_failed',
    hint: 'check that this host may push to the store\'s remote (git -C <store> push --dry-run)',
    cause: error,
  });

/**
 * Step, after a push with no clear answer (the connection dropped, the other side died):
 * fetch and look for the op id since `base`. Unreachable: exit 4.
 */
export const settleUnknown = async (store: Store, base: string, opId: string, error: GitError): Promise<string | undefined> => {
  try {
    await fetchMain(store);
  } catch {
    throw remoteUnreachable('push', error);
  }
  return findLanded(store, base, opId);
};

/** What one attempt came to. `done`: landed (or found landed), or nothing to change. */
type Attempt<R> = { kind: 'done'; result: R; commit: string | undefined } | { kind: 'rejected' } | { kind: 'unknown'; base: string; result: R; error: GitError };

interface Cycle<R> {
  store: Store;
  request: TxRequest<R>;
  opId: string;
  objects: ObjectReader;
  trees: TreeReader;
  ident: Promise<Ident>;
  /** Blobs this clone has validated (store/valid-cache.ts). */
  cache: ValidCache;
  warn: (line: string) => void;
  /** Called with the attempt's duration and its commit when its push landed. */
  won: (cycleMs: number, commit: string) => Promise<void>;
}

/** Whether main's root holds a builder identity file (a commit never adds one: it came from a push). */
const tracksIdentity = async (trees: TreeReader, base: Base): Promise<boolean> => (await trees.entries(base.tree)).has(IDENTITY_FILE);

/** One attempt: fetch the base, read and apply, write the commit, push, refresh the view. */
const attempt = async <R>(cycle: Cycle<R>, unknownSince: { base: string; result: R } | undefined, fetched: boolean): Promise<Attempt<R>> => {
  const { store, request, opId, warn } = cycle;
  const started = performance.now();
  const base = await fetchBase(store, cycle.objects, fetched);
  if (unknownSince) {
    // A push whose answer was lost can land after the connection dropped: never apply
    // twice. A clean rejection moved nothing, so only such an op looks.
    const landed = await findLanded(store, unknownSince.base, opId);
    if (landed) return { kind: 'done', result: unknownSince.result, commit: landed };
  }
  // One view of the base for the operation's reads and its commit check, sharing one memo.
  const view = { objects: cycle.objects, store, ident: cycle.ident, memo: new Map<string, Promise<unknown>>() };
  const staged = await stage(cycle.trees, base, request, view, cycle.cache);
  crashPoint('after-read');
  if (staged.kind === 'unchanged') {
    // No commit; the view still catches up with what others landed.
    if (base.localMain !== base.commit) await refreshView(store, base.localMain, base.commit, warn, await tracksIdentity(cycle.trees, base));
    return { kind: 'done', result: staged.result, commit: undefined };
  }
  const message = commitMessage(staged.plan.summary, request.op, request.actor, opId, staged.plan.trailers);
  await request.checkCommit?.(message, { commit: base.commit, ...view });
  const written = await writeCommit(store, cycle.trees, base, staged.files, message, await cycle.ident);
  const commit = written.commit;
  crashPoint('after-commit-object');
  const pushed = await pushCommit(store, commit);
  if (pushed.kind === 'rejected') return pushed;
  if (pushed.kind === 'unknown') {
    const landed = await settleUnknown(store, base.commit, opId, pushed.error);
    return landed ? { kind: 'done', result: staged.plan.result, commit: landed } : { kind: 'unknown', base: base.commit, result: staged.plan.result, error: pushed.error };
  }
  crashPoint('after-push');
  // What it wrote is canonical and valid: the next read of these blobs only parses them.
  for (const file of staged.files) if (cycle.cache.worth(file.text, file.perBuilder)) cycle.cache.add(written.blobs.get(file.path)!, file.path, file.perBuilder);
  await cycle.won(performance.now() - started, commit);
  await refreshView(store, base.localMain, commit, warn, await tracksIdentity(cycle.trees, base));
  return { kind: 'done', result: staged.plan.result, commit };
};

export const transact = async <R>(store: Store, request: TxRequest<R>, options: TxOptions = {}): Promise<TxOutcome<R>> => {
  const opId = request.opId ?? randomUUID();
  const maxAttempts = options.maxAttempts ?? 25;
  const pacing = options.pacing ?? NO_PACING;

  return withLocalLock(store.stateDir, async () => {
    crashPoint('after-lock');
    await takeTurn(store, request.actor, pacing);
    const objects = openObjectReader(store.dir);
    // Who commits, asked beside the first fetch (off the critical path); awaited only to commit.
    const ident = committer(store);
    ident.catch(() => undefined);
    const cache = openValidCache(store.stateDir);
    const cycle: Cycle<R> = { store, request, opId, objects, trees: treeReader(objects), ident, cache, warn: options.warn ?? (() => undefined), won: (ms, commit) => rememberWin(store, pacing, ms, commit) };
    try {
      // Durations on the process's own clock: a wall clock set meanwhile would read as a stall.
      const started = performance.now();
      let lostMs = 0; // time spent in attempts that lost, for the age-ordered wait
      let retries = 0;
      let unexplained = 0;
      /** The first push whose answer was lost: it may have landed since. */
      let unknownSince: { base: string; result: R } | undefined;
      for (let number = 1; number <= maxAttempts; number++) {
        const attemptStarted = performance.now();
        const outcome = await attempt(cycle, unknownSince, number === 1 && options.baseFetched === true);
        if (outcome.kind === 'done') return { result: outcome.result, changed: outcome.commit !== undefined, commit: outcome.commit, opId, retries };
        if (outcome.kind === 'unknown') {
          if (++unexplained >= 3) throw pushKeepsFailing(outcome.error);
          unknownSince ??= { base: outcome.base, result: outcome.result };
        } else {
          retries++;
        }
        lostMs += performance.now() - attemptStarted;
        // No wait after the last attempt: the caller hears "contention" at once.
        const wait = number < maxAttempts ? pacing.retryDelayMs(performance.now() - started, lostMs / number, await readLastWinRecord(store)) : 0;
        if (wait > 0) await sleep(wait);
      }
      throw notNowError(`gave up after ${maxAttempts} attempts: other builders kept changing the store first`, {
        code: 'contention_exhausted',
        hint: 'try again in a moment; nothing was changed',
        details: { opId, retries },
      });
    } finally {
      objects.close();
      await cache.flush();
    }
  });
};
