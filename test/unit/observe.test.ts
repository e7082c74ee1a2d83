// The pure parts of watching the fleet: the inbox order, who still owes an ack, the audit
// filter, metrics since a time, --since, the check verdict and the clock-skew estimate.
import { describe, expect, it } from 'vitest';
import { auditEvents } from '../../src/domain/audit.js';
import { evaluateCheck, type CheckInput } from '../../src/domain/check.js';
import { emptyObservations, type Observations } from '../../src/schemas/observations.js';
import { effectiveSettings } from '../../src/domain/config.js';
import { awaitingAckFrom, inboxOrder } from '../../src/domain/messages.js';
import { metricsSince } from '../../src/domain/metrics.js';
import { parseSince } from '../../src/domain/since.js';
import type { MetricsLine } from '../../src/schemas/metrics.js';
import type { Message } from '../../src/schemas/messages.js';
import type { CommitRecord } from '../../src/schemas/commit-record.js';
import { buildctlErrorFrom } from '../helpers/errors.js';

const NOW = new Date('2026-03-01T12:00:00Z');
const ago = (ms: number): string => new Date(NOW.getTime() - ms).toISOString();
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

const message = (id: string, fields: Partial<Message> = {}): Message => ({
  id,
  from: 'build1',
  to: ['build2'],
  type: 'info',
  subject: id,
  body: id,
  created_at: ago(HOUR),
  ack_required: false,
  reply_to: null,
  read_by: {},
  acked_by: {},
  ...fields,
});

describe('inboxOrder', () => {
  it('most urgent type first; within a type, awaiting my ack first; then oldest first', () => {
    const messages = [
      message('info-old', { created_at: ago(3 * HOUR) }),
      message('warning-new', { type: 'warning', created_at: ago(MINUTE) }),
      message('request-acked', { type: 'request', ack_required: true, acked_by: { build2: { at: ago(MINUTE) } } }),
      message('request-ack', { type: 'request', ack_required: true, created_at: ago(MINUTE) }),
      message('error', { type: 'error', created_at: ago(MINUTE) }),
      message('warning-old', { type: 'warning', created_at: ago(2 * HOUR) }),
      message('info-new', { created_at: ago(MINUTE) }),
    ];
    expect(inboxOrder(messages, 'build2').map((m) => m.id)).toEqual(['error', 'warning-old', 'warning-new', 'request-ack', 'request-acked', 'info-old', 'info-new']);
  });
});

describe('awaitingAckFrom', () => {
  it.each([
    ['no ack asked', message('a'), []],
    ['one recipient, not acked', message('a', { ack_required: true }), ['build2']],
    ['acked', message('a', { ack_required: true, acked_by: { build2: { at: ago(0) } } }), []],
    ['to all: every registered builder but the sender', message('a', { to: ['all'], ack_required: true, acked_by: { build3: { at: ago(0) } } }), ['build2']],
  ])('%s', (_what, m, waiting) => {
    expect(awaitingAckFrom(m, ['build1', 'build2', 'build3'])).toEqual(waiting);
  });
});

describe('auditEvents', () => {
  const commit = (op: string | null, actor: string | null, minutesAgo: number, trailers: Record<string, string> = {}): CommitRecord => ({
    commit: `${op}-${minutesAgo}`,
    at: ago(minutesAgo * MINUTE),
    summary: `${op} something`,
    op,
    actor,
    op_id: op ? 'id' : null,
    trailers,
  });
  const commits = [commit(null, null, 90), commit('job.claim', 'build2', 60), commit('lock.break', 'build1', 30, { 'Buildctl-Reason': 'x', Other: 'y' }), commit('job.complete', 'build2', 10)];

  it.each([
    ['no filter: every commit with an op (hand commits are not events)', {}, ['job.claim-60', 'lock.break-30', 'job.complete-10']],
    ['by builder', { builder: 'build2' }, ['job.claim-60', 'job.complete-10']],
    ['by family', { op: 'job' }, ['job.claim-60', 'job.complete-10']],
    ['by operation', { op: 'job.claim' }, ['job.claim-60']],
    ['a prefix that is not a family does not match', { op: 'jo' }, []],
    ['since', { since: new Date(NOW.getTime() - 45 * MINUTE) }, ['lock.break-30', 'job.complete-10']],
  ])('%s', (_what, filter, ids) => {
    expect(auditEvents(commits, filter).map((e) => e.commit)).toEqual(ids);
  });

  it("keeps a plan's own Buildctl-* trailers as details, without the prefix", () => {
    expect(auditEvents(commits, { op: 'lock' })[0]?.details).toEqual({ Reason: 'x' });
  });
});

