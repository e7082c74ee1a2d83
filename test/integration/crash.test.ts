// Crash recovery: a real CLI process killed with SIGKILL at each named point of the
// transaction cycle (BUILDCTL_TEST_DIE_AT, src/store/test-seam.ts) leaves nothing that
// blocks or corrupts the next command, and its operation lands exactly once or not at all.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { setStatus } from '../../src/ops/status-set.js';
import { OWNER_FILE, withLocalLock, type LockOwner } from '../../src/store/local-lock.js';
import { commitCount, gitSync, makeFleet, runCli, tempDir, testContext, type Fleet } from '../helpers/fleet.js';

let fleet: Fleet | undefined;
const cleanups: Array<() => void> = [];
afterEach(() => {
  fleet?.cleanup();
  fleet = undefined;
  for (const cleanup of cleanups.splice(0)) cleanup();
});

const SUMMARY = 'status.set build1 building j1';

const setBuilding = (store: string, dieAt?: string) =>
  runCli(['--store', store, '--as', 'build1', 'status', 'set', 'building', '--job', 'j1'], dieAt ? { env: { BUILDCTL_TEST_DIE_AT: dieAt } } : {});

const remoteStatus = (f: Fleet): { state: string; current_job: string | null } | undefined => {
  const listed = gitSync(f.remote, ['ls-tree', '--name-only', 'main', 'build1/status.json']).trim();
  return listed ? JSON.parse(gitSync(f.remote, ['show', 'main:build1/status.json'])) : undefined;
};
const landed = (f: Fleet): number => gitSync(f.remote, ['log', '--format=%s', 'main']).split('\n').filter((s) => s === SUMMARY).length;
const stateDir = (store: string) => join(store, '.git', 'buildctl');
const lockDir = (store: string, name = 'store') => join(stateDir(store), `${name}.lock`);

/** The clone's view is exactly origin/main: local main moved, nothing edited or left untracked, lock released. */
const expectCleanClone = (store: string) => {
  expect(gitSync(store, ['rev-parse', 'HEAD'])).toBe(gitSync(store, ['rev-parse', 'refs/remotes/origin/main']));
  expect(gitSync(store, ['status', '--porcelain'])).toBe('');
  expect(existsSync(join(store, '.git', 'index.lock'))).toBe(false);
  expect(existsSync(lockDir(store))).toBe(false);
};

/**
 * A lock left by a killed process, dated an hour ahead: proper-lockfile can never find it
 * stale, so a command that gets past it took it over from its dead owner (no timing needed).
 */
const neverStale = (dir: string) => {
  const ahead = new Date(Date.now() + 3_600_000);
  utimesSync(dir, ahead, ahead);
};

/** Kills the CLI at `point`; checks it died by SIGKILL, holding the local lock it never released. */
const killAt = async (store: string, point: string) => {
  const run = await setBuilding(store, point);
  expect(run.code, run.stderr).toBe(-1); // a SIGKILLed child closes with code null
  expect(run.stdout).toBe('');
  const owner = JSON.parse(readFileSync(join(lockDir(store), OWNER_FILE), 'utf8')) as LockOwner;
  expect(owner.host).toBe(hostname());
  neverStale(lockDir(store));
};

/** The next command, without the seam: succeeds, past the dead process's lock. */
const recover = async (store: string) => {
  const run = await setBuilding(store);
  expect(run.code, run.stderr).toBe(0);
  return { run };
};

