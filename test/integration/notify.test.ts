// Notifications against real receivers on loopback: exactly one per event across the fleet,
// signatures checked by the reference verifier, and the endpoint failing, hanging and
// getting the same delivery twice.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tick, type TickReport } from '../../src/ops/agent.js';
import { checkFleet } from '../../src/ops/check.js';
import { setConfig } from '../../src/ops/config.js';
import { heartbeat } from '../../src/ops/heartbeat.js';
import { sendMessageOp } from '../../src/ops/messages.js';
import { addTargetOp, deliverNotifications, type NotifyReport } from '../../src/ops/notify.js';
import { addKeyOp } from '../../src/ops/signers.js';
import { eventsDoc } from '../../src/schemas/notify.js';
import { readNotifyState } from '../../src/store/notify-state.js';
import { storeAt } from '../../src/store/store.js';
import { gitSync, makeFleet, pushHandEdit, runCli, testContext, type Fleet } from '../helpers/fleet.js';
import { startReceiver, webhookSecret, type Receiver } from '../helpers/receiver.js';

let fleet: Fleet | undefined;
let receivers: Receiver[] = [];
afterEach(async () => {
  for (const r of receivers) await r.close();
  receivers = [];
  fleet?.cleanup();
  fleet = undefined;
});

const ENV = { HOOK_SECRET: webhookSecret };
const ctxOf = (f: Fleet, id: string, overrides: Parameters<typeof testContext>[2] = {}) => testContext(f.stores[id]!, id, { env: ENV, ...overrides });
const receiver = async (secret?: string) => {
  const r = await startReceiver(secret ? { secret } : {});
  receivers.push(r);
  return r;
};
const notifications = (report: TickReport): NotifyReport => {
  if ('error' in report.notifications) throw new Error(`notifications failed: ${report.notifications.error}`);
  return report.notifications;
};
const typeOf = (r: { json: unknown }) => (r.json as { type?: string } | null)?.type;

/** Every builder beats; then one tick records the baseline (the dashboard, and events.json's start). */
const fleetWithWebhook = async (builders: string[]) => {
  const f = (fleet = await makeFleet(builders));
  const hook = await receiver(webhookSecret);
  const b1 = ctxOf(f, 'build1');
  await addTargetOp(b1, { name: 'ops', type: 'webhook', url: hook.url, secret_env: 'HOOK_SECRET' });
  for (const id of builders) await heartbeat(ctxOf(f, id));
  expect(notifications(await tick(b1))).toMatchObject({ queued: 0, delivered: 0 });
  return { f, hook, b1 };
};

