// Heartbeats live on one ref per builder (`refs/heads/heartbeat/<id>`): every beat replaces
// it with a single parentless commit (signed with the clone's key, like every commit), pushed
// with --force-with-lease against the commit this clone pushed last. Main never sees a heartbeat, history never grows, and a lease failure
// means someone else is beating as the same id.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { failedError, unreachableError } from '../errors.js';
import { heartbeatDoc } from '../schemas/heartbeat.js';
import { git, GitError, gitReason } from './git.js';
import { writeCommitObjects } from './objects.js';
import { loadSigner } from './signing-key.js';
import { HEARTBEAT_PREFIX, ORIGIN_HEARTBEAT_PREFIX, REMOTE, type Store } from './store.js';
import { crashPoint } from './test-seam.js';

/** Local ref holding the last heartbeat commit this clone made (keeps it reachable). */
const localRef = (builder: string) => `refs/buildctl/heartbeat/${builder}`;
const leaseFile = (store: Store, builder: string) => join(store.stateDir, `heartbeat-${builder}.lease`);

export interface HeartbeatFiles {
  /** path in the heartbeat commit -> content */
  [path: string]: string;
}

export interface PublishOptions {
  builder: string;
  files: HeartbeatFiles;
  now: Date;
  /** Take the ref over whatever it points at (after resolving a duplicate agent). */
  force?: boolean;
  /** Replace the ref only if it still points here (migrating an older ref it has looked at, or taking it back from a duplicate agent). */
  lease?: string;
  /** Called before the ref is taken over from its current commit (first beat of a clone, --force). */
  onTakeOver?: (current: string) => Promise<void>;
  /** The length of an object id (40 or 64), when the caller knows it: saves asking git. */
  objectIdLength?: number | undefined;
}

/** What the other agent's beat on our ref says (a duplicate_agent error's details). */
export interface OtherBeat {
  commit: string;
  host: string | null;
  pid: number | null;
  beat_at: string | null;
}

export interface PublishResult {
  commit: string;
  /** The lease was taken from the remote's current value (first beat of this clone, or --force). */
  tookOver: boolean;
}

/**
 * A file from this clone's last heartbeat commit (falling back to the fetched ref), read
 * through `text` (a snapshot's reader: one cat-file process for the whole beat).
 */
export const readLastHeartbeatFile = async (text: (revPath: string) => Promise<string | undefined>, builder: string, path: string): Promise<string | undefined> => {
  for (const ref of [localRef(builder), `${ORIGIN_HEARTBEAT_PREFIX}${builder}`]) {
    const found = await text(`${ref}:${path}`);
    if (found !== undefined) return found;
  }
  return undefined;
};

const remoteValue = async (store: Store, builder: string): Promise<string> => {
  try {
    const { stdout } = await git(store.dir, ['ls-remote', REMOTE, `${HEARTBEAT_PREFIX}${builder}`]);
    return stdout.split('\t')[0]?.trim() ?? '';
  } catch (error) {
    if (error instanceof GitError) {
      throw unreachableError(`cannot reach the store's remote to publish the heartbeat: ${gitReason(error.result.stderr)}`, {
        code: 'remote_unreachable',
        hint: 'check the network and the remote; the next heartbeat will try again',
      });
    }
    throw error;
  }
};

/**
 * The beat's parentless commit, built and signed where every commit is (store/objects.ts),
 * and the local ref that keeps it reachable until it is replaced.
 */
const makeCommit = async (store: Store, builder: string, files: HeartbeatFiles, now: Date, objectIdLength: number | undefined): Promise<string> => {
  const [signer, hexLength] = await Promise.all([loadSigner(store), objectIdLength ?? objectIdLengthOf(store)]);
  const commit = await writeCommitObjects(
    store.dir,
    undefined,
    {
      parent: undefined,
      files: Object.entries(files).map(([path, text]) => ({ path, mode: '100644', text })),
      message: `heartbeat ${builder}\n`,
      who: `buildctl ${builder} <${builder}@buildctl.invalid>`,
      zone: '+0000',
      time: Math.floor(now.getTime() / 1000),
      sign: signer?.sign,
    },
    hexLength,
  );
  await git(store.dir, ['update-ref', localRef(builder), commit]);
  return commit;
};

/** The length of an object id in this repository: 40 (SHA-1) or 64 (SHA-256). */
const objectIdLengthOf = async (store: Store): Promise<number> =>
  (await git(store.dir, ['rev-parse', '--show-object-format'])).stdout.trim() === 'sha256' ? 64 : 40;

/** The heartbeat that beat ours to the ref: its commit, and host, pid and time as it says them. */
const describeOtherBeat = async (store: Store, builder: string, commit: string): Promise<OtherBeat> => {
  const ref = `${ORIGIN_HEARTBEAT_PREFIX}${builder}`;
  await git(store.dir, ['fetch', '--quiet', '--no-tags', REMOTE, `+${HEARTBEAT_PREFIX}${builder}:${ref}`], { allowFail: true });
  const run = await git(store.dir, ['cat-file', 'blob', `${commit}:${builder}/heartbeat.json`], { allowFail: true });
  let parsed: unknown;
  try {
    parsed = JSON.parse(run.stdout);
  } catch {
    parsed = undefined;
  }
  const beat = heartbeatDoc.safeParse(parsed);
  return beat.success ? { commit, host: beat.data.host ?? null, pid: beat.data.pid ?? null, beat_at: beat.data.timestamp } : { commit, host: null, pid: null, beat_at: null };
};

