// The store's local lock: the agent and an operator on one host do not run transactions
// at the same time and waste each other's cycles. It is an optimisation only: nothing
// depends on it for correctness. A transaction's push lands only if main is still the
// base it read (store/transaction.ts), so a holder that stalls, loses the lock to a
// takeover and wakes up later has its push rejected and starts again like any other
// writer that lost a race.
//
// The lock is a directory (made atomically with mkdir) holding an `owner` file (pid, host,
// pid namespace, a random token) written the moment the directory is made. Its holder
// keeps its time fresh (every half of the staleness); a lock not refreshed for the
// staleness (10 s: its holder is stopped, or died) is taken over. Waiting that long after
// every `kill -9` is avoidable: a lock whose owner is a process of this host and pid
// namespace that no longer exists is taken over at once. Anything less certain (no owner
// file yet, another host, a live or reused pid, an unreadable file) waits for staleness.
// (proper-lockfile did this before; its import, with graceful-fs and signal-exit, cost about
// 10 ms of every command's start.)
import * as fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, rmdir, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { notNowError } from '../errors.js';

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
/** A dead owner's lock is taken over only while staleness would still leave it alone. */
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

/** What identifies one lock directory: its owner's token, or (no owner file) its inode. */
const identityOf = async (lockDir: string): Promise<string | undefined> => {
  const owner = await readLockOwner(lockDir);
  if (owner) return `token ${owner.token}`;
  const info = await stat(lockDir).catch(() => undefined);
  return info ? `inode ${info.ino}` : undefined;
};

/**
 * Removes a lock directory left behind: its owner is dead (`dead`), or it was not
 * refreshed for the staleness (`stale`). One taker at a time (a `.takeover` directory,
 * never waited for); under it nothing else can replace the lock: other takers are
 * excluded, a dead owner refreshes nothing, and a dead owner's lock is taken only while it
 * is not stale yet (a stale one is the other path's). The rename moves exactly the
 * directory that was judged (its identity is checked again), or puts it back.
 */
const takeOver = async (lockDir: string, staleMs: number, why: 'dead' | 'stale'): Promise<boolean> => {
  const seen = await readLockOwner(lockDir);
  const age = async () => Date.now() - ((await stat(lockDir).catch(() => undefined))?.mtimeMs ?? Date.now());
  if (why === 'dead' ? !seen || !ownerIsDead(seen) : (await age()) <= staleMs) return false;
  const judged = await identityOf(lockDir);
  if (judged === undefined) return false;
  const mutex = `${lockDir}.takeover`;
  try {
    await mkdir(mutex);
  } catch {
    // Another taker is at it; or one was killed in these few lines: clear it once stale.
    const info = await stat(mutex).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > staleMs) await rmdir(mutex).catch(() => undefined);
    return false;
  }
  try {
    if ((await identityOf(lockDir)) !== judged) return false;
    if (why === 'dead') {
      const owner = await readLockOwner(lockDir);
      if (!owner || !ownerIsDead(owner)) return false;
      if ((await age()) > staleMs - TAKEOVER_MARGIN_MS) return false; // staleness's to take
    } else if ((await age()) <= staleMs) {
      return false; // refreshed meanwhile: its holder lives
    }
    const aside = `${lockDir}.${why}-${randomBytes(4).toString('hex')}`;
    if (!(await rename(lockDir, aside).then(() => true, () => false))) return false;
    const moved = await readLockOwner(aside);
    if ((moved ? `token ${moved.token}` : undefined) !== (judged.startsWith('token ') ? judged : undefined)) {
      await rename(aside, lockDir).catch(() => undefined); // cannot happen (see above); never keep another's lock
      return false;
    }
    await rm(aside, { recursive: true, force: true });
    return true;
  } finally {
    await rmdir(mutex).catch(() => undefined);
  }
};

/** Removes a lock directory whose owner is dead (see takeOver). */
export const takeOverFromDeadOwner = (lockDir: string, staleMs: number): Promise<boolean> => takeOver(lockDir, staleMs, 'dead');

/** Locks this process holds, released on exit whatever ends it normally. */
const held = new Map<string, string>();
let exitHook = false;

/** Removes a lock directory if it is still ours (its owner file has our token). Synchronous: also runs on exit. */
const releaseSync = (lockDir: string, token: string): void => {
  held.delete(lockDir);
  try {
    const owner = JSON.parse(fs.readFileSync(join(lockDir, OWNER_FILE), 'utf8')) as Partial<LockOwner>;
    if (owner.token !== token) return; // taken over while we stalled: no longer ours to remove
    fs.rmSync(join(lockDir, OWNER_FILE), { force: true });
    fs.rmdirSync(lockDir);
  } catch {
    // gone already
  }
};

/** Makes the lock directory with our owner file in it; false when it exists. */
const tryLock = (lockDir: string, owner: LockOwner): boolean => {
  try {
    fs.mkdirSync(lockDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  fs.writeFileSync(join(lockDir, OWNER_FILE), `${JSON.stringify(owner)}\n`);
  return true;
};

export const withLocalLock = async <T>(stateDir: string, fn: () => Promise<T>, options: LocalLockOptions = {}): Promise<T> => {
  await mkdir(stateDir, { recursive: true });
  const waitMs = options.waitMs ?? 60_000;
  const staleMs = options.staleMs ?? 10_000;
  const lockDir = join(stateDir, `${options.name ?? 'store'}.lock`);
  const owner: LockOwner = { pid: process.pid, host: hostname(), pidns: ownPidNamespace(), token: `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}` };
  const deadline = Date.now() + Math.max(waitMs, 0);
  for (;;) {
    if (tryLock(lockDir, owner)) break;
    if ((await takeOver(lockDir, staleMs, 'dead')) || (await takeOver(lockDir, staleMs, 'stale'))) continue;
    if (Date.now() >= deadline) {
      throw notNowError(options.busyMessage ?? 'another buildctl process on this host is using the store', {
        code: 'store_busy',
        hint: `wait for it to finish, or remove ${lockDir} if no buildctl process is running`,
      });
    }
    await sleep(STEP_MS * (1 + Math.random()));
  }
  held.set(lockDir, owner.token);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const [dir, token] of held) releaseSync(dir, token);
    });
  }
  // Fresh while held: a holder that stops (a paused VM, a blocked event loop) lets it go stale.
  let lost = false;
  const refresh = setInterval(() => {
    const current = (() => {
      try {
        return JSON.parse(fs.readFileSync(join(lockDir, OWNER_FILE), 'utf8')) as Partial<LockOwner>;
      } catch {
        return undefined;
      }
    })();
    if (current?.token !== owner.token) {
      if (!lost) {
        lost = true;
        // Taken over while this process stalled: harmless (see above), so only said.
        process.stderr.write(`buildctl: warning: this process lost the store's local lock while it was stalled (${lockDir} was taken over); its push still lands only on the state it read\n`);
      }
      return;
    }
    const now = new Date();
    try {
      fs.utimesSync(lockDir, now, now);
    } catch {
      // gone: the next refresh says so
    }
  }, Math.max(100, Math.floor(staleMs / 2)));
  refresh.unref();
  try {
    return await fn();
  } finally {
    clearInterval(refresh);
    releaseSync(lockDir, owner.token);
  }
};
