// The store's local lock: the agent and an operator on one host never interleave a
// transaction. proper-lockfile keeps the lock fresh while held; a lock left by a dead
// process goes stale and is taken over.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
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

export const withLocalLock = async <T>(stateDir: string, fn: () => Promise<T>, options: LocalLockOptions = {}): Promise<T> => {
  const { lock } = commonJsExports(await import('proper-lockfile'));
  await mkdir(stateDir, { recursive: true });
  const waitMs = options.waitMs ?? 60_000;
  const stepMs = 50;
  let release: () => Promise<void>;
  try {
    // Each named lock needs its own target path: proper-lockfile tracks held locks by target.
    const target = join(stateDir, options.name ?? 'store');
    release = await lock(target, {
      lockfilePath: `${target}.lock`,
      realpath: false,
      stale: options.staleMs ?? 10_000,
      retries: waitMs <= 0 ? 0 : { retries: Math.ceil(waitMs / stepMs), factor: 1, minTimeout: stepMs, maxTimeout: stepMs, randomize: true },
      onCompromised: (error) => {
        process.stderr.write(`buildctl: warning: the store's local lock was compromised (${error.message})\n`);
      },
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOCKED') {
      throw notNowError(options.busyMessage ?? 'another buildctl process on this host is using the store', {
        code: 'store_busy',
        hint: `wait for it to finish, or remove ${join(stateDir, `${options.name ?? 'store'}.lock`)} if no buildctl process is running`,
      });
    }
    throw error;
  }
  try {
    return await fn();
  } finally {
    await release().catch(() => undefined);
  }
};
