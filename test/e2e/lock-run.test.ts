// `lock run` keeps its promise (issue 11): the built CLI on two clones of a real remote.
// When build1 can no longer confirm its lease (remote cut off, or too slow), its command is
// stopped before build2 can hold the lock, and lock run says so with its own exit code.
// Order is checked from an events file both commands append to, never from wall time.
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LOST_LEASE_EXIT_CODE } from '../../src/domain/lease.js';
import { cliAs, gitSync, makeFleet, waitFor, type Fleet } from '../helpers/fleet.js';

let fleet: Fleet | undefined;
afterEach(() => {
  fleet?.cleanup();
  fleet = undefined;
});

const cli = cliAs;
const lines = (file: string): string[] => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);

/** A command that says it started, ticks while it runs, and says when it is asked to stop. */
const ticking = (events: string, who: string) => [
  'sh',
  '-c',
  `echo "${who} started" >> '${events}'; trap 'echo "${who} stopped" >> "${events}"; exit 0' TERM; while :; do echo "${who} tick" >> '${events}'; sleep 0.1; done`,
];

/** build2 takes the lock as soon as it is free and records it; nothing of build1's may come after. */
const build2Takes = (f: Fleet, events: string) =>
  cli(f, 'build2', ['lock', 'run', 'deploy', '--ttl', '10s', '--wait', '90s', '--', 'sh', '-c', `echo "build2 holds token $BUILDCTL_LOCK_TOKEN" >> '${events}'`]);

const expectStoppedBeforeBuild2Held = (events: string, how: 'stopped' | 'killed' = 'stopped'): void => {
  const seen = lines(events);
  const held = seen.findIndex((line) => line.startsWith('build2 holds'));
  expect(held, seen.join('\n')).toBeGreaterThan(0);
  expect(seen[held]).toBe('build2 holds token 2');
  // A command that handles SIGTERM says so; one that ignores it is killed without a word.
  if (how === 'stopped') expect(seen.indexOf('build1 stopped'), seen.join('\n')).toBeGreaterThan(0);
  // Every line of build1's command, its last tick included, came before build2 held the lock.
  const lastOfBuild1 = seen.reduce((last, line, index) => (line.startsWith('build1') ? index : last), -1);
  expect(lastOfBuild1, seen.join('\n')).toBeLessThan(held);
};

