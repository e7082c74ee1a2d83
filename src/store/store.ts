// A store is one clone of the coordination repository. This module knows where things are
// in a clone and how to bring it level with the remote; it knows nothing about jobs or
// messages.
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { failedError, unreachableError, usageError } from '../errors.js';
import { git, GitError, gitReason } from './git.js';
import { blockingLockIn, clearStaleRefLock } from './git-locks.js';
import { journalPacks, journalReplaced, packsOf, replacedInFetchReport } from './replaced.js';

export const REMOTE = 'origin';
export const MAIN = 'main';
export const ORIGIN_MAIN = 'refs/remotes/origin/main';
export const HEARTBEAT_PREFIX = 'refs/heads/heartbeat/';
export const ORIGIN_HEARTBEAT_PREFIX = 'refs/remotes/origin/heartbeat/';

export interface Store {
  /** The clone's work tree. */
  readonly dir: string;
  /** buildctl's private state inside .git: lock, last fetch, heartbeat lease, markers. */
  readonly stateDir: string;
}

export const storeAt = (dir: string): Store => ({ dir, stateDir: join(dir, '.git', 'buildctl') });

/** Opens an existing store or explains how to create one. */
export const openStore = async (dir: string): Promise<Store> => {
  const gitDir = join(dir, '.git');
  const exists = await stat(gitDir).then(
    (info) => info.isDirectory(),
    () => false,
  );
  if (!exists) {
    throw usageError(`no buildctl store at ${dir}`, {
      code: 'no_store',
      hint: 'run "buildctl init" (or "buildctl init --remote URL" to join an existing fleet), or point --store / BUILDCTL_STORE at a store',
    });
  }
  return storeAt(dir);
};

const UNREACHABLE_PATTERNS = [
  /could not read from remote repository/i,
  /does not appear to be a git repository/i,
  /unable to access/i,
  /could not resolve host/i,
  /connection (refused|timed out|reset)/i,
  /no such file or directory/i,
  /repository .* not found/i,
  /the remote end hung up/i,
  /network is unreachable/i,
  /operation timed out/i,
];

export const looksUnreachable = (stderr: string): boolean => UNREACHABLE_PATTERNS.some((re) => re.test(stderr));

const remoteUnreachable = (action: string, error: GitError) =>
  unreachableError(`cannot reach the store's remote to ${action}: ${gitReason(error.result.stderr)}`, {
    code: 'remote_unreachable',
    hint: 'check the network and the remote (git -C <store> remote -v); nothing was changed on the remote',
    cause: error,
  });

/**
 * Settings for moving objects to and from a remote that is a local repository (the embedded
 * default, or a path): no delta search for documents over 1 MB and the fastest compression.
 * There, bytes cost nothing to move and CPU is what a transfer costs: a 4.6 MB messages.json
 * takes 200 ms to push with git's defaults (most of it finding a delta and compressing), 115
 * ms without. Network remotes keep git's defaults (deltas save bandwidth there). They reach
 * the git processes on the remote's side too (GIT_CONFIG_PARAMETERS).
 */
const LOCAL_TRANSFER = ['-c', 'pack.compression=1', '-c', 'core.bigFileThreshold=1m'];

/**
 * Whether origin is a local repository, from the clone's own config file (no git process):
 * a path or a file:// URL. A clone that rewrites URLs (insteadOf) is treated as networked.
 */