describe('a process killed by SIGKILL in the transaction cycle', () => {
  it('after-lock: the lock of the dead process is taken over at once; the op was never applied, the next run applies it once', async () => {
    fleet = await makeFleet(['build1']);
    const store = fleet.stores.build1!;
    const before = commitCount(fleet.remote);
    await killAt(store, 'after-lock');
    expect(commitCount(fleet.remote)).toBe(before);
    await recover(store);
    expect(commitCount(fleet.remote)).toBe(before + 1);
    expect(landed(fleet)).toBe(1);
    expect(remoteStatus(fleet)).toMatchObject({ state: 'building', current_job: 'j1' });
    expectCleanClone(store);
  });

  it('after-read: the dead process touched neither the work tree nor the index; the next run applies the op once', async () => {
    fleet = await makeFleet(['build1']);
    const store = fleet.stores.build1!;
    expect(remoteStatus(fleet)).toBeUndefined(); // build1/status.json is a new file for this op
    const before = commitCount(fleet.remote);
    await killAt(store, 'after-read');
    expect(gitSync(store, ['status', '--porcelain'])).toBe('');
    expect(existsSync(join(store, 'build1'))).toBe(false);
    expect(commitCount(fleet.remote)).toBe(before);
    await recover(store);
    expect(commitCount(fleet.remote)).toBe(before + 1);
    expect(landed(fleet)).toBe(1);
    expect(remoteStatus(fleet)).toMatchObject({ state: 'building', current_job: 'j1' });
    expectCleanClone(store);
  });

  it('the work tree is never read: a file left or edited there cannot make an op look done (what tx-in-progress used to guard)', async () => {
    fleet = await makeFleet(['build1']);
    const store = fleet.stores.build1!;
    const before = commitCount(fleet.remote);
    // Exactly what the op would write, as a killed writer of the old cycle left it, untracked.
    mkdirSync(join(store, 'build1'));
    writeFileSync(join(store, 'build1', 'status.json'), 'left behind, never read\n');
    const { run } = await recover(store);
    expect(run.stdout).not.toContain('nothing changed');
    expect(commitCount(fleet.remote)).toBe(before + 1);
    expect(remoteStatus(fleet)).toMatchObject({ state: 'building', current_job: 'j1' });
  });

  it('after-commit-object: the commit was never pushed nor referenced; the next run applies the op once', async () => {
    fleet = await makeFleet(['build1']);
    const store = fleet.stores.build1!;
    const before = commitCount(fleet.remote);
    const head = gitSync(store, ['rev-parse', 'HEAD']);
    await killAt(store, 'after-commit-object');
    expect(gitSync(store, ['rev-parse', 'HEAD'])).toBe(head); // no ref moved
    expect(gitSync(store, ['for-each-ref', 'refs/buildctl/tx'])).toBe('');
    expect(gitSync(store, ['status', '--porcelain'])).toBe('');
    expect(commitCount(fleet.remote)).toBe(before);
    await recover(store);
    expect(commitCount(fleet.remote)).toBe(before + 1);
    expect(landed(fleet)).toBe(1);
    expect(remoteStatus(fleet)).toMatchObject({ state: 'building', current_job: 'j1' });
    expectCleanClone(store);
  });

  it('after-push: the op is on the remote once although the process never answered; running it again adds no commit', async () => {
    fleet = await makeFleet(['build1']);
    const store = fleet.stores.build1!;
    const before = commitCount(fleet.remote);
    await killAt(store, 'after-push');
    expect(commitCount(fleet.remote)).toBe(before + 1);
    expect(landed(fleet)).toBe(1);
    expect(remoteStatus(fleet)).toMatchObject({ state: 'building', current_job: 'j1' });
    const { run } = await recover(store);
    expect(run.stdout).toContain('nothing changed');
    expect(commitCount(fleet.remote)).toBe(before + 1);
    expect(landed(fleet)).toBe(1);
    expectCleanClone(store); // the view caught up although nothing changed
  });

  it('heartbeat-after-push: the next beat from the same clone succeeds (no duplicate-agent alarm); the ref keeps one commit', async () => {
    fleet = await makeFleet(['build1']);
    const store = fleet.stores.build1!;
    const beat = (dieAt?: string) => runCli(['--store', store, '--as', 'build1', 'heartbeat'], dieAt ? { env: { BUILDCTL_TEST_DIE_AT: dieAt } } : {});
    const remoteRef = () => gitSync(fleet!.remote, ['rev-parse', 'refs/heads/heartbeat/build1']).trim();
    const mainBefore = commitCount(fleet.remote);
    expect((await beat()).code).toBe(0);
    const first = remoteRef();
    const killed = await beat('heartbeat-after-push');
    expect(killed.code, killed.stderr).toBe(-1);
    const landedBeat = remoteRef();
    expect(landedBeat).not.toBe(first); // the push landed; the lease file never heard of it
    const lease = readFileSync(join(stateDir(store), 'heartbeat-build1.lease'), 'utf8').trim().split('\n');
    expect(lease).toEqual([first, landedBeat]);
    const next = await beat();
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).not.toMatch(/another agent/);
    expect(remoteRef()).not.toBe(landedBeat);
    expect(commitCount(fleet.remote, 'refs/heads/heartbeat/build1')).toBe(1);
    expect(commitCount(fleet.remote)).toBe(mainBefore); // main never sees a heartbeat
  });
});

