import { configEntries, setConfigValue, type ConfigValue } from '../domain/config.js';
import type { ConfigKey } from '../schemas/config.js';
import { docs } from '../schemas/layout.js';
import { openSnapshot } from '../store/snapshot.js';
import { fetchMain, openStore } from '../store/store.js';
import type { Context } from './context.js';
import { mutate, txOutcome, type Outcome } from './mutate.js';
import { adminActor } from './identity.js';
import { fetchOrFallBack, readMainOrThrow } from './read.js';

export type ConfigEntry = { key: ConfigKey; value: ConfigValue; source: 'store' | 'default' };

export const showConfig = async (ctx: Context, options: { fetch: boolean }): Promise<ConfigEntry[]> => {
  const store = await openStore(ctx.storeDir);
  if (options.fetch) await fetchOrFallBack(() => fetchMain(store), ctx.warn);
  const snapshot = openSnapshot(store);
  try {
    return configEntries(await readMainOrThrow(snapshot, docs.config));
  } finally {
    snapshot.close();
  }
};

export const setConfig = async (ctx: Context, key: string, value: string): Promise<{ setting: { key: string; value: ConfigValue } } & Outcome> => {
  const store = await openStore(ctx.storeDir);
  const outcome = await mutate(ctx, store, {
    op: 'config.set',
    actor: await adminActor(ctx),
    input: { key, value },
    apply: async (read) => {
      const next = setConfigValue(await read(docs.config), key, value);
      const stored = next[key as ConfigKey] as ConfigValue;
      return { result: stored, writes: [{ spec: docs.config, value: next }], summary: `config.set ${key}` };
    },
  });
  return { setting: { key, value: outcome.result }, ...txOutcome(outcome) };
};
