// Processes that do not behave: one that stalls after reading (SIGSTOP at a named point,
// BUILDCTL_TEST_PAUSE_AT, as a paused VM or a blocked event loop would) while its local
// lock is taken over, and process groups killed with SIGKILL (the CLI and its git
// children, as a systemd stop or an OOM kill of the cgroup does). Nothing reported as
// done is lost, and the next command always proceeds.
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { gitSync, makeFleet, pushHandEdit, runCli, waitFor, type Fleet } from '../helpers/fleet.js';
import { isStopped, killStarted, startCli } from '../helpers/processes.js';

let fleet: Fleet | undefined;
afterEach(() => {
  killStarted();
  fleet?.cleanup();
  fleet = undefined;
});

const messageIds = (f: Fleet): string[] =>
  (JSON.parse(gitSync(f.remote, ['show', 'main:coordination/messages.json'])).messages as Array<{ id: string }>).map((m) => m.id);

describe('a writer that stalls after reading', () => {
  it('loses nothing: its lock is taken over, a second send lands, then it wakes up; both messages end on main', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const f = fleet;
    const store = f.stores.build1!;
    const first = startCli(['--store', store, '--as', 'build1', 'msg', 'send', 'build2', 'first, then stalled'], { BUILDCTL_TEST_PAUSE_AT: 'after-read' });
    await waitFor(() => first.child.pid !== undefined && isStopped(first.child.pid), 'the first send to stop after reading');

    // The stalled process stops refreshing its local lock: a second send on the same clone
    // waits for it to go stale (proper-lockfile, 10 s), takes it over and lands.
    const second = await runCli(['--store', store, '--as', 'build1', 'msg', 'send', 'build2', 'second, while the first stalls']);
    expect(second.code, second.stderr).toBe(0);
    const secondId = second.stdout.trim();
    expect(messageIds(f)).toEqual([secondId]);

    process.kill(-first.child.pid!, 'SIGCONT');
    const woke = await first.done;
    expect(woke.code, woke.stderr).toBe(0);
    const firstId = woke.stdout.trim();
    // Its push of the stale state was rejected; it re-applied its intent to the new main.
    expect(messageIds(f).sort()).toEqual([firstId, secondId].sort());
    const subjects = gitSync(f.remote, ['log', '--format=%s', 'main']).split('\n').filter((s) => s.startsWith('msg.send'));
    expect(subjects).toHaveLength(2);
  });
});

describe('housekeeping that stalls between its fetch and its transaction', () => {
  it('builds on the fetch it made, loses the push to the send that landed meanwhile, and lands on top of it', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const f = fleet;
    // A job finished long ago: the pass archives it (something to commit, whatever it observed).
    const old = new Date(Date.now() - 30 * 86_400_000).toISOString();
    const doc = JSON.parse(gitSync(f.remote, ['show', 'main:coordination/jobs.json']));
    const done = { id: 'job_old', type: 'build', priority: 5, status: 'completed', assigned_to: 'build2', labels: [], attempts: 1, max_attempts: 3, created_at: old, completed_at: old };
    pushHandEdit(f, { 'coordination/jobs.json': `${JSON.stringify({ ...doc, jobs: [...doc.jobs, done] }, null, 2)}\n` });
    // The agent fetches main with the heartbeats, then stops right after taking its lock.
    const trace = join(f.root, 'agent-trace.json');
    const agent = startCli(['--store', f.stores.build1!, '--as', 'build1', 'agent', '--once'], { BUILDCTL_TEST_PAUSE_AT: 'after-lock', GIT_TRACE2_EVENT: trace });
    await waitFor(() => agent.child.pid !== undefined && isStopped(agent.child.pid), 'the agent to stop inside its housekeeping transaction');
    const sent = await runCli(['--store', f.stores.build2!, '--as', 'build2', 'msg', 'send', 'build1', 'while the agent stalls']);
    expect(sent.code, sent.stderr).toBe(0);

    process.kill(-agent.child.pid!, 'SIGCONT');
    const woke = await agent.done;
    expect(woke.code, woke.stderr).toBe(0);
    const tick = JSON.parse(woke.stderr.trim().split('\n').at(-1)!) as { housekeeping: { archived_jobs: string[]; commit: string } };
    expect(tick.housekeeping.archived_jobs).toEqual(['job_old']);
    expect(gitSync(f.remote, ['rev-parse', 'main']).trim()).toBe(tick.housekeeping.commit);
    // The send is still there, under the housekeeping commit; the job left the queue.
    expect(messageIds(f)).toEqual([sent.stdout.trim()]);
    expect(gitSync(f.remote, ['log', '--format=%s', '-2', 'main']).split('\n')[1]).toMatch(/^msg\.send /);
    expect(JSON.parse(gitSync(f.remote, ['show', 'main:coordination/jobs.json'])).jobs.map((j: { id: string }) => j.id)).not.toContain('job_old');
    // What the agent's git did: one fetch of main (with the heartbeats) before the pause, the
    // first push on that base refused, then a fetch and the push that landed.
    const commands = readFileSync(trace, 'utf8')
      .split('\n')
      .filter((line) => line.includes('"event":"start"'))
      .map((line) => (JSON.parse(line) as { argv: string[] }).argv)
      .filter((argv) => argv.includes('fetch') || argv.some((arg) => arg.endsWith(':refs/heads/main')))
      .map((argv) => (argv.includes('fetch') ? `fetch${argv.includes('+refs/heads/heartbeat/*:refs/remotes/origin/heartbeat/*') ? ' with heartbeats' : ''}` : 'push main'));
    expect(commands).toEqual(['fetch with heartbeats', 'push main', 'fetch', 'push main']);
  });
});

