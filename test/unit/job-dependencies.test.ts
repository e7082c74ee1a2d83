// Job dependencies, blocks, jobs that can never run, and the run rules of `job run`
// (src/domain/jobs.ts): pure, table-style.
import { describe, expect, it } from 'vitest';
import {
  addJob,
  cancelJob,
  checkArtifactUrls,
  claimJob,
  claimOrder,
  completeJob,
  failJob,
  findJob,
  inClaimOrder,
  queueMayWait,
  queueWaits,
  readinessOf,
  releaseJob,
  retryJob,
  runIdentityOf,
  settleBlocked,
  whyNeverRuns,
  type AddJobInput,
} from '../../src/domain/jobs.js';
import type { BuilderEntry } from '../../src/schemas/builders.js';
import { jobsDoc, type Job, type JobsDoc } from '../../src/schemas/jobs.js';
import { buildctlErrorFrom } from '../helpers/errors.js';

const T0 = Date.parse('2026-03-01T10:00:00Z');
const at = (seconds: number): Date => new Date(T0 + seconds * 1000);
const EMPTY: JobsDoc = { jobs: [] };

const seed = (...inputs: Array<Partial<AddJobInput> & { id: string }>): JobsDoc =>
  inputs.reduce((doc, input, i) => addJob(doc, { type: 'build', defaultMaxAttempts: 3, by: 'ops', now: at(i), ...input }).doc, EMPTY);

/** A job as an older script or another tool wrote it (no check of its dependencies on the way in). */
const raw = (id: string, fields: Partial<Job> = {}): Job => ({
  id,
  type: 'build',
  priority: 5,
  status: 'queued',
  assigned_to: null,
  labels: [],
  attempts: 0,
  max_attempts: 3,
  created_at: at(0).toISOString(),
  ...fields,
});

const claim = (doc: JobsDoc, builder = 'build1', seconds = 100) => claimJob(doc, { builder, builderLabels: [], now: at(seconds) });
const job = (doc: JobsDoc, id: string): Job => findJob(doc, id) as Job;
const valid = (doc: JobsDoc): JobsDoc => {
  expect(jobsDoc.safeParse(doc).success).toBe(true);
  return doc;
};

describe('readiness: what a queued job waits for', () => {
  it.each([
    ['no dependencies', [], 'ready', ''],
    ['a completed dependency', [raw('a', { status: 'completed' })], 'ready', ''],
    ['a queued dependency', [raw('a')], 'waiting', 'a (queued)'],
    ['a running dependency', [raw('a', { status: 'running', assigned_to: 'build2' })], 'waiting', 'a (running)'],
    ['a failed dependency', [raw('a', { status: 'failed', result: { reason: 'oom' } })], 'blocked', 'a failed: oom'],
    ['a cancelled dependency', [raw('a', { status: 'cancelled' })], 'blocked', 'a was cancelled'],
    ['a dead dependency', [raw('a', { status: 'dead', result: { reason: 'build2 died' } })], 'blocked', 'a is dead: build2 died'],
    ['an unknown dependency', [], 'blocked', 'a is not in the queue'],
    ['a dependency blocked in turn', [raw('a', { dependencies: ['z'] }), raw('z', { status: 'failed' })], 'blocked', 'waits for a, which is blocked: z failed'],
    ['a dependency waiting in turn', [raw('a', { dependencies: ['z'] }), raw('z')], 'waiting', 'a (queued)'],
  ] as const)('%s: %s', (_name, others, kind, detail) => {
    const target = raw('t', { dependencies: _name === 'no dependencies' ? [] : ['a'] });
    const state = readinessOf([...others, target])(target);
    expect(state.kind).toBe(kind);
    if (state.kind === 'waiting') expect(state.on.map((d) => `${d.id} (${d.status})`).join(', ')).toBe(detail);
    if (state.kind === 'blocked') expect(state.reason).toBe(detail);
  });

  it('blocks every job on a cycle, and the jobs after it', () => {
    const jobs = [raw('a', { dependencies: ['b'] }), raw('b', { dependencies: ['a'] }), raw('c', { dependencies: ['a'] }), raw('self', { dependencies: ['self'] })];
    const readiness = readinessOf(jobs);
    for (const id of ['a', 'b', 'c', 'self']) {
      const state = readiness(jobs.find((j) => j.id === id) as Job);
      expect(state.kind, id).toBe('blocked');
      expect(state.kind === 'blocked' && state.cause, id).toMatch(/^dependency cycle /);
    }
  });

  it('answers a wide diamond of dependencies without walking it again and again', () => {
    // 30 layers of two jobs each depending on both of the layer before: 2^30 paths if walked naively.
    const jobs: Job[] = [raw('l0a', { status: 'completed' }), raw('l0b', { status: 'completed' })];
    for (let layer = 1; layer <= 30; layer++) {
      const deps = [`l${layer - 1}a`, `l${layer - 1}b`];
      jobs.push(raw(`l${layer}a`, { dependencies: deps }), raw(`l${layer}b`, { dependencies: deps }));
    }
    const top = jobs.at(-1) as Job;
    expect(readinessOf(jobs)(top)).toEqual({ kind: 'waiting', on: [{ id: 'l29a', status: 'queued' }, { id: 'l29b', status: 'queued' }] });
  });
});

