// What heartbeats cost on disk, and the maintenance that keeps it bounded: a beat adds at
// most two objects, a pass removes exactly the replaced ones (never a live beat, never
// anything of main), stops at its time budget, and takes no lock a command waits for.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { heartbeat } from '../../src/ops/heartbeat.js';
import { setStatus } from '../../src/ops/status-set.js';
import { fleetStatus } from '../../src/ops/status.js';
import { openObjectReader } from '../../src/store/git.js';
import { collectGarbage, dropReplacedHeartbeats, localRemoteDir, packObjectIds } from '../../src/store/maintenance.js';
import { fetchAll, fetchRefs, HEARTBEAT_REFSPEC, storeAt } from '../../src/store/store.js';
import { writeBeats } from '../helpers/beats.js';
import { gitSync, heartbeatFiles, makeFleet, pushHeartbeatRef, runCli, tempDir, testContext, waitFor, type Fleet } from '../helpers/fleet.js';
import { isStopped, killStarted, startCli } from '../helpers/processes.js';

let fleet: Fleet | undefined;
afterEach(() => {
  killStarted();
  fleet?.cleanup();
});

const MINUTE = 60_000;
const GRACE = 5 * MINUTE;

/** Loose object files of a repository (clone or bare), by id, with their sizes. */
const looseObjects = (repo: string): Map<string, number> => {
  const dir = statSync(join(repo, '.git'), { throwIfNoEntry: false })?.isDirectory() ? join(repo, '.git', 'objects') : join(repo, 'objects');
  const found = new Map<string, number>();
  for (const fan of readdirSync(dir).filter((name) => /^[0-9a-f]{2}$/.test(name))) {
    for (const rest of readdirSync(join(dir, fan))) found.set(`${fan}${rest}`, statSync(join(dir, fan, rest)).size);
  }
  return found;
};

/**
 * A builder's heartbeat commits stored loose in a repository (its beats and their hourly
 * parents: commits of the empty tree by `buildctl <id>`), the live tip and its parent apart.
 */
const heartbeatCommits = (repo: string, builder: string, ref = `heartbeat/${builder}`): { all: string[]; live: string[] } => {
  const commits = gitSync(repo, ['cat-file', '--batch-all-objects', '--batch-check=%(objectname) %(objecttype)'])
    .split('\n')
    .filter((line) => line.endsWith(' commit') && looseObjects(repo).has(line.split(' ')[0]!))
    .map((line) => line.split(' ')[0]!);
  const all = gitSync(repo, ['log', '--no-walk=unsorted', '--format=%H %T %cn', ...commits])
    .split('\n')
    .map((line) => line.split(' '))
    .filter(([, tree, ...who]) => tree === '4b825dc642cb6eb9a060e54bf8d69288fbee4904' && who.join(' ') === `buildctl ${builder}`)
    .map(([sha]) => sha!);
  const live = gitSync(repo, ['log', '--format=%H', ref]).split('\n').filter(Boolean);
  return { all, live };
};

const packedCount = (repo: string): number =>
  Number(/in-pack: (\d+)/.exec(gitSync(repo, ['count-objects', '-v']))?.[1] ?? 0);

/** A context whose clock is `at()`: beats one simulated minute apart without waiting. */
const clocked = (store: string, id: string, at: () => number) => testContext(store, id, { now: () => new Date(at()) });

/**
 * build1 beats three times; the journal's entries (stamped with the beats' simulated, future
 * clock) are made old enough for a real clock, so a pass has two beats to remove.
 */
const dueBeats = async (): Promise<{ remote: string; store: string; journal: string }> => {
  const made = await makeFleet(['build1']);
  fleet = made;
  const store = made.stores.build1!;
  let now = Date.now();
  for (let i = 0; i < 3; i++) {
    now += MINUTE;
    await heartbeat(clocked(store, 'build1', () => now));
  }
  const journal = join(store, '.git', 'buildctl', 'replaced-heartbeats');
  writeFileSync(journal, readFileSync(journal, 'utf8').replace(/^\d+ /gm, '1 '));
  return { remote: made.remote, store, journal };
};

/**
 * build1's clone beside 40 simulated builders. Each round all of them (or `ids`) beat and
 * the clone fetches: 32 objects or more, so a round's beats arrive as one pack.
 */
