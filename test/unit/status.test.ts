import { describe, expect, it } from 'vitest';
import { initialStatus, setBuilderState } from '../../src/domain/status.js';
import type { StatusDoc } from '../../src/schemas/status.js';
import type { SystemSnapshot } from '../../src/schemas/system.js';
import { buildctlErrorFrom } from '../helpers/errors.js';

const T0 = new Date('2026-01-01T00:00:00Z');
const T1 = new Date('2026-01-01T00:10:00Z');
const T2 = new Date('2026-01-01T00:20:00Z');

const doc = (fields: Partial<StatusDoc>): StatusDoc => ({ ...initialStatus('build1', T0), ...fields });
const system: SystemSnapshot = { cpu_pct: 12.5, memory_used_mb: 2000, memory_total_mb: 8000, disk_free_gb: 50, load_avg: [0.5, 0.4, 0.3], uptime_seconds: 3600 };

describe('setBuilderState', () => {
  it('starts from an idle status when there is none, and stamps it', () => {
    expect(setBuilderState(undefined, { id: 'build1', state: 'idle', now: T1 })).toEqual({
      id: 'build1',
      state: 'idle',
      current_job: null,
      last_build: null,
      updated_at: T1.toISOString(),
    });
  });

  it.each([
    // [from, input, expected fields]
    ['idle -> building a job', doc({}), { state: 'building', job: 'j1' }, { state: 'building', current_job: 'j1', last_build: null }],
    ['building -> building another job', doc({ state: 'building', current_job: 'j1' }), { state: 'building', job: 'j2' }, { state: 'building', current_job: 'j2' }],
    ['building -> success closes the current job', doc({ state: 'building', current_job: 'j1' }), { state: 'success' },
      { state: 'success', current_job: null, last_build: { job: 'j1', status: 'success', finished_at: T1.toISOString() } }],
    ['building -> failed closes the current job', doc({ state: 'building', current_job: 'j1' }), { state: 'failed' },
      { state: 'failed', current_job: null, last_build: { job: 'j1', status: 'failed', finished_at: T1.toISOString() } }],
    ['building -> success with a named job records that job', doc({ state: 'building', current_job: 'j1' }), { state: 'success', job: 'j9' },
      { current_job: null, last_build: { job: 'j9', status: 'success', finished_at: T1.toISOString() } }],
    ['idle -> failed with no job records a null job', doc({}), { state: 'failed' },
      { state: 'failed', last_build: { job: null, status: 'failed', finished_at: T1.toISOString() } }],
    ['success -> failed replaces the last build', doc({ state: 'success', last_build: { job: 'j1', status: 'success', finished_at: T0.toISOString() } }), { state: 'failed', job: 'j2' },
      { state: 'failed', last_build: { job: 'j2', status: 'failed', finished_at: T1.toISOString() } }],
    ['building -> idle clears the job and keeps the last build', doc({ state: 'building', current_job: 'j2', last_build: { job: 'j1', status: 'success', finished_at: T0.toISOString() } }), { state: 'idle' },
      { state: 'idle', current_job: null, last_build: { job: 'j1', status: 'success', finished_at: T0.toISOString() } }],
  ] as Array<[string, StatusDoc, { state: string; job?: string }, Partial<StatusDoc>]>)('%s', (_, from, input, expected) => {
    const next = setBuilderState(from, { id: 'build1', ...input, now: T1 });
    expect(next).toMatchObject({ ...expected, id: 'build1', updated_at: T1.toISOString() });
    expect(next).not.toBe(from);
    expect(from.updated_at).toBe(T0.toISOString()); // the input is not mutated
  });

  it.each([
    ['idle again', doc({}), { state: 'idle' }],
    ['building the same job', doc({ state: 'building', current_job: 'j1' }), { state: 'building', job: 'j1' }],
    ['building with no job named', doc({ state: 'building', current_job: 'j1' }), { state: 'building' }],
    ['success again', doc({ state: 'success', last_build: { job: 'j1', status: 'success', finished_at: T0.toISOString() } }), { state: 'success' }],
    ['success again for the same job', doc({ state: 'success', last_build: { job: 'j1', status: 'success', finished_at: T0.toISOString() } }), { state: 'success', job: 'j1' }],
    ['failed again', doc({ state: 'failed', last_build: { job: 'j1', status: 'failed', finished_at: T0.toISOString() } }), { state: 'failed' }],
    ['the same system snapshot', doc({ system }), { state: 'idle', system: { ...system } }],
  ] as Array<[string, StatusDoc, { state: string; job?: string; system?: SystemSnapshot }]>)('is idempotent: %s returns the identical object (no commit)', (_, from, input) => {
    expect(setBuilderState(from, { id: 'build1', ...input, now: T2 })).toBe(from);
  });

  it('a second success for another job is a change', () => {
    const from = doc({ state: 'success', last_build: { job: 'j1', status: 'success', finished_at: T0.toISOString() } });
    const next = setBuilderState(from, { id: 'build1', state: 'success', job: 'j2', now: T1 });
    expect(next.last_build).toEqual({ job: 'j2', status: 'success', finished_at: T1.toISOString() });
  });

  it('records a new system snapshot as a change', () => {
    const next = setBuilderState(doc({}), { id: 'build1', state: 'idle', system, now: T1 });
    expect(next.system).toEqual(system);
    expect(next.updated_at).toBe(T1.toISOString());
  });

  it('keeps unknown fields', () => {
    const from = { ...doc({}), note: 'rack 7' } as StatusDoc;
    expect(setBuilderState(from, { id: 'build1', state: 'building', job: 'j1', now: T1 })).toMatchObject({ note: 'rack 7' });
  });

  it.each(['busy', 'IDLE', '', 'cancelled'])('refuses the unknown state %j and lists the states', (state) => {
    const error = buildctlErrorFrom(() => setBuilderState(undefined, { id: 'build1', state, now: T1 }));
    expect(error.code).toBe('invalid_state');
    expect(error.exitCode).toBe(2);
    expect(error.message).toBe(`unknown state "${state}"`);
    expect(error.hint).toBe('states are: idle, building, failed, success');
  });

  it.each(['a/b', 'job 1', '', 'j1\u001b[2J', '../j1'])('refuses the job %j, which is no job id', (job) => {
    const error = buildctlErrorFrom(() => setBuilderState(undefined, { id: 'build1', state: 'building', job, now: T1 }));
    expect(error.code).toBe('invalid_job_id');
    expect(error.exitCode).toBe(2);
    expect(error.message).toBe(`invalid job id ${JSON.stringify(job)}`);
  });
});