export const publishHeartbeat = async (store: Store, options: PublishOptions): Promise<PublishResult> => {
  const { builder } = options;
  await mkdir(store.stateDir, { recursive: true });
  const remoteRef = `${HEARTBEAT_PREFIX}${builder}`;
  // Lease file: line 1 the commit this clone last pushed, line 2 a push whose answer never came.
  const readLease = async () => (await readFile(leaseFile(store, builder), 'utf8').catch(() => '')).split('\n').map((l) => l.trim());
  const [confirmed, inFlight] = await readLease();
  let expected = options.lease ?? (options.force || !confirmed ? undefined : confirmed);
  const tookOver = expected === undefined;
  if (expected === undefined) expected = await remoteValue(store, builder);
  if (tookOver && expected !== '') await options.onTakeOver?.(expected);

  const commit = await makeCommit(store, builder, options.files, options.now, options.objectIdLength);
  const tryPush = async (lease: string) => {
    await writeFile(leaseFile(store, builder), `${lease}\n${commit}\n`);
    return git(store.dir, ['push', '--porcelain', `--force-with-lease=${remoteRef}:${lease}`, REMOTE, `${commit}:${remoteRef}`], {
      allowFail: true,
    });
  };
  let run = await tryPush(expected);
  if (run.code !== 0 && isLeaseFailure(run.stdout + run.stderr)) {
    const current = await remoteValue(store, builder);
    // Our previous push may have landed without us hearing back, or another process of this
    // clone beat meanwhile (its commit is in the lease file now): either way the ref is ours.
    const [nowConfirmed] = await readLease();
    if (current !== '' && (current === inFlight || (current === nowConfirmed && current !== expected))) run = await tryPush(current);
    if (run.code !== 0 && isLeaseFailure(run.stdout + run.stderr)) {
      const other = await describeOtherBeat(store, builder, current);
      await writeFile(leaseFile(store, builder), `${expected}\n`);
      const said = other.host || other.pid ? ` (its last beat: host ${other.host ?? '?'}, pid ${other.pid ?? '?'}, at ${other.beat_at ?? '?'})` : '';
      throw failedError(`another agent is heartbeating as ${builder}: the heartbeat ref moved since this clone's last beat${said}`, {
        code: 'duplicate_agent',
        hint: `two builders must not share an id: check BUILD_SERVER_ID and /etc/build_server_id on each host, and stop the agent that is not ${builder}`,
        details: { other },
      });
    }
  }
  if (run.code !== 0 && /\[remote rejected\]/.test(run.stdout)) {
    // A hook or a rule of the remote declined it (buildctl's pre-receive: a heartbeat not signed by its builder).
    const said = run.stderr.split('\n').filter((l) => l.startsWith('remote: ')).map((l) => l.slice('remote: '.length).trim()).filter(Boolean);
    throw failedError(`the remote refused the heartbeat${said.length > 0 ? `: ${said.join('; ')}` : ''}`, {
      code: 'push_refused',
      hint: `a hook or protection rule on the remote declined heartbeat/${builder}; check that this clone's key is registered for ${builder} (buildctl builder key list)`,
      details: { remote: said },
    });
  }
  if (run.code !== 0) {
    throw unreachableError(`cannot push the heartbeat: ${gitReason(run.stderr)}`, {
      code: 'remote_unreachable',
      hint: 'check the network and the remote; the next heartbeat will try again',
    });
  }
  crashPoint('heartbeat-after-push');
  await writeFile(leaseFile(store, builder), `${commit}\n`);
  return { commit, tookOver };
};

const isLeaseFailure = (output: string): boolean => /stale info|\[rejected\]/.test(output);

/** A heartbeat ref as last fetched: its commit, how many commits its history holds, whether it has `<id>/metrics.jsonl`. */
export const fetchedHeartbeatRef = async (store: Store, builder: string): Promise<{ sha: string; commits: number; hasMetrics: boolean } | undefined> => {
  const ref = `${ORIGIN_HEARTBEAT_PREFIX}${builder}`;
  const run = await git(store.dir, ['rev-list', '--count', ref], { allowFail: true });
  if (run.code !== 0) return undefined;
  const { stdout } = await git(store.dir, ['rev-parse', '--verify', `${ref}^{commit}`]);
  const metrics = await git(store.dir, ['cat-file', '-e', `${ref}:${builder}/metrics.jsonl`], { allowFail: true });
  return { sha: stdout.trim(), commits: Number(run.stdout.trim()), hasMetrics: metrics.code === 0 };
};

/** Fetches one builder's heartbeat ref (it exists on the remote). */
export const fetchHeartbeatRef = async (store: Store, builder: string): Promise<void> => {
  await git(store.dir, ['fetch', '--quiet', '--no-tags', REMOTE, `+${HEARTBEAT_PREFIX}${builder}:${ORIGIN_HEARTBEAT_PREFIX}${builder}`]);
};

/**
 * Keeps the tip of an older heartbeat branch under `legacy/heartbeat/<id>` on the remote
 * before it is replaced (its history may hold what nothing else does). Returns the branch
 * name; an existing one is never overwritten (the sha is added to the name instead).
 */
export const keepLegacyRef = async (store: Store, builder: string, sha: string): Promise<string> => {
  for (const name of [`legacy/heartbeat/${builder}`, `legacy/heartbeat/${builder}-${sha.slice(0, 12)}`]) {
    const run = await git(store.dir, ['push', '--porcelain', `--force-with-lease=refs/heads/${name}:`, REMOTE, `${sha}:refs/heads/${name}`], { allowFail: true });
    if (run.code === 0) return name;
    const current = (await git(store.dir, ['ls-remote', REMOTE, `refs/heads/${name}`], { allowFail: true })).stdout.split('\t')[0]?.trim();
    if (current === sha) return name;
  }
  throw failedError(`cannot keep the older heartbeat branch of ${builder} before replacing it`, {
    code: 'push_failed',
    hint: `check that this host may push branches to the store's remote; heartbeat/${builder} was left as it is`,
  });
};
