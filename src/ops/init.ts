// `buildctl init`: create or join a store, idempotently. With no remote it makes a local
// bare repository beside the store and uses it as the remote (the embedded default).
import { stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { BuildctlError, usageError } from '../errors.js';
import { findBuilder } from '../domain/fleet.js';
import { docs } from '../schemas/layout.js';
import { ensureSigningKey } from '../store/signing-key.js';
import type { BuilderInput } from '../domain/fleet.js';
import { checkSameRemote, configureClone, ensureBareRemote, ensureClone, ensureSeeded, remoteUrl } from '../store/setup.js';
import { originMainCommit, storeAt, type Store } from '../store/store.js';
import { addBuilders, type AddedBuilders } from './builders.js';
import type { Context } from './context.js';
import type { Outcome } from './mutate.js';
import { tryResolveActor } from './identity.js';
import { readLastFetched } from './read.js';
import { seedFiles } from './seed.js';
import { addKeyOp } from './signers.js';

export interface InitOptions {
  remote?: string | undefined;
  builders: BuilderInput[];
  /** Where the clone's signing key is kept (default: .git/buildctl/signing-key). */
  signingKey?: string | undefined;
}

export interface InitReport extends Outcome {
  store: string;
  remote: string;
  embedded_remote: boolean;
  actions: string[];
  builders: AddedBuilders['results'];
  signing_key: {
    path: string;
    fingerprint: string;
    /** The builder it is registered for in coordination/signers.json, when init registered it (or it was). */
    registered_for: string | null;
  };
}

/** A local path given as a remote is made absolute; URLs and scp-style addresses stay as they are. */
const normaliseRemote = (remote: string): string =>
  /^[a-z][a-z0-9+.-]*:\/\//i.test(remote) || /^[^/]+@[^/:]+:/.test(remote) || isAbsolute(remote) ? remote : resolve(remote);

export const embeddedRemotePath = (storeDir: string): string => `${resolve(storeDir)}.git`;

export const initStore = async (ctx: Context, options: InitOptions): Promise<InitReport> => {
  const dir = resolve(ctx.storeDir);
  const actions: string[] = [];
  const hasClone = await stat(join(dir, '.git')).then(() => true, () => false);
  let remote = options.remote === undefined ? undefined : normaliseRemote(options.remote);

  if (hasClone) {
    if (remote !== undefined) await checkSameRemote(dir, remote);
    remote = await remoteUrl(dir);
    if (remote === undefined) {
      throw usageError(`${dir} is a git repository without an "origin" remote`, {
        code: 'no_remote',
        hint: `add one (git -C ${dir} remote add origin URL) or choose another --store`,
      });
    }
  } else {
    if (remote === undefined) {
      remote = embeddedRemotePath(dir);
      if (await ensureBareRemote(remote)) actions.push(`created the embedded remote ${remote}`);
    }
    await ensureClone(remote, dir, ctx.warn);
    actions.push(`cloned ${remote} into ${dir}`);
  }

  const store = storeAt(dir);
  const actor = (await tryResolveActor({ ...ctx, storeDir: dir }))?.id ?? 'operator';
  const settings = await configureClone(store, { name: `buildctl ${actor}`, email: `${actor}@buildctl.invalid` });
  if (settings.length > 0) actions.push(`set ${settings.join(', ')} in the clone`);
  // The key first, so that the seed is signed too.
  const key = await ensureSigningKey(store, { path: options.signingKey, comment: `${actor}@${ctx.hostname}` });
  if (key.created) actions.push(`created the signing key ${key.path} (${key.publicKey.fingerprint})`);
  const seeded = await ensureSeeded(store, seedFiles(), actor, ctx.warn);
  if (seeded) actions.push('seeded the remote with empty coordination documents');
  // The commit this init landed on main: the seed, or the registration after it.
  let commit = seeded ? ((await originMainCommit(store)) ?? null) : null;

  let builders: AddedBuilders['results'] = [];
  if (options.builders.length > 0) {
    const added = await addBuilders({ ...ctx, storeDir: dir }, options.builders, store);
    builders = added.results;
    commit = added.commit ?? commit;
    for (const entry of builders) if (entry.outcome !== 'unchanged') actions.push(`${entry.outcome} builder ${entry.builder.id}`);
  }
  const registered = await registerOwnKey({ ...ctx, storeDir: dir }, store, actor, actions);
  commit = registered.commit ?? commit;
  return {
    store: dir,
    remote,
    embedded_remote: remote === embeddedRemotePath(dir),
    actions,
    builders,
    signing_key: { path: key.path, fingerprint: key.publicKey.fingerprint, registered_for: registered.id },
    changed: actions.length > 0,
    queued: false,
    commit,
  };
};

/**
 * Registers the clone's key for the builder init runs as, when that builder is registered.
 * A registration the fleet would not count (require_signed_writes is on, or the builder
 * already has another key) is left to an operator, and said.
 */
const registerOwnKey = async (ctx: Context, store: Store, actor: string, actions: string[]): Promise<{ id: string | null; commit: string | null }> => {
  const [builders] = await readLastFetched(store, docs.builders);
  if (!findBuilder(builders, actor)) return { id: null, commit: null };
  try {
    const added = await addKeyOp(ctx, { id: actor }, store);
    if (added.outcome !== 'unchanged') actions.push(`registered the signing key for ${actor} (${added.key.fingerprint})`);
    return { id: actor, commit: added.commit };
  } catch (error) {
    if (!(error instanceof BuildctlError) || (error.code !== 'key_change_refused' && error.code !== 'unsigned_write')) throw error;
    ctx.warn(`the signing key is not registered for ${actor}: ${error.message}; an operator registers it with: buildctl builder key add ${actor} --key '<the .pub line>'`);
    return { id: null, commit: null };
  }
};
