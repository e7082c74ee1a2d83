// Commits built from objects (store/objects.ts) are the commits git itself would build:
// same ids, sorted trees, fsck-clean, only the changed paths touched, file modes kept.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openObjectReader } from '../../src/store/git.js';
import { readLooseObject, treeReader, writeCommitObjects } from '../../src/store/objects.js';
import { gitSync, tempDir } from '../helpers/fleet.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

const repo = (): string => {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  gitSync(dir, ['init', '-q', '-b', 'main']);
  return dir;
};

const WHO = { who: 'buildctl test <test@buildctl.invalid>', zone: '+0000', time: 1_700_000_000 };

describe('writeCommitObjects', () => {
  it('writes a first commit with nested paths in git tree order, as git would', async () => {
    const dir = repo();
    // "a" is a directory, so it sorts as "a/": after "a.b" and "a-c" ("-" and "." come before "/").
    const files = ['a/x.json', 'a.b', 'a-c', 'b/c/d.json', 'A'].map((path) => ({ path, mode: '100644', text: `${path}\n` }));
    const { commit } = await writeCommitObjects(dir, undefined, { parent: undefined, files, message: 'first\n', ...WHO }, 40);
    gitSync(dir, ['update-ref', 'refs/heads/main', commit]);
    expect(gitSync(dir, ['fsck', '--strict', '--no-dangling'])).toBe('');
    expect(gitSync(dir, ['ls-tree', '-r', '--name-only', 'main']).trim().split('\n')).toEqual(['A', 'a-c', 'a.b', 'a/x.json', 'b/c/d.json']);
    expect(gitSync(dir, ['show', 'main:b/c/d.json'])).toBe('b/c/d.json\n');
    // The same tree through git's own index: the same id.
    const check = repo();
    for (const file of files) {
      const blob = gitSync(check, ['hash-object', '-w', '--stdin'], file.text).trim();
      gitSync(check, ['update-index', '--add', '--cacheinfo', `100644,${blob},${file.path}`]);
    }
    expect(gitSync(check, ['write-tree']).trim()).toBe(gitSync(dir, ['rev-parse', 'main^{tree}']).trim());
  });

  it('on a parent: touches only the changed paths, keeps an executable mode, leaves everything else shared', async () => {
    const dir = repo();
    const { commit: first } = await writeCommitObjects(
      dir,
      undefined,
      { parent: undefined, files: [{ path: 'keep/one.json', mode: '100644', text: '1\n' }, { path: 'tools/run.sh', mode: '100755', text: 'echo\n' }, { path: 'c/x.json', mode: '100644', text: 'x\n' }], message: 'first\n', ...WHO },
      40,
    );
    const reader = openObjectReader(dir);
    try {
      const tree = gitSync(dir, ['rev-parse', `${first}^{tree}`]).trim();
      const { commit: second } = await writeCommitObjects(
        dir,
        treeReader(reader),
        { parent: { commit: first, tree }, files: [{ path: 'c/x.json', mode: '100644', text: 'changed\n' }, { path: 'tools/run.sh', mode: '100755', text: 'echo 2\n' }, { path: 'c/new/y.json', mode: '100644', text: 'y\n' }], message: 'second\n\nBuildctl-Op: test\n', ...WHO },
        40,
      );
      gitSync(dir, ['update-ref', 'refs/heads/main', second]);
      expect(gitSync(dir, ['fsck', '--strict', '--no-dangling'])).toBe('');
      expect(gitSync(dir, ['rev-parse', 'main^']).trim()).toBe(first);
      expect(gitSync(dir, ['rev-parse', 'main:keep']).trim()).toBe(gitSync(dir, ['rev-parse', `${first}:keep`]).trim());
      expect(gitSync(dir, ['ls-tree', 'main', 'tools/run.sh'])).toMatch(/^100755 blob /);
      expect(gitSync(dir, ['diff', '--name-only', first, 'main']).trim().split('\n')).toEqual(['c/new/y.json', 'c/x.json', 'tools/run.sh']);
      expect(gitSync(dir, ['log', '-1', '--format=%an <%ae> %at%n%B', 'main'])).toBe('buildctl test <test@buildctl.invalid> 1700000000\nsecond\n\nBuildctl-Op: test\n\n');
    } finally {
      reader.close();
    }
  });
});

describe('an object reader', () => {
  const blobOf = (dir: string, text: string): string => gitSync(dir, ['hash-object', '-w', '--stdin'], text).trim();
  const gitBytes = (dir: string, args: string[]): Buffer => spawnSync('git', args, { cwd: dir }).stdout;

  it('answers loose objects itself with what git would say, and packed ones, ref names and paths through git', async () => {
    const dir = repo();
    const small = blobOf(dir, 'small\n');
    const big = blobOf(dir, 'x'.repeat(200_000));
    // Git's own deflate of a document: its code tables come before the header, in a file of many KB.
    const lines = Array.from({ length: 2000 }, (_, i) => `{"id": "msg_${randomBytes(8).toString('hex')}", "n": ${i}}\n`).join('');
    const varied = blobOf(dir, lines);
    gitSync(dir, ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '--allow-empty', '-m', 'one']);
    const commit = gitSync(dir, ['rev-parse', 'HEAD']).trim();
    const objects = openObjectReader(dir);
    try {
      for (const id of [small, big, varied, commit]) {
        // Read here, without git (a file git deflated reads as one object)...
        const here = readLooseObject(join(dir, '.git', 'objects'), id);
        expect(here?.body?.equals(gitBytes(dir, ['cat-file', here.type, id])), id).toBe(true);
        // ... and the same through the reader.
        const read = await objects.readObject(id);
        expect(read?.type).toBe(gitSync(dir, ['cat-file', '-t', id]).trim());
        expect(read?.body?.equals(gitBytes(dir, ['cat-file', read!.type, id]))).toBe(true);
      }
      // Over the limit: its size, never its bytes.
      expect(await objects.readObject(big, { maxBytes: 1000 })).toMatchObject({ type: 'blob', size: 200_000, body: undefined });
      expect(await objects.readObject(varied, { maxBytes: 1000 })).toMatchObject({ type: 'blob', size: Buffer.byteLength(lines), body: undefined });
      expect((await objects.readObject('HEAD'))?.sha).toBe(commit);
      // Packed: no loose file left, git answers.
      gitSync(dir, ['repack', '-a', '-d', '-q']);
      gitSync(dir, ['prune-packed']);
      expect((await objects.read(small))?.toString()).toBe('small\n');
      expect(await objects.readObject('0'.repeat(40))).toBeUndefined();
    } finally {
      objects.close();
    }
  });

  it('leaves a loose file that does not read as an object to git, and answers as git does', async () => {
    const dir = repo();
    const id = blobOf(dir, 'will be damaged\n');
    const path = `${dir}/.git/objects/${id.slice(0, 2)}/${id.slice(2)}`;
    chmodSync(path, 0o644);
    writeFileSync(path, Buffer.from('not zlib at all'));
    const other = blobOf(dir, 'intact\n');
    const objects = openObjectReader(dir);
    try {
      // git finds no object there (it says so on its stderr), and goes on answering.
      expect(await objects.readObject(id)).toBeUndefined();
      expect((await objects.read(other))?.toString()).toBe('intact\n');
    } finally {
      objects.close();
    }
  });
});
