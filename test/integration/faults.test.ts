// The machine's faults get an answer an operator can act on: a full disk, a read-only
// store, no git. Exit 1 with what happened and what to do, never "please report", and
// nothing lost: what did not land is not reported as done.
//
// A real full disk and a real read-only file system come from a small tmpfs, mounted
// where this test may (CI runs as root). Where it may not, the same errors come from
// /dev/full and a read-only open, through the same mapping (src/faults.ts).
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync, openSync, closeSync, writeSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { environmentFault } from '../../src/faults.js';
import { commitCount, gitSync, makeFleet, runCli, tempDir, type Fleet } from '../helpers/fleet.js';

let fleet: Fleet | undefined;
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
  fleet?.cleanup();
  fleet = undefined;
});

/** A tmpfs of `size` at a new dir, if this process may mount one; unmounted after the test. */
const mountTmpfs = (dir: string, size: string): boolean => {
  mkdirSync(dir, { recursive: true });
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir]).status === 0;
  if (mounted) cleanups.push(() => void spawnSync('umount', ['-l', dir]));
  return mounted;
};

const expectFault = (run: { code: number; stderr: string }, words: RegExp) => {
  expect(run.code, run.stderr).toBe(1);
  expect(run.stderr).toMatch(words);
  expect(run.stderr).toMatch(/\nhint: /);
  expect(run.stderr).not.toMatch(/unexpected error|please report/);
};

describe('environment faults', () => {
  it('a full disk: exit 1 saying so, nothing reported done; after space is freed the next command works', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const f = fleet;
    const disk = join(f.root, 'small-disk');
    if (!mountTmpfs(disk, '4m')) {
      // No mount here: a real ENOSPC from /dev/full, through the same mapping.
      const fd = openSync('/dev/full', 'w');
      let error: unknown;
      try {
        writeSync(fd, 'x');
      } catch (caught) {
        error = caught;
      } finally {
        closeSync(fd);
      }
      expect(environmentFault(error)).toMatchObject({ code: 'disk_full', exitCode: 1 });
      return;
    }
    const store = join(disk, 'store');
    const init = await runCli(['--store', store, 'init', '--remote', f.remote]);
    expect(init.code, init.stderr).toBe(0);
    // Fill the disk to the last byte.
    const filler = join(disk, 'filler');
    const fd = openSync(filler, 'w');
    const block = Buffer.alloc(64 * 1024, 1);
    try {
      for (;;) writeSync(fd, block);
    } catch {
      // ENOSPC: full
    }
    for (;;) {
      try {
        writeSync(fd, Buffer.alloc(1));
      } catch {
        break;
      }
    }
    closeSync(fd);
    const commits = commitCount(f.remote);
    const sent = await runCli(['--store', store, '--as', 'build1', 'msg', 'send', 'build2', 'on a full disk']);
    expectFault(sent, /no space left on the device/);
    expect(sent.stdout).toBe(''); // no message id: nothing is reported sent
    const json = await runCli(['--store', store, '--as', 'build1', 'msg', 'send', 'build2', 'on a full disk', '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'disk_full' } });
    expect(commitCount(f.remote)).toBe(commits);

    rmSync(filler);
    const again = await runCli(['--store', store, '--as', 'build1', 'msg', 'send', 'build2', 'space again']);
    expect(again.code, again.stderr).toBe(0);
    const bodies = JSON.parse(gitSync(f.remote, ['show', 'main:coordination/messages.json'])).messages.map((m: { body: string }) => m.body);
    expect(bodies).toEqual(['space again']);
  });

  it('a read-only store: a mutation exits 1 saying so; reading still works', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const f = fleet;
    const disk = join(f.root, 'ro-disk');
    if (!mountTmpfs(disk, '16m')) {
      const error = Object.assign(new Error('EROFS: read-only file system, open'), { code: 'EROFS', syscall: 'open', path: join(disk, 'x') });
      expect(environmentFault(error)).toMatchObject({ code: 'read_only_store', exitCode: 1 });
      return;
    }
    const store = join(disk, 'store');
    expect((await runCli(['--store', store, 'init', '--remote', f.remote])).code).toBe(0);
    expect((await runCli(['--store', store, '--as', 'build1', 'status', 'set', 'idle'])).code).toBe(0);
    expect(spawnSync('mount', ['-o', 'remount,ro', disk]).status).toBe(0);
    const commits = commitCount(f.remote);
    expectFault(await runCli(['--store', store, '--as', 'build1', 'msg', 'send', 'build2', 'read-only']), /read-only/);
    expect(commitCount(f.remote)).toBe(commits);
    const status = await runCli(['--store', store, '--as', 'build1', 'status', '--no-fetch']);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stderr).not.toMatch(/unexpected error|please report/);
  });

  it('no git on PATH: exit 1 saying git is missing and how to get it', async () => {
    fleet = await makeFleet(['build1']);
    const empty = tempDir();
    cleanups.push(empty.cleanup);
    writeFileSync(join(empty.dir, 'README'), 'no git here\n');
    for (const args of [['status'], ['msg', 'send', 'build1', 'hi'], ['validate']]) {
      const run = await runCli(['--store', fleet.stores.build1!, '--as', 'build1', ...args], { env: { PATH: empty.dir } });
      expectFault(run, /git is not installed or not on PATH/);
    }
  });
});
