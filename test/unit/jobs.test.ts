import { describe, expect, it } from 'vitest';
import { buildctlErrorFrom } from '../helpers/errors.js';
import {
  buildingNow,
  checkMayClaim,
  addJob,
  type AddJobInput,
  cancelJob,
  claimJob,
  completeJob,
  DEFAULT_PRIORITY,
  failJob,
  findJob,
  listJobs,
  nothingToClaimError,
  requireJob,
  retryJob,
} from '../../src/domain/jobs.js';
import { jobsDoc, type Job, type JobsDoc } from '../../src/schemas/jobs.js';

const T0 = Date.parse('2026-03-01T10:00:00Z');
const at = (seconds: number): Date => new Date(T0 + seconds * 1000);
const EMPTY: JobsDoc = { jobs: [] };

const add = (doc: JobsDoc, input: Partial<AddJobInput> & { id: string }, seconds = 0) =>
  addJob(doc, { type: 'build', defaultMaxAttempts: 3, by: 'ops', now: at(seconds), ...input });

/** Adds jobs one second apart (so created_at orders them as listed). */
const seed = (...inputs: Array<Partial<AddJobInput> & { id: string }>): JobsDoc =>
  inputs.reduce((doc, input, i) => add(doc, input, i).doc, EMPTY);

const claim = (doc: JobsDoc, builder = 'build1', extra: { labels?: readonly string[]; type?: string; seconds?: number } = {}) =>
  claimJob(doc, { builder, builderLabels: extra.labels ?? [], type: extra.type, now: at(extra.seconds ?? 100) });

const errorOf = buildctlErrorFrom;

const valid = (doc: JobsDoc): JobsDoc => {
  expect(jobsDoc.safeParse(doc).success).toBe(true);
  return doc;
};

describe('addJob', () => {
  it('adds a queued job with defaults and a valid document', () => {
    const { doc, job, outcome } = add(EMPTY, { id: 'j1' });
    expect(outcome).toBe('added');
    expect(valid(doc).jobs).toHaveLength(1);
    expect(job).toMatchObject({
      id: 'j1',
      type: 'build',
      status: 'queued',
      priority: DEFAULT_PRIORITY,
      assigned_to: null,
      target: null,
      labels: [],
      attempts: 0,
      max_attempts: 3,
      created_at: at(0).toISOString(),
      created_by: 'ops',
    });
  });

  it('records every given field, normalising run_after to UTC and sorting labels', () => {
    const { job } = add(EMPTY, {
      id: 'j1',
      priority: 5,
      branch: 'main',
      commit: 'abc123',
      description: 'nightly',
      labels: ['x86', 'debian', 'x86'],
      key: 'nightly-main',
      maxAttempts: 7,
      runAfter: '2026-03-01T12:00:00+02:00',
      timeout: '2h',
    });
    expect(job).toMatchObject({
      priority: 5,
      branch: 'main',
      commit: 'abc123',
      description: 'nightly',
      labels: ['debian', 'x86'],
      key: 'nightly-main',
      max_attempts: 7,
      run_after: '2026-03-01T10:00:00.000Z',
      timeout: '2h',
    });
  });

  it('takes max_attempts from the given default when none is given', () => {
    expect(addJob(EMPTY, { id: 'j1', type: 'build', defaultMaxAttempts: 9, by: 'ops', now: at(0) }).job.max_attempts).toBe(9);
  });

  it.each([
    ['type', { type: 'Build' }, 'invalid_job_type'],
    ['type with space', { type: 'my build' }, 'invalid_job_type'],
    ['priority 0', { priority: 0 }, 'invalid_priority'],
    ['priority 101', { priority: 101 }, 'invalid_priority'],
    ['priority 1.5', { priority: 1.5 }, 'invalid_priority'],
    ['max attempts 0', { maxAttempts: 0 }, 'invalid_max_attempts'],
    ['target id', { target: 'Build1' }, 'invalid_builder_id'],
    ['unknown target', { target: 'build9', knownBuilders: ['build1'] }, 'unknown_builder'],
    ['target and labels', { target: 'build1', labels: ['x86'] }, 'target_and_labels'],
    ['label', { labels: ['X86'] }, 'invalid_label'],
    ['run_after text', { runAfter: 'tomorrow' }, 'invalid_time'],
    ['run_after without zone', { runAfter: '2026-03-01T12:00:00' }, 'invalid_time'],
    ['timeout', { timeout: '5 minutes' }, 'invalid_duration'],
    ['zero timeout', { timeout: '0s' }, 'invalid_duration'],
    ['empty key', { key: '  ' }, 'invalid_job_key'],
    ['id', { id: '-bad' }, 'invalid_job_id'],
  ] as const)('refuses a bad %s as usage (exit 2)', (_name, input, code) => {
    const error = errorOf(() => add(EMPTY, { id: 'j1', ...input }));
    expect(error.kind).toBe('usage');
    expect(error.exitCode).toBe(2);
    expect(error.code).toBe(code);
    expect(error.hint).toBeTruthy();
  });

  it('refuses a duplicate id', () => {
    const doc = seed({ id: 'j1' });
    expect(errorOf(() => add(doc, { id: 'j1' })).code).toBe('duplicate_job_id');
  });

  it.each(['queued', 'running'] as const)('returns the live (%s) job with the same key and changes nothing', (state) => {
    let doc = seed({ id: 'j1', key: 'k' });
    if (state === 'running') doc = claim(doc).doc;
    const again = add(doc, { id: 'j2', key: 'k', priority: 1 });
    expect(again.outcome).toBe('existing');
    expect(again.job.id).toBe('j1');
    expect(again.doc).toBe(doc);
  });

  it.each(['completed', 'failed', 'cancelled'] as const)('adds a new job when the keyed job is %s', (state) => {
    let doc = claim(seed({ id: 'j1', key: 'k' })).doc;
    if (state === 'completed') doc = completeJob(doc, { id: 'j1', by: 'build1', now: at(200) }).doc;
    if (state === 'failed') doc = failJob(doc, { id: 'j1', by: 'build1', reason: 'broke', now: at(200) }).doc;
    if (state === 'cancelled') doc = cancelJob(doc, { id: 'j1', by: 'ops', now: at(200) }).doc;
    const again = add(doc, { id: 'j2', key: 'k' });
    expect(again.outcome).toBe('added');
    expect(again.doc.jobs.map((j) => j.id)).toEqual(['j1', 'j2']);
  });
});

