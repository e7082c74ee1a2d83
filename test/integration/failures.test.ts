import { readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { commitCount, gitSync, makeFleet, pushHandEdit, runCli, type Fleet } from '../helpers/fleet.js';

let fleet: Fleet | undefined;
afterEach(() => fleet?.cleanup());

describe('bad data and a dead remote', () => {
  it('a corrupt document makes validate exit 5 naming file and reason, and a mutation refuse without writing', async () => {
    fleet = await makeFleet(['build1']);
    const store = fleet.stores.build1!;
    pushHandEdit(fleet, { 'coordination/builders.json': '{"builders": [{"id": "build1", "labels": []},\n' });
    const validate = await runCli(['--store', store, 'validate']);
    expect(validate.code).toBe(5);
    expect(validate.stdout).toMatch(/broken\s+coordination\/builders\.json: JSON syntax error at line 2:1/);
    const json = JSON.parse((await runCli(['--store', store, 'validate', '--json'])).stdout).validation;
    expect(json.valid).toBe(false);
    expect(json.files.find((f: { file: string }) => f.file === 'coordination/builders.json').valid).toBe(false);

    const before = commitCount(fleet.remote);
    const mutation = await runCli(['--store', store, '--as', 'build1', 'status', 'set', 'building']);
    expect(mutation.code).toBe(5);
    expect(mutation.stderr).toContain('invalid document coordination/builders.json');
    expect(mutation.stderr).toContain('hint:');
    expect(commitCount(fleet.remote)).toBe(before);
  });

  it('a document of the wrong shape is reported with its field path', async () => {
    fleet = await makeFleet(['build1']);
    pushHandEdit(fleet, { 'coordination/jobs.json': JSON.stringify({ jobs: [{ id: 'j1', type: 'build', priority: 0, status: 'queued', assigned_to: null, created_at: '2026-01-01T00:00:00Z' }] }) });
    const validate = await runCli(['--store', fleet.stores.build1!, 'validate']);
    expect(validate.code).toBe(5);
    expect(validate.stdout).toContain('coordination/jobs.json: jobs[0].priority: must be >= 1');
  });

  it('an unreachable remote: a mutation exits 4 and status shows the last known state and its age', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const store = fleet.stores.build2!;
    expect((await runCli(['--store', store, '--as', 'build2', 'status'])).code).toBe(0);
    renameSync(fleet.remote, `${fleet.remote}.gone`);

    const mutation = await runCli(['--store', store, '--as', 'build2', 'status', 'set', 'building']);
    expect(mutation.code).toBe(4);
    expect(mutation.stderr).toContain("cannot reach the store's remote");
    expect(mutation.stderr).not.toMatch(/\n\s+at /); // one line and a hint, no stack

    const status = await runCli(['--store', store, '--as', 'build2', 'status']);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('REMOTE UNREACHABLE, showing the last known state: main last fetched');
    expect(status.stdout).toMatch(/build1\s+unknown/);
    const json = JSON.parse((await runCli(['--store', store, '--as', 'build2', 'status', '--json'])).stdout).fleet;
    expect(json.fetched).toBe(false);
    expect(json.fetch_error).toContain("cannot reach the store's remote");
    expect(Date.parse(json.last_fetch_at)).toBeLessThanOrEqual(Date.now());
    expect(json.builders.map((b: { id: string }) => b.id)).toEqual(['build1', 'build2']);

    const beat = await runCli(['--store', store, '--as', 'build2', 'heartbeat']);
    expect(beat.code).toBe(4);
  });

  it('input that is wrong whatever the remote holds is refused as such (exit 2) while the remote is unreachable', async () => {
    // A typo made while the network is down must not read "cannot reach the remote": the
    // operator would wait for the network only to be told then that the state is misspelt.
    fleet = await makeFleet(['build1']);
    const store = fleet.stores.build1!;
    renameSync(fleet.remote, `${fleet.remote}.gone`);
    const rows: Array<[string[], RegExp]> = [
      [['status', 'set', 'busy'], /unknown state "busy"/],
      [['status', 'set', 'building', '--job', 'a b'], /invalid job id "a b"/],
      [['config', 'set', 'nosuch', '3'], /unknown setting "nosuch"/],
      [['config', 'set', 'stale_after', '5x'], /invalid value "5x" for stale_after/],
      [['config', 'set', 'stale_after', '2m', 'stale_after', '3m'], /stale_after is given twice/],
      [['builder', 'add', 'Bad!'], /invalid builder id "Bad!"/],
      [['builder', 'add', 'ok', '--label', 'NOT A LABEL'], /invalid label "NOT A LABEL"/],
      [['builder', 'remove', 'Bad!'], /invalid builder id "Bad!"/],
      [['lock', 'acquire', 'a/b'], /invalid lock name "a\/b"/],
      [['lock', 'renew', 'a/b'], /invalid lock name "a\/b"/],
      [['lock', 'renew', 'deploy', '--ttl', '5x'], /invalid TTL "5x"/],
      [['lock', 'release', 'a/b'], /invalid lock name "a\/b"/],
      [['lock', 'break', 'my lock', '--reason', 'stuck'], /invalid lock name "my lock"/],
      [['notify', 'remove', 'No Such'], /no notification target named "No Such"/],
      [['job', 'cancel', 'a b'], /unknown job "a b"/],
      [['job', 'retry', 'a/b'], /unknown job "a\/b"/],
    ];
    for (const [args, message] of rows) {
      const run = await runCli(['--store', store, '--as', 'build1', ...args]);
      expect({ args, code: run.code, stderr: run.stderr.split('\n')[0] }).toEqual({ args, code: 2, stderr: expect.stringMatching(message) });
    }
  });

  it('remembers validated canonical blobs, and still catches a document that changed since', async () => {
    fleet = await makeFleet(['build1']);
    const store = fleet.stores.build1!;
    // A queue large enough to be worth remembering (small documents validate faster than a lookup).
    const jobs = Array.from({ length: 200 }, (_, i) => ({ id: `job_${i}`, type: 'build', priority: 5, branch: 'main', description: `job ${i}`, status: 'queued', assigned_to: null, labels: [], attempts: 0, max_attempts: 3, created_at: '2026-01-01T00:00:00.000Z' }));
    pushHandEdit(fleet, { 'coordination/jobs.json': `${JSON.stringify({ jobs }, null, 2)}\n` });
    expect((await runCli(['--store', store, '--as', 'build1', 'status', '--json'])).code).toBe(0);
    const cache = readFileSync(join(store, '.git', 'buildctl', 'valid-blobs'), 'utf8');
    const sha = gitSync(fleet.remote, ['rev-parse', 'main:coordination/jobs.json']).trim();
    expect(cache).toMatch(/^[0-9a-f]{16}\n/); // the schemas' fingerprint, once
    expect(cache.split('\n')).toContain(`${sha} coordination/jobs.json`);
    expect(cache).not.toContain('coordination/locks.json'); // small: validated every time
    pushHandEdit(fleet, { 'coordination/jobs.json': JSON.stringify({ jobs: [{ id: 'j1', type: 'build', priority: 0, status: 'queued', assigned_to: null, created_at: '2026-01-01T00:00:00Z' }] }, null, 2) + '\n' });
    const status = await runCli(['--store', store, '--as', 'build1', 'status']);
    expect(status.code).toBe(5);
    expect(status.stdout).toContain('INVALID coordination/jobs.json: jobs[0].priority: must be >= 1');
  });
});
