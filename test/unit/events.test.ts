// Notifiable events as a pure function of housekeeping's before and after state.
import { jobRunVersion, lockVersion } from '../../src/domain/clocks.js';
import { describe, expect, it } from 'vitest';
import { effectiveSettings } from '../../src/domain/config.js';
import { EVENT_KEEP_MS, recordEvents } from '../../src/domain/events.js';
import { eventIdOf } from '../../src/ops/notify.js';
import { housekeep, type HousekeepingInput } from '../../src/domain/housekeeping.js';
import type { DashboardDoc, Health } from '../../src/schemas/dashboard.js';
import type { Job } from '../../src/schemas/jobs.js';
import type { Lock } from '../../src/schemas/locks.js';
import type { Message } from '../../src/schemas/messages.js';
import type { EventsDoc } from '../../src/schemas/notify.js';

const NOW = new Date('2026-06-15T12:00:00Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString();
const MIN = 60_000;
const DAY = 86_400_000;
const meta = { actor: 'build1', idOf: eventIdOf };

const job = (id: string, fields: Partial<Job> = {}): Job => ({ id, type: 'build', priority: 5, status: 'queued', assigned_to: null, labels: [], attempts: 0, max_attempts: 3, created_at: ago(DAY), ...fields });
const message = (id: string, fields: Partial<Message> = {}): Message => ({ id, from: 'build1', to: ['build2'], type: 'info', subject: 's', body: 'b', created_at: ago(MIN), ack_required: false, read_by: {}, acked_by: {}, ...fields });
const lock = (name: string, fields: Partial<Lock> = {}): Lock => ({ name, owner: 'build2', token: 7, acquired_at: ago(10 * MIN), renewed_at: ago(10 * MIN), expires_at: ago(-10 * MIN), ...fields });
const dashboard = (health: Record<string, Health>): DashboardDoc => ({
  updated_at: ago(10 * MIN),
  builders: Object.entries(health).map(([id, h]) => ({ id, health: h, state: null, current_job: null })),
  counts: { healthy: 0, stale: 0, dead: 0, unknown: 0 },
  queue: {},
});
/** Recording began a day ago, with nothing recorded yet. */
const RECORDING: EventsDoc = { since: ago(DAY), events: [] };

const input = (fields: Partial<HousekeepingInput> = {}): HousekeepingInput => ({
  now: NOW,
  settings: effectiveSettings(undefined),
  builders: { builders: ['build1', 'build2', 'build3'].map((id) => ({ id, labels: [], enabled: true })) },
  health: new Map<string, Health>([['build1', 'healthy'], ['build2', 'healthy'], ['build3', 'healthy']]),
  seen: { locks: {}, jobs: {} },
  statuses: new Map(),
  jobs: { jobs: [] },
  locks: { locks: [], last_token: 0 },
  messages: { messages: [] },
  dashboard: dashboard({ build1: 'healthy', build2: 'healthy', build3: 'healthy' }),
  ...fields,
});

/** One tick: housekeeping's transition, then the events it shows. */
const tick = (before: HousekeepingInput, recorded: EventsDoc = RECORDING) => recordEvents(before, housekeep(before), recorded, meta);
const kinds = (r: ReturnType<typeof tick>) => r.events.map((e) => `${e.type} ${e.subject}`);

describe('recordEvents: builders', () => {
  it.each([
    ['healthy', 'stale', ['builder.stale build2']],
    ['healthy', 'dead', ['builder.dead build2']],
    ['stale', 'dead', ['builder.dead build2']],
    ['stale', 'healthy', ['builder.back build2']],
    ['dead', 'healthy', ['builder.back build2']],
    ['unknown', 'healthy', []], // a new builder's first beat is no news
    ['healthy', 'healthy', []],
  ] as const)('%s -> %s: %j', (was, is, expected) => {
    const before = input({ dashboard: dashboard({ build1: 'healthy', build2: was, build3: 'healthy' }), health: new Map([['build1', 'healthy'], ['build2', is], ['build3', 'healthy']]) });
    expect(kinds(tick(before))).toEqual(expected);
  });

  it('says nothing of health without an earlier dashboard, and nothing of a disabled builder', () => {
    const dead = new Map<string, Health>([['build1', 'healthy'], ['build2', 'dead'], ['build3', 'healthy']]);
    expect(tick(input({ dashboard: undefined, health: dead })).events).toEqual([]);
    const builders = { builders: [{ id: 'build1', labels: [], enabled: true }, { id: 'build2', labels: [], enabled: false }, { id: 'build3', labels: [], enabled: true }] };
    expect(tick(input({ builders, health: dead })).events).toEqual([]);
  });
});

describe('recordEvents: jobs, locks, messages', () => {
  it('a dead builder: its jobs requeued or dead, its locks freed, each one event, recorded by this builder', () => {
    const before = input({
      health: new Map([['build1', 'healthy'], ['build2', 'dead'], ['build3', 'healthy']]),
      jobs: { jobs: [job('j1', { status: 'running', assigned_to: 'build2', attempts: 1 }), job('j2', { status: 'running', assigned_to: 'build2', attempts: 3 })] },
      locks: { locks: [lock('deploy')], last_token: 7 },
    });
    const r = tick(before);
    expect(kinds(r)).toEqual(['builder.dead build2', 'job.requeued j1', 'job.dead j2', 'lock.broken deploy']);
    expect(r.events.every((e) => e.recorded_by === 'build1' && e.at === NOW.toISOString())).toBe(true);
    expect(r.events.find((e) => e.type === 'lock.broken')?.text).toBe('lock deploy (token 7) was freed: its holder build2 is dead');
  });

  it('a job failed by its builder, a job that timed out, an expired lock reaped, a lock an operator broke', () => {
    const j2 = job('j2', { status: 'running', assigned_to: 'build1', attempts: 1, started_at: ago(20 * MIN), timeout: '10m' });
    const cache = lock('cache', { owner: 'build1', token: 3, expires_at: ago(MIN) });
    // This clone watched the run and the lock long enough to act (domain/clocks.ts).
    const watched = (version: string) => ({ version, first_seen: ago(20 * MIN), after: null });
    const before = input({
      jobs: { jobs: [job('j1', { status: 'failed', assigned_to: 'build3', attempts: 1, completed_at: ago(MIN), result: { reason: 'tests failed' } }), j2] },
      locks: { locks: [cache], last_token: 9, broken: [{ name: 'deploy', owner: 'build2', token: 9, broken_at: ago(MIN), by: 'ops', reason: 'build2 reinstalled' }] },
      seen: { locks: { cache: watched(lockVersion(cache)) }, jobs: { j2: watched(jobRunVersion(j2)) } },
    });
    const r = tick(before);
    expect(kinds(r)).toEqual(['job.failed j1', 'job.failed j2', 'lock.reaped cache', 'lock.broken deploy']);
    expect(r.events.map((e) => e.text)).toEqual([
      'job j1 (build) failed on build3: tests failed',
      'job j2 (build) failed on build1: timed out after 10m',
      'lock cache (build1, token 3) expired and was reaped',
      'lock deploy (held by build2, token 9) was broken by ops: build2 reinstalled',
    ]);
  });

  it('a request or error message, and an --ack message unacked past check_unacked_after (escalated once)', () => {
    const before = input({
      messages: {
        messages: [
          message('m1', { type: 'request', subject: 'please deploy' }),
          message('m2', { type: 'error', to: ['all'] }),
          message('m3', { type: 'info' }),
          message('m4', { ack_required: true, created_at: ago(2 * 60 * MIN), subject: 'maintenance tonight' }),
          message('m5', { ack_required: true, created_at: ago(2 * 60 * MIN), acked_by: { build2: { at: ago(MIN) } }, read_by: { build2: ago(MIN) } }),
        ],
      },
    });
    const r = tick(before);
    expect(kinds(r)).toEqual(['message.request m1', 'message.error m2', 'message.unacked m4']);
    expect(r.events[0]?.text).toBe('request from build1 to build2: please deploy');
    expect(r.events[2]?.text).toBe('message m4 from build1 to build2 ("maintenance tonight") still awaits an ack from build2 after 2h');
    // The next tick sees the same state: nothing new.
    expect(tick(before, r.doc).events).toEqual([]);
  });
});

describe('recordEvents: exactly once', () => {
  it('an event whose key is recorded is never recorded again; a failed retry is a new failure', () => {
    const failed = job('j1', { status: 'failed', attempts: 1, completed_at: ago(MIN) });
    const first = tick(input({ jobs: { jobs: [failed] } }));
    expect(first.events).toHaveLength(1);
    const again = tick(input({ jobs: { jobs: [failed] } }), first.doc);
    expect([again.events, again.changed]).toEqual([[], false]);
    const second = tick(input({ jobs: { jobs: [{ ...failed, attempts: 2 }] } }), first.doc);
    expect(kinds(second)).toEqual(['job.failed j1']);
    expect(second.events[0]?.id).not.toBe(first.events[0]?.id);
  });

  it('the first tick with a target starts recording: what happened before is old news, what is true now escalates', () => {
    const before = input({
      jobs: { jobs: [job('old', { status: 'failed', attempts: 1, completed_at: ago(DAY) })] },
      messages: { messages: [message('m1', { type: 'request', created_at: ago(DAY) }), message('m2', { ack_required: true, created_at: ago(DAY) })] },
    });
    const r = recordEvents(before, housekeep(before), undefined, meta);
    expect([r.changed, r.doc.since, kinds(r)]).toEqual([true, NOW.toISOString(), ['message.unacked m2']]);
  });

  it('prunes an event after EVENT_KEEP_MS once what it is about has left the hot files, and keeps it while it has not', () => {
    const old = (subject: string, key: string) => ({ id: meta.idOf(key), key, type: 'job.failed' as const, at: ago(EVENT_KEEP_MS + MIN), recorded_by: 'build1', subject, text: 't' });
    const recorded: EventsDoc = { since: ago(30 * DAY), events: [old('gone', 'job.failed:gone:1'), old('kept', 'job.failed:kept:1')] };
    const r = tick(input({ jobs: { jobs: [job('kept', { status: 'failed', attempts: 1, completed_at: ago(2 * DAY) })] } }), recorded);
    expect([r.changed, r.pruned, r.doc.events.map((e) => e.subject), r.events]).toEqual([true, [meta.idOf('job.failed:gone:1')], ['kept'], []]);
  });
});