describe('claimJob', () => {
  it('takes the highest priority (1 first), then the oldest, then the lowest id', () => {
    let doc = seed({ id: 'low', priority: 90 }, { id: 'b-old', priority: 2 }, { id: 'urgent', priority: 1 }, { id: 'c-new', priority: 2 });
    // Same priority and created_at: the id decides.
    doc = { jobs: [...doc.jobs, { ...(findJob(doc, 'b-old') as Job), id: 'a-same' }] };
    const order: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = claim(doc);
      if (!r.job) break;
      order.push(r.job.id);
      doc = r.doc;
    }
    expect(order).toEqual(['urgent', 'a-same', 'b-old', 'c-new', 'low']);
    expect(claim(doc).job).toBeUndefined();
  });

  it('takes the same job whatever order the document lists them in (one pass, no sort)', () => {
    const base = seed(...Array.from({ length: 40 }, (_, i) => ({ id: `j${String(i).padStart(2, '0')}`, priority: 1 + (i % 4) })));
    // Ties on priority and time, and a created_at that does not parse (it sorts last).
    const jobs = base.jobs.map((job, i) => (i % 5 === 0 ? { ...job, created_at: base.jobs[0]!.created_at } : i === 4 ? { ...job, created_at: 'not a time' } : job));
    const time = (job: Job) => (Number.isNaN(Date.parse(job.created_at)) ? Number.POSITIVE_INFINITY : Date.parse(job.created_at));
    const expected = [...jobs].sort((a, b) => a.priority - b.priority || time(a) - time(b) || (a.id < b.id ? -1 : 1))[0]!.id;
    expect(expected).toBe('j00');
    let seedValue = 7;
    const random = () => (seedValue = (seedValue * 48_271) % 2_147_483_647) / 2_147_483_647;
    for (let round = 0; round < 20; round++) {
      const shuffled = [...jobs].sort(() => random() - 0.5);
      expect(claim({ jobs: shuffled }).job?.id).toBe(expected);
    }
  });

  it('sets running, assignee, started_at and one more attempt, and leaves other jobs alone', () => {
    const doc = seed({ id: 'j1' }, { id: 'j2' });
    const r = claim(doc, 'build2', { seconds: 50 });
    expect(r.job).toMatchObject({ id: 'j1', status: 'running', assigned_to: 'build2', started_at: at(50).toISOString(), attempts: 1 });
    expect(findJob(valid(r.doc), 'j1')).toEqual(r.job);
    expect(findJob(r.doc, 'j2')?.status).toBe('queued');
    expect(findJob(doc, 'j1')?.status).toBe('queued'); // the input is not mutated
  });

  it('returns the document unchanged and no job when nothing is eligible', () => {
    const doc = seed({ id: 'j1', target: 'build2' });
    const r = claim(doc, 'build1');
    expect(r.job).toBeUndefined();
    expect(r.doc).toBe(doc);
  });

  it.each([
    ['a job targeted at another builder', { target: 'build2' }, {}, false],
    ['a job targeted at the claimer', { target: 'build1' }, {}, true],
    ['a job needing a label the claimer lacks', { labels: ['arm64'] }, { labels: ['x86'] }, false],
    ['a job needing only some of the claimer labels', { labels: ['x86'] }, { labels: ['debian', 'x86'] }, true],
    ['a job needing all of two labels, claimer has one', { labels: ['debian', 'x86'] }, { labels: ['x86'] }, false],
    ['a job whose run_after is in the future', { runAfter: '2026-03-01T11:00:00Z' }, { seconds: 100 }, false],
    ['a job whose run_after has passed', { runAfter: '2026-03-01T10:01:00Z' }, { seconds: 60 }, true],
    ['a job of another type', { type: 'package' }, { type: 'build' }, false],
    ['a job of the asked type', { type: 'package' }, { type: 'package' }, true],
  ] as const)('%s: eligible=%s', (_name, jobInput, claimInput, eligible) => {
    const doc = seed({ id: 'j1', ...jobInput });
    expect(claim(doc, 'build1', claimInput).job?.id).toBe(eligible ? 'j1' : undefined);
  });

  it('skips jobs that are not queued', () => {
    const doc = claim(seed({ id: 'j1' })).doc;
    expect(claim(doc, 'build2').job).toBeUndefined();
  });

  it('refuses a bad claimer id or type as usage', () => {
    expect(errorOf(() => claim(seed({ id: 'j1' }), 'Build1')).code).toBe('invalid_builder_id');
    expect(errorOf(() => claim(seed({ id: 'j1' }), 'build1', { type: 'Bad Type' })).code).toBe('invalid_job_type');
  });

  it('offers a not-now error for nothing to claim (exit 3)', () => {
    const error = nothingToClaimError('build1', 'build');
    expect([error.kind, error.exitCode, error.code]).toEqual(['not_now', 3, 'nothing_to_claim']);
    expect(error.message).toContain('build1');
    expect(error.hint).toBeTruthy();
  });
});

