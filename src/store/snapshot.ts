// Read-only views of the store, straight from git objects: origin/main as last fetched and
// every builder's heartbeat ref. Readers never touch the work tree, so they need no lock
// and always see one consistent commit. Paths are looked up as transactions look them up
// (objects.ts), so a link or a directory where a document should be is invalid for a view
// exactly as it is for a mutation.
import { parseDocumentText, withoutBom } from '../schemas/document-text.js';
import type { Problem } from '../schemas/issues.js';
import type { DocSpec } from '../schemas/layout.js';
import { entryFieldsInCanonicalText, entryTextsInCanonicalText } from './documents.js';
import { git, openObjectReader, type ObjectReader } from './git.js';
import { readHeartbeatCommit, readLastHeartbeat, type HeartbeatCommit } from './heartbeat-ref.js';
import { treeReader, type BlobRead } from './objects.js';
import { ORIGIN_HEARTBEAT_PREFIX, ORIGIN_MAIN, type Store } from './store.js';
import { openSignatureMemo, type SignatureMemo } from './signature-memo.js';
import { openValidCache, type ValidCache } from './valid-cache.js';

export type DocRead<T> =
  | { status: 'ok'; value: T; source: string }
  | { status: 'missing'; source: string }
  | { status: 'invalid'; problems: Problem[]; source: string; text: string };

export interface Snapshot {
  /** The store it reads (for listings: listMainFiles). */
  readonly store: Store;
  /** A document on origin/main. */
  main<T>(spec: DocSpec<T>): Promise<DocRead<T>>;
  /**
   * Of a collection document on origin/main that this clone has validated before, the
   * entries whose canonical text `keep` accepts, each parsed alone: a view that needs a few
   * entries of a large document (a builder's mail among all the messages) parses no more.
   * Undefined when it cannot be read that way (missing, not validated yet, not canonical):
   * the caller reads the document with `main`.
   */
  mainEntries(spec: DocSpec<unknown>, keep: (entryText: string) => boolean): Promise<unknown[] | undefined>;
  /** Likewise, some fields of every entry, read off the text (entryFieldsInCanonicalText), none parsed. */
  mainFields(spec: DocSpec<unknown>, keys: readonly string[]): Promise<Array<Map<string, string>> | undefined>;
  /** The blob id of a document on origin/main, without reading it; undefined when there is no such file. */
  mainBlob(spec: DocSpec<unknown>): Promise<string | undefined>;
  /** A document on a builder's heartbeat ref (`heartbeat/<id>`), whichever form the ref has. */
  heartbeatRef<T>(builder: string, spec: DocSpec<T>): Promise<DocRead<T>>;
  /** A builder's heartbeat commit as last fetched (its files, whichever form), if any. */
  heartbeatCommit(builder: string): Promise<HeartbeatCommit | undefined>;
  /** This clone's own last heartbeat (its lease, else the fetched ref). */
  lastHeartbeat(builder: string): Promise<HeartbeatCommit | undefined>;
  /** Raw text of any object (`rev:path`, a blob's sha), or undefined. */
  text(revPath: string): Promise<string | undefined>;
  /** The object id a ref points at as the snapshot sees it (resolved once), or undefined. */
  resolve(ref: string): Promise<string | undefined>;
  /** The reader behind the snapshot, for readers of commits (ops/trust.ts). */
  readonly objects: ObjectReader;
  /** The heartbeat signatures this clone has checked (store/signature-memo.ts), written when the snapshot closes. */
  readonly signatures: SignatureMemo;
  close(): void;
}

const readVia = async <T>(read: BlobRead, cache: ValidCache, spec: DocSpec<T>, label: string): Promise<DocRead<T>> => {
  if (read.kind === 'missing') return { status: 'missing', source: label };
  if (read.kind === 'invalid') return { status: 'invalid', problems: [read.problem], source: label, text: '' };
  const { text, sha } = read;
  // A canonical blob that validated before is valid again: parse it, skip the schema.
  const perBuilder = spec.perBuilder === true;
  const worth = cache.worth(text, perBuilder);
  if (worth && (await cache.has(sha, spec.path, perBuilder))) return { status: 'ok', value: JSON.parse(withoutBom(text)) as T, source: label };
  const outcome = parseDocumentText(text, spec.schema);
  if (!outcome.ok) return { status: 'invalid', problems: outcome.problems, source: label, text };
  if (worth && `${JSON.stringify(outcome.value, null, 2)}\n` === text) cache.add(sha, spec.path, perBuilder);
  return { status: 'ok', value: outcome.value, source: label };
};

