import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tick } from '../../src/ops/agent.js';
import { heartbeat } from '../../src/ops/heartbeat.js';
import { addJobOp, claimJobOp, finishJobOp } from '../../src/ops/jobs.js';
import { acquireLockOp } from '../../src/ops/locks.js';
import { ackMessageOp, readMessagesOp, sendMessageOp } from '../../src/ops/messages.js';
import { jobsDoc } from '../../src/schemas/jobs.js';
import { messagesDoc } from '../../src/schemas/messages.js';
import { validateStore } from '../../src/ops/validate.js';
import { commitCount, gitSync, makeFleet, testContext, type Fleet } from '../helpers/fleet.js';

let fleet: Fleet | undefined;
afterEach(() => fleet?.cleanup());

const minutesAgo = (n: number) => () => new Date(Date.now() - n * 60_000);
const minutesLater = (n: number) => () => new Date(Date.now() + n * 60_000);
const daysAgo = (n: number) => () => new Date(Date.now() - n * 86_400_000);
const remoteJson = (f: Fleet, path: string) => JSON.parse(gitSync(f.remote, ['show', `main:${path}`]));

describe('agent tick', () => {
  it('fetches beside its own beat, leaving its own ref to the push, and still sees another agent\'s beat for its id when its own is refused', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const [one, two] = [fleet.stores.build1!, fleet.stores.build2!];
    const beatRef = (repo: string, ref: string) => gitSync(repo, ['rev-parse', ref]).trim();
    // A plain tick: build2's new beat fetched, build1's own beat on its tracking ref by the push.
    await heartbeat(testContext(two, 'build2'));
    const plain = await tick(testContext(one, 'build1'));
    expect(plain.exit_code).toBe(0);
    for (const id of ['build1', 'build2']) expect(beatRef(one, `origin/heartbeat/${id}`)).toBe(beatRef(fleet.remote, `heartbeat/${id}`));
    // Another clone beats as build1, then the remote refuses build1's beats (a hook).
    await heartbeat(testContext(two, 'build1'));
    const theirs = beatRef(fleet.remote, 'heartbeat/build1');
    writeFileSync(join(fleet.remote, 'hooks', 'pre-receive'), '#!/bin/sh\nwhile read old new ref; do [ "$ref" = refs/heads/heartbeat/build1 ] && { echo "no beats for build1" >&2; exit 1; }; done\nexit 0\n', { mode: 0o755 });
    const refused = await tick(testContext(one, 'build1'));
    expect(refused.exit_code).not.toBe(0);
    expect(refused.heartbeat).toHaveProperty('error');
    expect(refused.housekeeping).not.toHaveProperty('error');
    // build1 is judged by what the remote has (the lease found the other beat), not by this clone's last push.
    expect(beatRef(one, 'origin/heartbeat/build1')).toBe(theirs);
  });

  it('beats, writes the dashboard once, and a second identical tick adds no commit to main', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const ctx = testContext(fleet.stores.build1!, 'build1');
    const first = await tick(ctx);
    expect(first.exit_code).toBe(0);
    expect(gitSync(fleet.remote, ['rev-parse', '--verify', 'heartbeat/build1']).trim()).toMatch(/^[0-9a-f]{40}$/);
    const dashboard = remoteJson(fleet, 'shared/health_dashboard.json');
    expect(dashboard.builders).toEqual([
      { id: 'build1', health: 'healthy', state: null, current_job: null },
      { id: 'build2', health: 'unknown', state: null, current_job: null },
    ]);
    const commits = commitCount(fleet.remote);
    const second = await tick(ctx);
    expect(second.exit_code).toBe(0);
    expect(second.housekeeping).toMatchObject({ changed: false, commit: null });
    expect(commitCount(fleet.remote)).toBe(commits);
  });

  it("requeues a dead builder's running job from another builder's tick, then makes it dead after max_attempts", async () => {
    fleet = await makeFleet(['build1', 'build2', 'build3']);
    const b1 = testContext(fleet.stores.build1!, 'build1');
    // build2 and build3 beat ten minutes ago and then went silent, each running a job.
    const b2Past = testContext(fleet.stores.build2!, 'build2', { now: minutesAgo(10) });
    const b3Past = testContext(fleet.stores.build3!, 'build3', { now: minutesAgo(10) });
    const { job: retryable } = await addJobOp(b1, { type: 'build', target: 'build2', maxAttempts: 3 });
    const { job: lastTry } = await addJobOp(b1, { type: 'build', target: 'build3', maxAttempts: 1 });
    await claimJobOp(b2Past, {});
    await claimJobOp(b3Past, {});
    await heartbeat(b2Past);
    await heartbeat(b3Past);
    await acquireLockOp(testContext(fleet.stores.build2!, 'build2'), { name: 'deploy', ttl: '1h' });

    // build1's first look: build2's beat is ten minutes old by build2's clock, but build1 has
    // watched it for no time at all: nothing happens yet (DESIGN.md, "Health and time").
    const first = await tick(b1);
    expect(first.housekeeping).toMatchObject({ dead_builders: [], requeued_jobs: [], freed_locks: [] });
    // Six minutes later on build1's own clock, with no new beat seen meanwhile: dead.
    const report = await tick(testContext(fleet.stores.build1!, 'build1', { now: minutesLater(6) }));
    expect(report.housekeeping).toMatchObject({
      dead_builders: ['build2', 'build3'],
      requeued_jobs: [retryable.id],
      dead_jobs: [lastTry.id],
      freed_locks: ['deploy'],
      changed: true,
    });
    const jobs = jobsDoc.parse(remoteJson(fleet, 'coordination/jobs.json')).jobs;
    expect(jobs.find((j) => j.id === retryable.id)).toMatchObject({ status: 'queued', assigned_to: null, attempts: 1 });
    expect(jobs.find((j) => j.id === lastTry.id)).toMatchObject({ status: 'dead', attempts: 1 });
    expect(remoteJson(fleet, 'coordination/locks.json').locks).toEqual([]);
    // Requeue, job death and freed lock land in one commit.
    const files = gitSync(fleet.remote, ['show', '--name-only', '--format=%s', 'main']).trim().split('\n');
    expect(files[0]).toMatch(/^housekeeping: requeued 1 job, 1 job dead, freed 1 lock/);
    expect(files).toEqual(expect.arrayContaining(['coordination/jobs.json', 'coordination/locks.json']));
  });

  it('reaps an expired lock and fails a running job past its timeout, both watched by the ticking clone', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const b2 = testContext(fleet.stores.build2!, 'build2');
    await acquireLockOp(b2, { name: 'short', ttl: '30s' });
    const { job } = await addJobOp(b2, { type: 'test', timeout: '1m' });
    await claimJobOp(b2, {});
    await heartbeat(b2);
    const first = await tick(testContext(fleet.stores.build1!, 'build1'));
    expect(first.housekeeping).toMatchObject({ reaped_locks: [], timed_out_jobs: [] });
    const report = await tick(testContext(fleet.stores.build1!, 'build1', { now: minutesLater(2) }));
    expect(report.housekeeping).toMatchObject({ reaped_locks: ['short'], timed_out_jobs: [job.id], requeued_jobs: [] });
    const stored = jobsDoc.parse(remoteJson(fleet, 'coordination/jobs.json')).jobs[0];
    expect(stored).toMatchObject({ status: 'failed', result: { reason: 'timed out after 1m' } });
  });

  it('archives finished jobs and settled messages past retention, leaving the hot files valid', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const b1Old = testContext(fleet.stores.build1!, 'build1', { now: daysAgo(40) });
    const b2Old = testContext(fleet.stores.build2!, 'build2', { now: daysAgo(40) });
    const { job: done } = await addJobOp(b1Old, { type: 'build' });
    await claimJobOp(b1Old, {});
    await finishJobOp(b1Old, 'complete', { id: done.id });
    const { job: waiting } = await addJobOp(b1Old, { type: 'build', target: 'build2' });
    const { message: settled } = await sendMessageOp(b1Old, { to: ['build2'], body: 'settled' });
    const { message: unacked } = await sendMessageOp(b1Old, { to: ['build2'], body: 'needs an ack', ackRequired: true });
    const { message: broadcast } = await sendMessageOp(b1Old, { to: ['all'], body: 'to everyone' });
    await readMessagesOp(b2Old, { ids: [settled.id, unacked.id, broadcast.id], all: false });
    const { message: fresh } = await sendMessageOp(testContext(fleet.stores.build1!, 'build1'), { to: ['build2'], body: 'new' });
    await readMessagesOp(testContext(fleet.stores.build2!, 'build2'), { ids: [fresh.id], all: false });

    const report = await tick(testContext(fleet.stores.build1!, 'build1'));
    expect(report.housekeeping).toMatchObject({ archived_jobs: [done.id], archived_messages: [settled.id, broadcast.id] });
    const month = new Date(Date.now() - 40 * 86_400_000).toISOString().slice(0, 7);
    const jobArchive = jobsDoc.parse(remoteJson(fleet, `coordination/archive/jobs-${month}.json`));
    expect(jobArchive.jobs.map((j) => j.id)).toEqual([done.id]);
    const messageArchive = messagesDoc.parse(remoteJson(fleet, `coordination/archive/messages-${month}.json`));
    expect(messageArchive.messages.map((m) => m.id)).toEqual([settled.id, broadcast.id]);
    expect(jobsDoc.parse(remoteJson(fleet, 'coordination/jobs.json')).jobs.map((j) => j.id)).toEqual([waiting.id]);
    expect(messagesDoc.parse(remoteJson(fleet, 'coordination/messages.json')).messages.map((m) => m.id)).toEqual([unacked.id, fresh.id]);

    // Once acked, the last old message goes too, into the same month's archive.
    await ackMessageOp(testContext(fleet.stores.build2!, 'build2'), { id: unacked.id });
    await tick(testContext(fleet.stores.build1!, 'build1'));
    expect(messagesDoc.parse(remoteJson(fleet, `coordination/archive/messages-${month}.json`)).messages.map((m) => m.id)).toEqual([settled.id, broadcast.id, unacked.id]);
    const validation = await validateStore(testContext(fleet.stores.build1!), { fetch: true });
    expect(validation.files.filter((f) => !f.valid)).toEqual([]);
    expect(validation.files.map((f) => f.file)).toEqual(expect.arrayContaining([`coordination/archive/jobs-${month}.json`, `coordination/archive/messages-${month}.json`]));
  });
});
