import { describe, expect, it } from 'vitest';
import { allowedTrailer, committedValues, TRAILER_ALLOWED, vetCommitMessage, vetCommitted } from '../../src/domain/committed.js';
import { BuildctlError } from '../../src/errors.js';

const gh = `ghp_${'Ab3dE6gH9j'.repeat(3)}K1mN2p`;
const now = '2026-03-01T12:00:00.000Z';

const errorOf = (act: () => unknown): BuildctlError => {
  try {
    act();
  } catch (error) {
    if (error instanceof BuildctlError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
};

describe('committedValues: every string an operation commits, by field', () => {
  it('walks nested inputs and names fields as the CLI does', () => {
    expect(committedValues({ builders: [{ id: 'build3', host: 'h1', labels: ['x86', 'big-disk'] }], replyTo: 'm1', artifacts: ['a.tgz'] })).toEqual([
      { field: 'host', text: 'h1' },
      { field: 'label 1', text: 'x86' },
      { field: 'label 2', text: 'big-disk' },
      { field: 'reply-to', text: 'm1' },
      { field: 'artifact', text: 'a.tgz' },
    ]);
  });

  it('skips strict-format identifiers on purpose, and checks them when they have another shape', () => {
    const strict = { now, by: 'build1', from: 'build2', reader: 'build3', target: 'build4', to: ['build1', 'all'], id: 'job_1762289120_ab12cd' };
    expect(committedValues(strict)).toEqual([]);
    expect(committedValues({ by: gh, id: gh, now: 'password: hunter2', to: [gh] }).map((v) => v.field)).toEqual(['by', 'id', 'now', 'to']);
  });

  it('checks a job id typed by an operator (it can hold a token)', () => {
    expect(committedValues({ state: 'building', job: gh })).toEqual([
      { field: 'state', text: 'building' },
      { field: 'job', text: gh },
    ]);
  });
});

describe('vetCommitted: the one check before anything is fetched, queued or written', () => {
  // The inputs as the operations build them (ops/*.ts), one field holding a credential each.
  it.each([
    ['msg.send', { id: 'msg_1_ab', from: 'build1', to: ['build2'], body: 'jira login\nPassword: hunter2', now }, 'a value assigned to Password in the body, line 2', 'credential_in_message'],
    ['msg.send', { id: 'msg_1_ab', from: 'build1', to: ['build2'], body: 'hi', subject: `token ${gh}`, now }, 'a GitHub token in the subject', 'credential_in_message'],
    ['msg.ack', { by: 'build2', id: 'msg_1_ab', note: 'token: abcdef123456', now }, 'a value assigned to token in the note', 'credential_in_message'],
    ['job.add', { type: 'build', description: 'deploy with\nDB_PASSWORD=s3cr3t-value', id: 'job_1_ab', by: 'ops', now }, 'a value assigned to DB_PASSWORD in the description, line 2', 'credential_in_text'],
    ['job.add', { type: 'build', branch: gh, id: 'job_1_ab', by: 'ops', now }, 'a GitHub token in the branch', 'credential_in_text'],
    ['job.add', { type: 'build', commit: 'redis://:pw@host', id: 'job_1_ab', by: 'ops', now }, 'a password in a URL in the commit', 'credential_in_text'],
    ['job.add', { type: 'build', key: 'pass=hunter2', id: 'job_1_ab', by: 'ops', now }, 'a value assigned to pass in the key', 'credential_in_text'],
    ['job.add', { type: 'build', labels: ['x86', 'glpat-abcdefghij0123456789'], id: 'job_1_ab', by: 'ops', now }, 'a GitLab token in the label 2', 'credential_in_text'],
    ['job.add', { type: 'npm_abcdefghijklmnopqrstuvwxyz0123456789', id: 'job_1_ab', by: 'ops', now }, 'an npm token in the type', 'credential_in_text'],
    ['job.complete', { id: 'job_1_ab', artifacts: ['https://ci:Xk29fQ7m@files.example.com/a.tgz'], action: 'complete', by: 'build1', now }, 'a password in a URL in the artifact', 'credential_in_text'],
    ['job.fail', { id: 'job_1_ab', reason: `push failed: token ${gh}`, action: 'fail', by: 'build1', now }, 'a GitHub token in the reason', 'credential_in_text'],
    ['lock.break', { name: 'deploy', reason: 'used root password: hunter22 to kill it' }, 'a value assigned to password in the reason', 'credential_in_text'],
    ['lock.acquire', { name: gh, ttl: '30s' }, 'a GitHub token in the lock name', 'credential_in_text'],
    ['builder.add', { builders: [{ id: 'build3', manager: 'https://admin:p@ssw0rd@db.example.com' }] }, 'a password in a URL in the manager', 'credential_in_text'],
    ['status.set', { state: 'building', job: gh }, 'a GitHub token in the job', 'credential_in_text'],
    ['config.set', { key: 'schedule', value: 'mysql -phunter2' }, 'a password on a mysql command line in the value', 'credential_in_text'],
  ] as const)('%s: %s', (op, input, said, code) => {
    const error = errorOf(() => vetCommitted(op, input, false));
    expect([error.kind, error.exitCode, error.code]).toEqual(['usage', 2, code]);
    expect(error.message).toBe(`refused: this looks like it holds a credential (${said})`);
    expect(error.hint).toContain('--allow-secret-like');
    for (const secret of ['hunter2', gh, 'p@ssw0rd', 'Xk29fQ7m', 's3cr3t', 'abcdef123456', 'glpat-']) expect(JSON.stringify([error.message, error.hint, error.details])).not.toContain(secret);
  });

  it('covers a field nobody listed: a new field of any operation is checked without edits here', () => {
    expect(errorOf(() => vetCommitted('future.op', { someNewField: { deeper: ['ok', 'password: hunter2'] } }, false)).message).toContain('in the deeper 2');
  });

  it('names every field that holds one', () => {
    const error = errorOf(() => vetCommitted('job.add', { type: 'build', branch: gh, key: 'pass=hunter2' }, false));
    expect(error.message).toContain('a GitHub token in the branch; a value assigned to pass in the key');
    expect(error.details).toEqual({ found: [{ field: 'branch', kind: 'a GitHub token' }, { field: 'key', kind: 'a value assigned to pass' }] });
  });

  it('passes ordinary input, and lets an allowed credential through with what the commit records', () => {
    expect(vetCommitted('job.add', { type: 'build', branch: 'feature/login-password-reset', description: 'Password: changed' }, false)).toEqual([]);
    const allowed = vetCommitted('job.add', { type: 'build', branch: gh }, true);
    expect(allowed).toEqual([{ field: 'branch', kind: 'a GitHub token' }]);
    expect(allowedTrailer(allowed)).toEqual({ [TRAILER_ALLOWED]: 'a GitHub token in the branch' });
    expect(allowedTrailer([])).toEqual({});
  });
});

describe('vetCommitMessage: the commit summary is history too', () => {
  it('refuses a credential in the message unless allowed', () => {
    const message = `lock.break deploy held by build2 token 3: ${gh}\n\nBuildctl-Op: lock.break\n`;
    const error = errorOf(() => vetCommitMessage(message, false));
    expect([error.exitCode, error.code]).toEqual([2, 'credential_in_commit']);
    expect(error.message).not.toContain(gh);
    expect(() => vetCommitMessage(message, true)).not.toThrow();
  });

  it('passes the summaries operations write', () => {
    for (const message of [
      'lock.acquire deploy by build1 token 17\n\nBuildctl-Op: lock.acquire\nBuildctl-Actor: build1\nBuildctl-Op-Id: 0f8c2a52-3d9e-4b8e-9f3a-6f1f0e6d2c11\n',
      'msg.send msg_1762289120_6131 build1 -> build2\n\nBuildctl-Op: msg.send\n',
      'lock.break deploy held by build2 token 3: build2 is dead, password: reset by ops\n',
    ]) {
      expect(() => vetCommitMessage(message, false)).not.toThrow();
    }
  });
});