describe('completeJob and failJob', () => {
  const running = (): JobsDoc => claim(seed({ id: 'j1' }), 'build1', { seconds: 100 }).doc;

  it('completes with artifacts, completed_at and the duration from started_at', () => {
    const deb = { path: '/srv/out/a.deb', size: 1234, sha256: 'a'.repeat(64) };
    const { doc, job } = completeJob(running(), { id: 'j1', by: 'build1', artifacts: [deb], now: at(190.5) });
    expect(job).toMatchObject({ status: 'completed', completed_at: at(190.5).toISOString(), result: { artifacts: [deb], duration_seconds: 90.5 } });
    expect(job.result).not.toHaveProperty('forced_by');
    expect(findJob(valid(doc), 'j1')).toEqual(job);
  });

  it('fails with the reason, completed_at and duration', () => {
    const { job } = failJob(running(), { id: 'j1', by: 'build1', reason: '  tests failed ', now: at(130) });
    expect(job).toMatchObject({ status: 'failed', completed_at: at(130).toISOString(), result: { reason: 'tests failed', duration_seconds: 30 } });
  });

  it.each(['', '   '])('refuses to fail without a reason (%j)', (reason) => {
    const error = errorOf(() => failJob(running(), { id: 'j1', by: 'build1', reason, now: at(130) }));
    expect([error.kind, error.code]).toEqual(['usage', 'reason_required']);
  });

  it.each([
    ['complete', (doc: JobsDoc, force?: boolean) => completeJob(doc, { id: 'j1', by: 'build2', force, now: at(150) })],
    ['fail', (doc: JobsDoc, force?: boolean) => failJob(doc, { id: 'j1', by: 'build2', reason: 'stuck', force, now: at(150) })],
  ] as const)('only the assignee may %s a running job, unless forced', (_verb, finish) => {
    const error = errorOf(() => finish(running()));
    expect([error.kind, error.exitCode, error.code]).toEqual(['not_now', 3, 'not_assignee']);
    expect(error.message).toContain('build1');
    expect(error.hint).toContain('--force');
    const forced = finish(running(), true).job;
    expect(forced.status).not.toBe('running');
    expect(forced.result).toMatchObject({ forced_by: 'build2' });
  });

  it.each([
    ['queued', (doc: JobsDoc) => doc],
    ['completed', (doc: JobsDoc) => completeJob(claim(doc).doc, { id: 'j1', by: 'build1', now: at(120) }).doc],
    ['cancelled', (doc: JobsDoc) => cancelJob(doc, { id: 'j1', by: 'ops', now: at(120) }).doc],
  ] as const)('refuses to finish a %s job, even forced (not now)', (status, arrange) => {
    const doc = arrange(seed({ id: 'j1' }));
    for (const finish of [
      () => completeJob(doc, { id: 'j1', by: 'build1', force: true, now: at(200) }),
      () => failJob(doc, { id: 'j1', by: 'build1', reason: 'x', force: true, now: at(200) }),
    ]) {
      const error = errorOf(finish);
      expect([error.kind, error.code]).toEqual(['not_now', 'job_not_running']);
      expect(error.message).toContain(status);
    }
  });

  it('refuses an unknown job id as usage', () => {
    const error = errorOf(() => completeJob(running(), { id: 'nope', by: 'build1', now: at(200) }));
    expect([error.kind, error.exitCode, error.code]).toEqual(['usage', 2, 'unknown_job']);
  });
});

