// Every builder's clock is wrong by some amount (issue 11, DESIGN.md "Health and time").
// Real git, the built CLI, one process per step, each with its own clock offset through the
// test-only BUILDCTL_TEST_CLOCK_OFFSET. Time "passes" on a builder by giving its next
// process a larger offset: no test waits, and none asserts on wall time.
import { afterEach, describe, expect, it } from 'vitest';
import { gitSync, makeFleet, runCli, type Fleet } from '../helpers/fleet.js';

let fleet: Fleet;
afterEach(() => fleet?.cleanup());

/** Runs the CLI as `who`, with that process's clock off by `offset` ("+10m", "-1h", "0s"). */
const on = (who: string, offset: string, args: string[]) =>
  runCli(['--store', fleet.stores[who]!, '--as', who, ...args], { env: { BUILDCTL_TEST_CLOCK_OFFSET: offset } });

const ok = async (who: string, offset: string, args: string[]) => {
  const run = await on(who, offset, args);
  expect(run.code, `${who} ${args.join(' ')}: ${run.stderr}`).toBe(0);
  return run;
};

const remoteJson = (path: string) => JSON.parse(gitSync(fleet.remote, ['show', `main:${path}`]));
const lockOf = (name: string) => (remoteJson('coordination/locks.json').locks as Array<{ name: string; owner: string; token: number }>).find((l) => l.name === name);
const jobOf = (id: string) => (remoteJson('coordination/jobs.json').jobs as Array<{ id: string; status: string; assigned_to: string | null }>).find((j) => j.id === id);

describe('clocks: no destructive action on another host\'s timestamps', () => {
  it('an agent 10 min fast leaves a builder that beat a minute ago alive, its job running and its 30-minute lock held', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const id = (await ok('build1', '0s', ['job', 'add', '--type', 'build', '--target', 'build2'])).stdout.trim();
    await ok('build2', '0s', ['job', 'claim']);
    await ok('build2', '0s', ['lock', 'acquire', 'deploy', '--ttl', '30m']);
    await ok('build2', '-1m', ['heartbeat']); // it beat "a minute ago"

    const tick = await on('build1', '+10m', ['agent', '--once']);
    expect(tick.code, tick.stderr).toBe(0);
    expect(jobOf(id)).toMatchObject({ status: 'running', assigned_to: 'build2' });
    expect(lockOf('deploy')).toMatchObject({ owner: 'build2' });
    expect(remoteJson('build2/status.json')).toMatchObject({ state: 'building', current_job: id });

    // build2 really stops. Only after build1 itself has watched it silent past dead_after (5m,
    // on build1's own clock) does build1 act: requeue, free, and build2's status follows.
    const early = await on('build1', '+14m', ['agent', '--once']);
    expect(early.code, early.stderr).toBe(0);
    expect(jobOf(id)).toMatchObject({ status: 'running' });
    const late = await on('build1', '+16m', ['agent', '--once']);
    expect(late.code, late.stderr).toBe(0);
    expect(jobOf(id)).toMatchObject({ status: 'queued', assigned_to: null });
    expect(lockOf('deploy')).toBeUndefined();
    expect(remoteJson('build2/status.json')).toMatchObject({ state: 'idle', current_job: null });
  });

  it('lock acquire on a host 1 h fast does not take a valid lock; a 30 s lock it takes is free to others within TTL plus one tick of their own clock', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const token = Number((await ok('build1', '0s', ['lock', 'acquire', 'deploy', '--ttl', '30s'])).stdout.trim());
    const refused = await on('build2', '+1h', ['lock', 'acquire', 'deploy']);
    expect(refused.code, refused.stderr).toBe(3);
    expect(refused.stderr).toContain('held by build1');
    expect(refused.stderr).toMatch(/free to take in \d+s/);
    expect(lockOf('deploy')).toMatchObject({ owner: 'build1', token });

    // build2 (1 h fast) takes "other" for 30 s and stops renewing. build1's agent looks once.
    const other = Number((await ok('build2', '+1h', ['lock', 'acquire', 'other', '--ttl', '30s'])).stdout.trim());
    await ok('build1', '0s', ['agent', '--once']);
    const tooSoon = await on('build1', '+20s', ['lock', 'acquire', 'other']);
    expect(tooSoon.code, tooSoon.stderr).toBe(3);
    expect(tooSoon.stderr).toContain('held by build2');
    // 31 s after build1's tick saw it (its TTL plus that tick), it is build1's to take.
    const taken = await on('build1', '+31s', ['lock', 'acquire', 'other', '--json']);
    expect(taken.code, taken.stderr).toBe(0);
    expect(JSON.parse(taken.stdout).lock).toMatchObject({ owner: 'build1', token: other + 1 });
  });

  it('a 60 s lock just taken on a host 10 min slow is not free at once, and that host, beating every two minutes, is never declared dead', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    await ok('build2', '-10m', ['heartbeat']);
    await ok('build2', '-10m', ['lock', 'acquire', 'deploy', '--ttl', '60s']);
    const refused = await on('build1', '0s', ['lock', 'acquire', 'deploy']);
    expect(refused.code, refused.stderr).toBe(3);
    expect(refused.stderr).toContain("has passed by build2's clock");

    for (const minutes of [0, 2, 4, 6, 8]) {
      await ok('build2', `-${10 - minutes}m`, ['heartbeat']);
      const tick = await ok('build1', `+${minutes}m`, ['agent', '--once']);
      const line = JSON.parse(tick.stderr.trim().split('\n')[0] ?? '{}');
      expect(line.housekeeping, `at +${minutes}m`).toMatchObject({ dead_builders: [], freed_locks: [] });
      // The first look cannot tell a 10-minute-old beat from a slow clock: stale, never dead.
      // From the second look on, a new beat seen between two looks is fresh, whatever its clock.
      const dashboard = remoteJson('shared/health_dashboard.json');
      expect(dashboard.builders.find((b: { id: string }) => b.id === 'build2'), `at +${minutes}m`).toMatchObject({ health: minutes === 0 ? 'stale' : 'healthy' });
    }
    const status = JSON.parse((await ok('build1', '+8m', ['status', '--json'])).stdout).fleet;
    expect(status.builders.find((b: { id: string }) => b.id === 'build2')).toMatchObject({ health: 'healthy' });
  });

  it('a fresh clone waits: its first look at a lock whose holder\'s clock says it expired long ago takes nothing, and says how long to wait', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    await ok('build2', '-2h', ['lock', 'acquire', 'deploy', '--ttl', '30s']);
    const first = await on('build1', '0s', ['lock', 'acquire', 'deploy', '--json']);
    expect(first.code).toBe(3);
    const { error } = JSON.parse(first.stdout);
    expect(error).toMatchObject({ code: 'lock_held', details: { owner: 'build2', free_in_seconds: 30 } });
    expect(error.message).toMatch(/seen it unchanged for only 0s of its 30s TTL \(free to take in 30s\)/);
    // With --wait, the same process watches and takes it when its own clock says so; here
    // its clock is moved instead: 30 s after its first look.
    const later = await on('build1', '+30s', ['lock', 'acquire', 'deploy']);
    expect(later.code, later.stderr).toBe(0);
  });
});

