// Heartbeats live on one ref per builder (`refs/heads/heartbeat/<id>`): every beat replaces
// it, pushed with --force-with-lease against the commit this clone pushed last. Main never
// sees a heartbeat, history never grows, and a lease failure means someone else is beating
// as the same id.
//
// A beat is one commit that carries its files in its message (`<path> <bytes>` and the
// bytes, after a subject line) and points at the empty tree: one new object per beat. Files
// that change at most hourly (the closed hours of metrics.jsonl) ride in the beat's parent,
// a commit of the same form that the beats of that hour share: a second object only when it
// changes. A file in both is the parent's text followed by the beat's. Both commits are
// signed with the clone's key, like every commit buildctl makes (the beat's signature covers
// its parent by id). Earlier buildctl wrote
// one parentless commit whose tree held `<id>/heartbeat.json` and `<id>/metrics.jsonl` (five
// objects a beat), and the older scripts a branch of the whole repository: both are read as
// they are (`readHeartbeatCommit`), and replaced by the builder's next beat.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { failedError, unreachableError } from '../errors.js';
import { heartbeatDoc } from '../schemas/heartbeat.js';
import { MAX_DOCUMENT_BYTES, sizeProblem } from '../schemas/json-text.js';
import type { Problem } from '../schemas/issues.js';
import { git, GitError, gitReason, openObjectReader, type ObjectReader } from './git.js';
import { algorithmOf, commitObject, emptyTree, objectsDirOf, treeReader, writeLooseObjects, type BlobRead, type CommitSpec, type NewObject, type TreeReader } from './objects.js';
import { journalReplaced } from './replaced.js';
import { loadSigner } from './signing-key.js';
import { HEARTBEAT_PREFIX, ORIGIN_HEARTBEAT_PREFIX, REMOTE, transferSettings, type Store } from './store.js';
import { crashPoint } from './test-seam.js';

/** Local ref where earlier versions kept the last heartbeat commit this clone made (read, never written). */
const localRef = (builder: string) => `refs/buildctl/heartbeat/${builder}`;
const leaseFile = (store: Store, builder: string) => join(store.stateDir, `heartbeat-${builder}.lease`);

export interface HeartbeatFiles {
  /** path in the heartbeat commit -> content */
  [path: string]: string;
}

export interface PublishOptions {
  builder: string;
  files: HeartbeatFiles;
  /**
   * Files (or the first part of files) that change at most hourly, e.g. metrics.jsonl's
   * closed hours: kept in the beat's parent commit, shared by the beats until it changes.
   */
  carried?: HeartbeatFiles;
  now: Date;
  /** Take the ref over whatever it points at (after resolving a duplicate agent). */
  force?: boolean;
  /** Replace the ref only if it still points here (migrating an older ref it has looked at, or taking it back from a duplicate agent). */
  lease?: string;
  /** Called before the ref is taken over from its current commit (first beat of a clone, --force). */
  onTakeOver?: (current: string) => Promise<void>;
}

/** What the other agent's beat on our ref says (a duplicate_agent error's details). */
export interface OtherBeat {
  commit: string;
  host: string | null;
  pid: number | null;
  beat_at: string | null;
}

export interface PublishResult {
  commit: string;
  /** The lease was taken from the remote's current value (first beat of this clone, or --force). */
  tookOver: boolean;
}

// ---------------------------------------------------------------------------------------
// The commit form.

/**
 * A heartbeat commit's message: a subject line, a blank line, then each file as
 * `<path> <bytes>\n<bytes>`; `<path> <bytes> continued` when the file's text goes on from
 * the parent's (the settled hours of metrics.jsonl, then its recent part).
 */
export const encodeHeartbeatMessage = (subject: string, files: HeartbeatFiles, continued: ReadonlySet<string> = new Set()): string =>
  `${subject}\n\n${Object.entries(files)
    .map(([path, text]) => `${path} ${Buffer.byteLength(text)}${continued.has(path) ? ' continued' : ''}\n${text}`)
    .join('')}`;

export interface MessageFile {
  /** The file's bytes in the message, decoded only when the file is read (a view of the fleet reads no metrics). */
  bytes: Buffer;
  /** The text goes on from the parent commit's file of the same path. */
  continued: boolean;
}