const packedRounds = async () => {
  const made = await makeFleet(['build1']);
  fleet = made;
  const one = made.stores.build1!;
  const store = storeAt(one);
  const sims = Array.from({ length: 40 }, (_, i) => `sim${i + 1}`);
  const t0 = Date.now();
  const round = async (n: number, ids: readonly string[] = sims): Promise<void> => {
    await writeBeats(made.remote, ids.map((id) => ({ id, recent: [] })), new Date(t0 + n * MINUTE));
    await fetchAll(store, new Date(t0 + n * MINUTE));
  };
  const tips = () => sims.map((id) => gitSync(one, ['rev-parse', `origin/heartbeat/${id}`]).trim());
  return { remote: made.remote, one, store, sims, t0, round, tips };
};

describe('a heartbeat on disk', () => {
  it('adds at most two objects and at most 4 KB a beat, in the clone and the remote, through two simulated hours', { timeout: 180_000 }, async () => {
    fleet = await makeFleet(['build1']);
    const store = fleet.stores.build1!;
    let now = Date.now();
    const ctx = clocked(store, 'build1', () => now);
    await heartbeat(ctx); // the first beat also stores the empty tree, once
    const perBeat: Array<{ clone: number; remote: number; bytes: number }> = [];
    for (let minute = 1; minute <= 130; minute++) {
      now += MINUTE;
      const cloneBefore = looseObjects(store);
      const remoteBefore = looseObjects(fleet.remote);
      await heartbeat(ctx);
      const cloneAfter = looseObjects(store);
      const added = [...cloneAfter].filter(([id]) => !cloneBefore.has(id));
      perBeat.push({ clone: added.length, remote: [...looseObjects(fleet.remote).keys()].filter((id) => !remoteBefore.has(id)).length, bytes: added.reduce((sum, [, size]) => sum + size, 0) });
    }
    expect(packedCount(store)).toBe(0); // every object counted is loose
    expect(Math.max(...perBeat.map((b) => b.clone))).toBeLessThanOrEqual(2);
    expect(Math.max(...perBeat.map((b) => b.remote))).toBeLessThanOrEqual(2);
    // Most beats add one object; the one that adds its parent (the settled hours) adds two.
    expect(perBeat.filter((b) => b.clone === 1).length).toBeGreaterThan(120);
    expect(perBeat.some((b) => b.clone === 2)).toBe(true);
    const bytes = perBeat.reduce((sum, b) => sum + b.bytes, 0) / perBeat.length;
    expect(bytes).toBeLessThan(4096);
    // What a reader sees is the whole window: 60 samples and the hours before them.
    const metrics = (await heartbeatFiles(fleet.remote, 'build1'))['build1/metrics.jsonl']!.trim().split('\n').map((line) => JSON.parse(line));
    expect(metrics.filter((line) => line.kind === 'sample')).toHaveLength(60);
    expect(metrics.filter((line) => line.kind === 'hour').length).toBeGreaterThanOrEqual(1);
    expect(Number(gitSync(fleet.remote, ['rev-list', '--count', 'heartbeat/build1']).trim())).toBeLessThanOrEqual(2);
  });
});

describe('a clone that only looks (no agent ticks there)', () => {
  it('drops the beats its views replaced once their grace is over, instead of piling them up for git\'s gc', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const [one, two] = [fleet.stores.build1!, fleet.stores.build2!];
    const journal = join(one, '.git', 'buildctl', 'replaced-heartbeats');
    const replaced = () => {
      const { all, live } = heartbeatCommits(one, 'build2', 'origin/heartbeat/build2');
      return all.filter((sha) => !live.includes(sha));
    };
    // build2 beats; build1 only runs status, as a dashboard host does.
    const beatAndLook = async () => {
      await heartbeat(testContext(two, 'build2'));
      expect((await fleetStatus(testContext(one, 'build1'), { fetch: true })).fetched).toBe(true);
    };
    for (let i = 0; i < 4; i++) await beatAndLook();
    // Replaced moments ago: within their grace, kept.
    expect(replaced()).toHaveLength(3);
    const stale = replaced();
    // Ten minutes pass (the journal says when each was replaced).
    writeFileSync(journal, readFileSync(journal, 'utf8').replace(/^(\d+)/gm, (at) => String(Number(at) - 10 * MINUTE)));
    await beatAndLook();
    // The next look drops those three; the beat it replaced just now waits out its grace.
    expect(replaced()).toHaveLength(1);
    expect(replaced().some((sha) => stale.includes(sha))).toBe(false);
    expect(readFileSync(journal, 'utf8').trim().split('\n')).toHaveLength(1);
    gitSync(one, ['fsck', '--no-progress', '--connectivity-only']);
    expect((await fleetStatus(testContext(one, 'build1'), { fetch: true })).builders.find((b) => b.id === 'build2')?.health).toBe('healthy');
  });
});

