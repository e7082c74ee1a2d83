// Delivery rules (queue, backoff, give-up, rate limit, storm summary), each target's body,
// and the Standard Webhooks signature checked by the reference implementation.
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import {
  EMPTY_NOTIFY_STATE,
  enqueueEvents,
  MAX_ATTEMPTS,
  missedEvents,
  planDeliveries,
  RETRY_BACKOFF_MS,
  seenAfter,
  settleDeliveries,
  slackBody,
  teamsBody,
  webhookBody,
  type Delivery,
} from '../../src/domain/notify.js';
import { secretKey, signatureOf } from '../../src/net/webhook.js';
import { notifyTarget, type NotifyEvent, type NotifyTarget } from '../../src/schemas/notify.js';
import { buildctlErrorFrom } from '../helpers/errors.js';

const NOW = new Date('2026-06-15T12:00:00Z');
const at = (ms: number) => new Date(NOW.getTime() + ms);
const MIN = 60_000;
const idOf = (key: string) => `evt_${Buffer.from(key).toString('hex').padEnd(20, '0').slice(0, 20)}`;
const event = (n: number, fields: Partial<NotifyEvent> = {}): NotifyEvent => ({
  id: idOf(`e${n}`), key: `job.failed:j${n}:1`, type: 'job.failed', at: NOW.toISOString(), recorded_by: 'build1', subject: `j${n}`, text: `job j${n} (build) failed`, ...fields,
});
const hook: NotifyTarget = { name: 'hook', type: 'webhook', url: 'http://127.0.0.1:1/', secret_env: 'S' };
const slack: NotifyTarget = { name: 'team', type: 'slack', url_env: 'SLACK', events: ['builder', 'job.dead'] };
const limits = { rateLimit: 20, storm: 5, idOf };

describe('notification targets (schema)', () => {
  it.each([
    [{ name: 'a', type: 'webhook', url: 'https://h.example/x', secret_file: '/etc/s' }, true],
    [{ name: 'a', type: 'slack', url_env: 'SLACK_URL', events: ['job', 'builder.dead'] }, true],
    [{ name: 'a', type: 'slack', url: 'https://hooks.slack.example/services/T/B/x' }, false], // the URL is a credential
    [{ name: 'a', type: 'webhook', url: 'https://h.example/x' }, false], // unsigned
    [{ name: 'a', type: 'webhook', url: 'https://h.example/x', url_env: 'U', secret_env: 'S' }, false], // two URLs
    [{ name: 'a', type: 'teams', url_file: 'relative/path' }, false],
    [{ name: 'a', type: 'teams', url_env: 'T', events: ['job.exploded'] }, false],
  ])('%j valid: %s', (value, valid) => expect(notifyTarget.safeParse(value).success).toBe(valid));
});

describe('events lost between a commit and its delivery', () => {
  const mine = [event(1), event(2), event(3)];
  const others = [event(4, { recorded_by: 'build2' })];
  it('takes what this builder recorded and its state never saw, not what others recorded, not what it takes now anyway', () => {
    const state = { ...EMPTY_NOTIFY_STATE, seen: [mine[0]!.id] };
    expect(missedEvents(state, [...mine, ...others], 'build1', [mine[2]!], NOW).map((e) => e.id)).toEqual([mine[1]!.id]);
  });
  it('takes only what was recorded in the last hour: a state left stale (notifications off for a day) sends nothing old', () => {
    const old = event(5, { at: at(-61 * MIN).toISOString() });
    const recent = event(6, { at: at(-59 * MIN).toISOString() });
    expect(missedEvents({ ...EMPTY_NOTIFY_STATE, seen: [] }, [old, recent], 'build1', [], NOW).map((e) => e.id)).toEqual([recent.id]);
  });
  it('takes nothing while the state has never recorded what it saw (an older state, or a fresh clone): no old event is sent again', () => {
    expect(missedEvents(EMPTY_NOTIFY_STATE, [...mine, ...others], 'build1', [], NOW)).toEqual([]);
  });
  it('remembers its own events still recorded and those just taken, and forgets what events.json pruned', () => {
    expect(seenAfter([mine[1]!, ...others], 'build1', [mine[2]!])).toEqual([mine[1]!.id, mine[2]!.id].sort());
  });
});

