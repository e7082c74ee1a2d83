// The clone's work tree is a view for people (they `cat` files in the store); buildctl
// never reads it and never relies on it. After a commit lands, the local branch `main`
// moves to it by compare-and-swap and the work tree follows, best effort: nothing here
// can fail the operation, which has landed already.
//
// - `main` moves only from the value the transaction saw, and only forward (a local
//   commit a person has not pushed yet is never dropped from it).
// - The work tree is updated through a private copy of the index that is renamed over
//   `.git/index` at the end: buildctl never takes `.git/index.lock`, so a buildctl killed
//   here cannot leave one behind. A `.git/index.lock` someone else holds (or left) means
//   the view is not refreshed, with a warning; the mutation itself is unaffected.
// - git's own checkout writes the files: it replaces a symbolic link in the work tree
//   instead of writing through it, so a link pushed by someone else cannot make the view
//   write outside the store. Attributes (an encoding, a filter) apply to the view only;
//   if they make git fail, the view is stale and the warning says why.
// - A `.build_server_id` committed to main is never checked out: the store's own file of
//   that name (untracked, excluded) may be how this builder knows who it is
//   (ops/identity.ts), and a push must not be able to rename it. When main has one, the
//   view is main's tree without it.
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isAncestor } from './refs.js';
import { git, gitReason } from './git.js';
import { blockingLockIn, clearStaleRefLock } from './git-locks.js';
import { MAIN, type Store } from './store.js';

const LOCAL_MAIN = `refs/heads/${MAIN}`;
const PRIVATE_INDEX = 'view-index';
/** The root entry no checkout of main may write. */
export const IDENTITY_FILE = '.build_server_id';

/** Main's root tree without IDENTITY_FILE, written as a tree object: what the view checks out instead. */
const treeWithoutIdentity = async (store: Store): Promise<string> => {
  const listed = (await git(store.dir, ['ls-tree', '-z', LOCAL_MAIN])).stdout.split('\0').filter((entry) => entry !== '');
  const kept = listed.filter((entry) => entry.slice(entry.indexOf('\t') + 1) !== IDENTITY_FILE);
  return (await git(store.dir, ['mktree', '-z'], { input: kept.map((entry) => `${entry}\0`).join('') })).stdout.trim();
};

const exists = (path: string) => stat(path).then(() => true, () => false);

/** Moves local main from `from` (undefined: it did not exist) to `to`; false when someone else moved it. */
const moveMain = async (store: Store, from: string | undefined, to: string): Promise<boolean> => {
  const args = ['update-ref', LOCAL_MAIN, to, from ?? '0'.repeat(to.length)];
  let run = await git(store.dir, args, { allowFail: true });
  const lock = run.code === 0 ? undefined : blockingLockIn(run.stderr);
  if (lock !== undefined && (await clearStaleRefLock(lock, [join(store.dir, '.git')]))) run = await git(store.dir, args, { allowFail: true });
  return run.code === 0;
};

/**
 * Leftover private indexes of refreshes that were killed (a minute old: not one running
 * now; or a minute ahead of the clock, written before it was set back): harmless, removed
 * when seen.
 */
const removeLeftovers = async (store: Store): Promise<void> => {
  const names = await readdir(store.stateDir).catch(() => [] as string[]);
  for (const name of names.filter((entry) => entry.startsWith(`${PRIVATE_INDEX}.`))) {
    const path = join(store.stateDir, name);
    const info = await stat(path).catch(() => undefined);
    if (info && Math.abs(Date.now() - info.mtimeMs) > 60_000) await rm(path, { force: true });
  }
};

/**
 * After `to` landed on a base whose local main was `from` (as the transaction read it):
 * moves main and refreshes the work tree. Never throws; says on `warn` what it left alone.
 * `tracksIdentity`: main's root has IDENTITY_FILE (someone pushed one); it is left out.
 */
export const refreshView = async (store: Store, from: string | undefined, to: string, warn: (line: string) => void, tracksIdentity = false): Promise<void> => {
  try {
    const lastSet = (await readFile(join(store.stateDir, 'view'), 'utf8').catch(() => '')).trim();
    if (from !== undefined && from !== lastSet && !(await isAncestor(store.dir, from, to))) {
      warn(`warning: the store's local main has commits that are not on the remote; main and the work tree were left as they are (push them, or "git -C ${store.dir} reset --hard origin/main" to drop them)`);
      return;
    }
    if (!(await moveMain(store, from, to))) return; // another process moved it meanwhile: its view is at least as new
    // What buildctl last moved main to: a commit on the remote, so moving on from it needs no ancestry check.
    await writeFile(join(store.stateDir, 'view'), `${to}\n`).catch(() => undefined);
    const head = (await readFile(join(store.dir, '.git', 'HEAD'), 'utf8').catch(() => '')).trim();
    if (head !== `ref: ${LOCAL_MAIN}`) return; // a person checked out something else: their view
    const index = join(store.dir, '.git', 'index');
    if (await exists(`${index}.lock`)) {
      warn(`warning: the store's work tree was not refreshed: ${index}.lock exists (a git command is running in the store, or one was killed); remove it if no git command is running there`);
      return;
    }
    await removeLeftovers(store);
    await mkdir(store.stateDir, { recursive: true }); // a clone being set up has none yet
    const scratch = join(store.stateDir, `${PRIVATE_INDEX}.${process.pid}.${Date.now().toString(36)}`);
    await copyFile(index, scratch).catch(() => undefined); // no index yet: read-tree starts one
    if (tracksIdentity) warn(`warning: main has a ${IDENTITY_FILE} (someone pushed one): the store's work tree leaves it out, this builder's own is kept; remove it from main`);
    const target = tracksIdentity ? await treeWithoutIdentity(store) : LOCAL_MAIN;
    const run = await git(store.dir, ['read-tree', '--reset', '-u', target], { allowFail: true, env: { GIT_INDEX_FILE: scratch } });
    if (run.code !== 0) {
      await rm(scratch, { force: true });
      warn(`warning: the store's work tree was not fully refreshed (git read-tree: ${gitReason(run.stderr)}); buildctl does not read it, so nothing else is affected`);
      return;
    }
    await rename(scratch, index);
  } catch (error) {
    warn(`warning: the store's work tree was not refreshed: ${error instanceof Error ? error.message : String(error)}`);
  }
};
