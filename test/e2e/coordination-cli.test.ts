// The built CLI for jobs, locks and messages, and the `sm` / `sendmessages` names of the
// same program: output, exit codes, refusals that commit nothing.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLI, commitCount, gitSync, runCli, tempDir } from '../helpers/fleet.js';

let root: { dir: string; cleanup: () => void };
let env: Record<string, string>;
beforeEach(async () => {
  root = tempDir();
  const home = join(root.dir, 'home');
  mkdirSync(home);
  env = { HOME: home };
  const init = await runCli(['init', '--builder', 'build1', '--builder', 'build2', '--builder', 'build3'], { env });
  expect(init.code, init.stderr).toBe(0);
});
afterEach(() => root.cleanup());

const store = () => join(root.dir, 'home', '.buildctl', 'store');
const remote = () => `${store()}.git`;
const remoteJson = (path: string) => JSON.parse(gitSync(remote(), ['show', `main:${path}`]));
/** buildctl as builder `id`, the way an operator types it. */
const as = (id: string, args: string[]) => runCli(['--as', id, ...args], { env });

describe('buildctl job', () => {
  it('add prints the id (or the whole job), claim runs it, and exit 3 when there is nothing to claim', async () => {
    const add = await as('build1', ['job', 'add', '--type', 'build', '--branch', 'main', '--description', 'nightly']);
    expect(add.code).toBe(0);
    const id = add.stdout.trim();
    expect(id).toMatch(/^job_\d+_[0-9a-f]{6}$/);

    const json = await as('build1', ['job', 'add', '--type', 'package', '--priority', '1', '--key', 'pkg-1', '--json']);
    expect(json.code).toBe(0);
    const added = JSON.parse(json.stdout);
    expect(added).toMatchObject({ changed: true, queued: false, commit: gitSync(remote(), ['rev-parse', 'main']).trim() });
    const job = added.job;
    expect(job).toMatchObject({ type: 'package', priority: 1, key: 'pkg-1', status: 'queued', assigned_to: null, attempts: 0, max_attempts: 3 });
    // The same key again: the live job comes back, with a note on stderr, and nothing is added.
    const again = await as('build2', ['job', 'add', '--type', 'package', '--key', 'pkg-1']);
    expect(again.code).toBe(0);
    expect(again.stdout.trim()).toBe(job.id);
    expect(again.stderr).toContain('a live job with key pkg-1 exists');

    const first = await as('build1', ['job', 'claim']);
    expect(first.code).toBe(0);
    expect(first.stdout.trim()).toBe(`${job.id} running on build1: package, priority 1`);
    const second = JSON.parse((await as('build2', ['job', 'claim', '--json'])).stdout);
    expect(second).toMatchObject({ job: { id, status: 'running', assigned_to: 'build2' }, changed: true, queued: false });

    const before = commitCount(remote());
    const none = await as('build3', ['job', 'claim']);
    expect(none.code).toBe(3);
    expect(none.stderr).toContain('buildctl: nothing to claim for build3');
    expect(none.stderr).toContain('hint:');
    expect(commitCount(remote())).toBe(before);

    const list = JSON.parse((await as('build3', ['job', 'list', '--status', 'running', '--json'])).stdout).jobs;
    expect(list.map((j: { id: string }) => j.id).sort()).toEqual([id, job.id].sort());
  });

  it('complete and fail: messages, exit codes, and who may finish a job', async () => {
    const a = (await as('build1', ['job', 'add', '--type', 'build', '--priority', '1'])).stdout.trim();
    const b = (await as('build1', ['job', 'add', '--type', 'build', '--priority', '2'])).stdout.trim();
    await as('build1', ['job', 'claim']);
    await as('build2', ['job', 'claim']);

    const notMine = await as('build2', ['job', 'complete', a]);
    expect(notMine.code).toBe(3);
    expect(notMine.stderr).toContain(`job ${a} is assigned to build1, not build2`);
    expect(notMine.stderr).toContain('--force');

    const artifact = join(root.dir, 'app.tar.gz');
    writeFileSync(artifact, 'app');
    const done = await as('build1', ['job', 'complete', a, '--artifact', artifact]);
    expect(done.code).toBe(0);
    expect(done.stdout.trim()).toBe(`${a} completed on build1: build, priority 1`);
    const twice = await as('build1', ['job', 'complete', a]);
    expect(twice.code).toBe(3);
    expect(twice.stderr).toContain('is completed, not running');

    const noReason = await as('build2', ['job', 'fail', b]);
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toMatch(/required option '--reason <text>'/);
    const failed = await as('build2', ['job', 'fail', b, '--reason', 'linker ran out of memory', '--json']);
    expect(failed.code).toBe(0);
    expect(JSON.parse(failed.stdout)).toMatchObject({ job: { id: b, status: 'failed', result: { reason: 'linker ran out of memory' } }, changed: true });
    expect(remoteJson('build2/status.json')).toMatchObject({ state: 'failed', current_job: null, last_build: { job: b, status: 'failed' } });

    const unknown = await as('build1', ['job', 'complete', 'job_0_000000']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown job "job_0_000000"');
  });
});

describe('buildctl lock', () => {
  it('acquire prints the token; another builder gets exit 3 naming the holder; list --json; release is owner only', async () => {
    const first = await as('build1', ['lock', 'acquire', 'deploy', '--ttl', '5m']);
    expect(first.code).toBe(0);
    expect(first.stdout.trim()).toBe('1');
    const renewed = await as('build1', ['lock', 'acquire', 'deploy', '--ttl', '5m']);
    expect(renewed.stdout.trim()).toBe('1');

    const before = commitCount(remote());
    const busy = await as('build2', ['lock', 'acquire', 'deploy']);
    expect(busy.code).toBe(3);
    expect(busy.stderr).toMatch(/buildctl: lock "deploy" is held by build1 until \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \(\d+m( \d+s)? left\)/);
    expect(busy.stderr).toContain('hint: wait for it (--wait ');
    const release = await as('build2', ['lock', 'release', 'deploy']);
    expect(release.code).toBe(3);
    expect(release.stderr).toContain('lock "deploy" is held by build1, not build2');
    expect(commitCount(remote())).toBe(before);

    const list = await as('build3', ['lock', 'list', '--json']);
    expect(list.code).toBe(0);
    const { locks } = JSON.parse(list.stdout);
    expect(locks).toEqual([expect.objectContaining({ name: 'deploy', owner: 'build1', token: 1, expired: false })]);
    expect(locks[0].seconds_left).toBeGreaterThan(200);

    expect((await as('build1', ['lock', 'release', 'deploy'])).stdout.trim()).toBe('released deploy (token 1)');
    expect((await as('build2', ['lock', 'acquire', 'deploy'])).stdout.trim()).toBe('2');
  });

  it('lock run exits with the command\'s code and releases the lock', async () => {
    const run = await as('build1', ['lock', 'run', 'nightly', '--', 'sh', '-c', 'echo "token=$BUILDCTL_LOCK_TOKEN"; exit 7']);
    expect(run.code).toBe(7);
    expect(run.stdout.trim()).toBe('token=1');
    expect(remoteJson('coordination/locks.json')).toEqual({ locks: [], last_token: 1 });
  });
});

describe('buildctl msg', () => {
  it('send, list (unread, per recipient), read, ack --note, show with the thread, and status mail counts', async () => {
    const direct = await as('build1', ['msg', 'send', 'build2', 'disk', 'is', 'filling', 'up', '--type', 'warning', '--ack-required']);
    expect(direct.code).toBe(0);
    const directId = direct.stdout.trim();
    expect(directId).toMatch(/^msg_\d+_[0-9a-f]{6}$/);
    const broadcast = (await as('build3', ['msg', 'send', 'all', 'maintenance at 22:00\nexpect a reboot', '--json'])).stdout;
    let bc = JSON.parse(broadcast);
    expect(bc).toMatchObject({ changed: true, queued: false, commit: expect.stringMatching(/^[0-9a-f]{40}$/) });
    bc = bc.message;
    expect(bc).toMatchObject({ from: 'build3', to: ['all'], subject: 'maintenance at 22:00', body: 'maintenance at 22:00\nexpect a reboot', ack_required: false });

    const list2 = JSON.parse((await as('build2', ['msg', 'list', '--json'])).stdout).messages;
    expect(list2.map((m: { id: string }) => m.id)).toEqual([directId, bc.id]);
    const list1 = JSON.parse((await as('build1', ['msg', 'list', '--json'])).stdout).messages;
    expect(list1.map((m: { id: string }) => m.id)).toEqual([bc.id]); // not its own message
    const text2 = await as('build2', ['msg', 'list']);
    expect(text2.stdout).toContain(`disk is filling up\n  ack required: buildctl msg ack ${directId}`);

    // build1 reads the broadcast: it stays unread for build2.
    expect((await as('build1', ['msg', 'read', bc.id])).stdout.trim()).toBe(`marked read: ${bc.id}`);
    expect((await as('build1', ['msg', 'list'])).stdout.trim()).toBe('no unread messages for build1');
    expect(JSON.parse((await as('build2', ['msg', 'list', '--json'])).stdout).messages.map((m: { id: string }) => m.id)).toEqual([directId, bc.id]);

    const status = JSON.parse((await as('build2', ['status', '--json'])).stdout).fleet;
    expect(status.mail).toEqual({ builder: 'build2', unread: 2, awaiting_ack: 1 });

    const ack = await as('build2', ['msg', 'ack', directId, '--note', 'cleaned /var/cache']);
    expect(ack.code).toBe(0);
    expect(ack.stdout.trim()).toBe(`acknowledged ${directId}`);
    expect(JSON.parse((await as('build2', ['status', '--json'])).stdout).fleet.mail).toEqual({ builder: 'build2', unread: 1, awaiting_ack: 0 });

    const reply = (await as('build2', ['msg', 'send', 'build1', 'done, 40 GB free', '--reply-to', directId])).stdout.trim();
    const show = await as('build1', ['msg', 'show', directId]);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain(`${directId}  warning`);
    expect(show.stdout).toContain('from build1 to build2, ack required');
    expect(show.stdout).toContain('disk is filling up');
    expect(show.stdout).toContain('acked by: build2 (cleaned /var/cache)');
    expect(show.stdout).toContain(`(reply) ${reply} from build2: done, 40 GB free`);
    const showReply = await as('build1', ['msg', 'show', reply]);
    expect(showReply.stdout).toContain(`(earlier) ${directId} from build1: disk is filling up`);
  });

  it.each([
    ['a subject over 100 characters', ['build2', 'hello', '--subject', 's'.repeat(101)], 'the subject has 101 characters, more than 100'],
    ['a body over 10,000 characters', ['build2', 'b'.repeat(10_001)], 'the body has 10001 characters, more than 10000'],
    ['an unknown recipient', ['build9', 'hello'], 'unknown recipient "build9"'],
  ])('%s: exit 2 and nothing committed', async (_what, args, message) => {
    const before = commitCount(remote());
    const run = await as('build1', ['msg', 'send', ...args]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stderr).toContain('hint:');
    expect(commitCount(remote())).toBe(before);
  });

  it('refuses a body holding a credential: says what and where, never echoes it, commits nothing', async () => {
    const before = commitCount(remote());
    const run = await as('build1', ['msg', 'send', 'build2', 'db migrated\npassword: hunter22']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('looks like it holds a credential');
    expect(run.stderr).toContain('a value assigned to password in the body, line 2');
    expect(run.stderr).not.toContain('hunter22');
    expect(run.stdout).not.toContain('hunter22');
    expect(commitCount(remote())).toBe(before);
    expect(gitSync(remote(), ['log', '-p', 'main'])).not.toContain('hunter22');
    // Talking about a password is fine.
    expect((await as('build1', ['msg', 'send', 'build2', 'the password file on each builder moved'])).code).toBe(0);
  });
});

describe('sm and sendmessages: the same program under another name', () => {
  const linkAs = (name: string): string => {
    const link = join(root.dir, name);
    symlinkSync(CLI, link);
    return link;
  };
  /** The alias as builder `id` (BUILD_SERVER_ID, as on a real builder). */
  const sm = (bin: string, id: string, args: string[]) => runCli(args, { env: { ...env, BUILD_SERVER_ID: id }, bin });
  const lastMessage = () => remoteJson('coordination/messages.json').messages.at(-1);

  it('sends to digit targets as the resolved identity, with -t and --ack', async () => {
    const bin = linkAs('sm');
    const one = await sm(bin, 'build1', ['2', 'acked', 'watcher', 'rollout']);
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(/^sent msg_\d+_[0-9a-f]{6} to build2$/m);
    expect(lastMessage()).toMatchObject({ from: 'build1', to: ['build2'], body: 'acked watcher rollout', subject: 'acked watcher rollout', type: 'info', ack_required: false });

    expect((await sm(bin, 'build3', ['12', '-t', 'warning', 'disk', 'almost', 'full'])).code).toBe(0);
    expect(lastMessage()).toMatchObject({ from: 'build3', to: ['build1', 'build2'], body: 'disk almost full', type: 'warning' });

    expect((await sm(bin, 'build1', ['all', '--ack', 'maintenance at 22:00'])).code).toBe(0);
    expect(lastMessage()).toMatchObject({ from: 'build1', to: ['all'], body: 'maintenance at 22:00', ack_required: true });
  });

  it('sendmessages is the same, sm 12 from build1 reaches build1 and build2', async () => {
    const bin = linkAs('sendmessages');
    const run = await sm(bin, 'build1', ['12', 'heads', 'up']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('to build1, build2');
    expect(lastMessage()).toMatchObject({ from: 'build1', to: ['build1', 'build2'], body: 'heads up' });
  });

  it('--help shows the forms; an unknown target or bad type exits 2 and sends nothing', async () => {
    const bin = linkAs('sm');
    const help = await sm(bin, 'build1', ['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: sm [options] <targets> <body...>');
    for (const form of ['sm 2 acked watcher rollout', 'sm 12 -t warning', 'sm all --ack', '-t, --type <type>', '--ack']) expect(help.stdout).toContain(form);

    const before = commitCount(remote());
    const unknown = await sm(bin, 'build1', ['9', 'hello']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown recipient "build9"');
    const zero = await sm(bin, 'build1', ['0', 'hello']);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toContain('digit 0 names no builder');
    const badType = await sm(bin, 'build1', ['2', '-t', 'gossip', 'hello']);
    expect(badType.code).toBe(2);
    expect(badType.stderr).toContain('unknown message type "gossip"');
    expect(commitCount(remote())).toBe(before);
  });
});
