// `buildctl job run` and `job claim --wait` end to end: the built CLI on clones of a real
// bare remote. Order of events is read from files the commands append to, never from
// wall time.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LOST_LEASE_EXIT_CODE, TIMEOUT_EXIT_CODE } from '../../src/domain/lease.js';
import { cliAs, gitSync, makeFleet, okAs, waitFor, type Fleet } from '../helpers/fleet.js';

let fleet: Fleet | undefined;
afterEach(() => {
  fleet?.cleanup();
  fleet = undefined;
});

const cli = cliAs;
const ok = okAs;
const lines = (file: string): string[] => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);
const remoteJob = (f: Fleet, id: string) =>
  (JSON.parse(gitSync(f.remote, ['show', 'main:coordination/jobs.json'])).jobs as Array<Record<string, any>>).find((j) => j.id === id);

/** Short leases, so a lost one shows in seconds: a beat and a look every second, dead after 6 s. */
const quickLeases = async (f: Fleet) => {
  await ok(f, 'build1', ['config', 'set', 'stale_after', '2s']);
  await ok(f, 'build1', ['config', 'set', 'dead_after', '6s']);
};

/** A command that says it started, ticks while it runs, and says when it is asked to stop. */
const ticking = (events: string, who: string) => [
  'sh',
  '-c',
  `echo "${who} started $BUILDCTL_JOB_ID" >> '${events}'; trap 'echo "${who} stopped" >> "${events}"; exit 0' TERM; while :; do echo "${who} tick" >> '${events}'; sleep 0.1; done`,
];