describe('job add --after', () => {
  it('records the dependencies (deduplicated) and leaves jobs without them unchanged in shape', () => {
    const doc = seed({ id: 'a' }, { id: 'b', after: ['a', 'a'] });
    expect(job(valid(doc), 'b').dependencies).toEqual(['a']);
    expect(job(doc, 'a')).not.toHaveProperty('dependencies');
  });

  it.each([
    ['an unknown job', () => seed({ id: 'a', after: ['nope'] }), 'unknown_job'],
    // A legacy job already names the new id: adding it would close a cycle.
    ['a cycle through a job that names the new id', () => addJob({ jobs: [raw('old', { dependencies: ['new'] })] }, { id: 'new', type: 'build', after: ['old'], defaultMaxAttempts: 3, by: 'ops', now: at(0) }), 'dependency_cycle'],
    ['a job on an existing cycle', () => addJob({ jobs: [raw('a', { dependencies: ['b'] }), raw('b', { dependencies: ['a'] })] }, { id: 'new', type: 'build', after: ['a'], defaultMaxAttempts: 3, by: 'ops', now: at(0) }), 'dependency_cycle'],
  ] as const)('refuses %s as bad input (exit 2)', (_name, add, code) => {
    const error = buildctlErrorFrom(add);
    expect([error.exitCode, error.code]).toEqual([2, code]);
    expect(error.hint).toBeTruthy();
  });

  it('changes no other job: an add commits only the new job (the next finish or housekeeping settles the rest)', () => {
    const doc: JobsDoc = { jobs: [raw('legacy', { dependencies: ['gone'] })] };
    const added = addJob(doc, { id: 'new', type: 'build', defaultMaxAttempts: 3, by: 'ops', now: at(0) });
    expect(added.doc.jobs[0]).toBe(doc.jobs[0]);
    expect(settleBlocked(added.doc, at(1)).blocked).toEqual(['legacy']);
  });

  it('marks a job added after a failed job blocked from the start', () => {
    let doc = claim(seed({ id: 'a' })).doc;
    doc = failJob(doc, { id: 'a', by: 'build1', reason: 'tests failed', now: at(200) }).doc;
    const added = addJob(doc, { id: 'b', type: 'build', after: ['a'], defaultMaxAttempts: 3, by: 'ops', now: at(300) });
    expect(added.job.blocked).toEqual({ by: 'a', reason: 'a failed: tests failed', since: at(300).toISOString() });
  });
});

