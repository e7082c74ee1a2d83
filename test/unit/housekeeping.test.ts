import { describe, expect, it } from 'vitest';
import { effectiveSettings } from '../../src/domain/config.js';
import { appendToArchive, buildDashboard, housekeep, isSettled, jobsMayChange, jobsQuietThrough, messagesMayArchive, messagesQuietThrough, type HousekeepingInput, type JobGlance } from '../../src/domain/housekeeping.js';
import { jobRunVersion, lockVersion } from '../../src/domain/clocks.js';
import { queueCounts } from '../../src/domain/jobs.js';
import type { Health } from '../../src/schemas/dashboard.js';
import type { Job } from '../../src/schemas/jobs.js';
import type { Message } from '../../src/schemas/messages.js';

const NOW = new Date('2026-06-15T12:00:00Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString();
const MIN = 60_000;
const DAY = 86_400_000;

const job = (id: string, fields: Partial<Job> = {}): Job => ({
  id,
  type: 'build',
  priority: 5,
  status: 'queued',
  assigned_to: null,
  labels: [],
  attempts: 0,
  max_attempts: 3,
  created_at: ago(DAY),
  ...fields,
});

const message = (id: string, fields: Partial<Message> = {}): Message => ({
  id,
  from: 'build1',
  to: ['build2'],
  type: 'info',
  subject: 's',
  body: 'b',
  created_at: ago(40 * DAY),
  ack_required: false,
  read_by: {},
  acked_by: {},
  ...fields,
});

const input = (fields: Partial<HousekeepingInput> = {}): HousekeepingInput => ({
  now: NOW,
  settings: effectiveSettings(undefined),
  builders: { builders: ['build1', 'build2', 'build3'].map((id) => ({ id, labels: [], enabled: true })) },
  health: new Map<string, Health>([
    ['build1', 'healthy'],
    ['build2', 'dead'],
    ['build3', 'unknown'],
  ]),
  seen: { locks: {}, jobs: {} },
  statuses: new Map(),
  jobs: { jobs: [] },
  locks: { locks: [], last_token: 0 },
  messages: { messages: [] },
  dashboard: undefined,
  ...fields,
});

describe('housekeep: jobs of dead builders', () => {
  it.each([
    [1, 3, 'queued'],
    [2, 3, 'queued'],
    [3, 3, 'dead'],
    [1, 1, 'dead'],
  ])('attempt %i of %i -> %s', (attempts, max, status) => {
    const running = job('j', { status: 'running', assigned_to: 'build2', attempts, max_attempts: max, started_at: ago(MIN) });
    const result = housekeep(input({ jobs: { jobs: [running] } }));
    expect(result.jobs.jobs[0]).toMatchObject({ status, attempts });
    expect(result.jobs.jobs[0]?.result?.reason).toContain('build2 died while running it');
    if (status === 'queued') expect(result.jobs.jobs[0]).toMatchObject({ assigned_to: null, started_at: null });
  });

  it('leaves jobs of healthy and of never-seen (unknown) builders alone', () => {
    const jobs = [job('a', { status: 'running', assigned_to: 'build1', attempts: 1 }), job('b', { status: 'running', assigned_to: 'build3', attempts: 1 })];
    const result = housekeep(input({ jobs: { jobs } }));
    expect(result.jobs.jobs).toBe(jobs);
    expect(result.jobs.jobs.map((j) => j.status)).toEqual(['running', 'running']);
    expect(result.report.requeued_jobs).toEqual([]);
  });
});

describe('housekeep: dependencies', () => {
  it('blocks the dependents of a job it declares dead, in the same pass', () => {
    const jobs = [
      job('build', { status: 'running', assigned_to: 'build2', attempts: 3, max_attempts: 3, started_at: ago(MIN) }),
      job('package', { dependencies: ['build'] }),
    ];
    const result = housekeep(input({ jobs: { jobs } }));
    expect(result.jobs.jobs.map((j) => j.status)).toEqual(['dead', 'queued']);
    expect(result.jobs.jobs[1]?.blocked).toMatchObject({ by: 'build', since: NOW.toISOString() });
    expect(result.jobs.jobs[1]?.blocked?.reason).toContain('build is dead: build2 died while running it');
    expect(result.report.blocked_jobs).toEqual(['package']);
  });

  it('keeps a finished dependency of a live job out of the archive: claim must see it completed', () => {
    const jobs = [
      job('old-build', { status: 'completed', completed_at: '2026-05-01T00:00:00Z' }),
      job('old-other', { status: 'completed', completed_at: '2026-05-01T00:00:00Z' }),
      job('package', { dependencies: ['old-build'] }),
    ];
    const result = housekeep(input({ jobs: { jobs } }));
    expect(result.jobs.jobs.map((j) => j.id)).toEqual(['old-build', 'package']);
    expect(result.report.archived_jobs).toEqual(['old-other']);
  });
});

describe('housekeep: timeouts and locks, on this clone\'s own watch', () => {
  const running = (startedAt: string) => job('t', { status: 'running', assigned_to: 'build1', attempts: 1, timeout: '1m', started_at: startedAt });
  const watchedFor = (version: string, ms: number) => ({ version, first_seen: ago(ms), after: null });

  it.each([
    ['59s', 59_000, false],
    ['61s', 61_000, true],
  ])('a job with timeout 1m that this clone watched run for %s -> timed out: %s', (_label, watched, timedOut) => {
    const j = running(ago(watched));
    const result = housekeep(input({ jobs: { jobs: [j] }, seen: { locks: {}, jobs: { t: watchedFor(jobRunVersion(j), watched) } } }));
    expect(result.report.timed_out_jobs).toEqual(timedOut ? ['t'] : []);
    expect(result.jobs.jobs[0]?.status).toBe(timedOut ? 'failed' : 'running');
  });

  it('never times a job out by its claimer\'s clock alone: started_at 2h ago, watched for 10s', () => {
    const j = running(ago(2 * 3_600_000));
    const result = housekeep(input({ jobs: { jobs: [j] }, seen: { locks: {}, jobs: { t: watchedFor(jobRunVersion(j), 10_000) } } }));
    expect(result.report.timed_out_jobs).toEqual([]);
    const unwatched = housekeep(input({ jobs: { jobs: [j] } }));
    expect(unwatched.report.timed_out_jobs).toEqual([]);
  });

  it('reaps locks watched unchanged for their TTL and frees the locks of dead builders, keeping the rest', () => {
    const lock = (name: string, owner: string, expires: string) => ({ name, owner, token: 1, acquired_at: ago(MIN), renewed_at: ago(MIN), expires_at: expires });
    const locks = [
      lock('expired', 'build1', ago(1000)), // a 59 s lock, watched for a minute
      lock('orphan', 'build2', ago(-MIN)), // build2 is dead
      lock('held', 'build1', ago(-MIN)), // a 2 min lock, watched for a minute
      lock('fast-clock', 'build1', ago(1000)), // its holder's clock says expired, but watched for 5 s only
    ];
    const seen = {
      locks: {
        expired: watchedFor(lockVersion(locks[0]!), MIN),
        held: watchedFor(lockVersion(locks[2]!), MIN),
        'fast-clock': watchedFor(lockVersion(locks[3]!), 5000),
      },
      jobs: {},
    };
    const result = housekeep(input({ locks: { locks, last_token: 3 }, seen }));
    expect(result.locks.locks.map((l) => l.name)).toEqual(['held', 'fast-clock']);
    expect(result.locks.last_token).toBe(3);
    expect(result.report).toMatchObject({ reaped_locks: ['expired'], freed_locks: ['orphan'] });
  });
});

describe('housekeep: one truth per builder', () => {
  it('moves the assignee\'s status off a job it requeues or times out, in the same result', () => {
    const jobs = [
      job('orphan', { status: 'running', assigned_to: 'build2', attempts: 1, started_at: ago(MIN) }),
      job('slow', { status: 'running', assigned_to: 'build1', attempts: 1, timeout: '1m', started_at: ago(2 * MIN) }),
    ];
    const statuses = new Map([
      ['build2', { id: 'build2', state: 'building' as const, current_job: 'orphan', last_build: null, updated_at: ago(MIN) }],
      ['build1', { id: 'build1', state: 'building' as const, current_job: 'slow', last_build: null, updated_at: ago(2 * MIN) }],
    ]);
    const seen = { locks: {}, jobs: { slow: { version: jobRunVersion(jobs[1]!), first_seen: ago(2 * MIN), after: null } } };
    const result = housekeep(input({ jobs: { jobs }, statuses, seen }));
    expect(result.report).toMatchObject({ requeued_jobs: ['orphan'], timed_out_jobs: ['slow'] });
    expect(result.statuses.get('build2')).toMatchObject({ state: 'idle', current_job: null });
    expect(result.statuses.get('build1')).toMatchObject({ state: 'failed', current_job: null, last_build: { job: 'slow', status: 'failed', reason: 'timed out after 1m' } });
    expect(result.dashboard.builders.find((b) => b.id === 'build2')).toMatchObject({ state: 'idle', current_job: null });
  });

  it('leaves a status that already shows another job alone', () => {
    const jobs = [job('orphan', { status: 'running', assigned_to: 'build2', attempts: 1, started_at: ago(MIN) })];
    const statuses = new Map([['build2', { id: 'build2', state: 'building' as const, current_job: 'other', last_build: null, updated_at: ago(MIN) }]]);
    expect(housekeep(input({ jobs: { jobs }, statuses })).statuses.size).toBe(0);
  });
});

describe('housekeep: archiving', () => {
  it('archives finished jobs past job_retention by the month they finished, keeping live ones', () => {
    const jobs = [
      job('old-done', { status: 'completed', completed_at: '2026-05-01T00:00:00Z' }),
      job('recent-done', { status: 'failed', completed_at: ago(DAY) }),
      job('old-queued', { created_at: '2026-01-01T00:00:00Z' }),
      job('old-dead', { status: 'dead', completed_at: '2026-04-30T23:59:59Z' }),
    ];
    const result = housekeep(input({ jobs: { jobs } }));
    expect(result.jobs.jobs.map((j) => j.id)).toEqual(['recent-done', 'old-queued']);
    expect([...result.archive.jobs.entries()].map(([m, list]) => [m, list.map((j) => j.id)])).toEqual([
      ['2026-05', ['old-done']],
      ['2026-04', ['old-dead']],
    ]);
  });

  it.each([
    ['unread', message('m', {}), false],
    ['read by its recipient', message('m', { read_by: { build2: ago(DAY) } }), true],
    ['read but not acked though asked', message('m', { ack_required: true, read_by: { build2: ago(DAY) } }), false],
    ['read and acked', message('m', { ack_required: true, read_by: { build2: ago(DAY) }, acked_by: { build2: { at: ago(DAY) } } }), true],
    ['a broadcast read by one builder of two', message('m', { to: ['all'], read_by: { build2: ago(DAY) } }), false],
    ['a broadcast read by every other builder', message('m', { to: ['all'], read_by: { build2: ago(DAY), build3: ago(DAY) } }), true],
  ])('%s: settled = %s', (_label, m, settled) => {
    expect(isSettled(m, ['build1', 'build2', 'build3'])).toBe(settled);
  });

  it('archives settled messages only past message_retention', () => {
    const read = { read_by: { build2: ago(DAY) } };
    const messages = [message('old', read), message('young', { ...read, created_at: ago(29 * DAY) })];
    const result = housekeep(input({ messages: { messages } }));
    expect(result.messages.messages.map((m) => m.id)).toEqual(['young']);
    expect(result.report.archived_messages).toEqual(['old']);
  });

  it('appends to an archive once per id', () => {
    const a = job('a');
    const b = job('b');
    expect(appendToArchive([a], [a, b]).map((j) => j.id)).toEqual(['a', 'b']);
  });
});

describe('dashboard', () => {
  it('changes only when states change, not with time', () => {
    const base = input();
    const first = buildDashboard(base, queueCounts([]), undefined);
    expect(first.changed).toBe(true);
    expect(first.dashboard.counts).toEqual({ healthy: 1, stale: 0, dead: 1, unknown: 1 });
    const later = buildDashboard({ ...base, now: new Date(NOW.getTime() + MIN) }, queueCounts([]), first.dashboard);
    expect(later).toEqual({ dashboard: first.dashboard, changed: false });
    const moved = buildDashboard({ ...base, health: new Map([['build1', 'stale']]) }, queueCounts([]), first.dashboard);
    expect(moved.changed).toBe(true);
    expect(moved.dashboard.builders[0]).toEqual({ id: 'build1', health: 'stale', state: null, current_job: null });
  });

  it('a tick with nothing to do returns the very same documents', () => {
    const dashboard = buildDashboard(input(), queueCounts([]), undefined).dashboard;
    const same = input({ dashboard });
    const result = housekeep(same);
    expect(result.jobs).toBe(same.jobs);
    expect(result.locks).toBe(same.locks);
    expect(result.messages).toBe(same.messages);
    expect(result.report.dashboard_changed).toBe(false);
  });
});

describe('messagesMayArchive', () => {
  // An idle pass skips reading the messages when this says none is due: it must never say so
  // of messages housekeep would archive.
  it('is true whenever housekeep would archive a message, whatever who read it', () => {
    const ages = [0, DAY, 29 * DAY, 30 * DAY, 30 * DAY + 1, 31 * DAY, 400 * DAY];
    const reads: Array<Record<string, string>> = [{}, { build2: ago(0) }];
    for (const a of ages) {
      for (const b of ages) {
        for (const read_by of reads) {
          const messages = [message('m1', { created_at: ago(a), read_by }), message('m2', { created_at: ago(b), read_by: { build2: ago(0) } }), message('bad', { created_at: 'not a time' })];
          const archived = housekeep(input({ messages: { messages } })).report.archived_messages;
          const may = messagesMayArchive(messages.map((m) => m.created_at), input().settings, NOW);
          if (archived.length > 0) expect(may).toBe(true);
          expect(may).toBe(a > 30 * DAY || b > 30 * DAY);
        }
      }
    }
  });
});

describe('jobsMayChange', () => {
  // An idle pass leaves the queue unread when this says no job could change: housekeep must
  // then change no job, and build the same dashboard from the counts alone.
  const glance = (j: Job): JobGlance => ({ id: j.id, status: j.status, dependencies: (j.dependencies ?? []).length > 0, blocked: 'blocked' in j, finishedAt: j.completed_at ?? j.created_at });
  const variants: Array<Partial<Job>> = [
    {},
    { status: 'running', assigned_to: 'build2', started_at: ago(MIN), attempts: 1 },
    { status: 'running', assigned_to: 'build1', started_at: ago(DAY), attempts: 1, timeout: '1h' },
    { dependencies: ['j0'] },
    { dependencies: [] },
    { blocked: null },
    { blocked: { by: 'j0', reason: 'j0 failed', since: ago(MIN) }, dependencies: ['j0'] },
    { status: 'completed', assigned_to: 'build1', completed_at: ago(DAY) },
    { status: 'completed', assigned_to: 'build1', completed_at: ago(8 * DAY) },
    { status: 'failed', completed_at: null, created_at: ago(9 * DAY) },
    { status: 'cancelled', completed_at: ago(2 * DAY), created_at: ago(30 * DAY) },
    { status: 'dead', completed_at: ago(7 * DAY + 1) },
  ];
  it('says so of every queue housekeep would change, and the counts build the same dashboard', () => {
    for (let a = 0; a < variants.length; a++) {
      for (let b = 0; b < variants.length; b++) {
        for (const untrusted of [new Set<string>(), new Set(['j1'])]) {
          const jobs = [job('j0', variants[a]), job('j1', variants[b]), job('j2')];
          const full = input({ jobs: { jobs }, untrusted: { jobs: untrusted, locks: new Set() }, seen: { locks: {}, jobs: { j0: { version: jobRunVersion(jobs[0]!), first_seen: ago(2 * DAY), after: null } } } });
          const may = jobsMayChange(jobs.map(glance), full.settings, NOW, untrusted);
          const result = housekeep(full);
          const changed = result.jobs !== full.jobs || result.statuses.size > 0 || result.report.not_acted_on.length > 0;
          if (changed) expect(may, JSON.stringify([variants[a], variants[b], [...untrusted]])).toBe(true);
          if (!may) {
            const unread = housekeep({ ...full, jobs: { jobs: [] }, queueCounts: queueCounts(jobs.map((j) => j.status)) });
            expect(unread.dashboard).toEqual(result.dashboard);
            expect(unread.report).toEqual(result.report);
          }
        }
      }
    }
    expect(jobsMayChange([glance(job('j0'))], input().settings, NOW, new Set())).toBe(false);
  });

  // An idle pass remembers these (store/quiet-memo.ts) and skips the documents until then.
  it('jobsQuietThrough and messagesQuietThrough name the last moment a pass changes nothing: housekeep archives a millisecond later, not before', () => {
    const settings = input().settings;
    const finished = job('j1', { status: 'completed', assigned_to: 'build1', completed_at: ago(DAY), created_at: ago(2 * DAY) });
    const jobs = [job('j0'), finished, job('j2', { status: 'failed', completed_at: null, created_at: 'not a time' })];
    const through = jobsQuietThrough(jobs.map(glance), settings, new Set());
    expect(through).toBe(Date.parse(finished.completed_at!) + settings.jobRetentionMs);
    const passAt = (ms: number, fields: Partial<HousekeepingInput>) => housekeep(input({ now: new Date(ms), ...fields })).report;
    expect(passAt(through, { jobs: { jobs } }).archived_jobs).toEqual([]);
    expect(passAt(through + 1, { jobs: { jobs } }).archived_jobs).toEqual(['j1']);
    expect(jobsMayChange(jobs.map(glance), settings, new Date(through), new Set())).toBe(false);
    expect(jobsMayChange(jobs.map(glance), settings, new Date(through + 1), new Set())).toBe(true);
    // Nothing finished: never by time alone; something to act on whatever the time: already.
    expect(jobsQuietThrough([glance(job('j0'))], settings, new Set())).toBe(Number.POSITIVE_INFINITY);
    expect(jobsQuietThrough(jobs.map(glance), settings, new Set(['j0']))).toBe(Number.NEGATIVE_INFINITY);
    expect(jobsQuietThrough([...jobs, job('j3', { status: 'running', assigned_to: 'build1', started_at: ago(MIN), attempts: 1 })].map(glance), settings, new Set())).toBe(Number.NEGATIVE_INFINITY);

    const messages = [message('m1', { created_at: ago(DAY), read_by: { build2: ago(0) } }), message('m2', { created_at: ago(2 * DAY), read_by: { build2: ago(0) } }), message('bad', { created_at: 'not a time' })];
    const quiet = messagesQuietThrough(messages.map((m) => m.created_at), settings);
    expect(quiet).toBe(Date.parse(ago(2 * DAY)) + settings.messageRetentionMs);
    expect(passAt(quiet, { messages: { messages } }).archived_messages).toEqual([]);
    expect(passAt(quiet + 1, { messages: { messages } }).archived_messages).toEqual(['m2']);
    expect(messagesQuietThrough([], settings)).toBe(Number.POSITIVE_INFINITY);
  });
});