/** The files of a heartbeat commit's message, or why it is not one. */
export const decodeHeartbeatMessage = (message: Buffer): Map<string, MessageFile> | Problem => {
  const blank = message.indexOf('\n\n');
  const files = new Map<string, MessageFile>();
  if (blank < 0) return files;
  let offset = blank + 2;
  while (offset < message.length) {
    const newline = message.indexOf(10, offset);
    const header = /^(\S+) (\d+)( continued)?$/.exec(message.toString('utf8', offset, newline < 0 ? message.length : newline));
    const size = header ? Number(header[2]) : NaN;
    if (!header || newline < 0 || newline + 1 + size > message.length) {
      return { path: '', reason: 'the heartbeat commit\'s message is not a list of files ("<path> <bytes>" and the bytes)' };
    }
    files.set(header[1]!, { bytes: message.subarray(newline + 1, newline + 1 + size), continued: header[3] !== undefined });
    offset = newline + 1 + size;
  }
  return files;
};

interface CommitFields {
  tree: string;
  parents: string[];
  message: Buffer;
}

/** The tree, parents and message of a raw commit object. */
const parseCommit = (body: Buffer): CommitFields => {
  const end = body.indexOf('\n\n');
  const headers = body.toString('latin1', 0, end < 0 ? body.length : end).split('\n');
  return {
    tree: headers.find((line) => line.startsWith('tree '))?.slice(5) ?? '',
    parents: headers.filter((line) => line.startsWith('parent ')).map((line) => line.slice(7)),
    message: end < 0 ? Buffer.alloc(0) : body.subarray(end + 2),
  };
};

/** A heartbeat commit as readers see it: whichever form, its files by path. */
export interface HeartbeatCommit {
  commit: string;
  /** The raw commit object as read (undefined past the size limit), so judging its signature reads nothing again. */
  body: Buffer | undefined;
  /** `message`: files in the commit (and its parent); `tree`: files in the tree (earlier buildctl, the older scripts). */
  form: 'message' | 'tree';
  file(path: string): Promise<BlobRead>;
}

const readCommitFields = async (objects: ObjectReader, commit: string): Promise<CommitFields | Problem | undefined> => {
  const object = await objects.readObject(commit, { maxBytes: MAX_DOCUMENT_BYTES });
  if (!object || object.type !== 'commit') return undefined;
  if (!object.body) return sizeProblem(object.size);
  return parseCommit(object.body);
};

const isProblem = (value: unknown): value is Problem => typeof value === 'object' && value !== null && 'reason' in value;

/**
 * The heartbeat commit `commit` (a sha or a ref), or undefined when there is none. A
 * commit on the empty tree carries its files in its message (and its parent's); any other
 * holds them in its tree.
 */
export const readHeartbeatCommit = async (objects: ObjectReader, trees: TreeReader, commit: string): Promise<HeartbeatCommit | undefined> => {
  // One request: the ref (or sha) resolved to its commit, and the commit's body.
  const object = await objects.readObject(`${commit}^{commit}`, { maxBytes: MAX_DOCUMENT_BYTES });
  if (!object || object.type !== 'commit') return undefined;
  const sha = object.sha;
  const fields: CommitFields | Problem = object.body ? parseCommit(object.body) : sizeProblem(object.size);
  const empty = emptyTree(algorithmOf(sha.length)).id;
  if (isProblem(fields) || fields.tree !== empty) {
    if (isProblem(fields)) return { commit: sha, body: undefined, form: 'message', file: async () => ({ kind: 'invalid', problem: fields }) };
    return { commit: sha, body: object.body, form: 'tree', file: (path) => trees.readText(sha, path) };
  }
  const own = decodeHeartbeatMessage(fields.message);
  // The parent carries the first part of a file marked continued (read only then: a view of
  // the fleet reads no metrics, and no parent).
  const parent = fields.parents[0];
  let carriedRead: Promise<Map<string, MessageFile> | Problem> | undefined;
  const carried = (): Promise<Map<string, MessageFile> | Problem> =>
    (carriedRead ??= (async () => {
      const above = parent === undefined ? undefined : await readCommitFields(objects, parent);
      if (above === undefined) return { path: '', reason: `the heartbeat commit continues a file from a parent that ${parent === undefined ? 'it does not have' : 'is missing'}` };
      if (isProblem(above)) return above;
      return above.tree === empty ? decodeHeartbeatMessage(above.message) : { path: '', reason: 'the heartbeat commit continues a file from a parent that is not a heartbeat commit' };
    })());
  return {
    commit: sha,
    body: object.body,
    form: 'message',
    file: async (path) => {
      if (isProblem(own)) return { kind: 'invalid', problem: own };
      const rest = own.get(path);
      if (rest === undefined) return { kind: 'missing' };
      let first = '';
      if (rest.continued) {
        const above = await carried();
        if (isProblem(above)) return { kind: 'invalid', problem: above };
        first = above.get(path)?.bytes.toString('utf8') ?? '';
      }
      return { kind: 'text', text: `${first}${rest.bytes.toString('utf8')}`, sha: `${sha}:${path}`, mode: '100644' };
    },
  };
};