describe('lock run under a lease it cannot keep', () => {
  it.each([
    ['a command that stops on SIGTERM', (events: string) => ticking(events, 'build1')],
    // It ignores SIGTERM (so does its sleep, which inherits that): SIGKILL ends the group.
    ['a command that ignores SIGTERM', (events: string) => ['sh', '-c', `echo "build1 started" >> '${events}'; trap '' TERM; while :; do echo "build1 tick" >> '${events}'; sleep 0.1; done`]],
  ])('cut off from the remote, %s: it is stopped before another builder holds the lock, and lock run exits 199', async (name, command) => {
    fleet = await makeFleet(['build1', 'build2']);
    const f = fleet;
    const events = join(f.root, 'events');
    const run = cli(f, 'build1', ['lock', 'run', 'deploy', '--ttl', '8s', '--', ...command(events)]);
    await waitFor(() => lines(events).includes('build1 started'), 'the command to start');
    // A partition: build1 can no longer reach the remote; build2 still can.
    gitSync(f.stores.build1!, ['remote', 'set-url', 'origin', join(f.root, 'unreachable.git')]);
    const taker = build2Takes(f, events);

    const result = await run;
    expect(result.code, result.stderr).toBe(LOST_LEASE_EXIT_CODE);
    expect(result.stderr).toMatch(/buildctl: lock deploy could not be renewed for [\d.]+s of its 8s lease: the command was stopped \(exit 199\)/);
    expect(result.stderr).toContain('could not renew');
    expect((await taker).code).toBe(0);
    expectStoppedBeforeBuild2Held(events, name.includes('ignores') ? 'killed' : 'stopped');
  });

  it('under a slow remote: the same, while its renewals hang in a pre-receive hook', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const f = fleet;
    const events = join(f.root, 'events');
    const slow = join(f.root, 'slow');
    // The remote takes as long as the flag file exists to accept a push by build1.
    const hook = join(f.remote, 'hooks', 'pre-receive');
    writeFileSync(
      hook,
      `#!/bin/sh\nwhile read old new ref; do\n  if [ -e '${slow}' ] && git log -1 --format=%B "$new" | grep -q 'Buildctl-Actor: build1'; then\n    while [ -e '${slow}' ]; do sleep 0.1; done\n  fi\ndone\nexit 0\n`,
    );
    chmodSync(hook, 0o755);

    const run = cli(f, 'build1', ['lock', 'run', 'deploy', '--ttl', '8s', '--', ...ticking(events, 'build1')]);
    await waitFor(() => lines(events).includes('build1 started'), 'the command to start');
    writeFileSync(slow, '');
    const taker = await build2Takes(f, events);
    expect(taker.code, taker.stderr).toBe(0);
    expectStoppedBeforeBuild2Held(events);

    // build1's renewal is still hanging in the hook: let it through. lock run then ends, and
    // releases nothing (the lock is build2's, or free: never build2's taken away).
    rmSync(slow);
    const result = await run;
    expect(result.code, result.stderr).toBe(LOST_LEASE_EXIT_CODE);
    expect(result.stderr).toContain('the command was stopped (exit 199)');
    const log = gitSync(f.remote, ['log', '--format=%s', 'main']);
    expect(log).not.toMatch(/lock\.release deploy by build1/);
  });

  it('a SIGSEGV child exits 139 (128 + its signal number), and the lock is released', async () => {
    fleet = await makeFleet(['build1']);
    const result = await cli(fleet, 'build1', ['lock', 'run', 'deploy', '--ttl', '10s', '--', 'sh', '-c', 'kill -SEGV $$']);
    expect(result.code, result.stderr).toBe(139);
    expect(JSON.parse(gitSync(fleet.remote, ['show', 'main:coordination/locks.json'])).locks).toEqual([]);
  });

  it('refuses a TTL too short for the store (exit 2) before taking anything', async () => {
    fleet = await makeFleet(['build1']);
    // The store's last transaction took 3 s (as measured by the clone, for taking turns).
    writeFileSync(join(fleet.stores.build1!, '.git', 'buildctl', 'last-win'), `${Date.now() - 60_000} 3000\n`);
    const before = gitSync(fleet.remote, ['rev-parse', 'main']);
    const result = await cli(fleet, 'build1', ['lock', 'run', 'deploy', '--ttl', '10s', '--', 'true']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("buildctl: lock run --ttl 10s is too short: this store's last transaction took 3000 ms");
    expect(result.stderr).toContain('hint: use at least 15s');
    expect(gitSync(fleet.remote, ['rev-parse', 'main'])).toBe(before);
  });

  it('a second lock run of the same builder waits for the first instead of sharing the lock', async () => {
    fleet = await makeFleet(['build1']);
    const events = join(fleet.root, 'events');
    const first = cli(fleet, 'build1', ['lock', 'run', 'deploy', '--ttl', '10s', '--', 'sh', '-c', `echo "first in" >> '${events}'; sleep 2; echo "first out" >> '${events}'`]);
    await waitFor(() => lines(events).includes('first in'), 'the first command to start');
    const second = await cli(fleet, 'build1', ['lock', 'run', 'deploy', '--ttl', '10s', '--wait', '60s', '--', 'sh', '-c', `echo "second in" >> '${events}'`]);
    expect(second.code, second.stderr).toBe(0);
    expect((await first).code).toBe(0);
    expect(lines(events)).toEqual(['first in', 'first out', 'second in']);
  });
});