export const remoteIsLocal = (store: Store): Promise<boolean> =>
  readFile(join(store.dir, '.git', 'config'), 'utf8').then(
    (text) => {
      if (/insteadof\s*=/i.test(text)) return false;
      const section = /^\s*\[remote "origin"\]\s*$([\s\S]*?)(?=^\s*\[|(?![\s\S]))/m.exec(text)?.[1] ?? '';
      const url = /^\s*url\s*=\s*(.+?)\s*$/m.exec(section)?.[1];
      return url !== undefined && (url.startsWith('/') || url.startsWith('file://'));
    },
    () => false,
  );

/** The `-c` settings for a transfer with this store's remote (see LOCAL_TRANSFER). */
export const transferSettings = async (store: Store): Promise<string[]> => ((await remoteIsLocal(store)) ? LOCAL_TRANSFER : []);

/**
 * Below this many objects, a fetch of heartbeat refs stores them loose, one file each (see
 * fetchRefs); from it on, in one pack. On the 2-core ext4 test machines a loose object costs
 * about 0.6 ms to write and a pack about 10 ms whatever its size: a 200-builder fleet's
 * fetch took 130 ms loose, 10 ms as a pack.
 */
const BEATS_UNPACK_LIMIT = 32;

export interface FetchOptions {
  prune?: boolean;
  /**
   * Let git run its own automatic maintenance after the fetch (`gc --auto`, the default).
   * A transaction's fetch leaves it to the views' and the agent's fetches: one process less
   * between a command and its push.
   */
  autoMaintenance?: boolean;
  /** The caller's clock: when the beats this fetch replaces are journaled (store/replaced.ts). Default: now. */
  now?: Date;
}

/** Fetches the given refspecs from origin; records the time of the last good fetch of each part (main, heartbeats). */
export const fetchRefs = async (store: Store, refspecs: readonly string[], options: FetchOptions = {}): Promise<void> => {
  // Heartbeat refs: git's report of the ref updates names the beats each replaced, for
  // maintenance to drop (store/replaced.ts); full ids, which SHA-1 repositories need 40 for.
  const beats = refspecs.some((refspec) => refspec.includes(HEARTBEAT_PREFIX));
  // A few beats arrive as loose objects, which maintenance removes one by one; many (a big
  // fleet's minute) as one pack, which it removes whole once they are replaced: the packs
  // the fetch made are journaled too.
  const packsBefore = beats ? await packsOf(store.dir) : undefined;
  const args = [
    ...(await transferSettings(store)),
    ...(beats ? ['-c', 'core.abbrev=40', '-c', `fetch.unpackLimit=${BEATS_UNPACK_LIMIT}`] : []),
    'fetch',
    ...(beats ? [] : ['--quiet']),
    '--no-tags',
    ...(options.prune ? ['--prune'] : []),
    ...(options.autoMaintenance === false ? ['--no-auto-maintenance'] : []),
    REMOTE,
    ...refspecs,
  ];
  try {
    const run = await git(store.dir, args).catch(async (error: unknown) => {
      // A ref lock left by a killed git (git-locks.ts): once it is gone, fetch again.
      const lock = error instanceof GitError ? blockingLockIn(error.result.stderr) : undefined;
      if (lock === undefined || !(await clearStaleRefLock(lock, [join(store.dir, '.git')]))) throw error;
      return git(store.dir, args);
    });
    // Stamped on the caller's clock: the maintenance pass judges the grace on the same one.
    if (packsBefore) {
      const at = options.now ?? new Date();
      await journalReplaced(store.stateDir, replacedInFetchReport(run.stderr), at, false);
      await journalPacks(store.stateDir, [...(await packsOf(store.dir))].filter((pack) => !packsBefore.has(pack)), at);
    }
  } catch (error) {
    if (error instanceof GitError) {
      if (/couldn't find remote ref/i.test(error.result.stderr)) {
        throw failedError('the store\'s remote has no main branch yet', {
          code: 'remote_empty',
          hint: 'run "buildctl init" to seed the store',
        });
      }
      throw remoteUnreachable('fetch', error);
    }
    throw error;
  }
  await mkdir(store.stateDir, { recursive: true });
  const stamp = `${new Date().toISOString()}\n`;
  for (const part of FETCH_PARTS) if (refspecs.includes(part.refspec)) await writeFile(join(store.stateDir, part.file), stamp);
};

export const MAIN_REFSPEC = `+refs/heads/${MAIN}:${ORIGIN_MAIN}`;
export const HEARTBEAT_REFSPEC = `+${HEARTBEAT_PREFIX}*:${ORIGIN_HEARTBEAT_PREFIX}*`;

export type FetchPart = 'main' | 'heartbeats';

/** Each part of the remote a fetch may bring, and where the time of its last good fetch is kept. */
const FETCH_PARTS: ReadonlyArray<{ part: FetchPart; refspec: string; file: string }> = [
  { part: 'main', refspec: MAIN_REFSPEC, file: 'last-fetch' },
  { part: 'heartbeats', refspec: HEARTBEAT_REFSPEC, file: 'last-fetch-heartbeats' },
];

export const fetchMain = (store: Store, options: FetchOptions = {}): Promise<void> => fetchRefs(store, [MAIN_REFSPEC], options);

/**
 * Main and every builder's heartbeat ref: what a fleet view needs. `except`: a builder whose
 * beat this fetch leaves alone (git's negative refspec), because this process is pushing it
 * meanwhile and the push moves its tracking ref: the two would otherwise race for that ref's
 * lock (the agent's tick, ops/agent.ts).
 */
export const fetchAll = (store: Store, now?: Date, options: { except?: string } = {}): Promise<void> =>
  fetchRefs(store, [MAIN_REFSPEC, HEARTBEAT_REFSPEC, ...(options.except === undefined ? [] : [`^${HEARTBEAT_PREFIX}${options.except}`])], { prune: true, ...(now ? { now } : {}) });

/** The commit origin/main points at in this clone (as last fetched), if any. */
export const originMainCommit = async (store: Store): Promise<string | undefined> =>
  (await git(store.dir, ['rev-parse', '--verify', '--quiet', ORIGIN_MAIN], { allowFail: true })).stdout.trim() || undefined;

/**
 * When this clone last fetched a part of its remote, if ever. Commands fetch main only; the
 * heartbeat refs come with `status` and the agent's ticks, so the two ages differ.
 */
export const lastFetchAt = async (store: Store, part: FetchPart = 'main'): Promise<string | undefined> => {
  const file = FETCH_PARTS.find((p) => p.part === part)?.file ?? 'last-fetch';
  const text = await readFile(join(store.stateDir, file), 'utf8').catch(() => undefined);
  return text?.trim() || undefined;
};

export { remoteUnreachable };

/**
 * How long ago this clone last fetched a part, on the clock that stamped it (this host's):
 * a view says exactly how old each part is, whatever a caller's own clock says.
 */
export const fetchAgeMs = async (store: Store, part: FetchPart = 'main'): Promise<number | undefined> => {
  const at = Date.parse((await lastFetchAt(store, part)) ?? '');
  return Number.isNaN(at) ? undefined : Math.max(0, Date.now() - at);
};
