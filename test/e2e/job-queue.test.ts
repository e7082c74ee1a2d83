// The job queue end to end with the built CLI on clones of a real remote: dependencies
// (new and legacy), blocks, jobs that can never run, artifact manifests next to older
// string artifacts, and archived jobs.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cliAs, commitCount, gitSync, makeFleet, okAs, pushHandEdit, waitFor, type Fleet } from '../helpers/fleet.js';

let fleet: Fleet | undefined;
afterEach(() => {
  fleet?.cleanup();
  fleet = undefined;
});

const cli = cliAs;
const ok = okAs;
const json = async (f: Fleet, id: string, args: string[]) => JSON.parse(await ok(f, id, [...args, '--json']));

/** Pushes a hand edit of coordination/jobs.json, the way another tool (or the older scripts) would. */
const pushJobs = (f: Fleet, edit: (jobs: Array<Record<string, unknown>>) => Array<Record<string, unknown>>): void => {
  const doc = JSON.parse(gitSync(f.remote, ['show', 'main:coordination/jobs.json']));
  pushHandEdit(f, { 'coordination/jobs.json': `${JSON.stringify({ ...doc, jobs: edit(doc.jobs) }, null, 2)}\n` }, 'job_queue.sh add');
};
const legacyJob = (id: string, fields: Record<string, unknown>) => ({
  id,
  type: 'build',
  priority: 1,
  status: 'queued',
  assigned_to: null,
  created_at: '2026-01-05T10:00:00Z',
  started_at: null,
  completed_at: null,
  ...fields,
});

describe('dependencies', () => {
  it('claim waits for them; a failed dependency blocks its dependents with the reason, and job retry unblocks them', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const f = fleet;
    const build = await ok(f, 'build1', ['job', 'add', '--type', 'build', '--priority', '5']);
    const pkg = await ok(f, 'build1', ['job', 'add', '--type', 'package', '--priority', '1', '--after', build]);
    const publish = await ok(f, 'build1', ['job', 'add', '--type', 'publish', '--after', pkg]);

    // The most urgent job waits for its dependency: build goes first.
    expect((await json(f, 'build1', ['job', 'claim'])).job.id).toBe(build);
    const none = await cli(f, 'build2', ['job', 'claim']);
    expect(none.code).toBe(3);
    const shown = await ok(f, 'build2', ['job', 'show', pkg]);
    expect(shown).toContain(`after:        ${build}`);
    expect(shown).toContain(`waits:        waits for ${build} (running)`);
    const status = (await json(f, 'build2', ['status'])).fleet;
    expect(status.queue_waits.jobs).toEqual([
      { id: pkg, waits_for: [build], blocked: null, never_runs: null },
      { id: publish, waits_for: [pkg], blocked: null, never_runs: null },
    ]);
    expect(await ok(f, 'build2', ['status'])).toContain(`Waiting: ${pkg} after ${build}; ${publish} after ${pkg}`);

    await ok(f, 'build1', ['job', 'fail', build, '--reason', 'linker ran out of memory']);
    const blocked = await json(f, 'build2', ['job', 'show', pkg]);
    expect(blocked.job.blocked).toMatchObject({ by: build, reason: `${build} failed: linker ran out of memory` });
    expect(blocked.waits).toBe(`blocked: ${build} failed: linker ran out of memory`);
    expect((await json(f, 'build2', ['job', 'show', publish])).job.blocked.reason).toBe(`waits for ${pkg}, which is blocked: ${build} failed: linker ran out of memory`);
    expect(await ok(f, 'build2', ['job', 'list', '--status', 'queued'])).toMatch(new RegExp(`${pkg}\\s+package\\s+1\\s+queued, blocked`));
    const retryBlocked = await cli(f, 'build2', ['job', 'retry', pkg]);
    expect(retryBlocked.code).toBe(3);
    expect(retryBlocked.stderr).toContain(`retry ${build} instead`);

    await ok(f, 'build2', ['job', 'retry', build]);
    expect((await json(f, 'build2', ['job', 'show', pkg])).job).not.toHaveProperty('blocked');
    expect((await json(f, 'build2', ['job', 'claim'])).job.id).toBe(build);
    await ok(f, 'build2', ['job', 'complete', build]);
    expect((await json(f, 'build1', ['job', 'claim'])).job.id).toBe(pkg);
  });

  it("honours the older scripts' dependencies field, and refuses a job on a dependency cycle (exit 2, nothing written)", async () => {
    fleet = await makeFleet(['build1']);
    const f = fleet;
    pushJobs(f, (jobs) => [
      ...jobs,
      legacyJob('job_1761779789', { status: 'running', assigned_to: 'build1', priority: 5 }),
      legacyJob('job_1761781030_1804', { dependencies: ['job_1761779789'] }),
      legacyJob('job_a', { priority: 9, dependencies: ['job_b'] }),
      legacyJob('job_b', { priority: 9, dependencies: ['job_a'] }),
    ]);
    // The legacy job is the most urgent, but its dependency is still running.
    const none = await cli(f, 'build1', ['job', 'claim']);
    expect(none.code, none.stdout).toBe(3);

    const before = commitCount(f.remote);
    const cycle = await cli(f, 'build1', ['job', 'add', '--type', 'build', '--after', 'job_a']);
    expect(cycle.code).toBe(2);
    expect(cycle.stderr).toMatch(/buildctl: job \S+ would never run: dependency cycle job_a -> job_b -> job_a/);
    expect(cycle.stderr).toContain('hint:');
    const unknown = await cli(f, 'build1', ['job', 'add', '--type', 'build', '--after', 'job_nope']);
    expect([unknown.code, unknown.stderr.split('\n')[0]]).toEqual([2, 'buildctl: unknown job "job_nope"']);
    expect(commitCount(f.remote)).toBe(before);

    await ok(f, 'build1', ['job', 'complete', 'job_1761779789']);
    expect((await json(f, 'build1', ['job', 'claim'])).job.id).toBe('job_1761781030_1804');
  });
});