describe('claim honours dependencies', () => {
  it('never takes a job whose dependencies are not all completed, even when it is the most urgent', () => {
    let doc = seed({ id: 'build' }, { id: 'package', priority: 1, after: ['build'] }, { id: 'other', priority: 9 });
    const first = claim(doc);
    expect(first.job?.id).toBe('build');
    doc = first.doc;
    expect(claim(doc, 'build2').job?.id).toBe('other');
    doc = claim(doc, 'build2').doc;
    expect(claim(doc, 'build3').job).toBeUndefined();
    doc = completeJob(doc, { id: 'build', by: 'build1', now: at(200) }).doc;
    expect(claim(doc, 'build3').job?.id).toBe('package');
  });

  it("honours a legacy job's dependencies field (the older scripts' queue)", () => {
    const doc: JobsDoc = { jobs: [raw('job_1', { status: 'running', assigned_to: 'build2' }), raw('job_2', { priority: 1, dependencies: ['job_1'] })] };
    expect(claim(doc).job).toBeUndefined();
    const done: JobsDoc = { jobs: [raw('job_1', { status: 'completed' }), raw('job_2', { priority: 1, dependencies: ['job_1'] })] };
    expect(claim(done).job?.id).toBe('job_2');
  });
});

describe('blocked dependents', () => {
  const chain = () => claim(seed({ id: 'a' }, { id: 'b', after: ['a'] }, { id: 'c', after: ['b'] }, { id: 'free' })).doc;

  it.each([
    ['fails', (doc: JobsDoc) => failJob(doc, { id: 'a', by: 'build1', reason: 'linker error', now: at(200) }).doc, 'a failed: linker error'],
    ['is cancelled', (doc: JobsDoc) => cancelJob(doc, { id: 'a', by: 'ops', reason: 'superseded', now: at(200) }).doc, 'a was cancelled: superseded'],
    ['is released out of attempts (dead)', (doc: JobsDoc) => releaseJob({ jobs: doc.jobs.map((j) => (j.id === 'a' ? { ...j, max_attempts: 1 } : j)) }, { id: 'a', by: 'build1', reason: 'lost its lease', now: at(200) }).doc, 'a is dead'],
  ] as const)('when a dependency %s, its dependents are blocked with the reason, and theirs too', (_name, end, reason) => {
    const doc = valid(end(chain()));
    expect(job(doc, 'b').blocked).toMatchObject({ by: 'a', since: at(200).toISOString() });
    expect(job(doc, 'b').blocked?.reason).toContain(reason);
    expect(job(doc, 'c').blocked).toMatchObject({ by: 'b' });
    expect(job(doc, 'c').blocked?.reason).toContain(`waits for b, which is blocked: ${reason}`);
    expect(job(doc, 'free')).not.toHaveProperty('blocked');
    expect(job(doc, 'b').status).toBe('queued');
  });

  it('job retry of the dependency unblocks them: they wait for it again', () => {
    let doc = failJob(chain(), { id: 'a', by: 'build1', reason: 'flaky', now: at(200) }).doc;
    doc = retryJob(doc, { id: 'a', now: at(300) }).doc;
    expect(job(doc, 'b')).not.toHaveProperty('blocked');
    expect(job(doc, 'c')).not.toHaveProperty('blocked');
    expect(claim(doc).job?.id).toBe('a');
  });

  it('refuses to retry a blocked job itself, pointing at the job to retry', () => {
    const doc = failJob(chain(), { id: 'a', by: 'build1', reason: 'flaky', now: at(200) }).doc;
    const error = buildctlErrorFrom(() => retryJob(doc, { id: 'b', now: at(300) }));
    expect(error.exitCode).toBe(3);
    expect(error.hint).toContain('retry a instead');
  });

  it('settles once: a second settle changes nothing and keeps the same document', () => {
    const doc = failJob(chain(), { id: 'a', by: 'build1', reason: 'x', now: at(200) }).doc;
    const again = settleBlocked(doc, at(900));
    expect(again.doc).toBe(doc);
    expect([again.blocked, again.unblocked]).toEqual([[], []]);
  });

  it('clears the mark of a blocked job that is cancelled (only queued jobs carry it)', () => {
    let doc = failJob(chain(), { id: 'a', by: 'build1', reason: 'x', now: at(200) }).doc;
    doc = cancelJob(doc, { id: 'b', by: 'ops', now: at(300) }).doc;
    expect(job(doc, 'b')).not.toHaveProperty('blocked');
    expect(job(doc, 'c').blocked?.reason).toContain('b was cancelled');
  });
});