describe('job run', () => {
  it('runs the command with the job in its environment, logs its output, records the artifacts and completes the job', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const f = fleet;
    const id = await ok(f, 'build2', ['job', 'add', '--type', 'build', '--branch', 'release-4.21', '--commit', 'd8e22ab', '--description', 'nightly DEB packages']);
    const out = join(f.root, 'app.deb');
    const script = `echo "building $BUILDCTL_JOB_ID ($BUILDCTL_JOB_TYPE) $BUILDCTL_JOB_BRANCH@$BUILDCTL_JOB_COMMIT: $BUILDCTL_JOB_DESCRIPTION"; echo "a warning" >&2; printf 'deb bytes' > '${out}'`;
    const run = await cli(f, 'build1', ['job', 'run', '--artifact', out, '--artifact-url', 'https://artifacts.example/app.deb', '--json', '--', 'sh', '-c', script]);
    expect(run.code, run.stderr).toBe(0);
    // With --json the command's output goes to stderr; stdout is the result alone.
    expect(run.stderr).toContain(`building ${id} (build) release-4.21@d8e22ab: nightly DEB packages`);
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({ changed: true, queued: false, job: { id, status: 'completed', assigned_to: 'build1' }, run: { outcome: 'completed', exit_code: 0 } });

    const job = remoteJob(f, id)!;
    const log: string = job.result.log;
    expect(log).toBe(join(f.root, 'build1', 'store.logs', 'jobs', `${id}.log`));
    // stdout and stderr come through two pipes: both are kept, in whichever order they arrived.
    expect([...job.result.log_tail].sort()).toEqual(['a warning', `building ${id} (build) release-4.21@d8e22ab: nightly DEB packages`]);
    expect(job.result).toMatchObject({
      outcome: 'completed',
      exit_code: 0,
      signal: null,
      artifacts: [{ path: out, size: 9, sha256: createHash('sha256').update('deb bytes').digest('hex'), url: 'https://artifacts.example/app.deb' }],
    });
    const logged = readFileSync(log, 'utf8').split('\n');
    expect(logged[0]).toMatch(new RegExp(`^=== buildctl job run ${id} \\(attempt 1\\) on build1 at \\S+: sh -c .* ===$`));
    expect(logged.slice(1, 3).sort()).toEqual(['a warning', `building ${id} (build) release-4.21@d8e22ab: nightly DEB packages`]);
    expect(logged.slice(3)).toEqual(['=== exit code 0 ===', '']);
    // The builder kept its status with the job, and beat while it ran (no agent needed).
    expect(JSON.parse(gitSync(f.remote, ['show', 'main:build1/status.json']))).toMatchObject({ state: 'success', last_build: { job: id, artifacts: [out] } });
    expect(gitSync(f.remote, ['rev-parse', '--verify', 'heartbeat/build1']).trim()).toMatch(/^[0-9a-f]{40}$/);

    const show = await ok(f, 'build2', ['job', 'show', id]);
    expect(show).toContain(`${out}  9 B  sha256:${createHash('sha256').update('deb bytes').digest('hex')}  https://artifacts.example/app.deb`);
    expect(show).toContain('  | a warning');
  });

  it.each([
    ['a failing command: the job fails with its exit code', ['--', 'sh', '-c', 'echo compile error; exit 3'], 3, { outcome: 'failed', exit_code: 3, reason: 'exit code 3', log_tail: ['compile error'] }],
    ['a command killed by SIGSEGV: exit 139, the job fails naming the signal', ['--', 'sh', '-c', 'echo before; kill -SEGV $$'], 139, { outcome: 'signal', signal: 'SIGSEGV', exit_code: null, reason: 'killed by SIGSEGV' }],
    ['a command that does not leave its artifact: the job fails, exit 1', ['--artifact', 'never-made.tar', '--', 'true'], 1, { outcome: 'failed', exit_code: 0, reason: expect.stringMatching(/^exit code 0, but cannot read artifact never-made\.tar: no such file$/) }],
  ] as const)('%s', async (_name, args, code, result) => {
    fleet = await makeFleet(['build1']);
    const id = await ok(fleet, 'build1', ['job', 'add', '--type', 'build']);
    const run = await cli(fleet, 'build1', ['job', 'run', ...args]);
    expect(run.code, run.stderr).toBe(code);
    expect(remoteJob(fleet, id)).toMatchObject({ status: 'failed', result });
    expect(run.stderr).toContain(`buildctl: job ${id} `);
  });

  it("stops the command at the job's timeout, fails the job as timed out, and exits 124", async () => {
    fleet = await makeFleet(['build1']);
    const events = join(fleet.root, 'events');
    const id = await ok(fleet, 'build1', ['job', 'add', '--type', 'build', '--timeout', '2s']);
    const run = await cli(fleet, 'build1', ['job', 'run', '--', ...ticking(events, 'build1')]);
    expect(run.code, run.stderr).toBe(TIMEOUT_EXIT_CODE);
    expect(lines(events).at(-1)).toBe('build1 stopped');
    expect(remoteJob(fleet, id)).toMatchObject({ status: 'failed', result: { outcome: 'timeout', reason: 'timed out after 2s' } });
  });

  /** Two clones with short leases; build1 runs a ticking command for a job build2 added. */
  const runningOnBuild1 = async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const f = fleet;
    await quickLeases(f);
    const events = join(f.root, 'events');
    const id = await ok(f, 'build2', ['job', 'add', '--type', 'build']);
    const run = cli(f, 'build1', ['job', 'run', '--', ...ticking(events, 'build1')]);
    await waitFor(() => lines(events).includes(`build1 started ${id}`), 'the command to start');
    return { f, events, id, run };
  };

  it('lost lease, the job cancelled by another clone while it runs: the command is stopped, exit 199, the job left as cancelled', async () => {
    const { f, events, id, run } = await runningOnBuild1();
    await ok(f, 'build2', ['job', 'cancel', id, '--reason', 'superseded by a newer commit']);

    const result = await run;
    expect(result.code, result.stderr).toBe(LOST_LEASE_EXIT_CODE);
    expect(result.stderr).toContain(`buildctl: job ${id} stopped: taken: it was cancelled by build2: superseded by a newer commit`);
    expect(lines(events)).toContain('build1 stopped');
    // Not this run's any more: nothing of the run was written to it.
    const job = remoteJob(f, id)!;
    expect(job).toMatchObject({ status: 'cancelled', result: { cancelled_by: 'build2', reason: 'superseded by a newer commit' } });
    expect(job.result).not.toHaveProperty('outcome');
  });

  it('lost lease, build1 cut off from the remote: its command stops before the job can run anywhere else', async () => {
    const { f, events, id, run } = await runningOnBuild1();
    // A partition: build1's heartbeats no longer reach the remote; build2's agent sees it die.
    gitSync(f.stores.build1!, ['remote', 'set-url', 'origin', join(f.root, 'unreachable.git')]);
    await waitFor(async () => {
      await cli(f, 'build2', ['agent', '--once']);
      return remoteJob(f, id)?.status === 'queued';
    }, 'housekeeping to requeue the job of the dead builder');
    expect(remoteJob(f, id)!.result.reason).toBe('build1 died while running it (attempt 1 of 3)');
    // build2 runs it now. Nothing of build1's command may come after build2's started.
    const second = await cli(f, 'build2', ['job', 'run', '--', 'sh', '-c', `echo "build2 started $BUILDCTL_JOB_ID" >> '${events}'`]);
    expect(second.code, second.stderr).toBe(0);

    const result = await run;
    expect(result.code, result.stderr).toBe(LOST_LEASE_EXIT_CODE);
    expect(result.stderr).toMatch(new RegExp(`buildctl: job ${id} stopped: lost its lease: job ${id} could not be renewed for [\\d.]+s of its 6s lease`));
    // Its release could not reach the remote: it waits in the outbox, and no longer applies.
    expect(result.stderr).toContain('queued:');
    const seen = lines(events);
    const started2 = seen.indexOf(`build2 started ${id}`);
    const lastOfBuild1 = seen.reduce((last, line, index) => (line.startsWith('build1') ? index : last), -1);
    expect(seen).toContain('build1 stopped');
    expect(lastOfBuild1, seen.join('\n')).toBeLessThan(started2);

    // Back online, the queued release is dropped: that run no longer owns the job.
    gitSync(f.stores.build1!, ['remote', 'set-url', 'origin', f.remote]);
    const flush = await cli(f, 'build1', ['outbox', 'flush']);
    expect(flush.stderr).toContain('dropped queued job.release');
    expect(remoteJob(f, id)).toMatchObject({ status: 'completed', assigned_to: 'build2' });
  });
});

