// The pre-receive hook (scripts/pre-receive) on a real bare remote: the store's own remote
// refuses what readers would not trust before it lands, judged against the keys as of
// main's tip before the push. A forged push is refused whether or not the fleet requires
// signed writes; an unsigned one once it does; a good one lands; a heartbeat signed with
// another builder's key is refused too. The refused push moves nothing.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addKeyOp } from '../../src/ops/signers.js';
import { docs } from '../../src/schemas/layout.js';
import type { SignersDoc } from '../../src/schemas/signers.js';
import { generateKeyFiles, parsePrivateKey } from '../../src/store/sshsig.js';
import { publishHeartbeat } from '../../src/store/heartbeat-ref.js';
import { storeAt } from '../../src/store/store.js';
import { transact } from '../../src/store/transaction.js';
import { CLI, gitSync, makeFleet, pushHandEdit, REPO_ROOT, runCli, testContext, type Fleet } from '../helpers/fleet.js';

let fleet: Fleet;
let ops: string;
const refs = () => gitSync(fleet.remote, ['for-each-ref', '--format=%(refname) %(objectname)']);
const as = (id: string, args: string[]) => runCli(['--store', fleet.stores[id]!, '--as', id, ...args]);

/** build1's clone writing as build2, signed with build1's key, pushed straight (no client checks). */
const forged = () =>
  transact(storeAt(fleet.stores.build1!), {
    op: 'status.set',
    actor: 'build2',
    apply: async (read) => ({ result: null, writes: [{ spec: docs.status('build2'), value: { ...(await read(docs.status('build2')))!, state: 'failed' } }], summary: 'status.set build2 failed' }),
  });

beforeAll(async () => {
  fleet = await makeFleet(['build1', 'build2']);
  for (const id of ['build1', 'build2']) await addKeyOp(testContext(fleet.stores[id]!, id), { id });
  ops = join(fleet.root, 'ops', 'store');
  mkdirSync(join(fleet.root, 'ops'));
  expect((await runCli(['--store', ops, 'init', '--remote', fleet.remote])).code).toBe(0);
  expect((await runCli(['--store', ops, '--as', 'alice', 'builder', 'key', 'add', 'alice', '--operator'])).code).toBe(0);
  expect((await as('build2', ['status', 'set', 'idle'])).code).toBe(0);
  // The hook, installed as the README says; buildctl is the built CLI run by this node.
  const hook = join(fleet.remote, 'hooks', 'pre-receive');
  copyFileSync(join(REPO_ROOT, 'scripts', 'pre-receive'), hook);
  chmodSync(hook, 0o755);
  gitSync(fleet.remote, ['config', 'buildctl.command', `${process.execPath} ${CLI}`]);
}, 120_000);
afterAll(() => fleet?.cleanup());

describe('the pre-receive hook', () => {
  it('lets a good push land, and a hand edit while signed writes are not required', async () => {
    const before = refs();
    const run = await as('build1', ['status', 'set', 'building']);
    expect(run.code, run.stderr).toBe(0);
    expect(refs()).not.toBe(before);
    pushHandEdit(fleet, { 'notes.txt': 'a note\n' }, 'a note by hand');
    expect(gitSync(fleet.remote, ['log', '-1', '--format=%s', 'main']).trim()).toBe('a note by hand');
  });

  it('refuses a forged push, always, and says why', async () => {
    const before = refs();
    const error = await forged().then(() => undefined, (e: unknown) => e as { code: string; message: string });
    expect(error?.code).toBe('push_refused');
    expect(error?.message).toContain("buildctl: refused");
    expect(error?.message).toContain('forged (claims to be build2, signed by build1');
    expect(refs()).toBe(before);
  });

  it('refuses a heartbeat signed with another builder\'s key; takes the builder\'s own', async () => {
    const files = (id: string) => ({ [`${id}/heartbeat.json`]: `${JSON.stringify({ id, timestamp: new Date().toISOString(), host: 'h', pid: 1, version: '0.1.0' })}\n`, [`${id}/metrics.jsonl`]: '' });
    await expect(publishHeartbeat(storeAt(fleet.stores.build1!), { builder: 'build2', now: new Date(), force: true, files: files('build2') })).rejects.toThrow(
      /the remote refused the heartbeat: buildctl: refused refs\/heads\/heartbeat\/build2: forged \(claims to be build2, signed by build1's key/,
    );
    expect(gitSync(fleet.remote, ['for-each-ref', 'refs/heads/heartbeat/build2'])).toBe('');
    await publishHeartbeat(storeAt(fleet.stores.build2!), { builder: 'build2', now: new Date(), files: files('build2') });
    expect(gitSync(fleet.remote, ['for-each-ref', '--format=%(refname)', 'refs/heads/heartbeat/build2']).trim()).toBe('refs/heads/heartbeat/build2');
  });

  it('with require_signed_writes on, refuses an unsigned push and one that brings its own key', async () => {
    expect((await runCli(['--store', ops, 'config', 'set', 'require_signed_writes', 'on'])).code).toBe(0);
    const before = refs();
    expect(() => pushHandEdit(fleet, { 'notes.txt': 'unsigned\n' }, 'unsigned by hand')).toThrow(/pre-receive hook declined/);
    expect(refs()).toBe(before);
    // Someone who may push but holds no registered key: one commit adds their key for build2,
    // the next writes as build2 with it, both signed with that key (git's own ssh signing).
    const scratch = join(fleet.root, 'scratch-self');
    gitSync(fleet.root, ['clone', '-q', fleet.remote, scratch]);
    const files = generateKeyFiles('intruder');
    const key = join(fleet.root, 'intruder-key');
    writeFileSync(key, files.privateText, { mode: 0o600 });
    const signers = JSON.parse(readFileSync(join(scratch, 'coordination/signers.json'), 'utf8')) as SignersDoc;
    const publicKey = parsePrivateKey(files.privateText).publicKey;
    signers.signers.find((e) => e.id === 'build2')!.keys.push({ key: publicKey.text, fingerprint: publicKey.fingerprint, comment: null, operator: false, added_at: new Date().toISOString(), added_by: 'build2' });
    const commit = (path: string, content: string, op: string) => {
      writeFileSync(join(scratch, path), content);
      gitSync(scratch, ['add', path]);
      gitSync(scratch, ['-c', 'gpg.format=ssh', '-c', `user.signingkey=${key}`, 'commit', '-q', '-S', '-m', `${op} build2\n\nBuildctl-Op: ${op}\nBuildctl-Actor: build2\n`]);
    };
    commit('coordination/signers.json', `${JSON.stringify(signers, null, 2)}\n`, 'builder.key.add');
    commit('build2/status.json', readFileSync(join(scratch, 'build2/status.json'), 'utf8').replace(/"state": "\w+"/, '"state": "failed"'), 'status.set');
    const push = spawnSync('git', ['push', 'origin', 'HEAD:main'], { cwd: scratch, encoding: 'utf8' });
    expect(push.status).not.toBe(0);
    expect(push.stderr).toMatch(/refused .*add SHA256:\S+ for build2/);
    expect(push.stderr).toMatch(/refused .*\(status\.set by build2\): unverified \(signed by an unregistered key/);
    expect(refs()).toBe(before);
  });

  it('still lets good pushes land', async () => {
    const run = await as('build2', ['status', 'set', 'building']);
    expect(run.code, run.stderr).toBe(0);
    expect(gitSync(fleet.remote, ['log', '-1', '--format=%(trailers:key=Buildctl-Actor,valueonly)', 'main']).trim()).toBe('build2');
  });
});