describe('the journal of replaced beats', () => {
  it('is stamped on the clock of whoever fetched, the one the pass judges the grace on', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const [one, two] = [fleet.stores.build1!, fleet.stores.build2!];
    const ahead = Date.now() + 7 * 24 * 60 * MINUTE; // a clock a week ahead (the test clock seam)
    for (let i = 0; i < 2; i++) {
      await heartbeat(testContext(two, 'build2'));
      await fleetStatus(testContext(one, 'build1', { now: () => new Date(ahead) }), { fetch: true });
    }
    const stamps = readFileSync(join(one, '.git', 'buildctl', 'replaced-heartbeats'), 'utf8').trim().split('\n').map((line) => Number(line.split(' ')[0]));
    expect(stamps).toEqual([ahead]);
    // On that clock the beat was replaced just now: kept.
    const replaced = heartbeatCommits(one, 'build2', 'origin/heartbeat/build2');
    expect(replaced.all.filter((sha) => !replaced.live.includes(sha))).toHaveLength(1);
  });

  it('keeps what a clock since put back stamped for one grace from the correction, not until that clock\'s time comes', async () => {
    // A clock a week fast (a VM resumed from a snapshot), then set right: its stamps are a
    // week ahead. Left as they are, the beats stay a week and the journal grows each minute
    // past the size at which every view makes a pass over it.
    fleet = await makeFleet(['build1', 'build2']);
    const [one, two] = [fleet.stores.build1!, fleet.stores.build2!];
    const ahead = Date.now() + 7 * 24 * 60 * MINUTE;
    for (let i = 0; i < 3; i++) {
      await heartbeat(testContext(two, 'build2'));
      await fleetStatus(testContext(one, 'build1', { now: () => new Date(ahead) }), { fetch: true });
    }
    const journal = join(one, '.git', 'buildctl', 'replaced-heartbeats');
    writeFileSync(journal, `${readFileSync(journal, 'utf8')}${ahead + GRACE} pack pack-${'0'.repeat(40)}\n`);
    const stale = heartbeatCommits(one, 'build2', 'origin/heartbeat/build2');
    expect(stale.all.filter((sha) => !stale.live.includes(sha))).toHaveLength(2);

    // The clock is right again: the first pass keeps them (they were replaced moments ago, as
    // far as it can tell), stamped on its own clock.
    const now = Date.now();
    const first = await dropReplacedHeartbeats(storeAt(one), { now: new Date(now) });
    expect(first).toMatchObject({ dropped: 0, pending: 3 });
    const stamps = readFileSync(journal, 'utf8').trim().split('\n').map((line) => Number(line.split(' ')[0]));
    expect(stamps.every((at) => at <= now + GRACE)).toBe(true);
    // One grace later the beats go; the pack's line waits its delay too.
    const later = await dropReplacedHeartbeats(storeAt(one), { now: new Date(now + GRACE + MINUTE) });
    expect(later).toMatchObject({ dropped: 2, pending: 1 });
    expect(await dropReplacedHeartbeats(storeAt(one), { now: new Date(now + 2 * GRACE + MINUTE) })).toMatchObject({ pending: 0 });
    const after = heartbeatCommits(one, 'build2', 'origin/heartbeat/build2');
    expect(after.all.filter((sha) => !after.live.includes(sha))).toEqual([]);
    gitSync(one, ['fsck', '--no-progress', '--connectivity-only']);
  });
});