describe('job claim --wait', () => {
  it('claims a job another clone adds while it waits, and exits 3 when the wait passes with nothing', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const f = fleet;
    const none = await cli(f, 'build1', ['job', 'claim', '--wait', '1s']);
    expect(none.code).toBe(3);
    expect(none.stderr).toContain('nothing to claim for build1');

    const commits = Number(gitSync(f.remote, ['rev-list', '--count', 'main']).trim());
    const lastFetch = join(f.stores.build1!, '.git', 'buildctl', 'last-fetch');
    rmSync(lastFetch);
    let done = false;
    const waiting = cli(f, 'build1', ['job', 'claim', '--wait', '60s', '--json']).finally(() => (done = true));
    // Looking costs the remote a fetch, never a commit.
    await waitFor(() => existsSync(lastFetch), 'the first look');
    expect(Number(gitSync(f.remote, ['rev-list', '--count', 'main']).trim())).toBe(commits);
    const id = await ok(f, 'build2', ['job', 'add', '--type', 'build']);
    expect(done).toBe(false);
    const claimed = await waiting;
    expect(claimed.code, claimed.stderr).toBe(0);
    expect(JSON.parse(claimed.stdout)).toMatchObject({ job: { id, status: 'running', assigned_to: 'build1' }, changed: true });
  });
});
