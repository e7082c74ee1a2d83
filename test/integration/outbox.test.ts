import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isBuildctlError } from '../../src/errors.js';
import { addJobOp, claimJobOp, finishJobOp } from '../../src/ops/jobs.js';
import { acquireLockOp } from '../../src/ops/locks.js';
import { ackMessageOp, sendMessageOp } from '../../src/ops/messages.js';
import { flushOutbox, listOutbox } from '../../src/ops/outbox.js';
import { setStatus } from '../../src/ops/status-set.js';
import { fleetStatus } from '../../src/ops/status.js';
import { jobsDoc } from '../../src/schemas/jobs.js';
import { messagesDoc } from '../../src/schemas/messages.js';
import { commitCount, gitSync, makeFleet, runCli, testContext, type Fleet } from '../helpers/fleet.js';

let fleet: Fleet | undefined;
afterEach(() => fleet?.cleanup());

const offline = (f: Fleet) => renameSync(f.remote, `${f.remote}.away`);
const online = (f: Fleet) => renameSync(`${f.remote}.away`, f.remote);
const remoteMessages = (f: Fleet) => messagesDoc.parse(JSON.parse(gitSync(f.remote, ['show', 'main:coordination/messages.json']))).messages;
const remoteJobs = (f: Fleet) => jobsDoc.parse(JSON.parse(gitSync(f.remote, ['show', 'main:coordination/jobs.json']))).jobs;
const errorOf = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e);

