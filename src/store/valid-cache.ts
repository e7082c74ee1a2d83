// Blobs this clone has already validated. A document whose bytes are exactly what buildctl
// writes (canonical) and that passed its schema passes again: git names it by the hash of
// those bytes, so a later read of the same blob skips zod (and the bounds scan) and only
// parses the JSON. The file starts with a fingerprint of the schema sources, set by the
// build, so a new schema starts a new cache; without a fingerprint (tests running the
// sources) the cache is off.
//
// Only documents large enough for validation to cost something are remembered (the job
// queue, the messages, archives): a status.json validates in microseconds, faster than a
// line of this file can be read. A process adds what it validated in one append when it
// is done (`flush`); past MAX_LINES the file is rewritten once with the newest half.
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
  /** Whether a blob is worth a cache entry at all. */
  worth(text: string): boolean;
  has(sha: string, path: string): Promise<boolean>;
  /** Remembers a validated canonical blob; written by `flush`. */
  add(sha: string, path: string): void;
  /** Writes what was added (one append); never fails. */
  flush(): Promise<void>;
}

export const openValidCache = (stateDir: string, options: { fingerprint?: string } = {}): ValidCache => {
  const print = options.fingerprint ?? fingerprint();
  const file = join(stateDir, 'valid-blobs');
  const added: string[] = [];
  let loaded: Promise<{ keys: Set<string>; lines: string[]; current: boolean }> | undefined;
  const load = () =>
    (loaded ??= readFile(file, 'utf8').then(
      (text) => {
        const [head = '', ...lines] = text.split('\n').filter((line) => line !== '');
        const current = head === print;
        return { keys: new Set(current ? lines : []), lines: current ? lines : [], current };
      },
      () => ({ keys: new Set<string>(), lines: [] as string[], current: false }),
    ));
  return {
    worth: (text) => print !== undefined && text.length >= CACHE_MIN_BYTES,
    has: async (sha, path) => print !== undefined && (await load()).keys.has(`${sha} ${path}`),
    add: (sha, path) => {
      if (print !== undefined) added.push(`${sha} ${path}`);
    },
    flush: async () => {
      if (print === undefined || added.length === 0) return;
      const cache = await load();
      const fresh = [...new Set(added.splice(0))].filter((key) => !cache.keys.has(key));
      if (fresh.length === 0) return;
      for (const key of fresh) cache.keys.add(key);
      try {
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
      } catch {
        // Only a cache: the next read validates again.
      }
    },
  };
};
