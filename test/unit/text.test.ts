import { describe, expect, it } from 'vitest';
import { addBuilder } from '../../src/domain/fleet.js';
import { addJob, failJob } from '../../src/domain/jobs.js';
import { breakLock } from '../../src/domain/locks.js';
import { checkText } from '../../src/domain/text.js';

const NOW = new Date('2026-01-01T00:00:00Z');

describe('free text', () => {
  it.each([
    ['plain words', 'deploy the fleet', false, undefined],
    ['a tab', 'a\tb', false, undefined],
    ['an escape sequence', 'red \u001b[31m', false, 'control_character'],
    ['a NUL', 'a\u0000b', true, 'control_character'],
    ['a carriage return', 'a\rb', true, 'control_character'],
    ['a newline where one line is wanted', 'a\nb', false, 'multiline_reason'],
    ['a newline where lines are allowed', 'a\nb', true, undefined],
  ])('%s', (_label, text, multiline, code) => {
    const run = () => checkText(text, 'reason', { multiline });
    if (code) expect(run).toThrow(expect.objectContaining({ code }));
    else expect(run()).toBe(text);
  });

  it('is checked in job descriptions, branches and reasons, lock break reasons and builder hosts', () => {
    const jobs = { jobs: [] };
    const base = { id: 'j1', type: 'build', by: 'build1', now: NOW, defaultMaxAttempts: 3 };
    expect(() => addJob(jobs, { ...base, description: 'x\u001b[2J' })).toThrow(/description holds a control character/);
    expect(() => addJob(jobs, { ...base, branch: 'main\nother' })).toThrow(/branch must be one line/);
    const running = { jobs: [{ id: 'j1', type: 'build', priority: 5, status: 'running' as const, assigned_to: 'build1', labels: [], attempts: 1, max_attempts: 3, created_at: NOW.toISOString(), started_at: NOW.toISOString() }] };
    expect(() => failJob(running, { id: 'j1', by: 'build1', reason: 'boom\u0007', now: NOW })).toThrow(/reason holds a control character/);
    const lock = { name: 'deploy', owner: 'build1', token: 1, acquired_at: NOW.toISOString(), renewed_at: NOW.toISOString(), expires_at: NOW.toISOString() };
    expect(() => breakLock({ locks: [lock], last_token: 1 }, { name: 'deploy', reason: 'gone\nreally', by: 'ops', now: NOW })).toThrow(/reason must be one line/);
    expect(() => addBuilder(undefined, { id: 'build1', host: 'b1\u001b' }, NOW)).toThrow(/host holds a control character/);
  });
});