describe('a maintenance pass', () => {
  it('removes exactly the replaced beats once their grace is over, in the clone and the local remote, and nothing live', { timeout: 180_000 }, async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const [one, two] = [fleet.stores.build1!, fleet.stores.build2!];
    let now = Date.now();
    const at = () => now;
    for (let minute = 0; minute < 70; minute++) {
      now += MINUTE;
      await heartbeat(clocked(one, 'build1', at));
      await heartbeat(clocked(two, 'build2', at));
      // build1's clone fetches build2's beats now and then, as its status and housekeeping do.
      if (minute % 7 === 0) await fetchRefs(storeAt(one), [HEARTBEAT_REFSPEC], { prune: true });
    }
    await fetchRefs(storeAt(one), [HEARTBEAT_REFSPEC], { prune: true });
    const main = gitSync(fleet.remote, ['rev-parse', 'main']).trim();
    const cloneBefore = looseObjects(one).size;
    const remoteBefore = looseObjects(fleet.remote).size;
    // What a pass may take from the remote: build1's replaced beats (69) and the hourly
    // parents they alone used (how many depends on where the simulated hours fall).
    const own = heartbeatCommits(fleet.remote, 'build1');
    const replacedParents = own.all.length - own.live.length - 69;
    expect(replacedParents).toBeGreaterThanOrEqual(0);

    // A pass at the last beat's time removes what was replaced more than 5 minutes before.
    const early = await dropReplacedHeartbeats(storeAt(one), { now: new Date(now) });
    expect(early.reason).toBeUndefined();
    expect(early.dropped).toBeGreaterThan(50);
    expect(early.pending).toBeGreaterThanOrEqual(5); // the last 5 minutes' beats wait
    expect(early.pending).toBeLessThan(10);
    // Once their grace is over, the rest: nothing pending, nothing left behind.
    const late = await dropReplacedHeartbeats(storeAt(one), { now: new Date(now + GRACE + MINUTE) });
    expect(late.pending).toBe(0);
    // Its own 69 replaced beats (and their parents) from the clone and the remote, and build2's as fetched.
    expect(early.remote_dropped + late.remote_dropped).toBe(69 + replacedParents);
    expect(early.dropped + late.dropped).toBeGreaterThanOrEqual(69 + 9);
    expect(looseObjects(fleet.remote).size).toBe(remoteBefore - 69 - replacedParents);
    expect(heartbeatCommits(fleet.remote, 'build1').all.sort()).toEqual(own.live.sort());
    expect(looseObjects(one).size).toBe(cloneBefore - early.dropped - late.dropped);
    // Every live beat, its parent and main are intact; both repositories are whole.
    for (const id of ['build1', 'build2']) expect(Object.keys(await heartbeatFiles(fleet.remote, id))).toHaveLength(2);
    expect(gitSync(fleet.remote, ['rev-parse', 'main']).trim()).toBe(main);
    gitSync(fleet.remote, ['fsck', '--no-progress', '--connectivity-only']);
    gitSync(one, ['fsck', '--no-progress', '--connectivity-only']);
    // The clone keeps beating, and build2's clone (whose beats build1 dropped) too.
    await heartbeat(clocked(one, 'build1', () => now + GRACE + 2 * MINUTE));
    await heartbeat(clocked(two, 'build2', () => now + GRACE + 2 * MINUTE));
  });

  it('keeps a blob a replaced beat of the earlier form shares with a live beat (the same bytes are one object)', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const one = fleet.stores.build1!;
    // build2 on an earlier build (its files in a tree); two beats whose metrics lines are the same bytes.
    const metrics = `${JSON.stringify({ kind: 'sample', t: '2026-11-29T09:00:00Z', cpu: 1, mem: 2, disk: 3, load: 0.1 })}\n`;
    pushHeartbeatRef(fleet, 'build2', { heartbeat: { id: 'build2', timestamp: '2026-11-29T09:00:00.100Z', host: 'b2', pid: 1, version: '0.1.0' }, metrics });
    await fetchRefs(storeAt(one), [HEARTBEAT_REFSPEC], { prune: true });
    const replaced = gitSync(one, ['rev-parse', 'origin/heartbeat/build2']).trim();
    pushHeartbeatRef(fleet, 'build2', { heartbeat: { id: 'build2', timestamp: '2026-11-29T09:00:00.900Z', host: 'b2', pid: 1, version: '0.1.0' }, metrics });
    await fetchRefs(storeAt(one), [HEARTBEAT_REFSPEC], { prune: true });
    const shared = gitSync(one, ['rev-parse', 'origin/heartbeat/build2:build2/metrics.jsonl']).trim();
    expect(gitSync(one, ['rev-parse', `${replaced}:build2/metrics.jsonl`]).trim()).toBe(shared);
    const oldBeat = gitSync(one, ['rev-parse', `${replaced}:build2/heartbeat.json`]).trim();

    const pass = await dropReplacedHeartbeats(storeAt(one), { now: new Date(Date.now() + GRACE + MINUTE) });
    expect(pass.reason).toBeUndefined();
    // The replaced commit, its two trees and its own heartbeat.json went; the shared metrics blob stayed.
    expect(pass.dropped).toBe(4);
    expect(looseObjects(one).has(replaced)).toBe(false);
    expect(looseObjects(one).has(oldBeat)).toBe(false);
    expect(looseObjects(one).has(shared)).toBe(true);
    gitSync(one, ['fsck', '--no-progress', '--connectivity-only']);
    expect(gitSync(one, ['show', 'origin/heartbeat/build2:build2/metrics.jsonl'])).toBe(metrics);
  });

  it('stops at its time budget and leaves the rest for the next pass', async () => {
    fleet = await makeFleet(['build1']);
    const store = fleet.stores.build1!;
    let now = Date.now();
    for (let i = 0; i < 12; i++) {
      now += MINUTE;
      await heartbeat(clocked(store, 'build1', () => now));
    }
    // A clock that moves 100 ms every time the pass looks at it: a budget of 250 ms allows
    // only a few entries, whatever the machine's speed.
    let ticks = 0;
    const monotonic = () => (ticks += 100);
    const first = await dropReplacedHeartbeats(storeAt(store), { now: new Date(now + GRACE + MINUTE), budgetMs: 250, monotonic });
    expect(first.dropped).toBeGreaterThan(0);
    expect(first.dropped).toBeLessThan(11);
    expect(first.pending).toBe(11 - first.dropped);
    const rest = await dropReplacedHeartbeats(storeAt(store), { now: new Date(now + GRACE + MINUTE) });
    expect(first.dropped + rest.dropped).toBe(11);
    expect(rest.pending).toBe(0);
  });

  it('never holds the lock a command waits for: a mutation lands while a pass is stopped midway', { timeout: 120_000 }, async () => {
    const { remote, store } = await dueBeats();
    // The agent's pass is stopped (SIGSTOP) at its first entry, as a swapped-out process would be.
    const agent = startCli(['--store', store, '--as', 'build1', 'agent', '--once'], { BUILDCTL_TEST_PAUSE_AT: 'maintenance-pass' });
    await waitFor(() => agent.child.pid !== undefined && isStopped(agent.child.pid), 'the agent to stop inside its maintenance pass');
    const command = await runCli(['--store', store, '--as', 'build1', 'status', 'set', 'building']);
    expect(command.code, command.stderr).toBe(0);
    expect(JSON.parse(gitSync(remote, ['show', 'main:build1/status.json'])).state).toBe('building');
    process.kill(agent.child.pid!, 'SIGCONT');
    const tick = await agent.done;
    expect(tick.code, tick.stderr).toBe(0);
    expect(JSON.parse(tick.stderr.trim().split('\n').at(-1)!).maintenance, tick.stderr).toMatchObject({ dropped: 2, remote_dropped: 2, pending: 1 });
  });

  it('does not take the journal a live pass took, however long ago the journal was last written', { timeout: 120_000 }, async () => {
    const { store, journal } = await dueBeats();
    // Nothing noted for two minutes (a quiet fleet): the file's time is the last append's.
    const quiet = new Date(Date.now() - 2 * MINUTE);
    utimesSync(journal, quiet, quiet);
    // A view's pass is stopped at its first entry; another pass starts meanwhile.
    const view = startCli(['--store', store, '--as', 'build1', 'status'], { BUILDCTL_TEST_PAUSE_AT: 'maintenance-pass' });
    await waitFor(() => view.child.pid !== undefined && isStopped(view.child.pid), 'the view to stop inside its maintenance pass');
    const other = await dropReplacedHeartbeats(storeAt(store), { now: new Date() });
    expect(other).toMatchObject({ dropped: 0, pending: 0 });
    process.kill(view.child.pid!, 'SIGCONT');
    expect((await view.done).code).toBe(0);
    // The stopped pass did the work, once.
    expect(readdirSync(join(store, '.git', 'buildctl')).filter((name) => name.endsWith('.pass'))).toEqual([]);
    expect(existsSync(journal) ? readFileSync(journal, 'utf8').trim() : '').not.toMatch(/^1 /m);
  });

  it('removes a pack of fetched beats whole once they are replaced, keeping a live beat and main\'s objects loose', { timeout: 120_000 }, async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const [one, two] = [fleet.stores.build1!, fleet.stores.build2!];
    const packs = () => readdirSync(join(one, '.git', 'objects', 'pack')).filter((name) => name.endsWith('.pack'));
    const has = (id: string) => gitSync(one, ['cat-file', '-t', id]).trim();
    const sims = Array.from({ length: 60 }, (_, i) => `sim${i + 1}`);
    const t0 = Date.now();
    const beatsOf = (ids: string[], at: number) => writeBeats(fleet!.remote, ids.map((id) => ({ id, recent: [] })), new Date(at));
    const fetchAt = (at: number) => fetchAll(storeAt(one), new Date(at));

    // Minute 0: 60 builders beat and build2 changes main; one fetch brings both, as one pack.
    await beatsOf(sims, t0);
    await setStatus(testContext(two, 'build2'), { state: 'building' });
    const packsBefore = packs().length;
    await fetchAt(t0);
    expect(packs().length).toBe(packsBefore + 1);
    const mainCommit = gitSync(one, ['rev-parse', 'origin/main']).trim();
    const firstBeats = new Map(sims.map((id) => [id, gitSync(one, ['rev-parse', `origin/heartbeat/${id}`]).trim()]));
    // Minute 1: all but sim60 beat again (sim60 is gone for good; its beat stays live).
    await beatsOf(sims.slice(0, 59), t0 + MINUTE);
    await fetchAt(t0 + MINUTE);
    const packsAfterSecond = new Set(packs());
    expect(packsAfterSecond.size).toBe(packsBefore + 2);
    // A long-lived reader (a dashboard's) that has the first pack open.
    const reader = openObjectReader(one);
    expect((await reader.readObject(firstBeats.get('sim1')!))?.type).toBe('commit');

    // Ten minutes on: the first pack's beats were replaced nine minutes ago; the second's are live.
    const pass = await dropReplacedHeartbeats(storeAt(one), { now: new Date(t0 + 10 * MINUTE) });
    expect(pass.reason).toBeUndefined();
    expect(pass.packs_removed).toBe(1);
    expect(pass.dropped).toBe(59);
    const remaining = packs();
    expect(remaining).toHaveLength(packsBefore + 1);
    expect(firstBeats.get('sim60')).toBeDefined();
    // The replaced beats are gone; the live one and main's new commit were written loose first.
    expect(() => has(firstBeats.get('sim1')!)).toThrow();
    expect(looseObjects(one).has(firstBeats.get('sim60')!)).toBe(true);
    expect(has(mainCommit)).toBe('commit');
    gitSync(one, ['fsck', '--no-progress', '--connectivity-only']);
    expect((await reader.readObject(firstBeats.get('sim60')!))?.type).toBe('commit');
    expect((await reader.readObject(`${mainCommit}:build2/status.json`))?.type).toBe('blob');
    // Every builder's current beat reads, through that reader and a new one.
    const fresh = openObjectReader(one);
    for (const id of sims) {
      for (const r of [reader, fresh]) expect((await r.readObject(`refs/remotes/origin/heartbeat/${id}`))?.type, id).toBe('commit');
    }
    reader.close();
    fresh.close();
    expect(existsSync(join(one, '.git', 'buildctl', 'replaced-packed'))).toBe(false);

    // A minute later the second pack is due, but its beats are all still current: it is left
    // to git, whole, and the journal forgets it.
    const later = await dropReplacedHeartbeats(storeAt(one), { now: new Date(t0 + 11 * MINUTE) });
    expect(later.packs_removed).toBe(0);
    expect(new Set(packs())).toEqual(new Set(remaining));
    expect(later.pending).toBe(0);
    gitSync(one, ['fsck', '--no-progress', '--connectivity-only']);
  });

  it('a pass killed between writing a pack\'s live objects loose and removing the pack loses nothing, and the next one finishes it', { timeout: 120_000 }, async () => {
    const { one, sims, round } = await packedRounds();
    const packs = () => readdirSync(join(one, '.git', 'objects', 'pack')).filter((name) => name.endsWith('.pack'));
    const before = new Set(packs());
    await round(0);
    const made = packs().filter((name) => !before.has(name));
    expect(made).toHaveLength(1);
    const survivor = gitSync(one, ['rev-parse', 'origin/heartbeat/sim40']).trim();
    await round(1, sims.slice(0, 39));
    // Everything journaled long ago, for the agent's real clock: both packs and the 39 replaced beats are due.
    const journal = join(one, '.git', 'buildctl', 'replaced-heartbeats');
    writeFileSync(journal, readFileSync(journal, 'utf8').replace(/^\d+ /gm, '1 '));
    const killed = await runCli(['--store', one, '--as', 'build1', 'agent', '--once'], { env: { BUILDCTL_TEST_DIE_AT: 'maintenance-pack' } });
    expect(killed.code, killed.stderr).toBe(-1); // SIGKILLed: it closes with no exit code
    // Killed with the survivor written loose and the pack still there.
    expect(packs()).toContain(made[0]);
    expect(looseObjects(one).has(survivor)).toBe(true);
    gitSync(one, ['fsck', '--no-progress', '--connectivity-only']);
    // What it had taken of the journal stays taken; a pass a while later takes it again.
    const state = join(one, '.git', 'buildctl');
    const taken = readdirSync(state).filter((name) => name.startsWith('replaced-heartbeats.') && name.endsWith('.pass'));
    expect(taken).toHaveLength(1);
    const aWhileAgo = new Date(Date.now() - 2 * MINUTE);
    utimesSync(join(state, taken[0]!), aWhileAgo, aWhileAgo);
    const next = await dropReplacedHeartbeats(storeAt(one), { now: new Date() });
    expect(next.reason).toBeUndefined();
    expect(next.packs_removed).toBe(1);
    expect(packs()).not.toContain(made[0]);
    expect(gitSync(one, ['cat-file', '-t', survivor]).trim()).toBe('commit');
    expect(readdirSync(state).filter((name) => name.endsWith('.pass'))).toEqual([]);
    gitSync(one, ['fsck', '--no-progress', '--connectivity-only']);
  });

  it('keeps a packed beat that a hostile push made current again after it was noted replaced', async () => {
    const { remote, one, t0, round } = await packedRounds();
    await round(0);
    const old = gitSync(one, ['rev-parse', 'origin/heartbeat/sim1']).trim();
    await round(1);
    // Seven minutes on, a pass notes the first beats replaced (their pack is not due yet).
    const noted = await dropReplacedHeartbeats(storeAt(one), { now: new Date(t0 + 7 * MINUTE) });
    expect(noted.packs_removed).toBe(0);
    expect(readFileSync(join(one, '.git', 'buildctl', 'replaced-packed'), 'utf8')).toContain(old);
    // Someone pushes sim1's ref back to that old beat, and this clone fetches it.
    gitSync(remote, ['update-ref', 'refs/heads/heartbeat/sim1', old]);
    await fetchAll(storeAt(one), new Date(t0 + 8 * MINUTE));
    expect(gitSync(one, ['rev-parse', 'origin/heartbeat/sim1']).trim()).toBe(old);
    // When the first pack goes, the beat sim1's ref names again stays, loose.
    const pass = await dropReplacedHeartbeats(storeAt(one), { now: new Date(t0 + 10 * MINUTE) });
    expect(pass.packs_removed).toBe(1);
    expect(pass.dropped).toBe(39);
    expect(gitSync(one, ['cat-file', '-t', old]).trim()).toBe('commit');
    gitSync(one, ['fsck', '--no-progress', '--connectivity-only']);
  });

  it('keeps the list of packed replaced beats bounded, the newest first', async () => {
    const { one, t0, round, tips } = await packedRounds();
    await round(0);
    const packed = tips();
    await round(1);
    // A day's worth of older notes (packs git took over, say).
    const list = join(one, '.git', 'buildctl', 'replaced-packed');
    writeFileSync(list, Array.from({ length: 25_000 }, (_, i) => `${t0 - 60 * MINUTE} ${i.toString(16).padStart(40, '0')}\n`).join(''));
    await dropReplacedHeartbeats(storeAt(one), { now: new Date(t0 + 7 * MINUTE) });
    const lines = readFileSync(list, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(20_000);
    for (const sha of packed) expect(lines).toContain(`${t0 + 7 * MINUTE} ${sha}`);
  });

  it('keeps what a concurrent pass noted as packed when it writes its own notes', { timeout: 120_000 }, async () => {
    const { one, store, t0, round, tips } = await packedRounds();
    await round(0);
    const first = tips(); // packed, replaced by the next round
    await round(1);
    const journal = join(one, '.git', 'buildctl', 'replaced-heartbeats');
    // The first round's beats are due now; the packs' lines (not due) after them.
    const lines = readFileSync(journal, 'utf8').trim().split('\n');
    writeFileSync(journal, [...lines.filter((line) => !line.includes(' pack ')).map((line) => line.replace(/^\d+/, '1')), ...lines.filter((line) => line.includes(' pack '))].join('\n') + '\n');
    // A view's pass has read the notes and is stopped at its first entry (it took that journal).
    const view = startCli(['--store', one, '--as', 'build1', 'status'], { BUILDCTL_TEST_PAUSE_AT: 'maintenance-pass' });
    await waitFor(() => view.child.pid !== undefined && isStopped(view.child.pid), 'the view to stop inside its maintenance pass');
    // Meanwhile another round replaces the second beats, and another pass notes them as packed.
    const second = tips();
    await round(2);
    await dropReplacedHeartbeats(store, { now: new Date(t0 + 20 * MINUTE) });
    const list = join(one, '.git', 'buildctl', 'replaced-packed');
    const listed = () => new Set(readFileSync(list, 'utf8').trim().split('\n').map((line) => line.split(' ')[1]));
    for (const sha of second) expect(listed().has(sha)).toBe(true);
    process.kill(view.child.pid!, 'SIGCONT');
    expect((await view.done).code).toBe(0);
    // The view's pass wrote its own notes (it was past its budget after the stop: the one
    // entry it had started on) without dropping the other's.
    expect(first.filter((sha) => listed().has(sha)).length).toBeGreaterThan(0);
    expect(second.filter((sha) => !listed().has(sha))).toEqual([]);
  });

  it.each(['sha1', 'sha256'])('reads the object ids of a %s pack index as git lists them', (format) => {
    const { dir, cleanup } = tempDir();
    try {
      gitSync(dir, ['init', '-q', `--object-format=${format}`]);
      for (let i = 0; i < 38; i++) writeFileSync(join(dir, `file-${i}`), `object ${i}\n`);
      gitSync(dir, ['add', '.']);
      gitSync(dir, ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'forty objects']);
      gitSync(dir, ['repack', '-a', '-d', '-q']);
      const idx = join(dir, '.git', 'objects', 'pack', readdirSync(join(dir, '.git', 'objects', 'pack')).find((name) => name.endsWith('.idx'))!);
      const listed = spawnSync('git', ['show-index', `--object-format=${format}`], { cwd: dir, input: readFileSync(idx), encoding: 'utf8' }).stdout;
      const ids = packObjectIds(idx, format === 'sha1' ? 20 : 32);
      expect(ids).toHaveLength(40); // 38 blobs, a tree, a commit
      expect(new Set(ids)).toEqual(new Set(listed.trim().split('\n').map((line) => line.split(' ')[1])));
      expect(packObjectIds(join(dir, 'no-such.idx'), 20)).toBeUndefined();
    } finally {
      cleanup();
    }
  });

  it('gc: whole-repository collection on request, the clone and the local remote', async () => {
    fleet = await makeFleet(['build1']);
    const store = fleet.stores.build1!;
    await setStatus(testContext(store, 'build1'), { state: 'building' });
    const report = await collectGarbage(storeAt(store), { now: new Date() });
    expect(report.remote_skipped).toBeNull();
    expect(report.clone_kb_before).toBeGreaterThan(0);
    expect(report.remote_kb_after).toEqual(expect.any(Number));
    expect(packedCount(store)).toBeGreaterThan(0);
    expect(await localRemoteDir(store)).toBe(fleet.remote);
    expect(readFileSync(join(store, '.git', 'HEAD'), 'utf8')).toContain('refs/heads/main');
  });
});
