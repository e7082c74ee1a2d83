// Ref locks left by killed git processes. git takes `<ref>.lock` for the few milliseconds
// of a ref update and waits at most 100 ms for one held by someone else; a process killed
// in that window (a `kill -9` of buildctl with its git children, an OOM kill of the
// cgroup) leaves the file behind, and every later fetch or push that needs the ref fails
// until someone removes it. A ref lock that has stayed for seconds is certainly stale, so
// buildctl removes it, but only a ref lock (never `index.lock`, which a person's `git
// commit` holds while its editor is open) and only inside the store's own repository or
// its local remote.
import { rm, stat } from 'node:fs/promises';
import { relative, resolve, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Far longer than any live ref update (git itself gives up on a held ref lock after 100 ms). */
export const REF_LOCK_STALE_MS = 5_000;

/** The lock file git said it could not create, if that is why it failed. */
export const blockingLockIn = (output: string): string | undefined => /Unable to create '([^']+\.lock)': File exists/.exec(output)?.[1];

const isRefLock = (lock: string, repos: readonly string[]): boolean =>
  repos.some((repo) => {
    const inside = relative(resolve(repo), resolve(lock));
    if (inside.startsWith('..') || inside.startsWith(sep)) return false;
    return inside === 'packed-refs.lock' || inside.startsWith(`refs${sep}`) || inside === 'HEAD.lock';
  });

/**
 * Waits (at most until it is REF_LOCK_STALE_MS old) for a ref lock of `repos` to go, and
 * removes it if it stays. True when the lock is gone, so the git command is worth running
 * again; false for any other file. Its age is the older of what its time says and how
 * long this process has watched the same file: a time ahead of the clock (stamped before
 * the clock was set back) would otherwise make a dead git's lock look fresh until then.
 */
export const clearStaleRefLock = async (lock: string, repos: readonly string[]): Promise<boolean> => {
  if (!isRefLock(lock, repos)) return false;
  let watched: { file: string; since: number } | undefined;
  for (;;) {
    const info = await stat(lock).catch(() => undefined);
    if (!info) return true;
    const file = `${info.ino}:${info.mtimeMs}`;
    if (watched?.file !== file) watched = { file, since: performance.now() };
    const age = Math.max(Date.now() - info.mtimeMs, performance.now() - watched.since);
    if (age >= REF_LOCK_STALE_MS) {
      await rm(lock, { force: true });
      return true;
    }
    await sleep(Math.min(REF_LOCK_STALE_MS - age + 10, 250));
  }
};