export const openSnapshot = (store: Store): Snapshot => {
  const reader = openObjectReader(store.dir);
  const trees = treeReader(reader);
  const cache = openValidCache(store.stateDir);
  const signatures = openSignatureMemo(store.stateDir);
  // Each ref is resolved once: every read of a snapshot sees the same commit.
  const roots = new Map<string, Promise<string | undefined>>();
  const root = (ref: string): Promise<string | undefined> => {
    let sha = roots.get(ref);
    if (!sha) {
      sha = reader.readObject(ref).then((object) => object?.sha);
      roots.set(ref, sha);
    }
    return sha;
  };
  const beats = new Map<string, Promise<HeartbeatCommit | undefined>>();
  const heartbeatCommit = (builder: string): Promise<HeartbeatCommit | undefined> => {
    let beat = beats.get(builder);
    if (!beat) {
      beat = readHeartbeatCommit(reader, trees, `${ORIGIN_HEARTBEAT_PREFIX}${builder}`);
      beats.set(builder, beat);
    }
    return beat;
  };
  const missing: BlobRead = { kind: 'missing' };
  /** A collection document's text on origin/main, when this clone validated that blob before (so it is canonical). */
  const validatedText = async (spec: DocSpec<unknown>): Promise<string | undefined> => {
    const at = await root(ORIGIN_MAIN);
    const read = at === undefined || !spec.collection ? missing : await trees.readText(at, spec.path);
    const perBuilder = spec.perBuilder === true;
    return read.kind === 'text' && cache.worth(read.text, perBuilder) && (await cache.has(read.sha, spec.path, perBuilder)) ? read.text : undefined;
  };
  return {
    store,
    main: async (spec) => {
      const at = await root(ORIGIN_MAIN);
      return readVia(at === undefined ? missing : await trees.readText(at, spec.path), cache, spec, spec.path);
    },
    mainEntries: async (spec, keep) => {
      const text = await validatedText(spec);
      return text === undefined ? undefined : entryTextsInCanonicalText(text, spec.collection!.field)?.filter(keep).map((entry) => JSON.parse(entry) as unknown);
    },
    mainFields: async (spec, keys) => {
      const text = await validatedText(spec);
      return text === undefined ? undefined : entryFieldsInCanonicalText(text, spec.collection!.field, keys);
    },
    mainBlob: async (spec) => {
      const at = await root(ORIGIN_MAIN);
      const located = at === undefined ? undefined : await trees.locate(at, spec.path);
      return located?.kind === 'file' ? located.sha : undefined;
    },
    heartbeatRef: async (builder, spec) => {
      const beat = await heartbeatCommit(builder);
      return readVia(beat ? await beat.file(spec.path) : missing, cache, spec, `heartbeat/${builder}:${spec.path}`);
    },
    heartbeatCommit,
    lastHeartbeat: (builder) => readLastHeartbeat(store, reader, trees, builder),
    text: async (revPath) => (await reader.read(revPath))?.toString('utf8'),
    resolve: root,
    objects: reader,
    signatures,
    close: () => {
      reader.close();
      // What this view validated and checked, in one write each (the process waits for them before exiting).
      void cache.flush();
      void signatures.flush();
    },
  };
};

/** Every file path on origin/main. */
export const listMainFiles = async (store: Store): Promise<string[]> => {
  const { stdout } = await git(store.dir, ['ls-tree', '-r', '--name-only', '-z', ORIGIN_MAIN]);
  return stdout.split('\0').filter((path) => path !== '');
};

/** Every entry on origin/main, directories included, with its mode, object id and size (blobs). */
export const listMainEntries = async (store: Store): Promise<Array<{ path: string; mode: string; sha: string; size: number }>> => {
  const { stdout } = await git(store.dir, ['ls-tree', '-r', '-t', '-l', '--full-tree', '-z', ORIGIN_MAIN]);
  return stdout
    .split('\0')
    .filter((line) => line !== '')
    .map((line) => {
      const tab = line.indexOf('\t');
      const [mode = '', , sha = '', size = ''] = line.slice(0, tab).split(/ +/);
      return { path: line.slice(tab + 1), mode: mode.replace(/^0+/, ''), sha, size: Number(size) || 0 };
    });
};

/** Builder ids that have a heartbeat ref, as last fetched. */
export const listHeartbeatRefs = async (store: Store): Promise<string[]> => {
  const { stdout } = await git(store.dir, ['for-each-ref', '--format=%(refname)', ORIGIN_HEARTBEAT_PREFIX]);
  return stdout
    .split('\n')
    .filter((line) => line.startsWith(ORIGIN_HEARTBEAT_PREFIX))
    .map((line) => line.slice(ORIGIN_HEARTBEAT_PREFIX.length));
};

/** Files staged for commit (added, copied, modified or renamed), as a pre-commit hook sees them. */
export const listStagedFiles = async (store: Store): Promise<string[]> => {
  const { stdout } = await git(store.dir, ['diff', '--cached', '--name-only', '-z', '--diff-filter=ACMR']);
  return stdout.split('\0').filter((path) => path !== '');
};

/** Every remote-tracking ref with its commit, as one string: it changes whenever a fetch brought anything. */
export const remoteRefsFingerprint = async (store: Store): Promise<string> =>
  (await git(store.dir, ['for-each-ref', '--format=%(refname) %(objectname)', 'refs/remotes/origin/'])).stdout;

/** Each builder's heartbeat commit, as last fetched: a new commit is a new beat. */
export const heartbeatCommits = async (store: Store): Promise<Map<string, string>> => {
  const { stdout } = await git(store.dir, ['for-each-ref', '--format=%(objectname) %(refname)', ORIGIN_HEARTBEAT_PREFIX]);
  const commits = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const [sha, ref] = line.split(' ');
    if (sha && ref?.startsWith(ORIGIN_HEARTBEAT_PREFIX)) commits.set(ref.slice(ORIGIN_HEARTBEAT_PREFIX.length), sha);
  }
  return commits;
};
