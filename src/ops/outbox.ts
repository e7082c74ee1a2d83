// `buildctl outbox`: what is queued offline, delivering it now, and dropping an intent.
import { usageError } from '../errors.js';
import { listIntents, logDropped, removeIntent, type Intent } from '../store/outbox.js';
import { openStore } from '../store/store.js';
import type { Context } from './context.js';
import { deliverOutbox, type Delivery } from './mutate.js';

export const listOutbox = async (ctx: Context): Promise<Intent[]> => listIntents(await openStore(ctx.storeDir), ctx.warn);

export const flushOutbox = async (ctx: Context): Promise<Delivery> => deliverOutbox(ctx, await openStore(ctx.storeDir));

/** Drops one queued intent by op id (or a unique prefix of it), logging it as dropped by hand. */
export const dropFromOutbox = async (ctx: Context, id: string): Promise<Intent> => {
  const store = await openStore(ctx.storeDir);
  const intents = await listIntents(store, ctx.warn);
  const matches = intents.filter((i) => i.op_id === id || (id.length >= 4 && i.op_id.startsWith(id)));
  if (matches.length !== 1 || !matches[0]) {
    throw usageError(matches.length === 0 ? `no queued operation ${id}` : `"${id}" matches ${matches.length} queued operations`, {
      code: matches.length === 0 ? 'unknown_intent' : 'ambiguous_intent',
      hint: 'see the ids with: buildctl outbox list',
    });
  }
  await logDropped(store, matches[0], 'dropped by hand (buildctl outbox drop)', ctx.now());
  await removeIntent(store, matches[0]);
  return matches[0];
};
