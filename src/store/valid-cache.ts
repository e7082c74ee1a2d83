// Blobs this clone has already validated. A document whose bytes are exactly what buildctl
// writes (canonical) and that passed its schema passes again: git names it by the hash of
// those bytes, so a later read of the same blob skips zod (and the bounds scan) and only
// parses the JSON. Each file starts with a fingerprint of the schema sources, set by the
// build, so a new schema starts a new cache; without a fingerprint (tests running the
// sources) the cache is off.
//
// Two kinds of documents are worth remembering, each in a file of its own:
// - `valid-blobs`: documents large enough for validation to cost something (the job queue,
//   the messages, archives); a status.json alone validates faster than a line of this file
//   can be read. A process adds what it validated in one append when it is done (`flush`);
//   past MAX_LINES the file is rewritten once with the newest half.
// - `valid-builder-docs`: the documents there is one of per builder (status.json, the
//   heartbeat), which a view of the fleet reads by the hundred. Only a path's latest blob is
//   kept (a heartbeat's file is named by its commit and path: every beat is a new one), so
//   the file holds about one line per document, and a churn of heartbeats never pushes the
//   large documents out of theirs.
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-write.js';

declare const __BUILDCTL_SCHEMA_FINGERPRINT__: string | undefined;

const fingerprint = (): string | undefined =>
  typeof __BUILDCTL_SCHEMA_FINGERPRINT__ === 'string' ? __BUILDCTL_SCHEMA_FINGERPRINT__ : undefined;

/** Documents smaller than this are validated every time: cheaper than remembering them. */
export const CACHE_MIN_BYTES = 16 * 1024;
const MAX_LINES = 512;

export interface ValidCache {
  /** Whether a blob is worth a cache entry at all (`perBuilder`: one of a builder's own documents, DocSpec.perBuilder). */
  worth(text: string, perBuilder?: boolean): boolean;
  has(sha: string, path: string, perBuilder?: boolean): Promise<boolean>;
  /** Remembers a validated canonical blob; written by `flush`. */
  add(sha: string, path: string, perBuilder?: boolean): void;
  /** Writes what was added (one append per file); never fails. */
  flush(): Promise<void>;
}

/** A cache file: its fingerprint line, then `<sha> <path>` lines. */
const readLines = (file: string, print: string): Promise<{ lines: string[]; current: boolean }> =>
  readFile(file, 'utf8').then(
    (text) => {
      const [head = '', ...lines] = text.split('\n').filter((line) => line !== '');
      return head === print ? { lines, current: true } : { lines: [], current: false };
    },
    () => ({ lines: [], current: false }),
  );

export const openValidCache = (stateDir: string, options: { fingerprint?: string } = {}): ValidCache => {
  const print = options.fingerprint ?? fingerprint();
  const file = join(stateDir, 'valid-blobs');
  const builderFile = join(stateDir, 'valid-builder-docs');
  const added: string[] = [];
  const addedPerBuilder = new Map<string, string>();
  let loaded: Promise<{ keys: Set<string>; lines: string[]; current: boolean }> | undefined;
  const load = () => (loaded ??= readLines(file, print ?? '').then(({ lines, current }) => ({ keys: new Set(lines), lines, current })));
  // path -> its latest validated blob; `lines` counts the file's lines (a rewrite drops the replaced ones).
  let loadedPerBuilder: Promise<{ latest: Map<string, string>; lines: number; current: boolean }> | undefined;
  const loadPerBuilder = () =>
    (loadedPerBuilder ??= readLines(builderFile, print ?? '').then(({ lines, current }) => {
      const latest = new Map<string, string>();
      for (const line of lines) {
        const space = line.indexOf(' ');
        if (space > 0) latest.set(line.slice(space + 1), line.slice(0, space));
      }
      return { latest, lines: lines.length, current };
    }));

  const flushLarge = async (): Promise<void> => {
    if (added.length === 0) return;
    const cache = await load();
    const fresh = [...new Set(added.splice(0))].filter((key) => !cache.keys.has(key));
    if (fresh.length === 0) return;
    for (const key of fresh) cache.keys.add(key);
    if (!cache.current || cache.lines.length + fresh.length > MAX_LINES) {
      // A new schema, or full: start again with the newest entries.
      const kept = [...cache.lines, ...fresh].slice(-MAX_LINES / 2);
      await writeFileAtomic(file, `${print}\n${kept.map((line) => `${line}\n`).join('')}`);
      cache.lines = kept;
      cache.current = true;
    } else {
      await appendFile(file, fresh.map((line) => `${line}\n`).join(''));
      cache.lines.push(...fresh);
    }
  };
  const flushPerBuilder = async (): Promise<void> => {
    if (addedPerBuilder.size === 0) return;
    const cache = await loadPerBuilder();
    const fresh = [...addedPerBuilder].filter(([path, sha]) => cache.latest.get(path) !== sha);
    addedPerBuilder.clear();
    if (fresh.length === 0) return;
    for (const [path, sha] of fresh) cache.latest.set(path, sha);
    // Replaced lines pile up as builders beat: past twice the live ones, the file is rewritten with the live ones.
    if (!cache.current || cache.lines + fresh.length > 2 * cache.latest.size + 64) {
      await writeFileAtomic(builderFile, `${print}\n${[...cache.latest].map(([path, sha]) => `${sha} ${path}\n`).join('')}`);
      cache.lines = cache.latest.size;
      cache.current = true;
    } else {
      await appendFile(builderFile, fresh.map(([path, sha]) => `${sha} ${path}\n`).join(''));
      cache.lines += fresh.length;
    }
  };

  return {
    worth: (text, perBuilder = false) => print !== undefined && (perBuilder || text.length >= CACHE_MIN_BYTES),
    has: async (sha, path, perBuilder = false) => {
      if (print === undefined) return false;
      return perBuilder ? (await loadPerBuilder()).latest.get(path) === sha : (await load()).keys.has(`${sha} ${path}`);
    },
    add: (sha, path, perBuilder = false) => {
      if (print === undefined) return;
      if (perBuilder) addedPerBuilder.set(path, sha);
      else added.push(`${sha} ${path}`);
    },
    flush: async () => {
      if (print === undefined) return;
      // Only a cache: a write that fails leaves the next read to validate again.
      await Promise.all([flushLarge().catch(() => undefined), flushPerBuilder().catch(() => undefined)]);
    },
  };
};
