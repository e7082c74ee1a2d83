// The cache of validated blobs (store/valid-cache.ts), on a real state directory: large
// documents and a builder's own documents are remembered in files of their own; of the
// latter only each path's latest blob, so the file stays about one line per document
// however many beats go by; a new schema fingerprint trusts nothing remembered before.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openValidCache } from '../../src/store/valid-cache.js';
import { tempDir } from '../helpers/fleet.js';

let scratch: ReturnType<typeof tempDir> | undefined;
afterEach(() => scratch?.cleanup());

const sha = (round: number, i: number): string => `${round.toString(16).padStart(8, '0')}${i.toString(16).padStart(32, '0')}`;
const lines = (file: string): string[] => readFileSync(file, 'utf8').split('\n').filter((line) => line !== '');

describe('the valid-blob cache', () => {
  it('keeps only the latest blob of each builder document, in a file that stays about one line per document', async () => {
    scratch = tempDir('buildctl-valid-cache-');
    const paths = Array.from({ length: 50 }, (_, i) => `build${i + 1}/heartbeat.json`);
    for (let round = 0; round < 30; round++) {
      const cache = openValidCache(scratch.dir, { fingerprint: 'f1' });
      for (const [i, path] of paths.entries()) {
        if (round > 0) expect(await cache.has(sha(round - 1, i), path, true)).toBe(true);
        cache.add(sha(round, i), path, true);
      }
      await cache.flush();
    }
    const file = join(scratch.dir, 'valid-builder-docs');
    expect(lines(file).length).toBeLessThanOrEqual(1 + 2 * paths.length + 64);
    const cache = openValidCache(scratch.dir, { fingerprint: 'f1' });
    expect(await cache.has(sha(29, 3), paths[3]!, true)).toBe(true);
    expect(await cache.has(sha(28, 3), paths[3]!, true)).toBe(false); // replaced
    expect(await cache.has(sha(29, 3), paths[4]!, true)).toBe(false); // another path's blob
    // The large documents' file is another: a builder document never lands there.
    expect(await cache.has(sha(29, 3), paths[3]!)).toBe(false);
  });

  it('a churn of builder documents leaves the large documents remembered', async () => {
    scratch = tempDir('buildctl-valid-cache-');
    const first = openValidCache(scratch.dir, { fingerprint: 'f1' });
    first.add('a'.repeat(40), 'coordination/jobs.json');
    await first.flush();
    for (let round = 0; round < 20; round++) {
      const cache = openValidCache(scratch.dir, { fingerprint: 'f1' });
      for (let i = 0; i < 200; i++) cache.add(sha(round, i), `build${i}/heartbeat.json`, true);
      await cache.flush();
    }
    expect(await openValidCache(scratch.dir, { fingerprint: 'f1' }).has('a'.repeat(40), 'coordination/jobs.json')).toBe(true);
  });

  it('trusts nothing remembered under another schema fingerprint', async () => {
    scratch = tempDir('buildctl-valid-cache-');
    const before = openValidCache(scratch.dir, { fingerprint: 'f1' });
    before.add(sha(0, 1), 'build1/status.json', true);
    before.add('b'.repeat(40), 'coordination/messages.json');
    await before.flush();
    const after = openValidCache(scratch.dir, { fingerprint: 'f2' });
    expect(await after.has(sha(0, 1), 'build1/status.json', true)).toBe(false);
    expect(await after.has('b'.repeat(40), 'coordination/messages.json')).toBe(false);
    after.add(sha(0, 2), 'build2/status.json', true);
    await after.flush();
    expect(lines(join(scratch.dir, 'valid-builder-docs'))).toEqual(['f2', `${sha(0, 2)} build2/status.json`]);
  });
});
