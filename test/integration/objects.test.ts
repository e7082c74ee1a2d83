// Commits built from objects (store/objects.ts) are the commits git itself would build:
// same ids, sorted trees, fsck-clean, only the changed paths touched, file modes kept.
import { afterEach, describe, expect, it } from 'vitest';
import { openObjectReader } from '../../src/store/git.js';
import { treeReader, writeCommitObjects } from '../../src/store/objects.js';
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