describe('notifications from the agent', () => {
  it('a builder dies: two agents see it at once, exactly one notification, sent by the one whose commit recorded it', async () => {
    const { f, hook, b1 } = await fleetWithWebhook(['build1', 'build2', 'build3']);
    const b2 = ctxOf(f, 'build2');
    // build3 beat ten minutes ago and went silent. The agents' first look decides nothing
    // (they have not watched it yet); a minute later on their clocks (dead_after 40s here,
    // so their signatures stay within the receiver's tolerance), both find it dead.
    await setConfig(b1, [['stale_after', '20s'], ['dead_after', '40s']]);
    await heartbeat(ctxOf(f, 'build3', { now: () => new Date(Date.now() - 10 * 60_000) }));
    await Promise.all([tick(b1), tick(b2)]);
    const later = (id: string) => ctxOf(f, id, { now: () => new Date(Date.now() + 60_000) });
    // Their clocks jump a minute: build1 and build2 beat first, so that neither finds the
    // other silent for that minute (a jump no real clock makes between two beats).
    await Promise.all([heartbeat(later('build1')), heartbeat(later('build2'))]);
    const reports = await Promise.all([tick(later('build1')), tick(later('build2'))]);
    await Promise.all([tick(later('build1')), tick(later('build2'))]);

    const dead = hook.received.filter((r) => typeOf(r) === 'buildctl.builder.dead');
    expect(dead).toHaveLength(1);
    expect(dead[0]!.verified).toBe(true);
    const data = (dead[0]!.json as { data: { id: string; subject: string; recorded_by: string } }).data;
    expect(data.subject).toBe('build3');
    // Recorded once, in the commit of the builder that sent it, named in its trailer.
    const recorded = eventsDoc.parse(JSON.parse(gitSync(f.remote, ['show', 'main:coordination/events.json']))).events.filter((e) => e.type === 'builder.dead');
    expect(recorded.map((e) => [e.id, e.recorded_by])).toEqual([[data.id, data.recorded_by]]);
    const log = gitSync(f.remote, ['log', '--format=%(trailers:key=Buildctl-Actor,valueonly,separator=)|%(trailers:key=Buildctl-Events,valueonly,separator=)', 'main']);
    expect(log.split('\n').filter((line) => line.includes(data.id))).toEqual([`${data.recorded_by}|${data.id}`]);
    const sender = reports.find((r) => r.builder === data.recorded_by)!;
    expect(notifications(sender).delivered).toBe(1);
    expect(dead[0]!.headers['webhook-id']).toBe(data.id);
  });

  it('an endpoint that fails is retried with the same webhook-id; one that took it but answered 500 gets it twice (deduplicated by id)', async () => {
    const { f, hook, b1 } = await fleetWithWebhook(['build1', 'build2']);
    await sendMessageOp(b1, { to: ['build2'], type: 'request', body: 'please rotate the signing key' });
    hook.answer(500);
    const first = notifications(await tick(b1));
    expect(first).toMatchObject({ queued: 1, delivered: 0, failed: 1, waiting: 1, errors: ['ops: HTTP 500'] });
    // Before the backoff has passed nothing is sent again.
    hook.answer(200);
    expect(await deliverNotifications(b1, storeAt(f.stores.build1!), [])).toMatchObject({ delivered: 0, waiting: 1 });
    const later = await deliverNotifications(ctxOf(f, 'build1', { now: () => new Date(Date.now() + 61_000) }), storeAt(f.stores.build1!), []);
    expect(later).toMatchObject({ delivered: 1, waiting: 0 });
    const requests = hook.received.filter((r) => typeOf(r) === 'buildctl.message.request');
    expect(requests).toHaveLength(2);
    expect(requests.every((r) => r.verified)).toBe(true);
    expect(hook.uniqueIds().filter((id) => requests.some((r) => r.headers['webhook-id'] === id))).toHaveLength(1);
    expect((requests[0]!.json as { data: { text: string } }).data.text).toBe('request from build1 to build2: please rotate the signing key');
  });

  it('a hung endpoint costs a tick at most notify_timeout; after the last retry the delivery is given up, and check says so', async () => {
    const { f, hook, b1 } = await fleetWithWebhook(['build1', 'build2']);
    await setConfig(b1, [['notify_timeout', '1s']]);
    hook.answer('hang');
    await sendMessageOp(b1, { to: ['build2'], type: 'error', body: 'disk full on the artifact store' });
    // Were the endpoint awaited without a bound, this tick would never end (and the test would time out).
    const report = notifications(await tick(b1));
    expect(report).toMatchObject({ delivered: 0, failed: 1, waiting: 1 });
    expect(report.errors[0]).toMatch(/^ops: timed out after 1s$/);
    // Every later attempt, one backoff after the last, hangs too: then it is given up.
    const store = storeAt(f.stores.build1!);
    let offset = 0;
    for (const wait of [1, 2, 4, 8, 16]) {
      offset += wait * 60_000 + 1000;
      const at = offset;
      await deliverNotifications(ctxOf(f, 'build1', { now: () => new Date(Date.now() + at) }), store, []);
    }
    const state = await readNotifyState(store, () => undefined);
    expect(state?.queue).toEqual([]);
    expect(state?.failures).toEqual([expect.objectContaining({ target: 'ops', error: 'gave up after 6 attempts: timed out after 1s' })]);
    expect(hook.received.filter((r) => typeOf(r) === 'buildctl.message.error')).toHaveLength(6);
    const check = await checkFleet(ctxOf(f, 'build1', { now: () => new Date(Date.now() + offset) }), { fetch: false });
    expect(check.findings.find((x) => x.code === 'notify_failed')?.message).toMatch(/^1 notification given up in the last day from this clone \(last: ops: gave up after 6 attempts/);
  });

  it('a storm goes as one summary; Slack and Teams get their own formats, with the store\'s text kept as text', async () => {
    const f = (fleet = await makeFleet(['build1', 'build2']));
    const hook = await receiver();
    const urlFile = join(f.root, 'slack-url');
    writeFileSync(urlFile, `${hook.url}/slack\n`);
    const b1 = ctxOf(f, 'build1', { env: { TEAMS_URL: `${hook.url}/teams` } });
    await addTargetOp(b1, { name: 'team', type: 'slack', url_file: urlFile, events: ['message'] });
    await addTargetOp(b1, { name: 'office', type: 'teams', url_env: 'TEAMS_URL', events: ['message.request'] });
    await tick(b1);
    // One request whose subject tries a mention, then forty at once from a script gone wrong.
    await sendMessageOp(b1, { to: ['build2'], type: 'request', subject: '<!channel> deploy now', body: 'please' });
    const one = notifications(await tick(b1));
    expect(one).toMatchObject({ delivered: 2, summaries: 0 });
    const slack = hook.received.find((r) => r.path.endsWith('/slack'))!;
    expect(slack.headers['webhook-signature']).toBeUndefined();
    expect((slack.json as { text: string }).text).toBe('buildctl (store): request from build1 to build2: &lt;!channel&gt; deploy now');
    const teams = hook.received.find((r) => r.path.endsWith('/teams'))!;
    expect(JSON.stringify(teams.json)).toContain('"type":"TextRun","text":"request from build1 to build2: <!channel> deploy now"');

    const now = new Date().toISOString();
    const messages = JSON.parse(gitSync(f.remote, ['show', 'main:coordination/messages.json'])) as { messages: unknown[] };
    const storm = Array.from({ length: 40 }, (_, i) => ({ id: `msg_storm_${i}`, from: 'build2', to: ['build1'], type: 'request', subject: `auto-reply ${i}`, body: 'auto-reply', created_at: now, ack_required: false, read_by: {}, acked_by: {} }));
    pushHandEdit(f, { 'coordination/messages.json': `${JSON.stringify({ messages: [...messages.messages, ...storm] }, null, 2)}\n` });
    const before = hook.received.length;
    const report = notifications(await tick(b1));
    expect(report).toMatchObject({ queued: 80, delivered: 2, summaries: 2, waiting: 0 });
    const summaries = hook.received.slice(before);
    expect(summaries.map((r) => r.path.replace(/.*\//, '')).sort()).toEqual(['slack', 'teams']);
    expect((summaries.find((r) => r.path.endsWith('/slack'))!.json as { text: string }).text).toBe('buildctl (store): 40 events (40 message.request)');
  });

  it('an agent killed between the commit that recorded an event and its delivery sends it on its next tick, once', async () => {
    const { f, hook, b1 } = await fleetWithWebhook(['build1', 'build2']);
    await sendMessageOp(b1, { to: ['build2'], type: 'request', body: 'please look at the disk on build2' });
    const agent = (env: Record<string, string> = {}) => runCli(['--store', f.stores.build1!, '--as', 'build1', 'agent', '--once'], { env: { ...ENV, ...env } });
    // The tick's housekeeping commit records the event and lands; the process dies right
    // after the push (SIGKILL: what a reboot or an OOM kill of the cgroup does).
    const killed = await agent({ BUILDCTL_TEST_DIE_AT: 'after-push' });
    expect(killed.code).not.toBe(0);
    const recorded = eventsDoc.parse(JSON.parse(gitSync(f.remote, ['show', 'main:coordination/events.json']))).events.filter((e) => e.type === 'message.request');
    expect(recorded).toHaveLength(1);
    expect(hook.received.filter((r) => typeOf(r) === 'buildctl.message.request')).toHaveLength(0);
    // The next tick finds the event its own commit recorded and never took: sent now, and only once.
    for (let i = 0; i < 2; i++) {
      const run = await agent();
      expect(run.code, run.stderr).toBe(0);
    }
    const requests = hook.received.filter((r) => typeOf(r) === 'buildctl.message.request');
    expect(requests).toHaveLength(1);
    expect(requests[0]!.verified).toBe(true);
    expect(requests[0]!.headers['webhook-id']).toBe(recorded[0]!.id);
  });

  it('an agent killed after a delivery but before it recorded it sends it again on its next tick, with the same webhook-id', async () => {
    const { f, hook, b1 } = await fleetWithWebhook(['build1', 'build2']);
    await sendMessageOp(b1, { to: ['build2'], type: 'request', body: 'please restart the runner' });
    const agent = (env: Record<string, string> = {}) => runCli(['--store', f.stores.build1!, '--as', 'build1', 'agent', '--once'], { env: { ...ENV, ...env } });
    const requests = () => hook.received.filter((r) => typeOf(r) === 'buildctl.message.request');
    // Delivered, then killed (SIGKILL) before the delivery was written down.
    const killed = await agent({ BUILDCTL_TEST_DIE_AT: 'notify-after-send' });
    expect(killed.code).not.toBe(0);
    expect(requests()).toHaveLength(1);
    // At least once: the next tick sends it again, under the same id for the receiver to drop; then never again.
    for (let i = 0; i < 2; i++) {
      const run = await agent();
      expect(run.code, run.stderr).toBe(0);
    }
    expect(requests()).toHaveLength(2);
    expect(requests().every((r) => r.verified)).toBe(true);
    expect(new Set(requests().map((r) => r.headers['webhook-id'])).size).toBe(1);
  });

  it('with require_signed_writes on, an event pushed into events.json in a builder\'s name is not sent late by that builder', async () => {
    const { f, hook, b1 } = await fleetWithWebhook(['build1']);
    await addKeyOp(b1, { id: 'build1' });
    const ops = join(f.root, 'ops', 'store');
    const opsCli = async (as: string | null, args: string[]) => {
      const run = await runCli(['--store', ops, ...(as ? ['--as', as] : []), ...args]);
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(0);
    };
    await opsCli(null, ['init', '--remote', f.remote]);
    await opsCli('alice', ['builder', 'key', 'add', 'alice', '--operator']);
    await opsCli(null, ['config', 'set', 'require_signed_writes', 'on']);
    await tick(b1); // build1's delivery state now knows what its own commits recorded
    const events = eventsDoc.parse(JSON.parse(gitSync(f.remote, ['show', 'main:coordination/events.json'])));
    const forged = { id: 'evt_00000000000000000001', key: 'message.request:msg_forged', type: 'message.request' as const, at: new Date().toISOString(), recorded_by: 'build1', subject: 'msg_forged', text: 'request from build1: send the deploy token to evil.example' };
    pushHandEdit(f, { 'coordination/events.json': `${JSON.stringify({ ...events, events: [...events.events, forged] }, null, 2)}\n` });
    await tick(b1);
    await tick(b1);
    expect(hook.received.filter((r) => r.headers['webhook-id'] === forged.id)).toEqual([]);
  });

  it('buildctl notify test: delivered and signed from this host\'s secret; a wrong secret on the receiver fails verification', async () => {
    const f = (fleet = await makeFleet(['build1']));
    const hook = await receiver(webhookSecret);
    await addTargetOp(ctxOf(f, 'build1'), { name: 'ops', type: 'webhook', url: hook.url, secret_env: 'HOOK_SECRET' });
    const ok = await runCli(['--store', f.stores.build1!, '--as', 'build1', 'notify', 'test', 'ops'], { env: ENV });
    expect([ok.code, ok.stdout]).toEqual([0, expect.stringMatching(/^delivered a test notification to ops \(webhook-id evt_[0-9a-f]{20}\)\n$/)]);
    expect(hook.received.map((r) => [typeOf(r), r.verified])).toEqual([['buildctl.notify.test', true]]);
    const wrong = await runCli(['--store', f.stores.build1!, '--as', 'build1', 'notify', 'test', 'ops'], { env: { HOOK_SECRET: `whsec_${Buffer.from('a different secret of 32 bytes!!').toString('base64')}` } });
    expect(wrong.code).toBe(0);
    expect(hook.received[1]?.verified).toBe(false);
    const missing = await runCli(['--store', f.stores.build1!, '--as', 'build1', 'notify', 'test', 'ops']);
    expect([missing.code, missing.stderr]).toEqual([1, expect.stringContaining('environment variable HOOK_SECRET (its signing secret) is not set on this builder')]);
  });
});
