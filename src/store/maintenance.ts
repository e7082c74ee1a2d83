// Keeping repositories small. Every heartbeat replaces the builder's ref, so the commit it
// replaces (and its trees and blobs) becomes unreachable: about 5 objects a minute per
// builder. Clones keep no reflog for those refs (see setup.ts), so `git gc` can drop them;
// this runs it, at most once an hour per clone, in the clone and, when the clone's remote
// is a local repository (the embedded default or any local bare repo), in the remote too.
// Only objects unreachable for longer than the expiry (1 hour) go, so a push or a
// transaction running meanwhile in another process never loses an object it just wrote.
// Nothing here may fail a tick: every error becomes part of the report.
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { git } from './git.js';
import { withLocalLock } from './local-lock.js';
import { REMOTE, type Store } from './store.js';

export const PRUNE_INTERVAL_MS = 3_600_000;
export const PRUNE_EXPIRY_MS = 3_600_000;

export interface PruneOptions {
  /** The time of the tick (the context's clock). */
  now: Date;
  /** Unreachable objects older than this are removed (default 1 hour). */
  expiryMs?: number;
  /** At most one run per clone in this interval (default 1 hour). */
  intervalMs?: number;
}

export interface MaintenanceReport {
  pruned: boolean;
  /** Why nothing ran, or what went wrong (the tick carries on either way). */
  reason?: string;
  /** Object store sizes (loose + packs, KiB, from `git count-objects -v`). */
  clone_kb_before?: number;
  clone_kb_after?: number;
  remote_kb_before?: number;
  remote_kb_after?: number;
  /** Why the remote was not pruned: it is not a local repository, or its gc failed. */
  remote_skipped?: string;
  duration_ms?: number;
}

const stampFile = (store: Store) => join(store.stateDir, 'last-prune');

/** `git count-objects -v` as KiB on disk: loose objects, packs and garbage. */
export const objectStoreKb = async (dir: string): Promise<number> => {
  const { stdout } = await git(dir, ['count-objects', '-v']);
  let kb = 0;
  for (const line of stdout.split('\n')) {
    const [key, value] = line.split(':').map((part) => part.trim());
    if (key === 'size' || key === 'size-pack' || key === 'size-garbage') kb += Number(value) || 0;
  }
  return kb;
};

/** The remote's directory when origin is a local repository; undefined for a network remote. */
export const localRemoteDir = async (cloneDir: string): Promise<string | undefined> => {
  const run = await git(cloneDir, ['remote', 'get-url', REMOTE], { allowFail: true });
  if (run.code !== 0) return undefined;
  let url = run.stdout.trim();
  if (url.startsWith('file://')) url = fileURLToPath(url);
  else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) || /^[^/]+:/.test(url)) return undefined; // https://, ssh://, host:path
  const dir = isAbsolute(url) ? url : resolve(cloneDir, url);
  const isDir = await stat(dir).then((s) => s.isDirectory(), () => false);
  if (!isDir) return undefined;
  const check = await git(dir, ['rev-parse', '--git-dir'], { allowFail: true });
  return check.code === 0 ? dir : undefined;
};

/** git's own date format, which every git understands as an absolute time. */
const gitDate = (ms: number): string => {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} +0000`;
};

/**
 * gc with the prune cutoff given explicitly; unreachable reflog entries expire at once
 * (set on the command line, so a remote's own configuration is left alone).
 */
const gc = (dir: string, cutoff: string) =>
  git(dir, ['-c', 'gc.reflogExpireUnreachable=now', '-c', 'core.logAllRefUpdates=false', 'gc', '--quiet', `--prune=${cutoff}`]);

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? 'unknown error';

export const pruneRepositories = async (store: Store, options: PruneOptions): Promise<MaintenanceReport> => {
  const started = Date.now();
  const now = options.now.getTime();
  const intervalMs = options.intervalMs ?? PRUNE_INTERVAL_MS;
  const expiryMs = options.expiryMs ?? PRUNE_EXPIRY_MS;
  try {
    const last = Date.parse((await readFile(stampFile(store), 'utf8').catch(() => '')).trim());
    // A stamp in the future means the clock went back: prune rather than wait for it.
    if (Number.isFinite(last) && last <= now && now - last < intervalMs) {
      return { pruned: false, reason: `last pruned ${new Date(last).toISOString()}` };
    }
    // The store's own lock: no transaction of another process runs in the clone meanwhile.
    return await withLocalLock(
      store.stateDir,
      async () => {
        // Stamped before the work: a gc that keeps failing costs one attempt an hour, not one a tick.
        await mkdir(store.stateDir, { recursive: true });
        await writeFile(stampFile(store), `${options.now.toISOString()}\n`);
        const cutoff = gitDate(now - expiryMs);
        const report: MaintenanceReport = { pruned: true };
        report.clone_kb_before = await objectStoreKb(store.dir);
        await gc(store.dir, cutoff);
        report.clone_kb_after = await objectStoreKb(store.dir);
        const remote = await localRemoteDir(store.dir);
        if (remote === undefined) {
          report.remote_skipped = 'not a local repository';
        } else {
          try {
            report.remote_kb_before = await objectStoreKb(remote);
            await gc(remote, cutoff);
            report.remote_kb_after = await objectStoreKb(remote);
          } catch (error) {
            report.remote_skipped = describe(error);
          }
        }
        report.duration_ms = Date.now() - started;
        return report;
      },
      { waitMs: 0, busyMessage: 'the store is busy; pruning waits for the next tick' },
    );
  } catch (error) {
    return { pruned: false, reason: describe(error), duration_ms: Date.now() - started };
  }
};
