// Signatures made in-process are the ones OpenSSH and git make and accept: keys written by
// buildctl are read by ssh-keygen and the other way round, signatures verify both ways, and
// commits buildctl signs (main's, heartbeats', the seed) pass `git verify-commit` with an
// allowed-signers file, as an operator would check them by hand.
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyFiles, parsePrivateKey, parsePublicKey, signMessage, verifyMessage } from '../../src/store/sshsig.js';
import { ensureSigningKey, loadSigner } from '../../src/store/signing-key.js';
import { storeAt } from '../../src/store/store.js';
import { gitSync, makeFleet, tempDir, testContext, type Fleet } from '../helpers/fleet.js';

const SSH_KEYGEN = '/usr/bin/ssh-keygen';

const keygen = (args: string[], input?: string | Buffer) => {
  const run = spawnSync(SSH_KEYGEN, args, { input, encoding: 'utf8' });
  return { code: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
};

let scratch: ReturnType<typeof tempDir>;
beforeAll(() => {
  scratch = tempDir('buildctl-signing-');
});
afterAll(() => scratch.cleanup());

describe('keys and signatures, against ssh-keygen', () => {
  it('a key buildctl writes is an OpenSSH key: ssh-keygen derives the same public key from it', () => {
    const files = generateKeyFiles('build1@test');
    const path = join(scratch.dir, 'ours');
    writeFileSync(path, files.privateText, { mode: 0o600 });
    const derived = keygen(['-y', '-f', path]);
    expect(derived.code, derived.stderr).toBe(0);
    expect(derived.stdout.trim().split(' ').slice(0, 2)).toEqual(files.publicText.trim().split(' ').slice(0, 2));
    expect(parsePrivateKey(files.privateText).publicKey.text).toBe(files.publicText.trim().split(' ').slice(0, 2).join(' '));
  });

  it('a key ssh-keygen writes is read by buildctl, with its fingerprint as ssh-keygen -l prints it', () => {
    const path = join(scratch.dir, 'theirs');
    expect(keygen(['-q', '-t', 'ed25519', '-N', '', '-C', 'op@laptop', '-f', path]).code).toBe(0);
    const key = parsePrivateKey(readFileSync(path, 'utf8'));
    const pub = parsePublicKey(readFileSync(`${path}.pub`, 'utf8'));
    expect(key.publicKey.blob).toBe(pub.blob);
    expect(pub.comment).toBe('op@laptop');
    expect(keygen(['-l', '-f', `${path}.pub`]).stdout).toContain(pub.fingerprint);
  });

  it('refuses what it cannot use, saying why: a passphrase, another key type, garbage', () => {
    const locked = join(scratch.dir, 'locked');
    keygen(['-q', '-t', 'ed25519', '-N', 'secret words', '-f', locked]);
    expect(() => parsePrivateKey(readFileSync(locked, 'utf8'))).toThrow(/passphrase/);
    const rsa = join(scratch.dir, 'rsa');
    keygen(['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-f', rsa]);
    expect(() => parsePrivateKey(readFileSync(rsa, 'utf8'))).toThrow(/ssh-rsa key/);
    expect(() => parsePublicKey(readFileSync(`${rsa}.pub`, 'utf8'))).toThrow(/ssh-rsa key/);
    expect(() => parsePrivateKey('hello')).toThrow(/not an OpenSSH private key/);
    expect(() => parsePublicKey('ssh-ed25519 AAAA')).toThrow(/key data/);
  });

  it('signatures verify both ways: ours with ssh-keygen -Y verify, ssh-keygen -Y sign with ours', () => {
    const files = generateKeyFiles('build1');
    const key = parsePrivateKey(files.privateText);
    const message = Buffer.from('tree 0000\nauthor x\n\nthe commit\n');
    const signers = join(scratch.dir, 'allowed');
    writeFileSync(signers, `build1 ${files.publicText}`);
    const signature = join(scratch.dir, 'ours.sig');
    writeFileSync(signature, signMessage(key, message));
    const checked = keygen(['-Y', 'verify', '-f', signers, '-I', 'build1', '-n', 'git', '-s', signature], message);
    expect(checked.code, checked.stderr).toBe(0);
    expect(checked.stdout).toContain('Good "git" signature for build1');

    const path = join(scratch.dir, 'signer');
    writeFileSync(path, files.privateText, { mode: 0o600 });
    const data = join(scratch.dir, 'data');
    writeFileSync(data, message);
    expect(keygen(['-Y', 'sign', '-f', path, '-n', 'git', data]).code).toBe(0);
    const theirs = readFileSync(`${data}.sig`, 'utf8');
    const good = verifyMessage(theirs, message);
    expect(good.kind).toBe('good');
    expect(good.kind === 'good' && good.key.blob).toBe(key.publicKey.blob);
    expect(verifyMessage(theirs, Buffer.from('tree 0000\nauthor y\n\nthe commit\n'))).toMatchObject({ kind: 'bad', reason: expect.stringMatching(/does not match/) });
    expect(verifyMessage(signMessage(key, message, 'file'), message)).toMatchObject({ kind: 'bad', reason: expect.stringMatching(/namespace "file"/) });
    expect(verifyMessage('-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n', message).kind).toBe('bad');
  });
});

describe('commits buildctl signs pass git verify-commit', () => {
  let fleet: Fleet;
  let allowed: string;
  beforeAll(async () => {
    fleet = await makeFleet(['build1']);
    const store = storeAt(fleet.stores.build1!);
    const key = await ensureSigningKey(store, { comment: 'build1' });
    allowed = join(fleet.root, 'allowed_signers');
    writeFileSync(allowed, `build1 ${key.publicKey.text}\n`);
  });
  afterAll(() => fleet.cleanup());

  const verifyCommit = (ref: string) => {
    const run = spawnSync('git', ['-c', `gpg.ssh.allowedSignersFile=${allowed}`, 'verify-commit', '-v', ref], { cwd: fleet.remote, encoding: 'utf8' });
    return { code: run.status, stderr: run.stderr };
  };

  it('a transaction on main', async () => {
    const { setStatus } = await import('../../src/ops/status-set.js');
    const outcome = await setStatus(testContext(fleet.stores.build1!, 'build1'), { state: 'building' });
    expect(outcome.commit).toBeTruthy();
    const checked = verifyCommit('main');
    expect(checked.code, checked.stderr).toBe(0);
    expect(checked.stderr).toContain('Good "git" signature for build1 with ED25519 key');
    const shown = gitSync(fleet.remote, ['-c', `gpg.ssh.allowedSignersFile=${allowed}`, 'log', '-1', '--show-signature', 'main']);
    expect(shown).toContain('Good "git" signature for build1');
    // The commit body is git's own: fsck finds nothing to complain about.
    gitSync(fleet.remote, ['fsck', '--strict', '--no-dangling']);
  });

  it('a heartbeat', async () => {
    const { heartbeat } = await import('../../src/ops/heartbeat.js');
    await heartbeat(testContext(fleet.stores.build1!, 'build1'));
    const checked = verifyCommit('heartbeat/build1');
    expect(checked.code, checked.stderr).toBe(0);
    expect(gitSync(fleet.remote, ['rev-list', '--count', 'heartbeat/build1']).trim()).toBe('1');
  });

  it('a commit with an altered message fails it (the check is not a rubber stamp)', () => {
    const raw = gitSync(fleet.remote, ['cat-file', 'commit', 'main']);
    const altered = raw.replace('status.set build1', 'status.set build2');
    const sha = gitSync(fleet.remote, ['hash-object', '-t', 'commit', '-w', '--stdin'], altered).trim();
    expect(verifyCommit(sha).code).not.toBe(0);
  });

  it('a clone without a key (one set up before keys existed) makes unsigned commits, as before', async () => {
    const other = await makeFleet(['build1']);
    try {
      const store = storeAt(other.stores.build1!);
      expect(gitSync(other.remote, ['cat-file', 'commit', 'main'])).toContain('gpgsig');
      rmSync(join(store.stateDir, 'signing-key'));
      expect(await loadSigner(store)).toBeUndefined();
      const { setStatus } = await import('../../src/ops/status-set.js');
      await setStatus(testContext(other.stores.build1!, 'build1'), { state: 'idle' });
      expect(gitSync(other.remote, ['cat-file', 'commit', 'main'])).not.toContain('gpgsig');
    } finally {
      other.cleanup();
    }
  });

  it('refuses a key others can read, as ssh does', async () => {
    const store = storeAt(fleet.stores.build1!);
    const path = join(store.stateDir, 'signing-key');
    chmodSync(path, 0o644);
    try {
      await expect(loadSigner(store)).rejects.toThrow(/others may read it/);
    } finally {
      chmodSync(path, 0o600);
    }
  });
});
