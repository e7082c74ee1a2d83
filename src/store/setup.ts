// Creating stores: the embedded bare remote, clones, per-repository git settings and the
// first commit of an empty remote. Idempotent: each step checks before it acts.
import { appendFile, mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { unreachableError, usageError } from '../errors.js';
import { git, GitError, gitReason } from './git.js';
import { fetchMain, MAIN, ORIGIN_MAIN, REMOTE, storeAt, type Store } from './store.js';
import { writeCommitObjects } from './objects.js';
import { committer } from './transaction.js';
import { IDENTITY_FILE, refreshView } from './view.js';

const isDir = (path: string) => stat(path).then((s) => s.isDirectory(), () => false);

export const isBareRepo = async (path: string): Promise<boolean> =>
  (await isDir(path)) && (await git(path, ['rev-parse', '--is-bare-repository'], { allowFail: true })).stdout.trim() === 'true';

/** Creates a local bare repository to serve as the fleet's remote. Returns whether it was created. */
export const ensureBareRemote = async (path: string): Promise<boolean> => {
  if (await isBareRepo(path)) return false;
  await mkdir(dirname(path), { recursive: true });
  await git(dirname(path), ['init', '--quiet', '--bare', '--initial-branch', MAIN, path]);
  return true;
};

export const remoteUrl = async (dir: string): Promise<string | undefined> => {
  const run = await git(dir, ['remote', 'get-url', REMOTE], { allowFail: true });
  return run.code === 0 ? run.stdout.trim() : undefined;
};

/**
 * Clones the remote into `dir` unless a clone is already there. Returns whether it cloned.
 * git's clone writes no work tree: the view is checked out as every refresh does it
 * (store/view.ts), so a `.build_server_id` someone pushed never lands where this builder
 * would read its identity.
 */
export const ensureClone = async (remote: string, dir: string, warn: (line: string) => void): Promise<boolean> => {
  if (await isDir(join(dir, '.git'))) return false;
  await mkdir(dirname(dir), { recursive: true });
  try {
    await git(dirname(dir), ['clone', '--quiet', '--no-tags', '--no-checkout', remote, dir]);
  } catch (error) {
    if (error instanceof GitError) {
      throw unreachableError(`cannot clone ${remote}: ${gitReason(error.result.stderr)}`, {
        code: 'remote_unreachable',
        hint: 'check the URL and that this host can reach it (git ls-remote URL)',
      });
    }
    throw error;
  }
  const store = storeAt(dir);
  if ((await git(dir, ['rev-parse', '--verify', '--quiet', ORIGIN_MAIN], { allowFail: true })).code === 0) await checkOutMain(store, warn);
  return true;
};

/**
 * Per-clone git settings: an identity for commits (CI and fresh hosts have no global one),
 * no reflogs (heartbeat refs are replaced every minute; history lives on the remote), and
 * the local builder-id file kept out of git. Returns the names of the settings it changed.
 */
export const configureClone = async (store: Store, identity: { name: string; email: string }): Promise<string[]> => {
  const changed: string[] = [];
  const ensure = async (key: string, value: string, onlyIfUnset: boolean) => {
    const current = await git(store.dir, ['config', '--local', '--get', key], { allowFail: true });
    if (current.code === 0 && (onlyIfUnset || current.stdout.trim() === value)) return;
    await git(store.dir, ['config', '--local', key, value]);
    changed.push(key);
  };
  await ensure('user.name', identity.name, true);
  await ensure('user.email', identity.email, true);
  await ensure('core.logAllRefUpdates', 'false', false);
  await ensure('gc.reflogExpireUnreachable', 'now', false);
  await ensure('gc.pruneExpire', '1.hour.ago', false);
  const exclude = join(store.dir, '.git', 'info', 'exclude');
  const text = await readFile(exclude, 'utf8').catch(() => '');
  if (!text.split('\n').includes('/.build_server_id')) {
    await mkdir(dirname(exclude), { recursive: true });
    await appendFile(exclude, `${text === '' || text.endsWith('\n') ? '' : '\n'}/.build_server_id\n`);
    changed.push('info/exclude');
  }
  await mkdir(store.stateDir, { recursive: true });
  return changed;
};

/** Puts the clone on main at origin/main and checks the view out, as a refresh after a transaction does. */
const checkOutMain = async (store: Store, warn: (line: string) => void): Promise<void> => {
  const to = (await git(store.dir, ['rev-parse', '--verify', ORIGIN_MAIN])).stdout.trim();
  const local = await git(store.dir, ['rev-parse', '--verify', '--quiet', `refs/heads/${MAIN}`], { allowFail: true });
  await git(store.dir, ['symbolic-ref', 'HEAD', `refs/heads/${MAIN}`]);
  const tracksIdentity = (await git(store.dir, ['cat-file', '-e', `${ORIGIN_MAIN}:${IDENTITY_FILE}`], { allowFail: true })).code === 0;
  await refreshView(store, local.code === 0 ? local.stdout.trim() : undefined, to, warn, tracksIdentity);
};

/**
 * Gives an empty remote its first commit (the seed documents) and puts the clone on main.
 * Returns false when the remote already has main (the clone is then put on it). The commit
 * is built from objects like every transaction's (store/transaction.ts): nothing is
 * written to the work tree but git's own checkout of the result.
 */
export const ensureSeeded = async (store: Store, seed: Record<string, string>, actor: string, warn: (line: string) => void): Promise<boolean> => {
  const heads = await git(store.dir, ['ls-remote', '--heads', REMOTE, MAIN], { allowFail: true });
  if (heads.code !== 0) {
    throw unreachableError(`cannot reach the store's remote: ${gitReason(heads.stderr)}`, {
      code: 'remote_unreachable',
      hint: 'check the network and the remote (git -C <store> remote -v)',
    });
  }
  if (heads.stdout.trim() !== '') {
    await fetchMain(store);
    const onMain = await git(store.dir, ['rev-parse', '--verify', '--quiet', `refs/heads/${MAIN}`], { allowFail: true });
    if (onMain.code !== 0) await checkOutMain(store, warn);
    return false;
  }
  const files = Object.entries(seed).map(([path, text]) => ({ path, mode: '100644', text }));
  const ident = await committer(store);
  const hexLength = (await git(store.dir, ['rev-parse', '--show-object-format'])).stdout.trim() === 'sha256' ? 64 : 40;
  const message = `store.init: seed the store\n\nBuildctl-Op: store.init\nBuildctl-Actor: ${actor}\n`;
  const { commit } = await writeCommitObjects(store.dir, undefined, { parent: undefined, files, message, ...ident, time: Math.floor(Date.now() / 1000) }, hexLength);
  const push = await git(store.dir, ['push', '--quiet', REMOTE, `${commit}:refs/heads/${MAIN}`], { allowFail: true });
  await fetchMain(store);
  await checkOutMain(store, warn);
  if (push.code !== 0) return false; // another init seeded it first: theirs it is
  await git(store.dir, ['branch', '--quiet', '--set-upstream-to', ORIGIN_MAIN.replace('refs/remotes/', ''), MAIN], { allowFail: true });
  return true;
};

export const checkSameRemote = async (dir: string, wanted: string): Promise<void> => {
  const current = await remoteUrl(dir);
  if (current !== undefined && current !== wanted) {
    throw usageError(`the store at ${dir} already uses the remote ${current}, not ${wanted}`, {
      code: 'remote_mismatch',
      hint: `use another --store for a second fleet, or change it with: git -C ${dir} remote set-url origin ${wanted}`,
    });
  }
};

export { storeAt };