describe('cancelJob', () => {
  it.each([
    ['queued', (doc: JobsDoc) => doc],
    ['running', (doc: JobsDoc) => claim(doc).doc],
  ] as const)('cancels a %s job, recording who and why', (_status, arrange) => {
    const { job } = cancelJob(arrange(seed({ id: 'j1' })), { id: 'j1', by: 'ops', reason: 'superseded', now: at(300) });
    expect(job).toMatchObject({ status: 'cancelled', completed_at: at(300).toISOString(), result: { reason: 'superseded', cancelled_by: 'ops' } });
  });

  it('refuses to cancel a finished job (not now)', () => {
    const doc = cancelJob(seed({ id: 'j1' }), { id: 'j1', by: 'ops', now: at(10) }).doc;
    const error = errorOf(() => cancelJob(doc, { id: 'j1', by: 'ops', now: at(20) }));
    expect([error.kind, error.code]).toEqual(['not_now', 'job_finished']);
  });
});

describe('retryJob', () => {
  const finished = (status: 'failed' | 'cancelled' | 'dead' | 'completed'): JobsDoc => {
    const doc = claim(seed({ id: 'j1', key: 'k' })).doc;
    if (status === 'failed') return failJob(doc, { id: 'j1', by: 'build1', reason: 'x', now: at(200) }).doc;
    if (status === 'cancelled') return cancelJob(doc, { id: 'j1', by: 'ops', now: at(200) }).doc;
    if (status === 'completed') return completeJob(doc, { id: 'j1', by: 'build1', now: at(200) }).doc;
    return { jobs: doc.jobs.map((j) => ({ ...j, status: 'dead' as const })) };
  };

  it.each(['failed', 'cancelled', 'dead'] as const)('queues a %s job again with its assignment cleared', (status) => {
    const { doc, job } = retryJob(finished(status), { id: 'j1', now: at(300) });
    expect(job).toMatchObject({ status: 'queued', assigned_to: null, started_at: null, completed_at: null, result: null, attempts: 0 });
    expect(claim(valid(doc), 'build2', { seconds: 400 }).job?.id).toBe('j1');
  });

  it.each([
    ['completed', finished('completed')],
    ['queued', seed({ id: 'j1' })],
    ['running', claim(seed({ id: 'j1' })).doc],
  ] as const)('refuses to retry a %s job (not now)', (_status, doc) => {
    const error = errorOf(() => retryJob(doc, { id: 'j1', now: at(300) }));
    expect([error.kind, error.code]).toEqual(['not_now', 'job_not_retryable']);
  });

  it('refuses while another live job holds the same key', () => {
    const doc = add(finished('failed'), { id: 'j2', key: 'k' }, 250).doc;
    const error = errorOf(() => retryJob(doc, { id: 'j1', now: at(300) }));
    expect([error.kind, error.code]).toEqual(['not_now', 'key_in_use']);
    expect(error.message).toContain('j2');
  });
});