describe('offline outbox', () => {
  it('queues what stays valid, refuses what needs a fresh answer, and delivers in order exactly once', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const warnings: string[] = [];
    const b1 = testContext(fleet.stores.build1!, 'build1', { warn: (line) => warnings.push(line) });
    const { job } = await addJobOp(b1, { type: 'build', target: 'build1' });
    await claimJobOp(b1, {});
    const commits = commitCount(fleet.remote);
    offline(fleet);

    const first = await sendMessageOp(b1, { to: ['build2'], body: 'first while offline' });
    const second = await sendMessageOp(b1, { to: ['all'], body: 'second while offline' });
    const added = await addJobOp(b1, { type: 'test' });
    // An artifact is described when the command runs: the queued completion keeps its manifest.
    const artifact = join(fleet.root, 'out.tar');
    writeFileSync(artifact, 'the build output');
    const completed = await finishJobOp(b1, 'complete', { id: job.id, artifacts: [artifact] });
    rmSync(artifact);
    expect([first.queued, second.queued, added.queued, completed.queued]).toEqual([true, true, true, true]);
    expect(warnings.filter((w) => w.startsWith('queued: '))).toHaveLength(4);
    // Bad input is still refused now, not queued.
    const bad = await errorOf(sendMessageOp(b1, { to: ['build9'], body: 'to nobody' }));
    expect(isBuildctlError(bad) && bad.code).toBe('unknown_recipient');
    // Operations that need a fresh answer fail with exit 4.
    for (const attempt of [() => claimJobOp(b1, {}), () => acquireLockOp(b1, { name: 'deploy' }), () => setStatus(b1, { state: 'idle' })]) {
      const error = await errorOf(attempt());
      expect(isBuildctlError(error) && error.exitCode).toBe(4);
    }
    expect((await listOutbox(b1)).map((i) => i.op)).toEqual(['msg.send', 'msg.send', 'job.add', 'job.complete']);
    expect((await fleetStatus(b1, { fetch: true })).outbox).toEqual({ queued: 4 });

    online(fleet);
    // Any later command delivers first: here a status change.
    await setStatus(b1, { state: 'idle' });
    expect(await listOutbox(b1)).toEqual([]);
    const log = gitSync(fleet.remote, ['log', '--reverse', '--format=%s', `-n`, '5', 'main']).trim().split('\n');
    expect(log.map((s) => s.split(' ')[0])).toEqual(['msg.send', 'msg.send', 'job.add', 'job.complete', 'status.set']);
    expect(commitCount(fleet.remote)).toBe(commits + 5);
    const messages = remoteMessages(fleet);
    expect(messages.map((m) => m.id)).toEqual([first.message.id, second.message.id]);
    // Sent when it was asked for, not when it was delivered.
    expect(messages[0]?.created_at).toBe(first.message.created_at);
    const jobs = remoteJobs(fleet);
    const sha256 = createHash('sha256').update('the build output').digest('hex');
    expect(jobs.find((j) => j.id === job.id)).toMatchObject({ status: 'completed', result: { artifacts: [{ path: artifact, size: 16, sha256 }] } });
    expect(jobs.find((j) => j.id === added.job.id)?.status).toBe('queued');
  });

  it('drops an intent that no longer applies, with the reason logged', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const warnings: string[] = [];
    const b1 = testContext(fleet.stores.build1!, 'build1', { warn: (line) => warnings.push(line) });
    const { job } = await addJobOp(b1, { type: 'build', target: 'build1' });
    await claimJobOp(b1, {});
    offline(fleet);
    await finishJobOp(b1, 'complete', { id: job.id });
    online(fleet);
    // Meanwhile an operator cancelled the job from another host.
    await finishJobOp(testContext(fleet.stores.build2!, 'build2'), 'cancel', { id: job.id, reason: 'superseded' });
    const report = await flushOutbox(b1);
    expect(report.delivered).toEqual([]);
    expect(report.dropped).toEqual([expect.objectContaining({ op: 'job.complete', reason: expect.stringContaining('cancelled') })]);
    expect(warnings.some((w) => w.includes('dropped queued job.complete'))).toBe(true);
    const logged = readFileSync(join(fleet.stores.build1!, '.git', 'buildctl', 'outbox-dropped.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(logged).toEqual([expect.objectContaining({ intent: expect.objectContaining({ op: 'job.complete' }), reason: expect.stringContaining('cancelled') })]);
    expect(remoteJobs(fleet)[0]?.status).toBe('cancelled');
  });

  it('never delivers twice: an intent whose commit already landed is only removed', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const b1 = testContext(fleet.stores.build1!, 'build1');
    offline(fleet);
    const sent = await sendMessageOp(b1, { to: ['build2'], body: 'once' });
    const outbox = join(fleet.stores.build1!, '.git', 'buildctl', 'outbox');
    const [name] = readdirSync(outbox);
    const saved = readFileSync(join(outbox, name!), 'utf8');
    online(fleet);
    expect((await flushOutbox(b1)).delivered).toHaveLength(1);
    // As if the delivering process died after its push, before removing the file.
    writeFileSync(join(outbox, name!), saved);
    const commits = commitCount(fleet.remote);
    const again = await flushOutbox(b1);
    expect(again).toMatchObject({ delivered: [JSON.parse(saved).op_id], dropped: [], remaining: 0 });
    expect(commitCount(fleet.remote)).toBe(commits);
    expect(remoteMessages(fleet).filter((m) => m.id === sent.message.id)).toHaveLength(1);
  });

  it('CLI: a queued send exits 0 and says so; outbox list, status and flush show it', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const as1 = ['--store', fleet.stores.build1!, '--as', 'build1'];
    offline(fleet);
    const sent = await runCli([...as1, 'msg', 'send', 'build2', 'hello', '--json']);
    expect(sent.code).toBe(0);
    expect(JSON.parse(sent.stdout)).toMatchObject({ message: { to: ['build2'], body: 'hello' }, changed: true, queued: true, commit: null });
    expect(sent.stderr).toContain('queued:');
    const acked = await runCli([...as1, 'lock', 'acquire', 'deploy']);
    expect(acked.code).toBe(4);
    const list = JSON.parse((await runCli([...as1, 'outbox', 'list', '--json'])).stdout);
    expect(list).toEqual({ outbox: [expect.objectContaining({ op: 'msg.send', actor: 'build1' })] });
    const status = await runCli([...as1, 'status']);
    expect(status.stdout).toContain('Outbox: 1 operation queued');
    expect((await runCli([...as1, 'outbox', 'flush'])).code).toBe(4);
    online(fleet);
    const flushed = await runCli([...as1, 'outbox', 'flush', '--json']);
    expect(flushed.code).toBe(0);
    expect(JSON.parse(flushed.stdout)).toMatchObject({ delivery: { remaining: 0 }, queued: false });
    expect(remoteMessages(fleet).map((m) => m.body)).toEqual(['hello']);
    // build2 saw the message, then lost the network: its ack is queued the same way, and a
    // message it never saw cannot be acked offline (checked against its last known state).
    const b2 = testContext(fleet.stores.build2!, 'build2');
    await fleetStatus(b2, { fetch: true });
    offline(fleet);
    const ack = await ackMessageOp(b2, { id: JSON.parse(sent.stdout).message.id, note: 'on it' });
    expect(ack.queued).toBe(true);
    const unknown = await errorOf(ackMessageOp(b2, { id: 'msg_0_000000' }));
    expect(isBuildctlError(unknown) && unknown.code).toBe('unknown_message');
    online(fleet);
    await flushOutbox(b2);
    expect(remoteMessages(fleet)[0]?.acked_by.build2).toMatchObject({ note: 'on it' });
    expect(gitSync(fleet.remote, ['show', '-s', '--format=%s', 'main']).trim()).toMatch(/^msg\.ack /);
  });

  it('an empty intent file (a crash) is set aside with a warning: it stops no command, outbox drop included', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const as1 = ['--store', fleet.stores.build1!, '--as', 'build1'];
    offline(fleet);
    const queued = JSON.parse((await runCli([...as1, 'msg', 'send', 'build2', 'kept', '--json'])).stdout) as { message: { id: string } };
    expect(queued.message.id).toBeTruthy();
    const outbox = join(fleet.stores.build1!, '.git', 'buildctl', 'outbox');
    writeFileSync(join(outbox, '00000000-broken.json'), '');
    const list = await runCli([...as1, 'outbox', 'list', '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stderr).toContain('set aside the queued operation 00000000-broken.json: the file is empty');
    expect(JSON.parse(list.stdout).outbox).toEqual([expect.objectContaining({ op: 'msg.send' })]);
    expect(readdirSync(join(fleet.stores.build1!, '.git', 'buildctl', 'outbox-quarantine'))).toEqual(['00000000-broken.json']);
    // Another broken one: drop still works on the good one, and a command still runs.
    writeFileSync(join(outbox, '00000000-half.json'), '{"seq": 1, "op_id"');
    const [good] = readdirSync(outbox).filter((n) => !n.startsWith('00000000'));
    const opId = JSON.parse(readFileSync(join(outbox, good!), 'utf8')).op_id as string;
    const dropped = await runCli([...as1, 'outbox', 'drop', opId]);
    expect(dropped.code, dropped.stderr).toBe(0);
    expect(dropped.stderr).toContain('set aside the queued operation 00000000-half.json: it is not JSON');
    online(fleet);
    const after = await runCli([...as1, 'status']);
    expect(after.code, after.stderr).toBe(0);
    expect(readdirSync(outbox)).toEqual([]);
  });
});
