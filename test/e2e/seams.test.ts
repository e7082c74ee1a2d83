// Where features meet (issue 11, "One truth per builder"): the built CLI on a real fleet.
import { afterEach, describe, expect, it } from 'vitest';
import { gitSync, makeFleet, runCli, type Fleet } from '../helpers/fleet.js';

let fleet: Fleet;
afterEach(() => fleet?.cleanup());

const as = (who: string, args: string[], offset = '0s') =>
  runCli(['--store', fleet.stores[who]!, '--as', who, ...args], { env: { BUILDCTL_TEST_CLOCK_OFFSET: offset } });
const remoteJson = (path: string) => JSON.parse(gitSync(fleet.remote, ['show', `main:${path}`]));

describe('one truth per builder', () => {
  it('a job timed out by housekeeping leaves its assignee\'s status in the same commit', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const id = (await as('build1', ['job', 'add', '--type', 'build', '--target', 'build2', '--timeout', '1m'])).stdout.trim();
    expect((await as('build2', ['job', 'claim'])).code).toBe(0);
    expect((await as('build2', ['heartbeat'])).code).toBe(0);
    expect((await as('build1', ['agent', '--once'])).code).toBe(0);
    expect((await as('build2', ['heartbeat'], '+2m')).code).toBe(0);
    expect((await as('build1', ['agent', '--once'], '+2m')).code).toBe(0);
    const head = gitSync(fleet.remote, ['show', '--name-only', '--format=%s', 'main']).trim().split('\n');
    expect(head[0]).toMatch(/^housekeeping: 1 job timed out/);
    expect(head).toEqual(expect.arrayContaining(['coordination/jobs.json', 'build2/status.json']));
    expect(remoteJson('build2/status.json')).toMatchObject({ state: 'failed', current_job: null, last_build: { job: id, status: 'failed', reason: 'timed out after 1m' } });
  });
});