describe('jobs that can never run', () => {
  const builders: BuilderEntry[] = [
    { id: 'build1', labels: ['x86', 'debian'], enabled: true },
    { id: 'build2', labels: ['arm64'], enabled: false },
  ];
  it.each([
    ['any builder', {}, undefined],
    ['a target that is enabled', { target: 'build1' }, undefined],
    ['a target that is disabled', { target: 'build2' }, 'its target build2 is disabled'],
    ['a target that is not registered', { target: 'build9' }, 'its target build9 is not a registered builder'],
    ['labels an enabled builder has', { labels: ['debian', 'x86'] }, undefined],
    ['a label only a disabled builder has', { labels: ['arm64'] }, 'no enabled builder has the label arm64'],
    ['labels no builder has together', { labels: ['arm64', 'x86'] }, 'no enabled builder has the labels arm64, x86'],
  ] as const)('%s: %s', (_name, fields, reason) => {
    expect(whyNeverRuns({ target: null, labels: [], ...fields }, builders)).toBe(reason);
  });

  it('says so when no builder is enabled at all', () => {
    expect(whyNeverRuns({ target: null, labels: [] }, [{ id: 'build1', labels: [], enabled: false }])).toBe('no builder is enabled');
  });

  it('inClaimOrder orders as claimOrder does, invalid times and ties included', () => {
    const times = ['2026-01-01T00:00:00Z', '2026-01-01T00:00:00.000Z', '2026-01-02T00:00:00Z', 'not a time', '2025-12-31T23:59:59Z'];
    const jobs = Array.from({ length: 60 }, (_, i) => raw(`j${(i * 7) % 60}`, { priority: 1 + (i % 3), created_at: times[i % times.length]! }));
    expect(inClaimOrder(jobs).map((j) => j.id)).toEqual([...jobs].sort(claimOrder).map((j) => j.id));
  });

  it('answers a whole queue from one look at the fleet: each builder is read once, not once per job', () => {
    let reads = 0;
    const counted = Array.from({ length: 50 }, (_, i): BuilderEntry => {
      const entry = { id: `build${i + 1}`, labels: i === 49 ? ['gpu'] : ['x86'], enabled: true };
      return new Proxy(entry, { get: (target, key: keyof typeof entry) => (reads++, target[key]) });
    });
    const jobs = Array.from({ length: 500 }, (_, i) => raw(`j${i}`, i % 2 === 0 ? { labels: ['gpu'] } : { labels: ['arm64'] }));
    const waits = queueWaits(jobs, counted);
    expect(waits.filter((w) => w.never_runs === 'no enabled builder has the label arm64')).toHaveLength(250);
    expect(waits.filter((w) => w.never_runs !== null && w.never_runs !== 'no enabled builder has the label arm64')).toHaveLength(0);
    // Per builder: enabled, id, and its labels for each of the two label sets.
    expect(reads).toBeLessThanOrEqual(50 * 5);
  });

  it('queueMayWait is true of every queue queueWaits lists a job of', () => {
    const shapes: Array<Partial<Job>> = [{}, { status: 'running', assigned_to: 'build1' }, { dependencies: ['j0'] }, { dependencies: [] }, { blocked: null }, { target: 'build1' }, { target: 'build2' }, { target: 'build9' }, { labels: ['x86'] }, { labels: ['gpu'] }, { status: 'completed', labels: ['gpu'], target: 'build9' }];
    const fleets: BuilderEntry[][] = [builders, [{ id: 'build1', labels: [], enabled: false }], []];
    const glance = (j: Job) => ({ status: j.status, waits: (j.dependencies ?? []).length > 0 || 'blocked' in j, target: j.target ?? null, labels: j.labels.length > 0 });
    for (const a of shapes) {
      for (const b of shapes) {
        for (const fleet of fleets) {
          const jobs = [raw('j0', a), raw('j1', b)];
          const listed = queueWaits(jobs, fleet).length > 0;
          if (listed) expect(queueMayWait(jobs.map(glance), fleet), JSON.stringify([a, b, fleet])).toBe(true);
        }
      }
    }
    expect(queueMayWait([glance(raw('j0'))], builders)).toBe(false);
  });

  it('queueWaits lists what each queued job waits for, in claim order', () => {
    const jobs = [
      raw('ready'),
      raw('gpu', { labels: ['gpu'], priority: 1 }),
      raw('after', { dependencies: ['ready'] }),
      raw('blocked', { dependencies: ['gone'], blocked: { by: 'gone', reason: 'gone is not in the queue', since: at(0).toISOString() } }),
      raw('done', { status: 'completed' }),
    ];
    expect(queueWaits(jobs, builders)).toEqual([
      { id: 'gpu', waits_for: [], blocked: null, never_runs: 'no enabled builder has the label gpu' },
      { id: 'after', waits_for: ['ready'], blocked: null, never_runs: null },
      { id: 'blocked', waits_for: [], blocked: 'gone is not in the queue', never_runs: null },
    ]);
  });
});

