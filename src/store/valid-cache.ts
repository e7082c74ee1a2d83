// Blobs this clone has already validated. A document whose bytes are exactly what buildctl
// writes (canonical) and that passed its schema passes again: git names it by the hash of
// those bytes, so a later read of the same blob skips zod and only parses the JSON. Keys
// carry a fingerprint of the schema sources, set by the build, so a new schema starts a
// new cache; without a fingerprint (tests running the sources) the cache is off.
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

declare const __BUILDCTL_SCHEMA_FINGERPRINT__: string | undefined;

const fingerprint = (): string | undefined =>
  typeof __BUILDCTL_SCHEMA_FINGERPRINT__ === 'string' ? __BUILDCTL_SCHEMA_FINGERPRINT__ : undefined;

const MAX_ENTRIES = 2000;

export interface ValidCache {
  has(sha: string, path: string): Promise<boolean>;
  add(sha: string, path: string): Promise<void>;
}

export const openValidCache = (stateDir: string): ValidCache => {
  const print = fingerprint();
  const file = join(stateDir, 'valid-blobs');
  let loaded: Promise<{ keys: Set<string>; lines: number }> | undefined;
  const load = () =>
    (loaded ??= readFile(file, 'utf8').then(
      (text) => {
        const lines = text.split('\n').filter((line) => line !== '');
        return { keys: new Set(lines.filter((line) => line.startsWith(`${print} `)).map((line) => line.slice(print!.length + 1))), lines: lines.length };
      },
      () => ({ keys: new Set<string>(), lines: 0 }),
    ));
  return {
    has: async (sha, path) => print !== undefined && (await load()).keys.has(`${sha} ${path}`),
    add: async (sha, path) => {
      if (print === undefined) return;
      const cache = await load();
      cache.keys.add(`${sha} ${path}`);
      const line = `${print} ${sha} ${path}\n`;
      // Bounded: past the limit, keep only this fingerprint's newest entries.
      if (cache.lines + 1 > MAX_ENTRIES) {
        const kept = [...cache.keys].slice(-MAX_ENTRIES / 2);
        await writeFile(file, kept.map((key) => `${print} ${key}\n`).join('')).catch(() => undefined);
        cache.lines = kept.length;
      } else {
        await appendFile(file, line).catch(() => undefined);
        cache.lines++;
      }
    },
  };
};
