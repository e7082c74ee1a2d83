// The store's local lock: the agent and an operator on one host do not run transactions
// at the same time and waste each other's cycles. It is an optimisation only: nothing
// depends on it for correctness. A transaction's push lands only if main is still the
// base it read (store/transaction.ts), so a holder that stalls, loses the lock to a
// takeover and wakes up later has its push rejected and starts again like any other
// writer that lost a race. proper-lockfile keeps the lock fresh while held; a lock left by
// a dead process goes stale and is taken over.
//
// Waiting 10 s for staleness after every `kill -9` is avoidable: the lock directory holds
// an `owner` file (pid, host, pid namespace, a random token) written the moment the
// directory is made. A lock whose owner is a process of this host and pid namespace that
// no longer exists is taken over at once. Anything less certain (no owner file yet, another
// host, a live or reused pid, an unreadable file) waits for staleness as before.
import * as fs from 'node:fs';
import { mkdir, readFile, rename, rm, rmdir, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { notNowError } from '../errors.js';
import { commonJsExports } from '../interop.js';

export interface LocalLockOptions {
  /** How long to wait for another local process to finish, in ms. */
  waitMs?: number;
  /** After how long without an update a lock counts as left by a dead process, in ms. */
  staleMs?: number;
  /** Which lock: `store` (transactions, the default) or another name, e.g. `agent` (whole ticks). */
  name?: string;
  /** What to say when it is held. */
  busyMessage?: string;
}

/** Who holds a lock directory: kept in `<lock>/owner`. */
export interface LockOwner {
  pid: number;
  host: string;
  /** The pid namespace (Linux), so a container sharing the store's disk is never judged by our pids. */
  pidns: string;
  /** Unique per acquisition: tells this lock directory from a later one. */
  token: string;
}

export const OWNER_FILE = 'owner';
const STEP_MS = 50;
/** A dead owner's lock is taken over only while proper-lockfile itself would still leave it alone. */
const TAKEOVER_MARGIN_MS = 2_000;

let pidNamespace: string | undefined;
const ownPidNamespace = (): string => {
  if (pidNamespace === undefined) {
    try {
      pidNamespace = fs.readlinkSync('/proc/self/ns/pid');
    } catch {
      pidNamespace = '';
    }
  }
  return pidNamespace;
};

export const readLockOwner = async (lockDir: string): Promise<LockOwner | undefined> => {
  try {
    const owner = JSON.parse(await readFile(join(lockDir, OWNER_FILE), 'utf8')) as Partial<LockOwner>;
    const valid = Number.isInteger(owner.pid) && typeof owner.host === 'string' && typeof owner.pidns === 'string' && typeof owner.token === 'string';
    return valid ? (owner as LockOwner) : undefined;
  } catch {
    return undefined; // none yet, half written, or gone: not certain, so not taken over
  }
};

/** True only when the owner is certainly gone: a process of this host and pid namespace that no longer exists. */
export const ownerIsDead = (owner: LockOwner): boolean => {
  if (owner.host !== hostname() || owner.pidns !== ownPidNamespace()) return false;
  if (owner.pid <= 1 || owner.pid === process.pid) return false; // 0 and negatives would address process groups
  try {
    process.kill(owner.pid, 0);
    return false; // alive (or a reused pid: then we wait for staleness)
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH'; // EPERM: alive, another user's
  }
};

/**
 * proper-lockfile's file system with the owner file added: written right after the lock
 * directory is made (before proper-lockfile reads the mtime it keeps fresh), and removed
 * before every removal of the directory (release, stale takeover, exit), which uses rmdir.
 */
const lockFs = (owner: LockOwner) => ({
  stat: fs.stat,
  utimes: fs.utimes,
  realpath: fs.realpath,
  mkdir: (path: string, callback: (error: NodeJS.ErrnoException | null) => void) =>
    fs.mkdir(path, (error) => (error ? callback(error) : fs.writeFile(join(path, OWNER_FILE), `${JSON.stringify(owner)}\n`, () => callback(null)))),
  rmdir: (path: string, callback: (error: NodeJS.ErrnoException | null) => void) =>
    fs.rm(join(path, OWNER_FILE), { force: true }, () => fs.rmdir(path, callback)),
  rmdirSync: (path: string) => {
    fs.rmSync(join(path, OWNER_FILE), { force: true });
    fs.rmdirSync(path);
  },
});

/**
 * Runs `take` as the one taker of `lockDir` (a `.takeover` directory, never waited for):
 * false when another taker is at it. A taker killed in its few lines leaves the directory;
 * it is cleared once stale.
 */
const asOnlyTaker = async (lockDir: string, staleMs: number, take: () => Promise<boolean>): Promise<boolean> => {
  const mutex = `${lockDir}.takeover`;
  try {
    await mkdir(mutex);
  } catch {
    const info = await stat(mutex).catch(() => undefined);
    if (info && Math.abs(Date.now() - info.mtimeMs) > staleMs) await rmdir(mutex).catch(() => undefined);
    return false;
  }
  try {
    return await take();
  } finally {
    await rmdir(mutex).catch(() => undefined);
  }
};

/** Moves `lockDir` aside and removes it if it is still the directory judged (`same`), or puts it back. */
const removeJudged = async (lockDir: string, aside: string, same: (dir: string) => Promise<boolean>): Promise<boolean> => {
  if (!(await rename(lockDir, aside).then(() => true, () => false))) return false;
  if (!(await same(aside))) {
    await rename(aside, lockDir).catch(() => undefined); // never keep another's lock
    return false;
  }
  await rm(aside, { recursive: true, force: true });
  return true;
};

/**
 * Removes a lock directory whose owner is dead. One taker at a time; under it nothing else
 * can replace the lock: its owner is dead, other takers are excluded, and proper-lockfile
 * removes a lock only once it is stale, which this leaves to proper-lockfile. The rename
 * moves exactly the directory that was judged (its token is checked), or puts it back.
 */
export const takeOverFromDeadOwner = async (lockDir: string, staleMs: number): Promise<boolean> => {
  const seen = await readLockOwner(lockDir);
  if (!seen || !ownerIsDead(seen)) return false;
  return asOnlyTaker(lockDir, staleMs, async () => {
    const owner = await readLockOwner(lockDir);
    const info = await stat(lockDir).catch(() => undefined);
    if (!owner || !info || owner.token !== seen.token || !ownerIsDead(owner)) return false;
    if (Date.now() - info.mtimeMs > staleMs - TAKEOVER_MARGIN_MS) return false; // proper-lockfile's to take
    return removeJudged(lockDir, `${lockDir}.dead-${owner.token}`, async (dir) => (await readLockOwner(dir))?.token === owner.token);
  });
};

/** What a lock directory was when a process began watching it (see takeOverUnchanged). */
export interface LockWatch {
  file?: string;
  since: number;
}

/**
 * Removes a lock directory whose time is ahead of this host's clock (stamped before the
 * clock was set back) once this process has watched it unchanged for staleMs. A live
 * holder refreshes its time every staleMs / 2 (proper-lockfile), so one that stays the same
 * has none; judged by its time alone (as proper-lockfile does), it would look fresh until
 * the clock caught up, and every command would wait and give up until then.
 */
export const takeOverUnchanged = async (lockDir: string, staleMs: number, watch: LockWatch): Promise<boolean> => {
  const info = await stat(lockDir).catch(() => undefined);
  if (!info) return true; // released meanwhile: try again
  if (info.mtimeMs <= Date.now()) return false; // its time can be judged: proper-lockfile's to take
  const file = `${info.ino}:${info.mtimeMs}`;
  if (watch.file !== file) {
    watch.file = file;
    watch.since = performance.now();
    return false;
  }
  if (performance.now() - watch.since < staleMs) return false;
  return asOnlyTaker(lockDir, staleMs, async () => {
    const now = await stat(lockDir).catch(() => undefined);
    if (!now || `${now.ino}:${now.mtimeMs}` !== file) return false;
    return removeJudged(lockDir, `${lockDir}.unchanged-${info.ino}`, async (dir) => (await stat(dir).catch(() => undefined))?.ino === info.ino);
  });
};

export const withLocalLock = async <T>(stateDir: string, fn: () => Promise<T>, options: LocalLockOptions = {}): Promise<T> => {
  const { lock } = commonJsExports(await import('proper-lockfile'));
  await mkdir(stateDir, { recursive: true });
  const waitMs = options.waitMs ?? 60_000;
  const staleMs = options.staleMs ?? 10_000;
  // Each named lock needs its own target path: proper-lockfile tracks held locks by target.
  const target = join(stateDir, options.name ?? 'store');
  const lockDir = `${target}.lock`;
  const owner: LockOwner = { pid: process.pid, host: hostname(), pidns: ownPidNamespace(), token: `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}` };
  // On this process's own clock: a wall clock set back meanwhile would stretch the wait.
  const deadline = performance.now() + Math.max(waitMs, 0);
  const watch: LockWatch = { since: 0 };
  let release: () => Promise<void>;
  for (;;) {
    try {
      release = await lock(target, {
        lockfilePath: lockDir,
        realpath: false,
        stale: staleMs,
        retries: 0,
        fs: lockFs(owner),
        // Taken over while this process stalled: harmless (see above), so only said.
        onCompromised: (error) => {
          process.stderr.write(`buildctl: warning: this process lost the store's local lock while it was stalled (${error.message}); its push still lands only on the state it read\n`);
        },
      });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error;
      if (await takeOverFromDeadOwner(lockDir, staleMs)) continue;
      if (await takeOverUnchanged(lockDir, staleMs, watch)) continue;
      if (performance.now() >= deadline) {
        throw notNowError(options.busyMessage ?? 'another buildctl process on this host is using the store', {
          code: 'store_busy',
          hint: `wait for it to finish, or remove ${lockDir} if no buildctl process is running`,
        });
      }
      await sleep(STEP_MS * (1 + Math.random()));
    }
  }
  try {
    return await fn();
  } finally {
    await release().catch(() => undefined);
  }
};