describe('a run of a job (job run)', () => {
  const running = () => claim(seed({ id: 'j1' }), 'build1', 100).doc;

  it('records how the command ended beside the result', () => {
    const doc = running();
    const { job: done } = failJob(doc, {
      id: 'j1',
      by: 'build1',
      reason: 'killed by SIGSEGV',
      run: runIdentityOf(job(doc, 'j1')),
      record: { outcome: 'signal', exit_code: null, signal: 'SIGSEGV', log: '/var/log/j1.log', log_tail: ['compiling', 'Segmentation fault'] },
      now: at(160),
    });
    expect(done.result).toEqual({
      reason: 'killed by SIGSEGV',
      duration_seconds: 60,
      outcome: 'signal',
      exit_code: null,
      signal: 'SIGSEGV',
      log: '/var/log/j1.log',
      log_tail: ['compiling', 'Segmentation fault'],
    });
  });

  it('refuses to finish a job that was started again since this run claimed it (exit 3)', () => {
    let doc = running();
    const first = runIdentityOf(job(doc, 'j1'));
    doc = releaseJob(doc, { id: 'j1', by: 'build1', reason: 'lost its lease', run: first, now: at(150) }).doc;
    doc = claim(doc, 'build1', 200).doc; // the same builder claims it again: a new run
    const error = buildctlErrorFrom(() => completeJob(doc, { id: 'j1', by: 'build1', run: first, now: at(300) }));
    expect([error.exitCode, error.code]).toEqual([3, 'job_run_replaced']);
    expect(completeJob(doc, { id: 'j1', by: 'build1', run: runIdentityOf(job(doc, 'j1')), now: at(300) }).job.status).toBe('completed');
  });

  it('release requeues the job with the reason, keeping its attempts; out of attempts it is dead', () => {
    const requeued = releaseJob(running(), { id: 'j1', by: 'build1', reason: 'lost its lease', record: { outcome: 'lost_lease' }, now: at(150) }).job;
    expect(requeued).toMatchObject({ status: 'queued', assigned_to: null, started_at: null, attempts: 1, result: { reason: 'lost its lease (attempt 1 of 3)', outcome: 'lost_lease' } });
    const last = claim({ jobs: [{ ...raw('j2'), max_attempts: 1 }] }).doc;
    expect(releaseJob(last, { id: 'j2', by: 'build1', reason: 'lost its lease', now: at(150) }).job.status).toBe('dead');
  });

  it.each([
    ['more URLs than artifacts', ['a'], ['https://x/a', 'https://x/b'], 'artifact_url_without_artifact'],
    ['a URL without a scheme', ['a'], ['artifacts.example/a'], 'invalid_artifact_url'],
  ] as const)('refuses artifact URLs with %s (exit 2)', (_name, paths, urls, code) => {
    const error = buildctlErrorFrom(() => checkArtifactUrls(paths, urls));
    expect([error.exitCode, error.code]).toEqual([2, code]);
  });

  it('refuses a log line that could repaint a terminal (callers clean them first)', () => {
    const error = buildctlErrorFrom(() => completeJob(running(), { id: 'j1', by: 'build1', record: { outcome: 'completed', log_tail: ['\u001b[2Jboom'] }, now: at(150) }));
    expect(error.code).toBe('control_character');
  });
});
