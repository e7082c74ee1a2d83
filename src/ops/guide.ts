// `buildctl guide`: this builder's session checklist, and the AGENTS.md block that carries it.
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { buildGuide, renderGuide, withMarkedBlock, type Guide } from '../domain/guide.js';
import { failedError } from '../errors.js';
import { writeFileAtomic } from '../store/atomic-write.js';
import { openStore } from '../store/store.js';
import type { Context } from './context.js';
import { resolveActor } from './identity.js';

/**
 * The checklist for the builder this process acts as, on this store (which must exist).
 * `defaultStore` is where a fresh shell finds a store with no option or variable set: the
 * commands name the store only when it is another one, and the identity only when it came
 * from --as or BUILD_SERVER_ID (a fresh shell finds the id files and the host name too).
 */
export const sessionGuide = async (ctx: Context, options: { defaultStore: string }): Promise<Guide> => {
  const store = await openStore(resolve(ctx.storeDir));
  const identity = await resolveActor(ctx);
  return buildGuide({
    builder: identity.id,
    store: store.dir,
    storeFlag: store.dir !== resolve(options.defaultStore),
    asFlag: identity.source === '--as' || identity.source === 'BUILD_SERVER_ID',
  });
};

export interface AgentsMdResult {
  path: string;
  /** created: the file was new; updated: the block was added or replaced; unchanged: it was already there as it is. */
  action: 'created' | 'updated' | 'unchanged';
}

/**
 * Writes the checklist into FILE (or DIR/AGENTS.md) as a marked block, leaving the rest of
 * the file as it was.
 */
export const writeAgentsMd = async (target: string, guide: Guide): Promise<AgentsMdResult> => {
  const isDir = await stat(target).then((info) => info.isDirectory(), () => false);
  const path = resolve(isDir ? join(target, 'AGENTS.md') : target);
  const cannot = (what: string) => (error: NodeJS.ErrnoException) =>
    failedError(`cannot ${what} ${path}: ${error.code ?? error.message}`, { code: 'agents_md_unwritable', hint: 'give a writable file in the workspace, e.g. --agents-md ./AGENTS.md', cause: error });
  const before = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw cannot('read')(error);
  });
  const after = withMarkedBlock(before ?? '', renderGuide(guide), path);
  if (after === before) return { path, action: 'unchanged' };
  await writeFileAtomic(path, after).catch((error: NodeJS.ErrnoException) => {
    throw cannot('write')(error);
  });
  return { path, action: before === undefined ? 'created' : 'updated' };
};