/** Reads one heartbeat commit with a reader of its own (for the few callers without one). */
const withReader = async <T>(store: Store, fn: (objects: ObjectReader, trees: TreeReader) => Promise<T>): Promise<T> => {
  const objects = openObjectReader(store.dir);
  try {
    return await fn(objects, treeReader(objects));
  } finally {
    objects.close();
  }
};

const readLease = async (store: Store, builder: string): Promise<string[]> =>
  (await readFile(leaseFile(store, builder), 'utf8').catch(() => '')).split('\n').map((line) => line.trim());

/**
 * This clone's last heartbeat commit: the one its lease records, else the builder's ref as
 * last fetched, else the local ref of earlier versions. Read through `objects` (a snapshot's
 * reader: one cat-file process for the whole beat).
 */
export const readLastHeartbeat = async (store: Store, objects: ObjectReader, trees: TreeReader, builder: string): Promise<HeartbeatCommit | undefined> => {
  const [confirmed] = await readLease(store, builder);
  for (const ref of [confirmed, `${ORIGIN_HEARTBEAT_PREFIX}${builder}`, localRef(builder)]) {
    if (!ref) continue;
    const found = await readHeartbeatCommit(objects, trees, ref);
    if (found) return found;
  }
  return undefined;
};

const remoteValue = async (store: Store, builder: string): Promise<string> => {
  try {
    const { stdout } = await git(store.dir, ['ls-remote', REMOTE, `${HEARTBEAT_PREFIX}${builder}`]);
    return stdout.split('\t')[0]?.trim() ?? '';
  } catch (error) {
    if (error instanceof GitError) {
      throw unreachableError(`cannot reach the store's remote to publish the heartbeat: ${gitReason(error.result.stderr)}`, {
        code: 'remote_unreachable',
        hint: 'check the network and the remote; the next heartbeat will try again',
      });
    }
    throw error;
  }
};

/**
 * The objects of one beat: the empty tree, the parent carrying the first part of the
 * `carried` files (when there are any), and the beat itself, whose message holds `files`,
 * each commit signed when `sign` is given. A parent with the same files in the same hour is
 * the same object, signed or not (an ed25519 signature of the same bytes is the same): it is
 * stored once.
 */
export const beatObjects = (builder: string, files: HeartbeatFiles, carried: HeartbeatFiles | undefined, now: Date, algorithm: 'sha1' | 'sha256', sign?: CommitSpec['sign']): { beat: NewObject; objects: NewObject[] } => {
  const tree = emptyTree(algorithm);
  const who = `buildctl ${builder} <${builder}@buildctl.invalid>`;
  const epoch = Math.floor(now.getTime() / 1000);
  const parents: string[] = [];
  const objects = [tree];
  const continued = new Set(Object.keys(carried ?? {}));
  if (continued.size > 0) {
    const hour = Math.floor(epoch / 3600) * 3600;
    const parent = commitObject({ tree: tree.id, parents: [], who, zone: '+0000', time: hour, message: encodeHeartbeatMessage(`heartbeat ${builder}: what changes hourly`, carried!), sign }, algorithm);
    objects.push(parent);
    parents.push(parent.id);
  }
  const beat = commitObject({ tree: tree.id, parents, who, zone: '+0000', time: epoch, message: encodeHeartbeatMessage(`heartbeat ${builder}`, { ...Object.fromEntries([...continued].map((path) => [path, ''])), ...files }, continued), sign }, algorithm);
  objects.push(beat);
  return { beat, objects };
};