describe('queries', () => {
  const doc = claim(seed({ id: 'j1' }, { id: 'j2' }, { id: 'j3' })).doc;

  it('lists all jobs in order, or those of one status', () => {
    expect(listJobs(doc).map((j) => j.id)).toEqual(['j1', 'j2', 'j3']);
    expect(listJobs(doc, { status: 'queued' }).map((j) => j.id)).toEqual(['j2', 'j3']);
    expect(listJobs(doc, { status: 'running' }).map((j) => j.id)).toEqual(['j1']);
  });

  it('refuses an unknown status filter', () => {
    expect(errorOf(() => listJobs(doc, { status: 'done' })).code).toBe('invalid_job_status');
  });

  it('finds a job or says it is unknown', () => {
    expect(findJob(doc, 'j2')?.id).toBe('j2');
    expect(findJob(doc, 'zz')).toBeUndefined();
    expect(errorOf(() => requireJob(doc, 'zz')).code).toBe('unknown_job');
  });
});

describe('checkMayClaim: one job at a time, none for a disabled builder', () => {
  const job = (id: string, status: Job['status'], assignedTo: string | null = null): Job => ({ id, type: 'build', priority: 5, status, assigned_to: assignedTo, labels: [], attempts: 0, max_attempts: 3, created_at: '2026-01-01T00:00:00Z' });
  const me = { id: 'build1', enabled: true };

  it.each([
    ['a running job of the queue', { jobs: [job('j1', 'running', 'build1')] }, undefined, 'j1'],
    ['a build outside the queue its status shows', { jobs: [] }, { state: 'building' as const, current_job: 'manual-7' }, 'manual-7'],
  ])('refuses while building %s (exit 3, naming it)', (_what, doc, status, name) => {
    const error = buildctlErrorFrom(() => checkMayClaim(doc, me, status));
    expect([error.code, error.exitCode, error.details]).toEqual(['already_building', 3, { job: name }]);
    expect(error.message).toBe(`build1 is already building ${name}: one job at a time`);
  });

  it('lets a builder claim when its status names a queue job that is no longer its running job', () => {
    expect(() => checkMayClaim({ jobs: [job('j1', 'completed', 'build1'), job('j2', 'running', 'build2')] }, me, { state: 'building', current_job: 'j1' })).not.toThrow();
    expect(() => checkMayClaim({ jobs: [] }, me, { state: 'idle', current_job: null })).not.toThrow();
    expect(buildingNow({ jobs: [job('j2', 'running', 'build2')] }, 'build1', { state: 'building', current_job: 'j2' })).toBeUndefined();
  });

  it('refuses a disabled builder, with a hint to enable it', () => {
    const error = buildctlErrorFrom(() => checkMayClaim({ jobs: [] }, { id: 'build1', enabled: false }, undefined));
    expect([error.code, error.exitCode, error.hint]).toEqual(['builder_disabled', 3, 'enable it with: buildctl builder add build1 --enabled']);
  });
});
