import { describe, expect, it } from 'vitest';
import { effectiveSettings } from '../../src/domain/config.js';
import { buildFleetView, type FleetInputs } from '../../src/domain/fleet-view.js';
import type { BuilderEntry } from '../../src/schemas/builders.js';
import type { HeartbeatDoc } from '../../src/schemas/heartbeat.js';
import type { Job, JobStatus } from '../../src/schemas/jobs.js';
import type { Lock } from '../../src/schemas/locks.js';
import type { Message } from '../../src/schemas/messages.js';
import type { StatusDoc } from '../../src/schemas/status.js';
import type { SystemSnapshot } from '../../src/schemas/system.js';

const NOW = new Date('2026-01-01T00:00:00Z');
const ago = (seconds: number): string => new Date(NOW.getTime() - seconds * 1000).toISOString();
const inMs = (ms: number): string => new Date(NOW.getTime() + ms).toISOString();

const system = (cpu: number): SystemSnapshot => ({ cpu_pct: cpu, memory_used_mb: 1, memory_total_mb: 2, disk_free_gb: 3, load_avg: [0, 0, 0], uptime_seconds: 4 });
const builder = (id: string, fields: Partial<BuilderEntry> = {}): BuilderEntry => ({ id, host: `${id}.lan`, labels: [], enabled: true, ...fields });
const beat = (id: string, secondsAgo: number, cpu = 1): HeartbeatDoc => ({ id, timestamp: ago(secondsAgo), host: `${id}.lan`, pid: 1, version: '0', uptime_seconds: 1, system: system(cpu) });
const status = (id: string, fields: Partial<StatusDoc> = {}): StatusDoc => ({ id, state: 'idle', current_job: null, last_build: null, updated_at: ago(60), ...fields });
const job = (id: string, jobStatus: JobStatus): Job => ({ id, type: 'build', priority: 5, status: jobStatus, assigned_to: null, labels: [], attempts: 0, max_attempts: 3, created_at: ago(600) });
const lock = (name: string, expiresAt: string): Lock => ({ name, owner: 'build1', token: 7, acquired_at: ago(30), renewed_at: ago(30), expires_at: expiresAt });
const message = (id: string, fields: Partial<Message>): Message => ({
  id, from: 'build2', to: ['build1'], type: 'info', subject: 's', body: 'b', created_at: ago(10), ack_required: false, read_by: {}, acked_by: {}, ...fields,
});

const view = (inputs: Partial<FleetInputs>) =>
  buildFleetView({ now: NOW, settings: effectiveSettings(undefined), builders: [], statuses: new Map(), heartbeats: new Map(), jobs: [], locks: [], messages: [], ...inputs });

describe('buildFleetView', () => {
  it('counts builders by health at the default thresholds (3 min stale, 5 min dead)', () => {
    const ids = ['fresh', 'edge', 'late', 'gone', 'never'];
    const v = view({
      builders: ids.map((id) => builder(id)),
      heartbeats: new Map([
        ['fresh', beat('fresh', 10)],
        ['edge', beat('edge', 180)],
        ['late', beat('late', 181)],
        ['gone', beat('gone', 301)],
      ]),
    });
    expect(v.builders.map((b) => [b.id, b.health])).toEqual([
      ['fresh', 'healthy'],
      ['edge', 'healthy'],
      ['late', 'stale'],
      ['gone', 'dead'],
      ['never', 'unknown'],
    ]);
    expect(v.health).toEqual({ healthy: 2, stale: 1, dead: 1, unknown: 1 });
  });

  it('gives each builder its heartbeat time and age, state and job', () => {
    const v = view({
      builders: [builder('build1', { labels: ['linux'] }), builder('build2', { host: null, enabled: false })],
      heartbeats: new Map([['build1', beat('build1', 42)]]),
      statuses: new Map([['build1', status('build1', { state: 'building', current_job: 'j1' })]]),
    });
    expect(v.builders[0]).toMatchObject({ id: 'build1', host: 'build1.lan', enabled: true, labels: ['linux'], heartbeat_at: ago(42), heartbeat_age_seconds: 42, state: 'building', current_job: 'j1' });
    expect(v.builders[1]).toMatchObject({ id: 'build2', host: null, enabled: false, heartbeat_at: null, heartbeat_age_seconds: null, state: null, current_job: null, system: null });
  });

  it.each([
    ['heartbeat and status', true, true, 50],
    ['status only (no heartbeat yet)', false, true, 20],
    ['heartbeat only', true, false, 50],
    ['neither', false, false, null],
  ])('takes the system snapshot from the heartbeat over status.system: %s', (_, hasBeat, hasStatus, cpu) => {
    const v = view({
      builders: [builder('build1')],
      heartbeats: new Map(hasBeat ? [['build1', beat('build1', 5, 50)]] : []),
      statuses: new Map(hasStatus ? [['build1', status('build1', { system: system(20) })]] : []),
    });
    expect(v.builders[0]?.system?.cpu_pct ?? null).toBe(cpu);
  });

  it('counts the queue for every job status, zero included', () => {
    const v = view({ jobs: [job('a', 'queued'), job('b', 'queued'), job('c', 'running'), job('d', 'dead'), job('e', 'queued')] });
    expect(v.queue).toEqual({ queued: 3, running: 1, completed: 0, failed: 0, cancelled: 0, dead: 1 });
  });

  it.each([
    ['90 s left', 90_000, 90, false],
    ['0.4 s left', 400, 1, false],
    ['exactly now', 0, 0, true],
    ['0.4 s ago', -400, 0, true],
    ['10 s ago', -10_000, 0, true],
  ])('shows a lock expiring %s with its seconds left and whether it expired', (_, ms, secondsLeft, expired) => {
    const v = view({ locks: [lock('deploy', inMs(ms))] });
    expect(v.locks).toEqual([expect.objectContaining({ name: 'deploy', owner: 'build1', token: 7, expires_at: inMs(ms), seconds_left: secondsLeft, expired })]);
  });

  it('has no mail section without an identity', () => {
    expect(view({ messages: [message('m1', {})] }).mail).toBeNull();
  });

  it('counts my unread mail and mail awaiting my ack, broadcasts included and read per recipient', () => {
    const messages = [
      message('direct-unread', {}),
      message('direct-read', { read_by: { build1: ago(5) } }),
      message('broadcast-read-by-other', { to: ['all'], read_by: { build3: ago(5) } }),
      message('broadcast-read-by-me', { to: ['all'], read_by: { build1: ago(5) } }),
      message('for-someone-else', { to: ['build3'] }),
      message('from-me', { from: 'build1', to: ['all'] }),
      message('ack-needed', { ack_required: true, read_by: { build1: ago(5) } }),
      message('ack-given', { ack_required: true, read_by: { build1: ago(5) }, acked_by: { build1: { at: ago(4) } } }),
      message('broadcast-ack-by-other', { to: ['all'], ack_required: true, read_by: { build3: ago(5) }, acked_by: { build3: { at: ago(4) } } }),
    ];
    // unread by build1: direct-unread, broadcast-read-by-other, broadcast-ack-by-other
    // awaiting build1's ack: ack-needed, broadcast-ack-by-other
    expect(view({ me: 'build1', messages }).mail).toEqual({ builder: 'build1', unread: 3, awaiting_ack: 2 });
    // build3 read (and acked) its copies of the broadcasts it touched; unread for it are
    // broadcast-read-by-me, for-someone-else and from-me (build1 to all); nothing awaits its ack.
    expect(view({ me: 'build3', messages }).mail).toEqual({ builder: 'build3', unread: 3, awaiting_ack: 0 });
  });
});