describe('the queue', () => {
  it('queues an event once per target that wants it', () => {
    const dead = event(1, { type: 'job.dead', key: 'job.dead:j1' });
    const failed = event(2);
    const state = enqueueEvents(EMPTY_NOTIFY_STATE, [dead, failed], [hook, slack], NOW);
    expect(state.queue.map((q) => `${q.target} ${q.event.type}`)).toEqual(['hook job.dead', 'team job.dead', 'hook job.failed']);
    expect(enqueueEvents(state, [dead], [hook, slack], NOW)).toBe(state);
  });

  it('sends each due event on its own, with its id as the webhook-id', () => {
    const state = enqueueEvents(EMPTY_NOTIFY_STATE, [event(1), event(2)], [hook], NOW);
    expect(planDeliveries(state, NOW, limits)).toEqual([
      { target: 'hook', id: idOf('e1'), events: [event(1)], summary: false },
      { target: 'hook', id: idOf('e2'), events: [event(2)], summary: false },
    ]);
  });

  it('a failure waits RETRY_BACKOFF_MS and keeps its id; after MAX_ATTEMPTS it is given up and recorded', () => {
    let state = enqueueEvents(EMPTY_NOTIFY_STATE, [event(1)], [hook], NOW);
    let now = NOW;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const plan = planDeliveries(state, now, limits);
      expect(plan.map((d) => d.id), `attempt ${attempt}`).toEqual([idOf('e1')]);
      state = settleDeliveries(state, plan.map((delivery) => ({ delivery, ok: false, error: 'HTTP 503' })), now);
      if (attempt < MAX_ATTEMPTS) {
        const wait = RETRY_BACKOFF_MS[attempt - 1]!;
        expect(planDeliveries(state, new Date(now.getTime() + wait - 1), limits)).toEqual([]);
        now = new Date(now.getTime() + wait);
      }
    }
    expect(state.queue).toEqual([]);
    expect(state.failures).toEqual([{ at: now.toISOString(), target: 'hook', events: [idOf('e1')], error: `gave up after ${MAX_ATTEMPTS} attempts: HTTP 503` }]);
  });

  it('a delivery not tried (no time left in the tick) is no attempt', () => {
    const state = enqueueEvents(EMPTY_NOTIFY_STATE, [event(1)], [hook], NOW);
    const [delivery] = planDeliveries(state, NOW, limits);
    expect(settleDeliveries(state, [{ delivery: delivery!, ok: false, skipped: true }], NOW).queue).toEqual(state.queue);
  });

  it('a storm goes as one summary; the summary of the same events keeps its id on a retry', () => {
    const events = Array.from({ length: 40 }, (_, i) => event(i));
    const state = enqueueEvents(EMPTY_NOTIFY_STATE, events, [hook], NOW);
    const plan = planDeliveries(state, NOW, limits);
    expect(plan).toHaveLength(1);
    expect(plan[0]).toMatchObject({ summary: true, target: 'hook' });
    expect(plan[0]!.events).toHaveLength(40);
    const retried = settleDeliveries(state, [{ delivery: plan[0]!, ok: false, error: 'HTTP 500' }], NOW);
    expect(planDeliveries(retried, at(RETRY_BACKOFF_MS[0]), limits)[0]?.id).toBe(plan[0]!.id);
    const sent = settleDeliveries(state, [{ delivery: plan[0]!, ok: true }], NOW);
    expect([sent.queue, sent.sent]).toEqual([[], { hook: [NOW.toISOString()] }]);
  });

  it('at its rate limit a target waits; what waited goes as one summary when the hour allows', () => {
    let state = enqueueEvents(EMPTY_NOTIFY_STATE, [event(1), event(2)], [hook], NOW);
    state = settleDeliveries(state, planDeliveries(state, NOW, { ...limits, rateLimit: 2 }).map((delivery) => ({ delivery, ok: true })), NOW);
    state = enqueueEvents(state, [event(3), event(4)], [hook], at(MIN));
    expect(planDeliveries(state, at(MIN), { ...limits, rateLimit: 2 })).toEqual([]);
    const later = planDeliveries(state, at(61 * MIN), { ...limits, rateLimit: 2 });
    expect(later.map((d) => d.events.length)).toEqual([1, 1]);
    // One left in the hour and two waiting: one summary.
    const state2 = { ...state, sent: { hook: [at(30 * MIN).toISOString()] } };
    expect(planDeliveries(state2, at(61 * MIN), { ...limits, rateLimit: 2 }).map((d) => [d.summary, d.events.length])).toEqual([[true, 2]]);
  });
});