/** The beat's objects, signed with the clone's key when it has one, written as loose objects; its commit id. */
const makeCommit = async (store: Store, builder: string, files: HeartbeatFiles, carried: HeartbeatFiles | undefined, now: Date, hexLength: number): Promise<string> => {
  const signer = await loadSigner(store);
  const { beat, objects } = beatObjects(builder, files, carried, now, algorithmOf(hexLength), signer?.sign);
  writeLooseObjects(await objectsDirOf(store.dir), objects);
  return beat.id;
};

/** The heartbeat that beat ours to the ref: its commit, and host, pid and time as it says them. */
const describeOtherBeat = async (store: Store, builder: string, commit: string): Promise<OtherBeat> => {
  const ref = `${ORIGIN_HEARTBEAT_PREFIX}${builder}`;
  await git(store.dir, ['fetch', '--quiet', '--no-tags', REMOTE, `+${HEARTBEAT_PREFIX}${builder}:${ref}`], { allowFail: true });
  const read = await withReader(store, async (objects, trees) => (await readHeartbeatCommit(objects, trees, commit))?.file(`${builder}/heartbeat.json`));
  let parsed: unknown;
  try {
    parsed = JSON.parse(read?.kind === 'text' ? read.text : '');
  } catch {
    parsed = undefined;
  }
  const beat = heartbeatDoc.safeParse(parsed);
  return beat.success ? { commit, host: beat.data.host ?? null, pid: beat.data.pid ?? null, beat_at: beat.data.timestamp } : { commit, host: null, pid: null, beat_at: null };
};

/** The repository's object id length (40 SHA-1, 64 SHA-256), when no id is at hand to tell. */
const hexLengthOf = async (store: Store): Promise<number> =>
  (await git(store.dir, ['rev-parse', '--show-object-format'], { allowFail: true })).stdout.trim() === 'sha256' ? 64 : 40;

export const publishHeartbeat = async (store: Store, options: PublishOptions & { hexLength?: number }): Promise<PublishResult> => {
  const { builder } = options;
  await mkdir(store.stateDir, { recursive: true });
  const remoteRef = `${HEARTBEAT_PREFIX}${builder}`;
  // Lease file: line 1 the commit this clone last pushed, line 2 a push whose answer never came.
  const [confirmed, inFlight] = await readLease(store, builder);
  let expected = options.lease ?? (options.force || !confirmed ? undefined : confirmed);
  const tookOver = expected === undefined;
  if (expected === undefined) expected = await remoteValue(store, builder);
  if (tookOver && expected !== '') await options.onTakeOver?.(expected);

  const hexLength = options.hexLength ?? (expected.length === 40 || expected.length === 64 ? expected.length : await hexLengthOf(store));
  const commit = await makeCommit(store, builder, options.files, options.carried, options.now, hexLength);
  const tryPush = async (lease: string) => {
    await writeFile(leaseFile(store, builder), `${lease}\n${commit}\n`);
    return git(store.dir, [...(await transferSettings(store)), 'push', '--porcelain', `--force-with-lease=${remoteRef}:${lease}`, REMOTE, `${commit}:${remoteRef}`], {
      allowFail: true,
    });
  };
  let run = await tryPush(expected);
  let replaced = expected;
  if (run.code !== 0 && isLeaseFailure(run.stdout + run.stderr)) {
    const current = await remoteValue(store, builder);
    // Our previous push may have landed without us hearing back, or another process of this
    // clone beat meanwhile (its commit is in the lease file now): either way the ref is ours.
    const [nowConfirmed] = await readLease(store, builder);
    if (current !== '' && (current === inFlight || (current === nowConfirmed && current !== expected))) {
      run = await tryPush(current);
      replaced = current;
    }
    if (run.code !== 0 && isLeaseFailure(run.stdout + run.stderr)) {
      // What it wrote will never be needed: maintenance drops it.
      await journalReplaced(store.stateDir, [commit], options.now, true);
      const other = await describeOtherBeat(store, builder, current);
      await writeFile(leaseFile(store, builder), `${expected}\n`);
      const said = other.host || other.pid ? ` (its last beat: host ${other.host ?? '?'}, pid ${other.pid ?? '?'}, at ${other.beat_at ?? '?'})` : '';
      throw failedError(`another agent is heartbeating as ${builder}: the heartbeat ref moved since this clone's last beat${said}`, {
        code: 'duplicate_agent',
        hint: `two builders must not share an id: check BUILD_SERVER_ID and /etc/build_server_id on each host, and stop the agent that is not ${builder}`,
        details: { other },
      });
    }
  }
  if (run.code !== 0 && /\[remote rejected\]/.test(run.stdout)) {
    // A hook or a rule of the remote declined it (buildctl's pre-receive: a heartbeat not signed by its builder).
    const said = run.stderr.split('\n').filter((l) => l.startsWith('remote: ')).map((l) => l.slice('remote: '.length).trim()).filter(Boolean);
    throw failedError(`the remote refused the heartbeat${said.length > 0 ? `: ${said.join('; ')}` : ''}`, {
      code: 'push_refused',
      hint: `a hook or protection rule on the remote declined heartbeat/${builder}; check that this clone's key is registered for ${builder} (buildctl builder key list)`,
      details: { remote: said },
    });
  }
  if (run.code !== 0) {
    await journalReplaced(store.stateDir, [commit], options.now, true);
    throw unreachableError(`cannot push the heartbeat: ${gitReason(run.stderr)}`, {
      code: 'remote_unreachable',
      hint: 'check the network and the remote; the next heartbeat will try again',
    });
  }
  crashPoint('heartbeat-after-push');
  await writeFile(leaseFile(store, builder), `${commit}\n`);
  // The beat it replaced (and, through it, a parent no beat shares any more) is garbage now.
  await journalReplaced(store.stateDir, [replaced, inFlight ?? ''].filter((sha) => sha !== '' && sha !== commit), options.now, true);
  return { commit, tookOver };
};