describe("a queue in the older scripts' layout", () => {
  it('a claim converts it in the same commit, and takes the job it names, every other job kept', async () => {
    fleet = await makeFleet(['build1']);
    const f = fleet;
    const older = (id: string, fields: Record<string, unknown>) => {
      const { created_at: created, ...rest } = legacyJob(id, fields);
      return { ...rest, timestamp: created }; // the older scripts' name for created_at
    };
    pushJobs(f, () => [older('job_low', { priority: 'low', status: 'pending' }), older('job_high', { priority: 'high', status: 'new' }), older('job_done', { status: 'done', assigned_to: 'build1' })]);
    const claimed = await json(f, 'build1', ['job', 'claim']);
    expect(claimed.job.id).toBe('job_high');
    expect(gitSync(f.remote, ['log', '-1', '--format=%(trailers:key=Buildctl-Legacy-Converted,valueonly)', 'main']).trim()).not.toBe('');
    const jobs = JSON.parse(gitSync(f.remote, ['show', 'main:coordination/jobs.json'])).jobs as Array<Record<string, unknown>>;
    expect(jobs.map((j) => [j.id, j.status, j.priority, j.legacy_priority, typeof j.created_at])).toEqual([
      ['job_low', 'queued', 8, 'low', 'string'],
      ['job_high', 'running', 2, 'high', 'string'],
      ['job_done', 'completed', 1, undefined, 'string'],
    ]);
    expect((await cli(f, 'build1', ['validate'])).code).toBe(0);
  });
});

