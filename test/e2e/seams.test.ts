// Where features meet (issue 11, "One truth per builder"): the built CLI on a real fleet.
import { afterEach, describe, expect, it } from 'vitest';
import { gitSync, makeFleet, runCli, type Fleet } from '../helpers/fleet.js';

let fleet: Fleet;
afterEach(() => fleet?.cleanup());

const as = (who: string, args: string[], offset = '0s') =>
  runCli(['--store', fleet.stores[who]!, '--as', who, ...args], { env: { BUILDCTL_TEST_CLOCK_OFFSET: offset } });
const remoteJson = (path: string) => JSON.parse(gitSync(fleet.remote, ['show', `main:${path}`]));

describe('one truth per builder', () => {
  it('job claim while building is refused (exit 3) naming the running job, and status keeps it', async () => {
    fleet = await makeFleet(['build1']);
    const first = (await as('build1', ['job', 'add', '--type', 'build'])).stdout.trim();
    const second = (await as('build1', ['job', 'add', '--type', 'build'])).stdout.trim();
    expect((await as('build1', ['job', 'claim'])).code).toBe(0);
    const again = await as('build1', ['job', 'claim']);
    expect(again.code).toBe(3);
    expect(again.stderr).toContain(`build1 is already building ${first}`);
    expect(again.stderr).toContain(`hint: finish it first (buildctl job complete ${first}`);
    expect(remoteJson('build1/status.json')).toMatchObject({ state: 'building', current_job: first });
    expect(remoteJson('coordination/jobs.json').jobs.find((j: { id: string }) => j.id === second)).toMatchObject({ status: 'queued' });
    // Finished, the next claim goes through.
    expect((await as('build1', ['job', 'complete', first])).code).toBe(0);
    expect((await as('build1', ['job', 'claim'])).code).toBe(0);
    expect(remoteJson('build1/status.json')).toMatchObject({ state: 'building', current_job: second });
  });

  it('a disabled builder is refused a claim with a hint that says so; builder add --enabled enables it again', async () => {
    fleet = await makeFleet(['build1']);
    await as('build1', ['job', 'add', '--type', 'build']);
    expect((await as('build1', ['builder', 'add', 'build1', '--disabled'])).stdout).toContain('updated builder build1');
    const refused = await as('build1', ['job', 'claim']);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('build1 is disabled');
    expect(refused.stderr).toContain('hint: enable it with: buildctl builder add build1 --enabled');
    const enabled = await as('build1', ['builder', 'add', 'build1', '--enabled']);
    expect([enabled.code, enabled.stdout.trim()]).toEqual([0, 'updated builder build1']);
    expect(remoteJson('coordination/builders.json').builders[0]).toMatchObject({ id: 'build1', enabled: true });
    expect((await as('build1', ['job', 'claim'])).code).toBe(0);
    const both = await as('build1', ['builder', 'add', 'build1', '--enabled', '--disabled']);
    expect(both.code).toBe(2);
  });

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

  it("after lock break, the old owner's release says who broke it, when and why", async () => {
    fleet = await makeFleet(['build1', 'build2']);
    expect((await as('build1', ['lock', 'acquire', 'deploy', '--ttl', '10m'])).code).toBe(0);
    expect((await as('build2', ['lock', 'break', 'deploy', '--reason', 'build1 is being reinstalled'])).code).toBe(0);
    const release = await as('build1', ['lock', 'release', 'deploy']);
    expect(release.code).toBe(3);
    expect(release.stderr).toMatch(/lock "deploy" was broken by build2 at \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ while build1 held it \(token 1\): build1 is being reinstalled; nobody holds it now/);
    const json = JSON.parse((await as('build1', ['lock', 'release', 'deploy', '--json'])).stdout);
    expect(json.error).toMatchObject({ code: 'lock_broken', details: { by: 'build2', reason: 'build1 is being reinstalled', owner: 'build1', token: 1 } });
    // Taken by another since: said too. Acquired again by build1: behind it.
    expect((await as('build2', ['lock', 'acquire', 'deploy'])).code).toBe(0);
    expect((await as('build1', ['lock', 'release', 'deploy'])).stderr).toContain('build2 holds it now (token 2)');
    expect((await as('build2', ['lock', 'release', 'deploy'])).code).toBe(0);
    expect((await as('build1', ['lock', 'acquire', 'deploy'])).code).toBe(0);
    expect((await as('build1', ['lock', 'release', 'deploy'])).code).toBe(0);
    expect((await as('build1', ['lock', 'release', 'deploy'])).stderr).toContain('lock "deploy" is not held');
  });

  it('a second agent beating as build1 is reported on both sides and in status, and never locks the real one out', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const real = (args: string[]) => runCli(['--store', fleet.stores.build1!, '--as', 'build1', ...args]);
    // A copied id file: build2's host believes it is build1.
    const impostor = (args: string[]) => runCli(['--store', fleet.stores.build2!, '--as', 'build1', ...args]);
    const ref = () => gitSync(fleet.remote, ['rev-parse', 'heartbeat/build1']).trim();
    expect((await real(['heartbeat'])).code).toBe(0);
    expect((await impostor(['heartbeat'])).code).toBe(0); // its first beat cannot know yet

    const back = await real(['heartbeat', '--json']);
    expect(back.code).toBe(1);
    expect(back.stderr).toContain('another agent is heartbeating as build1');
    expect(JSON.parse(back.stdout).commit).toBe(ref()); // the real one's beat landed
    const other = await impostor(['heartbeat']);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain('another agent is heartbeating as build1');
    const status = await runCli(['--store', fleet.stores.build2!, '--as', 'build2', 'status']);
    expect(status.stdout).toContain('DUPLICATE AGENT: two agents beat as build1');
    expect(status.stdout).toMatch(/build1\s+healthy/);

    // The impostor is stopped: the real one's beats land, and the report ends by itself.
    expect((await real(['heartbeat'])).code).toBe(1); // takes the ref back once more
    const plain = await real(['heartbeat', '--json']);
    expect(plain.code, plain.stderr).toBe(0);
    expect(JSON.parse(plain.stdout).commit).toBe(ref());
    const after = JSON.parse((await runCli(['--store', fleet.stores.build2!, '--as', 'build2', 'status', '--json'])).stdout).fleet;
    expect(after.builders.find((b: { id: string }) => b.id === 'build1')).toMatchObject({ duplicate_agent: null, health: 'healthy' });
  });

  it('config set takes several KEY VALUE pairs, checked together, in one commit', async () => {
    fleet = await makeFleet(['build1']);
    const before = Number(gitSync(fleet.remote, ['rev-list', '--count', 'main']).trim());
    const alone = await as('build1', ['config', 'set', 'stale_after', '6m']);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('dead_after (5m) must be longer than stale_after (6m)');
    const both = await as('build1', ['config', 'set', 'stale_after', '6m', 'dead_after', '10m', '--json']);
    expect(both.code, both.stderr).toBe(0);
    expect(JSON.parse(both.stdout)).toMatchObject({ settings: [{ key: 'stale_after', value: '6m' }, { key: 'dead_after', value: '10m' }], changed: true });
    expect(Number(gitSync(fleet.remote, ['rev-list', '--count', 'main']).trim())).toBe(before + 1);
    expect(remoteJson('coordination/config.json')).toMatchObject({ stale_after: '6m', dead_after: '10m' });
    // A schedule the agents cannot run is refused; one whose ticks are further apart than dead_after is set with a warning.
    const bad = await as('build1', ['config', 'set', 'schedule', '61 * * * *']);
    expect([bad.code, bad.stderr]).toEqual([2, expect.stringContaining('invalid value "61 * * * *" for schedule')]);
    const sparse = await as('build1', ['config', 'set', 'schedule', '*/15 * * * *']);
    expect(sparse.code).toBe(0);
    expect(sparse.stderr).toContain('warning: schedule "*/15 * * * *" leaves up to 15m between ticks, not less than dead_after (10m)');
  });
});