describe('a process group killed with SIGKILL', () => {
  /** Kills the CLI and every git child it has, like a cgroup kill. */
  const killGroup = (child: ChildProcess) => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // finished first: a kill after the end is a point of the cycle too
    }
  };

  it('a ref lock a killed git left while the clock was ahead: the next command waits its own few seconds, not until that time comes', { timeout: 60_000 }, async () => {
    // The lock's time is an hour ahead of the clock (set back since, as NTP does to a fast
    // clock). Judged by that time alone, it would look fresh, held by a live git, for an hour.
    fleet = await makeFleet(['build1', 'build2']);
    const store = fleet.stores.build1!;
    const lock = join(store, '.git', 'refs', 'heads', 'main.lock');
    writeFileSync(lock, '');
    const ahead = new Date(Date.now() + 3_600_000);
    utimesSync(lock, ahead, ahead);
    const run = await runCli(['--store', store, '--as', 'build1', 'status', 'set', 'building']);
    expect(run.code, run.stderr).toBe(0);
    expect(existsSync(lock)).toBe(false);
    expect(JSON.parse(gitSync(fleet.remote, ['show', 'main:build1/status.json'])).state).toBe('building');
  });

  it('a store lock of unknown owner stamped ahead of the clock: taken once watched unchanged, not left until that time comes', { timeout: 90_000 }, async () => {
    // No owner file (its process was killed between making the directory and writing it,
    // or it is another host's) and a time an hour ahead: proper-lockfile alone would call
    // it fresh for an hour, and every command would wait 60 s and give up.
    fleet = await makeFleet(['build1', 'build2']);
    const store = fleet.stores.build1!;
    const lock = join(store, '.git', 'buildctl', 'store.lock');
    mkdirSync(lock, { recursive: true });
    const ahead = new Date(Date.now() + 3_600_000);
    utimesSync(lock, ahead, ahead);
    const run = await runCli(['--store', store, '--as', 'build1', 'status', 'set', 'building']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(gitSync(fleet.remote, ['show', 'main:build1/status.json'])).state).toBe('building');
  });

  it('while a git child holds a ref lock, and at random points of the cycle: the next command always proceeds, nothing lands twice', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const f = fleet;
    const store = f.stores.build1!;
    const send = (body: string) => ['--store', store, '--as', 'build1', 'msg', 'send', 'build2', body];
    const bodies: string[] = [];

    // 1. Deterministic: a reference-transaction hook holds the first ref update of the
    //    cycle (locks taken, not yet committed) until the group is killed.
    const hold = join(f.root, 'hold');
    const ready = join(f.root, 'ready');
    const hook = join(store, '.git', 'hooks', 'reference-transaction');
    writeFileSync(hook, `#!/bin/sh\n[ "$1" = prepared ] || exit 0\n[ -e '${hold}' ] || exit 0\nrm -f '${hold}'\n: > '${ready}'\nexec sleep 120\n`);
    chmodSync(hook, 0o755);
    writeFileSync(hold, '');
    const held = startCli(send('held'));
    bodies.push('held');
    await waitFor(() => existsSync(ready), 'a git child to hold a ref lock');
    killGroup(held.child);
    expect((await held.done).code).toBe(-1);
    const after = await runCli(send('after the held kill'));
    expect(after.code, after.stderr).toBe(0);
    bodies.push('after the held kill');

    // 2. Random points: measure one cycle, then kill at random moments within it.
    const timed = Date.now();
    expect((await runCli(send('timing'))).code).toBe(0);
    bodies.push('timing');
    const cycleMs = Date.now() - timed;
    for (let i = 0; i < 6; i++) {
      const body = `killed ${i}`;
      bodies.push(body);
      const run = startCli(send(body));
      await sleep(Math.random() * cycleMs);
      killGroup(run.child);
      await run.done;
      const next = await runCli(send(`next ${i}`));
      expect(next.code, `after kill ${i}: ${next.stderr}`).toBe(0);
      bodies.push(`next ${i}`);
    }

    // Every message that was reported sent is there once; a killed one at most once.
    const messages = JSON.parse(gitSync(f.remote, ['show', 'main:coordination/messages.json'])).messages as Array<{ body: string }>;
    const count = (body: string) => messages.filter((m) => m.body === body).length;
    for (const body of bodies) {
      if (body.startsWith('killed') || body === 'held') expect(count(body), body).toBeLessThanOrEqual(1);
      else expect(count(body), body).toBe(1);
    }
    // And the clone is not wedged: a last command, a view and a validate all work.
    const last = await runCli(['--store', store, '--as', 'build1', 'status', 'set', 'idle']);
    expect(last.code, last.stderr).toBe(0);
    const validate = await runCli(['--store', store, 'validate']);
    expect(validate.code, validate.stdout).toBe(0);
  });
});