describe('a process killed while delivering the outbox', () => {
  it.each([
    ['after-commit-object', 0],
    ['after-push', 1],
  ])('%s: the queued intent is delivered exactly once by the next flush (its op id is looked for on origin/main)', async (point, landedByDead) => {
    fleet = await makeFleet(['build1', 'build2']);
    const f = fleet;
    const as1 = ['--store', f.stores.build1!, '--as', 'build1'];
    renameSync(f.remote, `${f.remote}.away`);
    const queued = await runCli([...as1, 'msg', 'send', 'build2', 'hello', '--json']);
    expect(queued.code, queued.stderr).toBe(0);
    expect(JSON.parse(queued.stdout)).toMatchObject({ changed: true, queued: true, commit: null });
    renameSync(`${f.remote}.away`, f.remote);
    const before = commitCount(f.remote);
    const sends = () => gitSync(f.remote, ['log', '--format=%s', 'main']).split('\n').filter((s) => s.startsWith('msg.send ')).length;

    const killed = await runCli([...as1, 'outbox', 'flush'], { env: { BUILDCTL_TEST_DIE_AT: point } });
    expect(killed.code, killed.stderr).toBe(-1);
    expect(commitCount(f.remote)).toBe(before + landedByDead);
    expect(readdirSync(join(stateDir(f.stores.build1!), 'outbox'))).toHaveLength(1); // never removed: the process died first

    neverStale(lockDir(f.stores.build1!, 'outbox'));
    neverStale(lockDir(f.stores.build1!));
    const flushed = await runCli([...as1, 'outbox', 'flush', '--json']);
    expect(flushed.code, flushed.stderr).toBe(0);
    expect(JSON.parse(flushed.stdout)).toMatchObject({ delivery: { remaining: 0, dropped: [] } });
    expect(commitCount(f.remote)).toBe(before + 1);
    expect(sends()).toBe(1);
    expect(existsSync(join(stateDir(f.stores.build1!), 'outbox.lock'))).toBe(false); // taken over from the dead process, released
    // A flush that only finds its op landed runs no transaction, so the dead process's store
    // lock is still there: the next transaction takes it over at once.
    await recover(f.stores.build1!);
    expectCleanClone(f.stores.build1!);
  });
});

describe('an outbox delivery across a clock set back', () => {
  it('finds its op landed by the commit it was queued on, not by times: never applied twice', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const f = fleet;
    const as1 = ['--store', f.stores.build1!, '--as', 'build1'];
    renameSync(f.remote, `${f.remote}.away`);
    expect((await runCli([...as1, 'msg', 'send', 'build2', 'hello'])).code).toBe(0);
    renameSync(`${f.remote}.away`, f.remote);
    const killed = await runCli([...as1, 'outbox', 'flush'], { env: { BUILDCTL_TEST_DIE_AT: 'after-push' } });
    expect(killed.code, killed.stderr).toBe(-1);
    // It was queued on a clock two hours fast, set right before the delivery landed: the
    // commit's time is two hours before queued_at.
    const outbox = join(stateDir(f.stores.build1!), 'outbox');
    const [file] = readdirSync(outbox);
    const intent = JSON.parse(readFileSync(join(outbox, file!), 'utf8'));
    writeFileSync(join(outbox, file!), JSON.stringify({ ...intent, queued_at: new Date(Date.now() + 2 * 3_600_000).toISOString() }));
    neverStale(lockDir(f.stores.build1!, 'outbox'));
    neverStale(lockDir(f.stores.build1!));
    const flushed = await runCli([...as1, 'outbox', 'flush', '--json']);
    expect(flushed.code, flushed.stderr).toBe(0);
    expect(JSON.parse(flushed.stdout)).toMatchObject({ delivery: { remaining: 0, dropped: [] } });
    const sends = gitSync(f.remote, ['log', '--format=%s', 'main']).split('\n').filter((line) => line.startsWith('msg.send ')).length;
    expect(sends).toBe(1);
  });
});