const isLeaseFailure = (output: string): boolean => /stale info|\[rejected\]/.test(output);

export interface FetchedHeartbeatRef {
  sha: string;
  /** How many commits its history holds. */
  commits: number;
  /** Whether it has `<id>/metrics.jsonl`. */
  hasMetrics: boolean;
  /** Where it keeps its files: a buildctl beat's message, or a tree. */
  form: 'message' | 'tree';
}

/** A heartbeat ref as last fetched. */
export const fetchedHeartbeatRef = async (store: Store, builder: string): Promise<FetchedHeartbeatRef | undefined> => {
  const ref = `${ORIGIN_HEARTBEAT_PREFIX}${builder}`;
  const run = await git(store.dir, ['rev-list', '--count', ref], { allowFail: true });
  if (run.code !== 0) return undefined;
  return withReader(store, async (objects, trees) => {
    const beat = await readHeartbeatCommit(objects, trees, ref);
    if (!beat) return undefined;
    const metrics = await beat.file(`${builder}/metrics.jsonl`);
    return { sha: beat.commit, commits: Number(run.stdout.trim()), hasMetrics: metrics.kind === 'text', form: beat.form };
  });
};

/** Fetches one builder's heartbeat ref (it exists on the remote). */
export const fetchHeartbeatRef = async (store: Store, builder: string): Promise<void> => {
  await git(store.dir, ['fetch', '--quiet', '--no-tags', REMOTE, `+${HEARTBEAT_PREFIX}${builder}:${ORIGIN_HEARTBEAT_PREFIX}${builder}`]);
};

/**
 * Keeps the tip of an older heartbeat branch under `legacy/heartbeat/<id>` on the remote
 * before it is replaced (its history may hold what nothing else does). Returns the branch
 * name; an existing one is never overwritten (the sha is added to the name instead).
 */
export const keepLegacyRef = async (store: Store, builder: string, sha: string): Promise<string> => {
  for (const name of [`legacy/heartbeat/${builder}`, `legacy/heartbeat/${builder}-${sha.slice(0, 12)}`]) {
    const run = await git(store.dir, ['push', '--porcelain', `--force-with-lease=refs/heads/${name}:`, REMOTE, `${sha}:refs/heads/${name}`], { allowFail: true });
    if (run.code === 0) return name;
    const current = (await git(store.dir, ['ls-remote', REMOTE, `refs/heads/${name}`], { allowFail: true })).stdout.split('\t')[0]?.trim();
    if (current === sha) return name;
  }
  throw failedError(`cannot keep the older heartbeat branch of ${builder} before replacing it`, {
    code: 'push_failed',
    hint: `check that this host may push branches to the store's remote; heartbeat/${builder} was left as it is`,
  });
};