describe('a clock set back', () => {
  // The builder's clock ran two hours fast, then NTP set it right: what the state stamped
  // in that time lies in its future.
  const fast = (ms: number) => at(2 * 60 * MIN + ms);

  it('a retry scheduled on the fast clock goes now, not two hours late', () => {
    let state = enqueueEvents(EMPTY_NOTIFY_STATE, [event(1)], [hook], fast(0));
    state = settleDeliveries(state, planDeliveries(state, fast(0), limits).map((delivery) => ({ delivery, ok: false, error: 'HTTP 503' })), fast(0));
    expect(state.queue[0]!.next_at).toBe(fast(RETRY_BACKOFF_MS[0]).toISOString());
    expect(planDeliveries(state, NOW, limits).map((d) => d.id)).toEqual([idOf('e1')]);
  });

  it('a retry due within its backoff still waits it out', () => {
    let state = enqueueEvents(EMPTY_NOTIFY_STATE, [event(1)], [hook], NOW);
    state = settleDeliveries(state, planDeliveries(state, NOW, limits).map((delivery) => ({ delivery, ok: false, error: 'HTTP 503' })), NOW);
    expect(planDeliveries(state, at(RETRY_BACKOFF_MS[0] - 1), limits)).toEqual([]);
  });

  it('sends stamped on the fast clock do not hold the rate limit for the two hours', () => {
    const state = { ...enqueueEvents(EMPTY_NOTIFY_STATE, [event(1)], [hook], NOW), sent: { hook: [fast(-MIN).toISOString(), fast(-2 * MIN).toISOString()] } };
    expect(planDeliveries(state, NOW, { ...limits, rateLimit: 2 }).map((d) => d.id)).toEqual([idOf('e1')]);
    expect(settleDeliveries(state, [], NOW).sent).toEqual({});
  });
});

describe('what each target receives', () => {
  const hostile = event(1, { type: 'message.request', subject: 'm1', text: 'request from build1 to build2: <!channel> <https://evil.example|click> & [x](https://evil.example)' });
  const one: Delivery = { target: 't', id: hostile.id, events: [hostile], summary: false };

  it('a generic webhook: the Standard Webhooks shape, the event under data', () => {
    expect(webhookBody(one, 'coordination', NOW)).toEqual({ type: 'buildctl.message.request', timestamp: NOW.toISOString(), data: { fleet: 'coordination', ...hostile } });
    const summary = webhookBody({ target: 't', id: 'x', events: [event(1), event(2)], summary: true }, 'f', NOW);
    expect(summary).toMatchObject({ type: 'buildctl.summary', data: { count: 2, text: '2 events (2 job.failed)' } });
  });

  it('Slack: the store\'s text cannot mention a channel or make a link (&, <, > escaped)', () => {
    const body = JSON.stringify(slackBody(one, 'coordination'));
    expect(body).not.toMatch(/<!channel>|<https:/);
    expect(body).toContain('&lt;!channel&gt; &lt;https://evil.example|click&gt; &amp;');
    expect(slackBody(one, 'f')).toMatchObject({ text: expect.stringContaining('buildctl (f): request from build1'), blocks: [{ type: 'section', text: { type: 'mrkdwn' } }] });
  });

  it('Teams: an Adaptive Card whose text from the store is in TextRuns (shown as text, no markdown)', () => {
    const body = teamsBody(one, 'coordination') as { type: string; attachments: Array<{ contentType: string; content: { type: string; body: Array<{ type: string; inlines: Array<{ type: string; text: string }> }> } }> };
    expect(body.type).toBe('message');
    const card = body.attachments[0]!;
    expect([card.contentType, card.content.type]).toEqual(['application/vnd.microsoft.card.adaptive', 'AdaptiveCard']);
    expect(card.content.body.every((b) => b.type === 'RichTextBlock' && b.inlines.every((i) => i.type === 'TextRun'))).toBe(true);
    expect(card.content.body[1]?.inlines[0]?.text).toBe(hostile.text);
  });
});

describe('Standard Webhooks signature', () => {
  const secret = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;

  it('verifies with the reference implementation, and fails it when anything changes', () => {
    const body = JSON.stringify({ type: 'buildctl.test', data: { n: 1 } });
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = { 'webhook-id': 'evt_00000000000000000001', 'webhook-timestamp': String(timestamp), 'webhook-signature': signatureOf(secretKey(secret), 'evt_00000000000000000001', timestamp, body) };
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(secret).verify(`${body} `, headers)).toThrow();
    expect(() => new Webhook(secret).verify(body, { ...headers, 'webhook-id': 'evt_00000000000000000002' })).toThrow();
    expect(() => new Webhook(`whsec_${Buffer.from('another secret, sixteen+ bytes').toString('base64')}`).verify(body, headers)).toThrow();
  });

  it.each(['plain-text-secret', 'whsec_', 'whsec_c2hvcnQ=', 'whsec_not base64!'])('refuses %j as a secret, saying how to make one', (bad) => {
    const error = buildctlErrorFrom(() => secretKey(bad));
    expect([error.code, error.hint]).toEqual(['invalid_webhook_secret', expect.stringContaining('openssl rand -base64 32')]);
  });
});
