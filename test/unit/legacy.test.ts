import { describe, expect, it } from 'vitest';
import { convertLegacyDashboard } from '../../src/domain/legacy/dashboard.js';
import { convertLegacyHeartbeat } from '../../src/domain/legacy/heartbeat.js';
import { convertLegacyJobs } from '../../src/domain/legacy/jobs.js';
import { convertLegacyLocks } from '../../src/domain/legacy/locks.js';
import { convertLegacyMessages } from '../../src/domain/legacy/messages.js';
import { convertLegacyStatus } from '../../src/domain/legacy/status.js';
import { toIsoUtc } from '../../src/domain/legacy/timestamps.js';
import { dashboardDoc } from '../../src/schemas/dashboard.js';
import { heartbeatDoc } from '../../src/schemas/heartbeat.js';
import { jobsDoc } from '../../src/schemas/jobs.js';
import { locksDoc } from '../../src/schemas/locks.js';
import { messagesDoc } from '../../src/schemas/messages.js';
import { statusDoc } from '../../src/schemas/status.js';

const ctx = { path: 'coordination/messages.json', fleet: ['build1', 'build2', 'build3'] };

describe('toIsoUtc', () => {
  it.each([
    ['2025-11-03 16:21', '2025-11-03T16:21:00Z'], // legacy: no seconds, no zone (UTC)
    ['2025-11-03 16:21:07', '2025-11-03T16:21:07Z'],
    ['2025-10-29T14:00:00Z', '2025-10-29T14:00:00Z'], // current already: as it is
    ['2025-11-13T11:08:13.151219Z', '2025-11-13T11:08:13.151219Z'], // 6 fractional digits kept
    ['2025-11-13T11:08:13.15121Z', '2025-11-13T11:08:13.15121Z'], // 5
    ['2025-11-13T11:08:13.1512Z', '2025-11-13T11:08:13.1512Z'], // 4
    ['2025-11-13T11:08:13.151Z', '2025-11-13T11:08:13.151Z'], // 3
    ['20251107T084101Z', '2025-11-07T08:41:01Z'], // compact
    ['20251107T084101', '2025-11-07T08:41:01Z'],
    ['2025-11-13T11:08:13', '2025-11-13T11:08:13Z'], // no zone
    ['2025-11-13T12:08:13+01:00', '2025-11-13T11:08:13Z'], // offset
    ['2025-11-13T06:08:13.250-0500', '2025-11-13T11:08:13.250Z'],
    [1762289120, '2025-11-04T20:45:20Z'], // epoch seconds
    [1762289120000, '2025-11-04T20:45:20Z'], // epoch milliseconds
  ])('%j -> %s', (input, expected) => {
    expect(toIsoUtc(input)).toBe(expected);
  });

  it.each(['', 'yesterday', '2025-02-30 10:00', '2025-11-03 25:00', null, true, {}])('rejects %j', (input) => {
    expect(toIsoUtc(input)).toBeUndefined();
  });
});

const legacyMessage = {
  id: 'msg_1761919948_6593',
  from: 'build2',
  to: 'build1',
  type: 'info',
  subject: 'VNFCodex',
  body: 'first\\nsecond\\n\\n- item',
  timestamp: '2025-10-31 14:12',
  read: true,
  priority: 'normal',
};

const convertOne = (message: Record<string, unknown>, fleet = ctx.fleet) => {
  const converted = convertLegacyMessages({ messages: [message], metadata: { retention_days: 7 } }, { ...ctx, fleet });
  const doc = messagesDoc.parse(converted?.value);
  return { message: doc.messages[0]!, doc, changes: converted?.changes ?? [] };
};