describe('taking over a local lock left behind', () => {
  const ownPidns = (): string => {
    try {
      return readlinkSync('/proc/self/ns/pid');
    } catch {
      return '';
    }
  };
  const deadPid = (): number => {
    const child = spawnSync(process.execPath, ['-e', '0']);
    return child.pid; // exited and reaped
  };
  const leaveLock = (store: string, owner: Partial<LockOwner> | undefined, ageMs = 0) => {
    mkdirSync(lockDir(store), { recursive: true });
    if (owner) {
      const full: LockOwner = { pid: deadPid(), host: hostname(), pidns: ownPidns(), token: 'left-behind', ...owner };
      writeFileSync(join(lockDir(store), OWNER_FILE), `${JSON.stringify(full)}\n`);
    }
    const at = new Date(Date.now() - ageMs);
    utimesSync(lockDir(store), at, at);
  };
  const setStatusPast = async (store: string) => setStatus(testContext(store, 'build1'), { state: 'building', job: 'j1' });

  it('the private indexes of killed view refreshes are removed by the next refresh: a minute old, or stamped ahead of the clock', async () => {
    fleet = await makeFleet(['build1']);
    const store = fleet.stores.build1!;
    const leftover = (name: string, at: number) => {
      const path = join(stateDir(store), `view-index.${name}`);
      writeFileSync(path, 'DIRC');
      utimesSync(path, new Date(at), new Date(at));
      return path;
    };
    const old = leftover('111.old', Date.now() - 5 * 60_000);
    const ahead = leftover('222.ahead', Date.now() + 3_600_000); // written before the clock was set back
    const fresh = leftover('333.fresh', Date.now()); // a refresh running now, perhaps
    expect((await setStatusPast(store)).changed).toBe(true);
    expect({ old: existsSync(old), ahead: existsSync(ahead), fresh: existsSync(fresh) }).toEqual({ old: false, ahead: false, fresh: true });
  });

  it('a lock directory with no owner file, older than the staleness, is taken over by the next transaction', async () => {
    fleet = await makeFleet(['build1']);
    const store = fleet.stores.build1!;
    leaveLock(store, undefined, 60_000);
    const result = await setStatusPast(store);
    expect(result.changed).toBe(true);
    expect(existsSync(lockDir(store))).toBe(false);
  });

  it('a fresh lock directory whose owner pid is dead is taken over at once, not after staleness', async () => {
    fleet = await makeFleet(['build1']);
    const store = fleet.stores.build1!;
    leaveLock(store, {});
    neverStale(lockDir(store)); // only the dead-owner takeover can get past it
    const result = await setStatusPast(store);
    expect(result.changed).toBe(true);
    expect(existsSync(lockDir(store))).toBe(false);
    expect(existsSync(`${lockDir(store)}.takeover`)).toBe(false);
  });

  it.each([
    ['a live pid', () => ({ pid: process.ppid })],
    ['another host', () => ({ host: `not-${hostname()}` })],
    ['another pid namespace', () => ({ pidns: 'pid:[1]' })],
    ['no owner file yet (a process between mkdir and writing it)', () => undefined],
  ])('a fresh lock held by %s is not taken over', async (_label, owner) => {
    const temp = tempDir();
    cleanups.push(temp.cleanup);
    const store = temp.dir;
    leaveLock(store, owner());
    const ownerBefore = existsSync(join(lockDir(store), OWNER_FILE)) ? readFileSync(join(lockDir(store), OWNER_FILE), 'utf8') : undefined;
    let ran = false;
    await expect(
      withLocalLock(stateDir(store), async () => {
        ran = true;
      }, { waitMs: 300 }),
    ).rejects.toMatchObject({ code: 'store_busy' });
    expect(ran).toBe(false);
    expect(existsSync(lockDir(store))).toBe(true);
    if (ownerBefore !== undefined) expect(readFileSync(join(lockDir(store), OWNER_FILE), 'utf8')).toBe(ownerBefore);
  });

  it('a held lock records its owner and leaves nothing behind on release', async () => {
    const temp = tempDir();
    cleanups.push(temp.cleanup);
    const store = temp.dir;
    const seen = await withLocalLock(stateDir(store), async () => JSON.parse(readFileSync(join(lockDir(store), OWNER_FILE), 'utf8')) as LockOwner);
    expect(seen).toMatchObject({ pid: process.pid, host: hostname(), pidns: ownPidns() });
    expect(existsSync(lockDir(store))).toBe(false);
  });
});
