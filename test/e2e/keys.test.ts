// Key rotation and revocation with real keys (issue 18): a builder adds its new key with its
// old one, switches, and revokes the old; a signature by the revoked key on a later change
// is forged (judged by its place in history, not by a time the signer chose), earlier ones
// stay verified with a note. Only the builder itself or an operator may revoke or add its
// keys; the allowed-signers file lets plain git check the same commits.
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addKeyOp } from '../../src/ops/signers.js';
import { generateKeyFiles, parsePrivateKey } from '../../src/store/sshsig.js';
import { gitSync, makeFleet, runCli, testContext, type Fleet } from '../helpers/fleet.js';

let fleet: Fleet;
const as = (id: string, args: string[]) => runCli(['--store', fleet.stores[id]!, '--as', id, ...args]);
const ok = async (id: string, args: string[]): Promise<string> => {
  const run = await as(id, args);
  if (run.code !== 0) throw new Error(`${args.join(' ')} exited ${run.code}: ${run.stderr}`);
  return run.stdout;
};
const keyFile = (id: string) => join(fleet.stores[id]!, '.git', 'buildctl', 'signing-key');
const mainSha = () => gitSync(fleet.remote, ['rev-parse', 'main']).trim();

interface Event {
  commit: string;
  op: string;
  signature: { verdict: string; reason: string; note: string | null };
}
const events = async (): Promise<Event[]> => (JSON.parse(await ok('build2', ['log', '--all', '--json'])) as { events: Event[] }).events;

let oldKey: string;
let newFingerprint: string;
const commits: Record<string, string> = {};

beforeAll(async () => {
  fleet = await makeFleet(['build1', 'build2']);
  for (const id of ['build1', 'build2']) await addKeyOp(testContext(fleet.stores[id]!, id), { id });
  oldKey = join(fleet.root, 'build1-old-key');
  copyFileSync(keyFile('build1'), oldKey);
}, 60_000);
afterAll(() => fleet?.cleanup());

describe('rotating a key', () => {
  it('build1 adds a second key with its first, switches to it and revokes the first', async () => {
    await ok('build1', ['status', 'set', 'idle']);
    commits.before = mainSha();
    const files = generateKeyFiles('build1 rotated');
    const pub = join(fleet.root, 'new.pub');
    writeFileSync(pub, files.publicText);
    newFingerprint = parsePrivateKey(files.privateText).publicKey.fingerprint;
    expect(await ok('build1', ['builder', 'key', 'add', 'build1', '--key', pub])).toContain(`added: key ${newFingerprint} for build1`);
    writeFileSync(keyFile('build1'), files.privateText, { mode: 0o600 });
    const oldFingerprint = parsePrivateKey(readFileSync(oldKey, 'utf8')).publicKey.fingerprint;
    expect(await ok('build1', ['builder', 'key', 'revoke', 'build1', '--key', oldFingerprint, '--reason', 'rotated'])).toContain(`revoked key ${oldFingerprint} of build1`);
    await ok('build1', ['status', 'set', 'building']);
    commits.after = mainSha();
    const list = JSON.parse(await ok('build2', ['builder', 'key', 'list', '--json'])) as { keys: { keys: Array<{ id: string; fingerprint: string; standing: string; revoked_reason: string | null }> } };
    expect(list.keys.keys.filter((k) => k.id === 'build1').map((k) => [k.fingerprint, k.standing, k.revoked_reason])).toEqual([
      [oldFingerprint, 'revoked', 'rotated'],
      [newFingerprint, 'active', null],
    ]);
  });

  it('a change signed later with the revoked key is forged; earlier ones stay verified, with a note', async () => {
    // Someone who kept the old key (a stolen backup) writes as build1; it lands, nothing being enforced.
    copyFileSync(oldKey, keyFile('build1'));
    await ok('build1', ['status', 'set', 'failed']);
    commits.stolen = mainSha();
    const all = await events();
    const of = (commit: string | undefined) => all.find((e) => e.commit === commit)!.signature;
    expect(of(commits.stolen)).toMatchObject({ verdict: 'forged', reason: expect.stringContaining("signed by build1's key SHA256:") });
    expect(of(commits.stolen).reason).toContain('revoked before this change');
    expect(of(commits.before)).toMatchObject({ verdict: 'verified', note: expect.stringContaining('made before its key was revoked') });
    expect(of(commits.after)).toMatchObject({ verdict: 'verified', note: null });
    expect(await ok('build2', ['log'])).toMatch(/status\.set +verified\* +build1 idle/);
  });

  it('another builder can neither revoke build1\'s key nor add one for it', async () => {
    const revoke = await as('build2', ['builder', 'key', 'revoke', 'build1', '--key', newFingerprint]);
    expect([revoke.code, revoke.stderr]).toEqual([2, expect.stringContaining('no reader would count this change: revoke')]);
    const stranger = generateKeyFiles('stranger');
    const add = await as('build2', ['builder', 'key', 'add', 'build1', '--key', stranger.publicText]);
    expect([add.code, add.stderr]).toEqual([2, expect.stringContaining('no reader would count this change: add')]);
    // A revoked key is never trusted again, whoever asks.
    const again = await as('build1', ['builder', 'key', 'add', 'build1', '--key', `${oldKey}`]);
    expect([again.code, again.stderr]).toEqual([2, expect.stringContaining('was revoked')]);
  });

  it('a private key pasted as --key is refused without echoing it', async () => {
    const secret = readFileSync(oldKey, 'utf8');
    const run = await as('build2', ['builder', 'key', 'add', 'build2', '--key', secret.replace('OPENSSH PRIVATE KEY', 'OPENSSH PRIVATE KEX')]);
    expect(run.code).toBe(2);
    expect(`${run.stdout}${run.stderr}`).not.toContain(secret.split('\n')[1]!);
  });

  it('git verify-commit accepts the verified commits with the allowed-signers file buildctl writes', async () => {
    const allowed = join(fleet.root, 'allowed_signers');
    writeFileSync(allowed, await ok('build2', ['builder', 'key', 'list', '--allowed-signers']));
    expect(readFileSync(allowed, 'utf8')).toMatch(/^build1 namespaces="git",valid-before="\d{14}Z" ssh-ed25519 /m);
    const run = spawnSync('git', ['-c', `gpg.ssh.allowedSignersFile=${allowed}`, 'verify-commit', commits.after!], { cwd: fleet.remote, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toContain('Good "git" signature for build1');
  });
});
