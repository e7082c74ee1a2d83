// Documents straight from git objects, for readers and writers alike. A path is looked up
// tree by tree, so the mode of every entry on the way is known: only a regular file
// (100644, 100755) under real directories is a document. A symbolic link, a submodule or
// a directory where a document or one of its directories should be is an invalid
// document, never followed: a link's target is not read, whatever it points at. Blobs
// are raw bytes (no attribute, filter or encoding applies), and a blob over the size limit
// is never even buffered.
import { MAX_DOCUMENT_BYTES, sizeProblem } from '../schemas/json-text.js';
import type { Problem } from '../schemas/issues.js';
import type { ObjectReader } from './git.js';

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
