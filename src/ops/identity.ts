import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveIdentity, type Identity } from '../domain/identity.js';
import { docs } from '../schemas/layout.js';
import { parseDocument } from '../store/documents.js';
import type { Context } from './context.js';

const readTrimmed = (file: string): Promise<string | undefined> =>
  readFile(file, 'utf8').then(
    (text) => text.trim() || undefined,
    () => undefined,
  );

/** The builder this process acts as (DESIGN.md, "Identity and location"). Throws when unknown. */
export const resolveActor = async (ctx: Context): Promise<Identity> => {
  const direct = {
    flag: ctx.asFlag,
    env: ctx.envBuilderId,
    etcFile: ctx.asFlag || ctx.envBuilderId ? undefined : await readTrimmed(ctx.etcIdFile),
    storeFile: undefined as string | undefined,
  };
  if (!direct.flag && !direct.env && !direct.etcFile) direct.storeFile = await readTrimmed(join(ctx.storeDir, '.build_server_id'));
  const anyDirect = direct.flag || direct.env || direct.etcFile || direct.storeFile;
  let builders: Array<{ id: string; host?: string | null }> = [];
  if (!anyDirect) {
    const text = await readFile(join(ctx.storeDir, docs.builders.path), 'utf8').catch(() => undefined);
    if (text !== undefined) builders = parseDocument(docs.builders.path, text, docs.builders.schema).builders;
  }
  return resolveIdentity({ ...direct, hostname: ctx.hostname, builders });
};

/** The identity when one can be resolved, else undefined (for views that only use it to personalise). */
export const tryResolveActor = async (ctx: Context): Promise<Identity | undefined> => resolveActor(ctx).catch(() => undefined);

/** Who to record as the actor of an administrative change: the builder if known, else "operator". */
export const adminActor = async (ctx: Context): Promise<string> => (await tryResolveActor(ctx))?.id ?? 'operator';