describe('convertLegacyMessages', () => {
  it('turns a legacy message into a current one, keeping id, sender, recipients and unknown fields', () => {
    const { message, doc, changes } = convertOne(legacyMessage);
    expect(message).toEqual({
      id: 'msg_1761919948_6593',
      from: 'build2',
      to: ['build1'],
      type: 'info',
      subject: 'VNFCodex',
      body: 'first\nsecond\n\n- item',
      created_at: '2025-10-31T14:12:00Z',
      ack_required: false,
      read_by: { build1: '2025-10-31T14:12:00Z' },
      acked_by: {},
      priority: 'normal',
    });
    expect(doc.metadata).toEqual({ retention_days: 7 });
    expect(changes).toEqual([
      '1 "to" strings to lists',
      '1 "timestamp" renamed "created_at"',
      '1 timestamps to ISO-8601 UTC',
      '1 bodies with literal "\\n" turned into newlines',
      'read: true -> read_by for build1',
    ]);
  });

  it.each([
    // [what, message fields, expected fields of the converted message]
    ['read: true on a broadcast: every builder but the sender', { to: 'all', read: true }, { to: ['all'], read_by: { build1: '2025-10-31T14:12:00Z', build3: '2025-10-31T14:12:00Z' } }],
    ['read: false: unread', { read: false }, { read_by: {} }],
    ['no type: info', { type: undefined }, { type: 'info' }],
    ['type heartbeat: info, original kept', { type: 'heartbeat' }, { type: 'info', legacy_type: 'heartbeat' }],
    ['type response', { type: 'response' }, { type: 'info', legacy_type: 'response' }],
    ['type update', { type: 'update' }, { type: 'info', legacy_type: 'update' }],
    ['senders and recipients that are no builder stay', { from: 'architect', to: 'code1,code2' }, { from: 'architect', to: ['code1', 'code2'] }],
    ['acknowledged_by: acked_by at the message time', { ack_required: true, acknowledged_by: ['build1'], ack_status: 'completed' }, { acked_by: { build1: { at: '2025-10-31T14:12:00Z' } }, ack_status: 'completed' }],
    ['an escaped backslash before n stays', { body: 'C:\\\\new' }, { body: 'C:\\\\new' }],
    ['a 6-digit time stays exact', { timestamp: '2025-11-13T11:08:13.151219Z' }, { created_at: '2025-11-13T11:08:13.151219Z' }],
    ['unknown fields stay', { tags: ['vnf'], priority: 'high' }, { tags: ['vnf'], priority: 'high' }],
  ])('%s', (_what, fields, expected) => {
    const { message } = convertOne({ ...legacyMessage, ...fields });
    expect(message).toMatchObject(expected);
    expect(message).not.toHaveProperty('read');
    expect(message).not.toHaveProperty('timestamp');
    expect(message).not.toHaveProperty('acknowledged_by');
  });

  it('keeps a broadcast read flag when there is no fleet to give it to', () => {
    const { message, changes } = convertOne({ ...legacyMessage, to: 'all' }, []);
    expect(message).toMatchObject({ read: true, read_by: {} });
    expect(changes).toContain('1 read flags kept: a broadcast with no registered builders to give them to');
  });

  it('leaves current messages exactly as they are, and says nothing changed', () => {
    const current = convertOne(legacyMessage).message;
    const again = convertLegacyMessages({ messages: [current] }, ctx);
    expect(again).toEqual({ value: { messages: [current] }, changes: [], removes: [], entries: 0 });
  });

  it('wraps a bare list, and recognises nothing else', () => {
    expect(convertLegacyMessages([legacyMessage], ctx)?.changes[0]).toBe('1 a bare list of messages wrapped as {"messages": [...]}');
    expect(convertLegacyMessages({ notes: [] }, ctx)).toBeUndefined();
    expect(convertLegacyMessages('text', ctx)).toBeUndefined();
  });
});

describe('convertLegacyLocks', () => {
  const map = {
    locks: {
      job_assignment: { locked_by: null, locked_at: null, expires_at: null },
      deploy: { locked_by: 'build2', locked_at: '2025-10-29 14:00', expires_at: '2025-10-29T14:05:00Z', note: 'manual' },
      forever: { locked_by: 'build1', locked_at: '2025-10-29T13:00:00Z', expires_at: null },
      odd: { locked_by: 'build1', locked_at: 'sometime', expires_at: null },
    },
    metadata: { last_cleanup: '2025-10-29T00:00:00Z' },
  };

  it('turns the map into the list: holders kept with tokens, free ones dropped and named, the unreadable kept aside', () => {
    const converted = convertLegacyLocks(map, ctx)!;
    expect(locksDoc.parse(converted.value)).toEqual({
      locks: [
        { name: 'deploy', owner: 'build2', token: 1, acquired_at: '2025-10-29T14:00:00Z', renewed_at: '2025-10-29T14:00:00Z', expires_at: '2025-10-29T14:05:00Z', note: 'manual' },
        // no expiry: expired when taken, so free to take rather than held forever
        { name: 'forever', owner: 'build1', token: 2, acquired_at: '2025-10-29T13:00:00Z', renewed_at: '2025-10-29T13:00:00Z', expires_at: '2025-10-29T13:00:00Z' },
      ],
      last_token: 2,
      metadata: { last_cleanup: '2025-10-29T00:00:00Z' },
      legacy_locks: { odd: map.locks.odd },
    });
    expect(converted.removes).toEqual(['job_assignment']);
    expect(converted.changes).toEqual([
      '1 lock map turned into the lock list',
      'free locks (no holder) dropped: job_assignment',
      'held locks listed with fencing tokens 1..n: deploy, forever',
      'locks without a readable holder or time kept in legacy_locks: odd',
    ]);
  });

  it('leaves a current lock list alone', () => {
    expect(convertLegacyLocks({ locks: [], last_token: 3 }, ctx)?.changes).toEqual([]);
  });
});

