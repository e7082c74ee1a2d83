// `buildctl init`: create or join a store, idempotently. With no remote it makes a local
// bare repository beside the store and uses it as the remote (the embedded default).
import { stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { usageError } from '../errors.js';
import type { BuilderInput } from '../domain/fleet.js';
import { checkSameRemote, configureClone, ensureBareRemote, ensureClone, ensureSeeded, remoteUrl } from '../store/setup.js';
import { originMainCommit, storeAt } from '../store/store.js';
import { addBuilders, type AddedBuilders } from './builders.js';
import type { Context } from './context.js';
import type { Outcome } from './mutate.js';
import { tryResolveActor } from './identity.js';
import { seedFiles } from './seed.js';

export interface InitOptions {
  remote?: string | undefined;
  builders: BuilderInput[];
}

export interface InitReport extends Outcome {
  store: string;
  remote: string;
  embedded_remote: boolean;
  actions: string[];
  builders: AddedBuilders['results'];
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
    await ensureClone(remote, dir);
    actions.push(`cloned ${remote} into ${dir}`);
  }

  const store = storeAt(dir);
  const actor = (await tryResolveActor({ ...ctx, storeDir: dir }))?.id ?? 'operator';
  const settings = await configureClone(store, { name: `buildctl ${actor}`, email: `${actor}@buildctl.invalid` });
  if (settings.length > 0) actions.push(`set ${settings.join(', ')} in the clone`);
  const seeded = await ensureSeeded(store, seedFiles(), actor);
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
  return { store: dir, remote, embedded_remote: remote === embeddedRemotePath(dir), actions, builders, changed: actions.length > 0, queued: false, commit };
};