describe('clocks: skew is detected and shown', () => {
  it('status shows a builder 10 min ahead and one 10 min behind, and the agent logs them', async () => {
    fleet = await makeFleet(['build1', 'build2', 'build3']);
    await ok('build1', '0s', ['heartbeat']);
    await ok('build2', '+10m', ['heartbeat']);
    await ok('build3', '-10m', ['heartbeat']);
    await ok('build1', '0s', ['status']); // a first look
    // A later beat of each, seen by a later look: a beat that landed between two looks
    // bounds its writer's clock from both sides.
    await ok('build2', '+10m', ['heartbeat']);
    await ok('build3', '-10m', ['heartbeat']);
    const tick = await ok('build1', '0s', ['agent', '--once']);
    const text = await ok('build1', '0s', ['status']);
    const json = JSON.parse((await ok('build1', '0s', ['status', '--no-fetch', '--json'])).stdout).fleet;
    const row = (id: string) => json.builders.find((b: { id: string }) => b.id === id);
    expect(row('build1')).toMatchObject({ clock_skewed: false, health: 'healthy' });
    expect(row('build2')).toMatchObject({ clock_skewed: true, health: 'healthy' });
    expect(row('build2').clock_offset_seconds).toBeGreaterThan(540);
    expect(row('build2').clock_offset_seconds).toBeLessThanOrEqual(600);
    expect(row('build3')).toMatchObject({ clock_skewed: true, health: 'healthy' });
    expect(row('build3').clock_offset_seconds).toBeLessThan(-540);
    expect(row('build3').clock_offset_seconds).toBeGreaterThanOrEqual(-600);
    expect(text.stdout).toMatch(/BUILDER\s+HEALTH\s+STATE\s+JOB\s+BEAT\s+CLOCK/);
    expect(text.stdout).toMatch(/build2\s+healthy\s.*\+(9|10)m/);
    expect(text.stdout).toMatch(/build3\s+healthy\s.*-(9|10)m/);
    expect(text.stdout).toContain('Clocks: build2 +');
    // The agent's tick log has a line per skewed clock.
    const lines = tick.stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { msg: string; builder?: string; clock_offset_seconds?: number });
    expect(lines.filter((l) => l.msg.startsWith('clock skew')).map((l) => l.builder).sort()).toEqual(['build2', 'build3']);
  });

  it('no offset is shown for clocks within max_clock_skew', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    await ok('build2', '+10s', ['heartbeat']);
    await ok('build1', '0s', ['status']);
    await ok('build2', '+10s', ['heartbeat']);
    const text = await ok('build1', '0s', ['status']);
    expect(text.stdout).not.toContain('CLOCK');
    const json = JSON.parse((await ok('build1', '0s', ['status', '--no-fetch', '--json'])).stdout).fleet;
    expect(json.builders.find((b: { id: string }) => b.id === 'build2')).toMatchObject({ clock_skewed: false });
  });
});

describe('status --no-fetch after other commands', () => {
  it('says how old the heartbeats are, and shows health as of that look, not as of main\'s fetch', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    await ok('build2', '0s', ['heartbeat']);
    await ok('build1', '0s', ['job', 'list']); // fetches main only
    const never = await ok('build1', '0s', ['status', '--no-fetch']);
    expect(never.stdout).toContain('heartbeats never fetched');
    await ok('build1', '0s', ['status']);
    await ok('build1', '+4m', ['job', 'list']);
    const json = JSON.parse((await ok('build1', '+4m', ['status', '--no-fetch', '--json'])).stdout).fleet;
    expect(json.fetch_age_seconds.heartbeats).toEqual(expect.any(Number));
    expect(json.heartbeats_fetched_at).toEqual(expect.any(String));
    // build2's beat is 4 minutes old by the clock, but at the last look it was fresh.
    expect(json.builders.find((b: { id: string }) => b.id === 'build2')).toMatchObject({ health: 'healthy' });
  });
});