describe('convertLegacyHeartbeat', () => {
  const hb = { path: 'build1/heartbeat.json', fleet: [] };
  it.each([
    ['minimal (server, timestamp, healthy)', { server: 'build1', timestamp: '2025-10-29T00:00:00Z', uptime_seconds: 0, healthy: true }, { id: 'build1', timestamp: '2025-10-29T00:00:00Z', uptime_seconds: 0, healthy: true }],
    ['older system block', { server: 'build1', timestamp: '2025-11-04T00:06:54Z', system: { cpu_usage: 0.3 } }, { id: 'build1', legacy_system: { cpu_usage: 0.3 } }],
    ['hand-written: status, last_activity', { server: 'build2', timestamp: '2025-11-05T13:31:35Z', status: 'idle', last_activity: 'x' }, { id: 'build2', status: 'idle', last_activity: 'x' }],
    ['server_id, last_heartbeat, top-level metrics', { last_heartbeat: '2025-11-13T03:11:58Z', memory_usage: 16.8, server_id: 'code2', cpu_usage: 2.6 }, { id: 'code2', timestamp: '2025-11-13T03:11:58Z', memory_usage: 16.8, cpu_usage: 2.6 }],
    ['no id: the folder names it; legacy time', { timestamp: '2025-11-03 16:21' }, { id: 'build1', timestamp: '2025-11-03T16:21:00Z' }],
  ])('%s', (_what, input, expected) => {
    const converted = convertLegacyHeartbeat(input, hb)!;
    expect(heartbeatDoc.parse(converted.value)).toMatchObject(expected);
    expect(converted.value).not.toHaveProperty('server');
    expect(converted.value).not.toHaveProperty('server_id');
    expect(converted.changes.length).toBeGreaterThan(0);
  });

  it('recognises no heartbeat without a time', () => {
    expect(convertLegacyHeartbeat({ server: 'build1' }, hb)).toBeUndefined();
  });
});

describe('convertLegacyStatus', () => {
  const st = { path: 'build1/status.json', fleet: [] };
  it('maps server, status, timestamp, last_build and the older system block, keeping the rest', () => {
    const input = {
      server: 'build1', ip: '10.1.3.175', timestamp: '2025-11-05T13:32:28Z', status: 'idle', current_job: null,
      last_build: { id: 'job_1761779789', status: 'success', branch: 'ExternalNew', completed_at: '2025-10-29T23:23:17Z', duration_seconds: 399, log: '/root/x.log' },
      system: { cpu_usage: 0.8 }, capabilities: { cores: 32 },
    };
    expect(statusDoc.parse(convertLegacyStatus(input, st)!.value)).toEqual({
      id: 'build1', state: 'idle', current_job: null, updated_at: '2025-11-05T13:32:28Z', ip: '10.1.3.175',
      last_build: { job: 'job_1761779789', status: 'success', finished_at: '2025-10-29T23:23:17Z', duration_seconds: 399, branch: 'ExternalNew', log: '/root/x.log' },
      legacy_system: { cpu_usage: 0.8 }, capabilities: { cores: 32 },
    });
  });

  it('a state it does not know becomes idle, the original kept', () => {
    const converted = convertLegacyStatus({ server_id: 'code2', status: 'online', timestamp: '2025-11-13T03:47:43Z' }, st)!;
    expect(statusDoc.parse(converted.value)).toMatchObject({ id: 'code2', state: 'idle', legacy_state: 'online', current_job: null, last_build: null });
  });
});

describe('convertLegacyJobs', () => {
  it('converts times and status words of legacy jobs only', () => {
    const current = { id: 'j1', type: 'build', priority: 1, status: 'queued', assigned_to: null, created_at: '2025-10-29T22:49:50Z', labels: [], attempts: 0, max_attempts: 3 };
    const legacy = { id: 'j2', type: 'package', priority: 5, status: 'in_progress', assigned_to: 'build1', timestamp: '2025-10-29 22:49', extra: 1 };
    const converted = convertLegacyJobs({ jobs: [current, legacy], metadata: { next_job_id: 1 } }, ctx)!;
    const doc = jobsDoc.parse(converted.value);
    expect(doc.jobs[0]).toEqual(current);
    expect(doc.jobs[1]).toMatchObject({ id: 'j2', status: 'running', legacy_status: 'in_progress', created_at: '2025-10-29T22:49:00Z', extra: 1 });
    expect(doc.metadata).toEqual({ next_job_id: 1 });
  });
});

describe('convertLegacyDashboard', () => {
  it('gives a legacy summary the current shape and keeps the older fields', () => {
    const legacy = { timestamp: '2025-10-29T00:00:00Z', overall_status: 'healthy', servers: { build1: { status: 'idle', healthy: true } }, jobs: { queued: 1, running: 0 }, alerts: [] };
    const doc = dashboardDoc.parse(convertLegacyDashboard(legacy, ctx)!.value);
    expect(doc).toMatchObject({ ...legacy, updated_at: '2025-10-29T00:00:00Z', builders: [{ id: 'build1', health: 'unknown', state: 'idle', current_job: null }], counts: { unknown: 1 }, queue: { queued: 1, running: 0 } });
  });
});
