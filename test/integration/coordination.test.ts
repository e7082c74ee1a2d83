// Jobs, locks and messages against a real bare remote with several clones racing: exactly
// one claimer per job, every message once, at most one lock holder with growing tokens.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BuildctlError } from '../../src/errors.js';
import { addJobOp, claimJobOp, finishJobOp } from '../../src/ops/jobs.js';
import { lockRun } from '../../src/ops/lock-run.js';
import { acquireLockOp, releaseLockOp } from '../../src/ops/locks.js';
import { sendMessageOp } from '../../src/ops/messages.js';
import { jobsDoc, type Job } from '../../src/schemas/jobs.js';
import { commitCount, gitSync, makeFleet, testContext, type Fleet } from '../helpers/fleet.js';

let fleet: Fleet | undefined;
afterEach(() => fleet?.cleanup());

const remoteFile = (f: Fleet, path: string): string => gitSync(f.remote, ['show', `main:${path}`]);
const remoteJson = (f: Fleet, path: string) => JSON.parse(remoteFile(f, path));
const ctxOf = (f: Fleet, id: string, overrides = {}) => testContext(f.stores[id]!, id, overrides);

/** Awaits an operation that must fail with a BuildctlError, and returns that error. */
const rejectionOf = async (promise: Promise<unknown>): Promise<BuildctlError> => {
  const error = await promise.then(
    () => {
      throw new Error('expected a BuildctlError, but the operation succeeded');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BuildctlError);
  return error as BuildctlError;
};

/** The files a commit on the remote changed. */
const changedFiles = (f: Fleet, ref = 'main'): string[] =>
  gitSync(f.remote, ['show', '--name-only', '--format=', ref]).trim().split('\n').filter(Boolean).sort();

const BUILDERS = ['build1', 'build2', 'build3', 'build4'];

describe('concurrent coordination through a real remote', () => {
  it('N clones claiming from one queue (each finishing a job before its next): every job is claimed exactly once', async () => {
    fleet = await makeFleet(BUILDERS);
    const f = fleet;
    const added: string[] = [];
    for (let i = 0; i < 12; i++) added.push((await addJobOp(ctxOf(f, 'build1'), { type: 'build', description: `job ${i}` })).job.id);

    const claimAll = async (id: string): Promise<string[]> => {
      const mine: string[] = [];
      for (;;) {
        try {
          const { job } = await claimJobOp(ctxOf(f, id), {});
          mine.push(job.id);
          // One job at a time: a builder finishes a job before it claims the next.
          await finishJobOp(ctxOf(f, id), 'complete', { id: job.id });
        } catch (error) {
          if (error instanceof BuildctlError && error.code === 'nothing_to_claim') return mine;
          throw error;
        }
      }
    };
    const claimed = await Promise.all(BUILDERS.map(claimAll));

    const all = claimed.flat();
    expect(all).toHaveLength(12);
    expect(new Set(all).size).toBe(12);
    expect([...all].sort()).toEqual([...added].sort());

    const jobs = jobsDoc.parse(remoteJson(f, 'coordination/jobs.json')).jobs;
    expect(jobs).toHaveLength(12);
    for (const [index, id] of BUILDERS.entries()) {
      const mine = claimed[index]!;
      // What the remote says each job's assignee is matches who was told it won.
      for (const jobId of mine) expect(jobs.find((j) => j.id === jobId)).toMatchObject({ status: 'completed', assigned_to: id, attempts: 1 });
      if (mine.length > 0) {
        expect(remoteJson(f, `${id}/status.json`)).toMatchObject({ id, state: 'success', current_job: null, last_build: { job: mine.at(-1) } });
      }
    }
    // One claim commit per job: losers re-applied their intent, never committed a duplicate.
    const ops = gitSync(f.remote, ['log', '--format=%(trailers:key=Buildctl-Op,valueonly)', 'main']).match(/job\.claim/g) ?? [];
    expect(ops).toHaveLength(12);
  });

  it('N clones sending at once: every message arrives exactly once, and no commit carries its text', async () => {
    fleet = await makeFleet(BUILDERS);
    const f = fleet;
    const before = commitCount(f.remote);
    const sendFive = async (from: string, index: number): Promise<string[]> => {
      const ids: string[] = [];
      const to = BUILDERS[(index + 1) % BUILDERS.length]!;
      for (let i = 0; i < 5; i++) {
        ids.push((await sendMessageOp(ctxOf(f, from), { to: [i % 2 ? 'all' : to], body: `payload ${from} number ${i}\nsecond line` })).message.id);
      }
      return ids;
    };
    const sent = (await Promise.all(BUILDERS.map(sendFive))).flat();
    expect(new Set(sent).size).toBe(20);

    const messages: Array<{ id: string; from: string; body: string }> = remoteJson(f, 'coordination/messages.json').messages;
    expect(messages).toHaveLength(20);
    expect(messages.map((m) => m.id).sort()).toEqual([...sent].sort());
    for (const from of BUILDERS) {
      const bodies = messages.filter((m) => m.from === from).map((m) => m.body).sort();
      expect(bodies).toEqual([0, 1, 2, 3, 4].map((i) => `payload ${from} number ${i}\nsecond line`));
    }

    expect(commitCount(f.remote)).toBe(before + 20);
    const summaries = gitSync(f.remote, ['log', '--format=%s', '-n', '20', 'main']).trim().split('\n');
    expect(summaries).toHaveLength(20);
    for (const summary of summaries) {
      expect(summary).toMatch(/^msg\.send msg_\d+_[0-9a-f]{6} build\d -> /);
      expect(summary).not.toMatch(/payload|number|second line/);
    }
    expect(new Set(summaries.map((s) => s.split(' ')[1])).size).toBe(20);
  });

  it('N clones competing for one lock: at most one holder at any instant, tokens strictly increasing', async () => {
    fleet = await makeFleet(BUILDERS);
    const f = fleet;
    const held: Array<{ id: string; token: number; acquired: number; released: number }> = [];
    const holdOnce = async (id: string): Promise<void> => {
      const ctx = ctxOf(f, id);
      const { lock, outcome } = await acquireLockOp(ctx, { name: 'deploy', ttl: '5s', wait: '40s' });
      const acquired = performance.now();
      expect(outcome).toBe('acquired');
      expect(lock.owner).toBe(id);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const released = performance.now();
      await releaseLockOp(ctx, 'deploy');
      held.push({ id, token: lock.token, acquired, released });
    };
    await Promise.all(BUILDERS.map(holdOnce));

    expect(held.map((h) => h.id).sort()).toEqual(BUILDERS);
    const byTime = [...held].sort((a, b) => a.acquired - b.acquired);
    for (let i = 1; i < byTime.length; i++) {
      // The previous holder had asked to release before the next one was told it holds the lock.
      expect(byTime[i - 1]!.released).toBeLessThan(byTime[i]!.acquired);
      expect(byTime[i]!.token).toBeGreaterThan(byTime[i - 1]!.token);
    }
    expect(new Set(held.map((h) => h.token)).size).toBe(BUILDERS.length);
    expect(remoteJson(f, 'coordination/locks.json')).toEqual({ locks: [], last_token: Math.max(...held.map((h) => h.token)) });
  });

  it('an expired lock is taken over with a higher token, and only its owner may release it', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const first = await acquireLockOp(ctxOf(fleet, 'build1'), { name: 'deploy', ttl: '30s' });
    expect(first.outcome).toBe('acquired');

    const held = await rejectionOf(acquireLockOp(ctxOf(fleet, 'build2'), { name: 'deploy', ttl: '30s' }));
    expect(held).toMatchObject({ kind: 'not_now', code: 'lock_held' });
    expect(held.message).toContain('held by build1');

    // A minute later (build2's clock), build1's 30 s lock has expired.
    const later = ctxOf(fleet, 'build2', { now: () => new Date(Date.now() + 60_000) });
    const second = await acquireLockOp(later, { name: 'deploy', ttl: '30s' });
    expect(second.outcome).toBe('taken_over');
    expect(second.lock.owner).toBe('build2');
    expect(second.lock.token).toBeGreaterThan(first.lock.token);

    const before = commitCount(fleet.remote);
    const notMine = await rejectionOf(releaseLockOp(ctxOf(fleet, 'build1'), 'deploy'));
    expect(notMine).toMatchObject({ kind: 'not_now', code: 'not_lock_owner', exitCode: 3 });
    expect(notMine.message).toContain('held by build2, not build1');
    expect(commitCount(fleet.remote)).toBe(before);
    expect(remoteJson(fleet, 'coordination/locks.json').locks).toEqual([expect.objectContaining({ name: 'deploy', owner: 'build2', token: second.lock.token })]);
  });

  it('claim, complete and fail keep the builder status in the same commit as the job', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const f = fleet;
    const a = (await addJobOp(ctxOf(f, 'build1'), { type: 'build', priority: 1 })).job;
    const b = (await addJobOp(ctxOf(f, 'build1'), { type: 'build', priority: 2 })).job;
    const c = (await addJobOp(ctxOf(f, 'build1'), { type: 'build', priority: 3 })).job;

    expect((await claimJobOp(ctxOf(f, 'build1'), {})).job).toMatchObject({ id: a.id, status: 'running', assigned_to: 'build1' });
    expect(changedFiles(f)).toEqual(['build1/status.json', 'coordination/jobs.json']);
    expect(remoteJson(f, 'build1/status.json')).toMatchObject({ state: 'building', current_job: a.id });

    const artifact = join(f.root, 'app.tar.gz');
    writeFileSync(artifact, 'app');
    await finishJobOp(ctxOf(f, 'build1'), 'complete', { id: a.id, artifacts: [artifact] });
    expect(changedFiles(f)).toEqual(['build1/status.json', 'coordination/jobs.json']);
    expect(remoteJson(f, 'build1/status.json')).toMatchObject({
      state: 'success',
      current_job: null,
      last_build: { job: a.id, status: 'success', artifacts: [artifact] },
    });

    await claimJobOp(ctxOf(f, 'build1'), {});
    await finishJobOp(ctxOf(f, 'build1'), 'fail', { id: b.id, reason: 'tests failed' });
    expect(changedFiles(f)).toEqual(['build1/status.json', 'coordination/jobs.json']);
    expect(remoteJson(f, 'build1/status.json')).toMatchObject({
      state: 'failed',
      current_job: null,
      last_build: { job: b.id, status: 'failed', reason: 'tests failed' },
    });

    // build2 runs c; build1 may not finish it without --force, and nothing is written.
    expect((await claimJobOp(ctxOf(f, 'build2'), {})).job.id).toBe(c.id);
    const before = commitCount(f.remote);
    const refused = await rejectionOf(finishJobOp(ctxOf(f, 'build1'), 'complete', { id: c.id }));
    expect(refused).toMatchObject({ kind: 'not_now', code: 'not_assignee' });
    expect(refused.message).toContain('assigned to build2');
    expect(commitCount(f.remote)).toBe(before);

    const forced = await finishJobOp(ctxOf(f, 'build1'), 'complete', { id: c.id, force: true });
    expect(forced.job).toMatchObject({ status: 'completed', assigned_to: 'build2', result: { forced_by: 'build1' } });
    expect(gitSync(f.remote, ['log', '-1', '--format=%s', 'main']).trim()).toBe(`job.complete ${c.id} (forced)`);
    // The assignee's status follows its job, whoever closed it.
    expect(changedFiles(f)).toEqual(['build2/status.json', 'coordination/jobs.json']);
    expect(remoteJson(f, 'build2/status.json')).toMatchObject({ state: 'success', current_job: null, last_build: { job: c.id, status: 'success' } });
    expect(jobsDoc.safeParse(remoteJson(f, 'coordination/jobs.json')).success).toBe(true);
  });

  it('two clones adding the same key at once make exactly one live job', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const results = await Promise.all(
      ['build1', 'build2'].map((id) => addJobOp(ctxOf(fleet!, id), { type: 'package', key: 'release-1.4.2', description: `from ${id}` })),
    );
    expect(results.map((r) => r.outcome).sort()).toEqual(['added', 'existing']);
    expect(results[0]!.job.id).toBe(results[1]!.job.id);
    const jobs: Job[] = jobsDoc.parse(remoteJson(fleet, 'coordination/jobs.json')).jobs;
    expect(jobs.filter((j) => j.key === 'release-1.4.2')).toEqual([expect.objectContaining({ id: results[0]!.job.id, status: 'queued' })]);
    expect(gitSync(fleet.remote, ['log', '--format=%s', 'main']).match(/^job\.add /gm)).toHaveLength(1);
  });

  it('lockRun gives the command its token, renews while it runs, returns its exit code and releases', async () => {
    fleet = await makeFleet(['build1']);
    const out = join(fleet.root, 'token.txt');
    // Renewals go every third of the TTL: a command that outlives a third sees one.
    const { exitCode, end, released } = await lockRun(ctxOf(fleet, 'build1'), {
      name: 'publish',
      ttl: '9s',
      command: 'sh',
      args: ['-c', `printf %s "$BUILDCTL_LOCK_TOKEN" > '${out}'; sleep 4; exit 7`],
      env: process.env,
    });
    expect([exitCode, end.kind, released]).toEqual([7, 'exited', true]);
    const locks = remoteJson(fleet, 'coordination/locks.json');
    expect(readFileSync(out, 'utf8')).toBe(String(locks.last_token));
    expect(locks.last_token).toBeGreaterThan(0);
    expect(locks.locks.find((l: { name: string }) => l.name === 'publish')).toBeUndefined();
    const ops = gitSync(fleet.remote, ['log', '--format=%(trailers:key=Buildctl-Op,valueonly)', 'main']);
    expect(ops).toMatch(/lock\.acquire/);
    expect(ops).toMatch(/lock\.renew/);
    expect(ops).toMatch(/lock\.release/);
  });
});