describe('a job that can never run', () => {
  it('is flagged when added (stderr, still added) and counted by status', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const f = fleet;
    await ok(f, 'build1', ['builder', 'add', 'build1', '--label', 'x86']);
    await ok(f, 'build1', ['builder', 'add', 'build2', '--label', 'arm64', '--disabled']);
    const gpu = await cli(f, 'build1', ['job', 'add', '--type', 'build', '--label', 'gpu']);
    expect(gpu.code).toBe(0);
    expect(gpu.stderr).toContain(`buildctl: warning: job ${gpu.stdout.trim()} can never run as the fleet stands: no enabled builder has the label gpu`);
    const target = await cli(f, 'build1', ['job', 'add', '--type', 'build', '--target', 'build2']);
    expect(target.stderr).toContain('its target build2 is disabled');
    const fine = await cli(f, 'build1', ['job', 'add', '--type', 'build', '--label', 'x86']);
    expect(fine.stderr).toBe('');

    const status = (await json(f, 'build1', ['status'])).fleet;
    expect(status.queue_waits.never_runs).toBe(2);
    expect(await ok(f, 'build1', ['status'])).toContain('Waiting (2 can never run): ');
    expect((await json(f, 'build1', ['job', 'show', gpu.stdout.trim()])).never_runs).toBe('no enabled builder has the label gpu');
  });
});

describe('artifacts and archives', () => {
  it('lists manifests and older string artifacts alike; finds archived jobs with list --archived and show', async () => {
    fleet = await makeFleet(['build1']);
    const f = fleet;
    // An older store: a completed job whose artifacts are plain paths.
    pushJobs(f, (jobs) => [...jobs, legacyJob('job_old', { status: 'completed', assigned_to: 'build1', completed_at: '2026-01-05T11:00:00Z', result: { artifacts: ['/root/artifacts/debs/app.deb'] } })]);
    expect((await cli(f, 'build1', ['validate'])).code).toBe(0);
    expect(await ok(f, 'build1', ['job', 'show', 'job_old'])).toContain('artifacts:\n  /root/artifacts/debs/app.deb');

    const id = await ok(f, 'build1', ['job', 'add', '--type', 'build']);
    await ok(f, 'build1', ['job', 'claim']);
    const artifact = join(f.root, 'app.tar');
    writeFileSync(artifact, 'x'.repeat(2048));
    const missing = await cli(f, 'build1', ['job', 'complete', id, '--artifact', join(f.root, 'nope.tar')]);
    expect([missing.code, missing.stderr.split('\n')[0]]).toEqual([2, `buildctl: cannot read artifact ${join(f.root, 'nope.tar')}: no such file`]);
    await ok(f, 'build1', ['job', 'complete', id, '--artifact', artifact]);
    expect(await ok(f, 'build1', ['job', 'show', id])).toMatch(new RegExp(`artifacts:\\n  ${artifact}  2\\.0 KiB  sha256:[0-9a-f]{64}`));
    // Never the file itself: the store holds only the description.
    expect(gitSync(f.remote, ['log', '-p', 'main'])).not.toContain('x'.repeat(100));

    // Housekeeping archives finished jobs past job_retention.
    await ok(f, 'build1', ['config', 'set', 'job_retention', '1s']);
    await waitFor(async () => {
      await cli(f, 'build1', ['agent', '--once']);
      return (await json(f, 'build1', ['job', 'list'])).jobs.length === 0;
    }, 'housekeeping to archive both jobs');
    const archived = await json(f, 'build1', ['job', 'list', '--archived']);
    expect(archived.jobs.map((j: { id: string }) => j.id).sort()).toEqual([id, 'job_old'].sort());
    expect(await ok(f, 'build1', ['job', 'list', '--archived', '--status', 'completed'])).toContain(id);
    const show = await json(f, 'build1', ['job', 'show', 'job_old']);
    expect(show).toMatchObject({ job: { id: 'job_old', status: 'completed' }, archive: 'coordination/archive/jobs-2026-01.json' });
    expect(await ok(f, 'build1', ['job', 'show', id])).toMatch(/archived in: +coordination\/archive\/jobs-\d{4}-\d{2}\.json/);
    const unknown = await cli(f, 'build1', ['job', 'show', 'job_nope']);
    expect(unknown.code).toBe(2);
  });
});