describe('metricsSince', () => {
  const hour = (t: string, n: number, cpu: [number, number, number]): MetricsLine => ({ kind: 'hour', t, n, cpu, mem: cpu, disk: cpu, load: cpu });
  const sample = (t: string, cpu: number): MetricsLine => ({ kind: 'sample', t, cpu, mem: cpu, disk: cpu, load: cpu });
  const lines = [hour('2026-03-01T09:00:00Z', 10, [0, 10, 50]), hour('2026-03-01T10:00:00Z', 30, [5, 20, 30]), sample('2026-03-01T11:30:00Z', 40), sample('2026-03-01T11:59:00Z', 2)];

  it('weights hours by their sample count; now is the newest sample', () => {
    expect(metricsSince(lines, undefined).summary?.cpu).toEqual({ now: 2, min: 0, avg: Math.round(((10 * 10 + 20 * 30 + 42) / 42) * 10) / 10, max: 50 });
  });

  it('keeps an hour that ends after `since` and the samples from it on', () => {
    const part = metricsSince(lines, new Date('2026-03-01T10:30:00Z'));
    expect(part.hours.map((h) => h.t)).toEqual(['2026-03-01T10:00:00Z']);
    expect(part.samples.map((s) => s.cpu)).toEqual([40, 2]);
  });

  it('has no summary without data', () => {
    expect(metricsSince(lines, new Date('2026-03-02T00:00:00Z'))).toEqual({ samples: [], hours: [], summary: null });
  });
});

describe('parseSince', () => {
  it.each([
    ['24h', ago(24 * HOUR)],
    ['90m', ago(90 * MINUTE)],
    ['2026-02-28', '2026-02-28T00:00:00.000Z'],
    ['2026-02-28T22:00:00+01:00', '2026-02-28T21:00:00.000Z'],
  ])('%s', (text, expected) => {
    expect(parseSince(text, NOW).toISOString()).toBe(expected);
  });

  it.each(['yesterday', '2026-02-28T22:00:00', '5 minutes'])('refuses %j (exit 2)', (text) => {
    expect(buildctlErrorFrom(() => parseSince(text, NOW))).toMatchObject({ code: 'invalid_since', exitCode: 2 });
  });
});

describe('check', () => {
  const settings = effectiveSettings(undefined);
  const input = (fields: Partial<CheckInput>): CheckInput => ({
    now: NOW,
    settings,
    builders: [{ id: 'build1', labels: [], enabled: true }],
    heartbeats: new Map([['build1', { id: 'build1', timestamp: ago(MINUTE) }]]),
    observations: emptyObservations(),
    lookedFrom: undefined,
    jobs: [],
    locks: [],
    messages: [],
    outboxQueued: 0,
    documents: [],
    fetchError: null,
    ...fields,
  });

  /** This clone's observations with build1's clock offset bounded to [low, high] ms. */
  const offsetSeen = (low: number, high: number | null): Observations => {
    const o = emptyObservations();
    o.heartbeats.entries.build1 = { version: 'beat:x', first_seen: ago(MINUTE), after: ago(2 * MINUTE), beat_at: ago(MINUTE), offset_ms: { low, high } };
    return o;
  };

  it.each([
    ['healthy', {}, 'ok', 0],
    ['a clock seen 2m ahead', { observations: offsetSeen(2 * MINUTE, 3 * MINUTE) }, 'warning', 1],
    ['a clock seen 2m behind', { observations: offsetSeen(-3 * MINUTE, -2 * MINUTE) }, 'warning', 1],
    ['a clock within max_clock_skew (30s)', { observations: offsetSeen(20_000, 40_000) }, 'ok', 0],
    ['a clock that may be right', { observations: offsetSeen(-MINUTE, MINUTE) }, 'ok', 0],
    ['a dead builder and a warning: critical wins', { heartbeats: new Map([['build1', { id: 'build1', timestamp: ago(10 * MINUTE) }]]), outboxQueued: 2 }, 'critical', 2],
    ['a disabled dead builder', { builders: [{ id: 'build1', labels: [], enabled: false }], heartbeats: new Map() }, 'ok', 0],
    ['a .build_server_id pushed to main', { identityFileOnMain: true }, 'warning', 1],
  ] as const)('%s: %s (exit %d)', (_what, fields, status, code) => {
    const result = evaluateCheck(input(fields as Partial<CheckInput>));
    expect([result.status, result.exit_code]).toEqual([status, code]);
  });

  it('puts critical findings first on the one line', () => {
    const result = evaluateCheck(input({ heartbeats: new Map([['build1', { id: 'build1', timestamp: ago(10 * MINUTE) }]]), outboxQueued: 1 }));
    expect(result.summary).toBe("CRITICAL: build1 dead: last heartbeat 10m ago | WARNING: 1 operation waiting in this clone's outbox (buildctl outbox list)");
  });
});
