// The clone's signing key: one ed25519 key per builder, never in the store. By default it
// is `.git/buildctl/signing-key` (mode 0600, with `signing-key.pub` beside it); an operator
// may keep it elsewhere and name the path in the clone's git config (`buildctl.signingKey`).
// Every commit this clone makes is signed with it (store/objects.ts); without one, commits
// are unsigned, as before keys existed.
import { constants } from 'node:fs';
import { chmod, mkdir, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { failedError, usageError } from '../errors.js';
import { git } from './git.js';
import { generateKeyFiles, parsePrivateKey, signMessage, type PublicKey, type SigningKey } from './sshsig.js';
import type { Store } from './store.js';

export const SIGNING_KEY_CONFIG = 'buildctl.signingKey';
export const defaultKeyPath = (store: Store): string => join(store.stateDir, 'signing-key');

/** Where the clone's key is (or would be): the configured path, else the default. */
export const keyPathOf = async (store: Store): Promise<string> => {
  const configured = await git(store.dir, ['config', '--local', '--get', SIGNING_KEY_CONFIG], { allowFail: true });
  const path = configured.code === 0 ? configured.stdout.trim() : '';
  return path === '' ? defaultKeyPath(store) : resolve(store.dir, path);
};

export interface Signer {
  key: SigningKey;
  path: string;
  /** The armored signature of a commit payload. */
  sign: (payload: Buffer) => string;
}

const unusable = (path: string, reason: string, hint: string) =>
  failedError(`the signing key ${path} cannot be used: ${reason}`, { code: 'signing_key_unusable', hint });

const loadFrom = async (path: string): Promise<Signer | undefined> => {
  // Read through a descriptor that refuses a link, and check that nobody else can read it
  // (as ssh does): a private key others can read may already be someone else's.
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    if (error.code === 'ELOOP') throw unusable(path, 'it is a symbolic link', `name the key file itself: git config ${SIGNING_KEY_CONFIG} /path/to/key`);
    throw unusable(path, error.message, 'check the file and its permissions');
  });
  if (!handle) return undefined;
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw unusable(path, 'it is not a regular file', `point ${SIGNING_KEY_CONFIG} at the key file`);
    if ((info.mode & 0o077) !== 0) throw unusable(path, `others may read it (mode ${(info.mode & 0o777).toString(8)})`, `chmod 600 ${path}`);
    let key: SigningKey;
    try {
      key = parsePrivateKey(await handle.readFile('utf8'));
    } catch (error) {
      throw unusable(path, `it is ${(error as Error).message}`, 'give buildctl an unencrypted ed25519 key of its own (buildctl init --signing-key PATH creates one there)');
    }
    return { key, path, sign: (payload) => signMessage(key, payload) };
  } finally {
    await handle.close();
  }
};

/**
 * The clone's signer, or undefined when it has no key (its commits are unsigned). Reads
 * git config only when the default file is absent, so a signed commit costs no process.
 */
export const loadSigner = async (store: Store): Promise<Signer | undefined> =>
  (await loadFrom(defaultKeyPath(store))) ?? (await loadFrom(await keyPathOf(store)));

export interface EnsuredKey {
  path: string;
  publicKey: PublicKey;
  created: boolean;
}

/**
 * Makes sure the clone has a signing key: an existing one (at `path`, or where the clone
 * already keeps it) is kept; otherwise a new ed25519 key is written (mode 0600, its `.pub`
 * beside it). A path outside the default is recorded in the clone's git config.
 */
export const ensureSigningKey = async (store: Store, options: { path?: string | undefined; comment: string }): Promise<EnsuredKey> => {
  const current = await keyPathOf(store);
  const wanted = options.path === undefined ? current : resolve(options.path);
  if (wanted !== current && (await loadFrom(current))) {
    throw usageError(`this clone already signs with the key ${current}, not ${wanted}`, {
      code: 'signing_key_exists',
      hint: 'keep using it, or rotate: buildctl builder key add ID --key NEW.pub, then point the clone at the new key (git config buildctl.signingKey PATH) and revoke the old one',
    });
  }
  const insideStore = wanted.startsWith(`${resolve(store.dir)}/`) && !wanted.startsWith(`${resolve(store.dir, '.git')}/`);
  if (insideStore) {
    throw usageError(`refusing to keep the signing key inside the store's work tree (${wanted}): a push would publish it`, {
      code: 'signing_key_in_store',
      hint: 'keep it in the clone\'s git directory (the default) or anywhere outside the store',
    });
  }
  const existing = await loadFrom(wanted);
  let created = false;
  let publicKey: PublicKey;
  if (existing) {
    publicKey = existing.key.publicKey;
  } else {
    const exists = await stat(wanted).then(() => true, () => false);
    if (exists) throw unusable(wanted, 'it exists but is not a key', 'move it away, or name another path');
    await mkdir(dirname(wanted), { recursive: true, mode: 0o700 });
    const files = generateKeyFiles(options.comment);
    const temp = `${wanted}.tmp-${process.pid}`;
    await writeFile(temp, files.privateText, { mode: 0o600, flag: 'wx' });
    await chmod(temp, 0o600);
    await rename(temp, wanted).catch(async (error: unknown) => {
      await rm(temp, { force: true });
      throw error;
    });
    await writeFile(`${wanted}.pub`, files.publicText, { mode: 0o644 });
    created = true;
    publicKey = parsePrivateKey(files.privateText).publicKey;
  }
  if (wanted !== defaultKeyPath(store)) {
    const current = await git(store.dir, ['config', '--local', '--get', SIGNING_KEY_CONFIG], { allowFail: true });
    if (current.stdout.trim() !== wanted) await git(store.dir, ['config', '--local', SIGNING_KEY_CONFIG, wanted]);
  }
  return { path: wanted, publicKey, created };
};
