import { constants } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveIdentity, type Identity } from '../domain/identity.js';
import { docs } from '../schemas/layout.js';
import { storeAt } from '../store/store.js';
import type { Context } from './context.js';
import { readLastFetched } from './read.js';

const readTrimmed = (file: string): Promise<string | undefined> =>
  readFile(file, 'utf8').then(
    (text) => text.trim() || undefined,
    () => undefined,
  );

/** A file in the store's work tree, which anyone who can push may fill: never through a link. */
const readInStore = async (file: string): Promise<string | undefined> => {
  const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW).catch(() => undefined);
  if (!handle) return undefined;
  try {
    return (await handle.stat()).isFile() ? (await handle.readFile('utf8')).trim() || undefined : undefined;
  } finally {
    await handle.close();
  }
};

/** The builder this process acts as (DESIGN.md, "Identity and location"). Throws when unknown. */
export const resolveActor = async (ctx: Context): Promise<Identity> => {
  const direct = {
    flag: ctx.asFlag,
    env: ctx.envBuilderId,
    etcFile: ctx.asFlag || ctx.envBuilderId ? undefined : await readTrimmed(ctx.etcIdFile),
    storeFile: undefined as string | undefined,
  };
  if (!direct.flag && !direct.env && !direct.etcFile) direct.storeFile = await readInStore(join(ctx.storeDir, '.build_server_id'));
  const anyDirect = direct.flag || direct.env || direct.etcFile || direct.storeFile;
  let builders: Array<{ id: string; host?: string | null }> = [];
  if (!anyDirect && (await stat(join(ctx.storeDir, '.git')).then((info) => info.isDirectory(), () => false))) {
    // The registry as this clone last fetched it, from git objects (never the work tree).
    builders = (await readLastFetched(storeAt(ctx.storeDir), docs.builders))[0]?.builders ?? [];
  }
  return resolveIdentity({ ...direct, hostname: ctx.hostname, builders });
};

/** The identity when one can be resolved, else undefined (for views that only use it to personalise). */
export const tryResolveActor = async (ctx: Context): Promise<Identity | undefined> => resolveActor(ctx).catch(() => undefined);

/** Who to record as the actor of an administrative change: the builder if known, else "operator". */
export const adminActor = async (ctx: Context): Promise<string> => (await tryResolveActor(ctx))?.id ?? 'operator';
