// Documents straight from git objects, for readers and writers alike. A path is looked up
// tree by tree, so the mode of every entry on the way is known: only a regular file
// (100644, 100755) under real directories is a document. A symbolic link, a submodule or
// a directory where a document or one of its directories should be is an invalid
// document, never followed: a link's target is not read, whatever it points at. Blobs
// are raw bytes (no attribute, filter or encoding applies), and a blob over the size limit
// is never even buffered.
import { createHash, randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { constants as zlibConstants, deflateSync, inflateSync } from 'node:zlib';
import { MAX_DOCUMENT_BYTES, sizeProblem } from '../schemas/json-text.js';
import type { Problem } from '../schemas/issues.js';
import type { GitObject, ObjectReader } from './git.js';

export const MODE_TREE = '40000';
const REGULAR = new Set(['100644', '100755']);

export interface TreeEntry {
  mode: string;
  sha: string;
}

/** What a mode is, in words for an operator. */
export const describeMode = (mode: string): string => {
  if (REGULAR.has(mode)) return 'a regular file';
  if (mode === '120000') return 'a symbolic link';
  if (mode === '160000') return 'a submodule (gitlink)';
  if (mode === MODE_TREE) return 'a directory';
  return `an entry of mode ${mode}`;
};

export const isRegularFile = (mode: string): boolean => REGULAR.has(mode);

/** The problem with an entry that is not what a document path needs there. */
export const notRegular = (at: string, mode: string, expected: 'a regular file' | 'a directory'): Problem => ({
  path: '',
  reason: `${at} is ${describeMode(mode)}, not ${expected}: buildctl never follows or reads it`,
});

/** Parses a raw tree object: `<mode> <name>\0<hash bytes>` repeated. */
export const parseTree = (body: Buffer, hashBytes: number): Map<string, TreeEntry> => {
  const entries = new Map<string, TreeEntry>();
  let offset = 0;
  while (offset < body.length) {
    const space = body.indexOf(0x20, offset);
    const nul = body.indexOf(0, space);
    if (space < 0 || nul < 0) throw new Error('malformed git tree object');
    const mode = body.toString('latin1', offset, space);
    const name = body.toString('utf8', space + 1, nul);
    entries.set(name, { mode, sha: body.toString('hex', nul + 1, nul + 1 + hashBytes) });
    offset = nul + 1 + hashBytes;
  }
  return entries;
};

export type Located =
  | { kind: 'file'; mode: string; sha: string }
  | { kind: 'missing' }
  /** Something other than a regular file at the path, or other than a directory on the way to it. */
  | { kind: 'not-regular'; problem: Problem };

export type BlobRead = { kind: 'text'; text: string; sha: string; mode: string } | { kind: 'missing' } | { kind: 'invalid'; problem: Problem };

export interface TreeReader {
  /** Where `path` leads in the tree `root` (a tree or commit sha). */
  locate(root: string, path: string): Promise<Located>;
  /** The document at `path` under `root`: its text, missing, or why it is not a document. */
  readText(root: string, path: string): Promise<BlobRead>;
  /** The tree entries of `tree`, parsed once per reader. */
  entries(tree: string): Promise<Map<string, TreeEntry>>;
}

/**
 * A reader of trees and documents over one `cat-file --batch` process. Trees are named by
 * their hash, so caching them for the reader's life is always right.
 */
export const treeReader = (objects: ObjectReader): TreeReader => {
  const trees = new Map<string, Promise<Map<string, TreeEntry>>>();
  const entries = (tree: string): Promise<Map<string, TreeEntry>> => {
    let parsed = trees.get(tree);
    if (!parsed) {
      parsed = objects.readObject(`${tree}^{tree}`).then((object) => {
        if (!object?.body) throw new Error(`git tree ${tree} is missing from the clone`);
        return parseTree(object.body, object.sha.length / 2);
      });
      trees.set(tree, parsed);
    }
    return parsed;
  };

  const locate = async (root: string, path: string): Promise<Located> => {
    const parts = path.split('/');
    let tree = root;
    for (let i = 0; i < parts.length; i++) {
      const entry = (await entries(tree)).get(parts[i]!);
      if (!entry) return { kind: 'missing' };
      const at = parts.slice(0, i + 1).join('/');
      const last = i === parts.length - 1;
      if (last) {
        if (isRegularFile(entry.mode)) return { kind: 'file', mode: entry.mode, sha: entry.sha };
        return { kind: 'not-regular', problem: notRegular(at, entry.mode, 'a regular file') };
      }
      if (entry.mode !== MODE_TREE) return { kind: 'not-regular', problem: notRegular(at, entry.mode, 'a directory') };
      tree = entry.sha;
    }
    return { kind: 'missing' };
  };

  return {
    entries,
    locate,
    readText: async (root, path) => {
      const located = await locate(root, path);
      if (located.kind === 'missing') return located;
      if (located.kind === 'not-regular') return { kind: 'invalid', problem: located.problem };
      const object = await objects.readObject(located.sha, { maxBytes: MAX_DOCUMENT_BYTES });
      if (!object) throw new Error(`git blob ${located.sha} (${path}) is missing from the clone`);
      if (!object.body) return { kind: 'invalid', problem: sizeProblem(object.size) };
      return { kind: 'text', text: object.body.toString('utf8'), sha: object.sha, mode: located.mode };
    },
  };
};

// ---------------------------------------------------------------------------------------
// Writing: the new blobs, trees and commit of a transaction, computed here (object ids the
// way git computes them, in the repository's own hash: 40 hex digits SHA-1, 64 SHA-256) and
// stored as loose objects the way git stores them: no git process on a transaction's path
// between its fetch and its push.

export interface NewFile {
  path: string;
  mode: string;
  text: string;
}

export interface NewObject {
  type: 'commit' | 'tree' | 'blob';
  /** The object as git hashes and stores it: `<type> <size>\0` and the body. */
  raw: Buffer;
  /** The body: a view of `raw`. */
  body: Buffer;
  id: string;
}

export const algorithmOf = (hexLength: number): 'sha1' | 'sha256' => (hexLength === 64 ? 'sha256' : 'sha1');

/** An object whose body is `size` bytes that `fill` writes at `offset` of the raw buffer: one allocation, however large. */
const objectOf = (type: NewObject['type'], size: number, fill: (raw: Buffer, offset: number) => void, algorithm: 'sha1' | 'sha256'): NewObject => {
  const header = `${type} ${size}\0`;
  const raw = Buffer.allocUnsafe(header.length + size);
  raw.write(header, 0, 'latin1');
  fill(raw, header.length);
  return { type, raw, body: raw.subarray(header.length), id: createHash(algorithm).update(raw).digest('hex') };
};

export const newObject = (type: NewObject['type'], body: Buffer, algorithm: 'sha1' | 'sha256'): NewObject =>
  objectOf(type, body.length, (raw, offset) => body.copy(raw, offset), algorithm);

/** A blob of `text` in UTF-8, encoded straight into the object (a large document is copied once). */
const blobOf = (text: string, algorithm: 'sha1' | 'sha256'): NewObject =>
  objectOf('blob', Buffer.byteLength(text), (raw, offset) => void raw.write(text, offset, 'utf8'), algorithm);

/** git's tree order: names compared bytewise, a directory as if its name ended in "/". */
const treeOrder = ([a, x]: [string, TreeEntry], [b, y]: [string, TreeEntry]): number =>
  Buffer.compare(Buffer.from(x.mode === MODE_TREE ? `${a}/` : a), Buffer.from(y.mode === MODE_TREE ? `${b}/` : b));

const encodeTree = (entries: Map<string, TreeEntry>): Buffer =>
  Buffer.concat([...entries].sort(treeOrder).flatMap(([name, entry]) => [Buffer.from(`${entry.mode} ${name}\0`), Buffer.from(entry.sha, 'hex')]));

/** The empty tree: what a heartbeat commit points at (its files ride in the commit itself). */
const EMPTY_TREES = { sha1: newObject('tree', Buffer.alloc(0), 'sha1'), sha256: newObject('tree', Buffer.alloc(0), 'sha256') } as const;
export const emptyTree = (algorithm: 'sha1' | 'sha256'): NewObject => EMPTY_TREES[algorithm];

/**
 * The trees of `root` (undefined: an empty tree) with `files` put in place, bottom up,
 * and the blobs: every object that is new. Only the trees on the changed paths change.
 */
const buildTrees = async (trees: TreeReader | undefined, root: string | undefined, files: readonly NewFile[], algorithm: 'sha1' | 'sha256'): Promise<{ root: string; objects: NewObject[]; blobs: Map<string, string> }> => {
  const objects: NewObject[] = [];
  const blobs = new Map<string, string>();
  const build = async (tree: string | undefined, changes: ReadonlyArray<{ rest: string[]; file: NewFile }>): Promise<string> => {
    if (tree !== undefined && !trees) throw new Error('a tree reader is needed to change an existing tree');
    const entries = new Map(tree === undefined ? [] : await trees!.entries(tree));
    const below = new Map<string, Array<{ rest: string[]; file: NewFile }>>();
    for (const change of changes) {
      const [name, ...rest] = change.rest;
      if (rest.length === 0) {
        const blob = blobOf(change.file.text, algorithm);
        objects.push(blob);
        blobs.set(change.file.path, blob.id);
        entries.set(name!, { mode: change.file.mode, sha: blob.id });
      } else {
        below.set(name!, [...(below.get(name!) ?? []), { rest, file: change.file }]);
      }
    }
    for (const [name, inner] of below) {
      const current = entries.get(name);
      // The transaction has checked the way: a directory or nothing (never a link or a file).
      const sha = await build(current?.mode === MODE_TREE ? current.sha : undefined, inner);
      entries.set(name, { mode: MODE_TREE, sha });
    }
    const made = newObject('tree', encodeTree(entries), algorithm);
    objects.push(made);
    return made.id;
  };
  const rootId = await build(root, files.map((file) => ({ rest: file.path.split('/'), file })));
  return { root: rootId, objects, blobs };
};

/** Where a repository keeps its objects: `<dir>/.git/objects` in a clone, `<dir>/objects` in a bare repository. */
export const objectsDirAt = (dir: string): string => (statSync(join(dir, '.git'), { throwIfNoEntry: false })?.isDirectory() ? join(dir, '.git', 'objects') : join(dir, 'objects'));
export const objectsDirOf = async (dir: string): Promise<string> => objectsDirAt(dir);

/** The file of a loose object (`objectsDir` as objectsDirAt gives it, already normal: no join for each of the hundreds of objects a view reads). */
export const looseObjectPath = (objectsDir: string, id: string): string => `${objectsDir}/${id.slice(0, 2)}/${id.slice(2)}`;

/** Bytes of a loose object's file that surely hold its header: a block's code tables (a few hundred bytes at most) come before it. */
const HEAD_BYTES = 4096;

/**
 * A loose object read in this process: its file, inflated (`<type> <size>\0<body>`). A git
 * process opens a loose object about three times to answer for it, and a view of 200
 * builders reads hundreds of them (each transaction writes its objects loose). Undefined
 * when there is no such file or it does not read as one object (git then answers: a packed
 * object, an alternate's, or git's own error for a corrupt file). Never inflates past
 * `maxBytes`: only the header, when the object is larger.
 */
export const readLooseObject = (objectsDir: string, sha: string, maxBytes = Number.POSITIVE_INFINITY): GitObject | undefined => {
  const path = looseObjectPath(objectsDir, sha);
  // Most objects of a collected store are packed: asking first costs no exception (a failed
  // read throws one, and 400 of them were 3 ms and garbage in a view of 200 builders).
  if (statSync(path, { throwIfNoEntry: false }) === undefined) return undefined;
  try {
    const compressed = readFileSync(path);
    const head = compressed.length <= HEAD_BYTES ? inflateSync(compressed) : inflateSync(compressed.subarray(0, HEAD_BYTES), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    const nul = head.indexOf(0);
    const match = nul > 0 ? /^(commit|tree|blob|tag) (\d+)$/.exec(head.toString('latin1', 0, nul)) : null;
    if (!match) return undefined;
    const [, type = '', sizeText = ''] = match;
    const size = Number(sizeText);
    if (size > maxBytes) return { sha, type, size, body: undefined };
    const raw = compressed.length <= HEAD_BYTES ? head : inflateSync(compressed, { maxOutputLength: nul + 1 + size + 1 });
    if (raw.length !== nul + 1 + size) return undefined;
    return { sha, type, size, body: raw.subarray(nul + 1) };
  } catch {
    return undefined; // gone meanwhile, or not an object git wrote: git says what it is
  }
};

/**
 * Stores objects as loose objects, as git itself does: `<type> <size>\0<body>` deflated
 * (at git's default level for loose objects, 1), written to a temporary file beside its
 * place and linked there, so no reader ever sees half an object. One already there is
 * kept, and its time refreshed (git's "freshen"), so that a prune running meanwhile counts
 * it as new.
 */
export const writeLooseObjects = (objectsDir: string, objects: readonly NewObject[]): void => {
  // Synchronous on purpose: a handful of small files, where each round trip through the
  // event loop costs more than the write itself.
  const seen = new Set<string>();
  for (const object of objects) {
    if (seen.has(object.id)) continue;
    seen.add(object.id);
    const path = looseObjectPath(objectsDir, object.id);
    const now = new Date();
    try {
      utimesSync(path, now, now);
      continue;
    } catch {
      // not there yet (or not ours to touch): write it
    }
    const fanout = dirname(path);
    mkdirSync(fanout, { recursive: true });
    const temporary = join(fanout, `tmp_obj_buildctl_${process.pid}_${randomBytes(6).toString('hex')}`);
    writeFileSync(temporary, deflateSync(object.raw, { level: 1 }), { mode: 0o444 });
    try {
      linkSync(temporary, path);
    } catch (error) {
      // Already there (another writer of the same object), or a file system without links.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') renameSync(temporary, path);
    } finally {
      rmSync(temporary, { force: true });
    }
  }
};

export interface CommitSpec {
  /** The parent commit and its tree; undefined for a store's first commit. */
  parent: { commit: string; tree: string } | undefined;
  files: readonly NewFile[];
  message: string;
  /** `Name <email>`, and the time zone as git writes it (+0100). */
  who: string;
  zone: string;
  /** Commit time, seconds since the epoch. */
  time: number;
  /**
   * Signs the commit: given the commit as git would hash it without a signature, returns an
   * armored SSH signature (store/sshsig.ts). Undefined: an unsigned commit.
   */
  sign?: ((payload: Buffer) => string) | undefined;
}

/** The header a commit's signature lives in, by the repository's hash (as git writes it). */
const signatureHeader = (algorithm: 'sha1' | 'sha256'): string => (algorithm === 'sha256' ? 'gpgsig-sha256' : 'gpgsig');

/**
 * The commit's bytes: headers, then (when signed) the signature as a header whose later
 * lines start with a space, then a blank line and the message. What is signed is the same
 * commit without that header, which is what `git verify-commit` checks.
 */
export const commitBody = (headers: string, message: string, sign: CommitSpec['sign'], algorithm: 'sha1' | 'sha256'): Buffer => {
  const payload = Buffer.from(`${headers}\n${message}`);
  if (!sign) return payload;
  const signature = sign(payload).replace(/\n$/, '').split('\n').join('\n ');
  return Buffer.from(`${headers}${signatureHeader(algorithm)} ${signature}\n\n${message}`);
};

/**
 * The one place a commit object is built: tree, parents, author and committer, message,
 * signed when `sign` is given. Every commit buildctl makes comes from here: main's,
 * heartbeats' and the seed.
 */
export const commitObject = (
  spec: { tree: string; parents: readonly string[]; who: string; zone: string; time: number; message: string; sign?: CommitSpec['sign'] },
  algorithm: 'sha1' | 'sha256',
): NewObject => {
  const ident = `${spec.who} ${spec.time} ${spec.zone}`;
  const parents = spec.parents.map((parent) => `parent ${parent}\n`).join('');
  return newObject('commit', commitBody(`tree ${spec.tree}\n${parents}author ${ident}\ncommitter ${ident}\n`, spec.message, spec.sign, algorithm), algorithm);
};

export interface WrittenCommit {
  commit: string;
  /** The blob id of each file written, by path. */
  blobs: ReadonlyMap<string, string>;
}

/**
 * Writes the commit of `spec` (its blobs, trees and the commit itself, signed when `spec`
 * says how) into the repository as loose objects: raw bytes, so no attribute or filter
 * applies. Nothing refers to the commit until its push lands.
 */
export const writeCommitObjects = async (dir: string, trees: TreeReader | undefined, spec: CommitSpec, hexLength: number): Promise<WrittenCommit> => {
  const algorithm = algorithmOf(hexLength);
  const { root, objects, blobs } = await buildTrees(trees, spec.parent?.tree, spec.files, algorithm);
  const commit = commitObject({ tree: root, parents: spec.parent ? [spec.parent.commit] : [], who: spec.who, zone: spec.zone, time: spec.time, message: spec.message, sign: spec.sign }, algorithm);
  writeLooseObjects(await objectsDirOf(dir), [...objects, commit]);
  return { commit: commit.id, blobs };
};

// ---------------------------------------------------------------------------------------
// Reading a commit: its headers, message and signature, from the raw object.

export interface ParsedCommit {
  tree: string;
  parents: string[];
  /** Committer time, seconds since the epoch (the writer's clock). */
  time: number;
  message: string;
  /** The bytes a signature covers: the commit without its signature headers. */
  payload: Buffer;
  /** The armored signature, when the commit carries one. */
  signature: string | undefined;
}

/**
 * Parses a raw commit object (as `cat-file` gives it). Only the headers are decoded as
 * text; an unsigned commit's payload is its body as it is (nothing to leave out), so a
 * reader of hundreds of heartbeat commits copies none of their files.
 */
export const parseCommit = (body: Buffer): ParsedCommit => {
  const end = body.indexOf('\n\n');
  const head = body.toString('latin1', 0, end < 0 ? body.length : end + 1);
  const kept: string[] = [];
  const signature: string[] = [];
  let inSignature = false;
  let tree = '';
  const parents: string[] = [];
  let time = 0;
  for (const line of head.split('\n').slice(0, -1)) {
    if (line.startsWith(' ') && inSignature) {
      signature.push(line.slice(1));
      continue;
    }
    inSignature = false;
    const space = line.indexOf(' ');
    const name = line.slice(0, space);
    const value = line.slice(space + 1);
    if (name === 'gpgsig' || name === 'gpgsig-sha256') {
      inSignature = true;
      signature.push(value);
      continue;
    }
    kept.push(line);
    if (name === 'tree') tree = value;
    else if (name === 'parent') parents.push(value);
    else if (name === 'committer') time = Number(/ (\d+) [+-]\d{4}$/.exec(value)?.[1] ?? 0);
  }
  // Unsigned, every header line is kept: the payload is the body itself.
  const whole = signature.length === 0 && end >= 0;
  return {
    tree,
    parents,
    time,
    message: end < 0 ? '' : body.toString('utf8', end + 2),
    payload: whole ? body : Buffer.concat([Buffer.from(kept.map((line) => `${line}\n`).join(''), 'latin1'), end < 0 ? Buffer.alloc(0) : body.subarray(end + 1)]),
    signature: signature.length > 0 ? `${signature.join('\n')}\n` : undefined,
  };
};
