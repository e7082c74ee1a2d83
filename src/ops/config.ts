import { configEntries, parseSettings, scheduleWarnings, setConfigValues, type ConfigValue, type ScheduleRules } from '../domain/config.js';
import { commonJsExports } from '../interop.js';
import type { ConfigKey } from '../schemas/config.js';
import { docs } from '../schemas/layout.js';
import { openSnapshot } from '../store/snapshot.js';
import { fetchMain, openStore } from '../store/store.js';
import type { Context } from './context.js';
import { mutate, txOutcome, type Outcome } from './mutate.js';
import { adminActor } from './identity.js';
import { fetchOrFallBack, readMainOrThrow } from './read.js';
import { buildersWithoutKeys, trustAtBase } from './signed-writes.js';
import { notNowError } from '../errors.js';
import type { BaseView } from '../store/transaction.js';

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

/** How many ticks ahead the longest gap between ticks is looked for (300 covers a day of 5-minute ticks, a year of daily ones). */
const GAP_RUNS = 300;

/** node-cron, the agent's own scheduler, judges the expressions (loaded only when needed). */
const cronRules = async (): Promise<ScheduleRules> => {
  const cron = commonJsExports(await import('node-cron'));
  return {
    explain: (expression) => {
      const checked = cron.validateDetailed(expression);
      return checked.valid ? undefined : checked.errors.map((e) => e.message).join('; ') || 'not a cron expression';
    },
    longestGapMs: (expression) => {
      const task = cron.createTask(expression, () => undefined);
      try {
        const runs = task.getNextRuns(GAP_RUNS).map((d) => d.getTime());
        return runs.slice(1).reduce((gap, t, i) => Math.max(gap, t - (runs[i] ?? t)), 0);
      } finally {
        void task.destroy();
      }
    },
  };
};

export type Setting = { key: string; value: ConfigValue };

/** Sets one or more settings, checked together, in one commit. */
export const setConfig = async (ctx: Context, pairs: ReadonlyArray<readonly [string, string]>): Promise<{ settings: Setting[] } & Outcome> => {
  const rules = await cronRules();
  const store = await openStore(ctx.storeDir);
  const outcome = await mutate(ctx, store, {
    op: 'config.set',
    actor: await adminActor(ctx),
    input: { settings: pairs.map(([key, value]) => ({ key, value })) },
    check: () => void parseSettings(pairs, rules),
    apply: async (read, base) => {
      const before = await read(docs.config);
      const next = setConfigValues(before, pairs, rules);
      const stored = pairs.map(([key]) => ({ key, value: next[key as ConfigKey] as ConfigValue }));
      if ((next.require_signed_writes === true) !== (before?.require_signed_writes === true)) {
        await checkEnforcementChange(base, next.require_signed_writes === true, (await read(docs.builders))?.builders.map((b) => b.id) ?? []);
      }
      return { result: { stored, warnings: scheduleWarnings(next, rules) }, writes: [{ spec: docs.config, value: next }], summary: `config.set ${pairs.map(([key]) => key).join(' ')}` };
    },
  });
  for (const warning of outcome.result.warnings) ctx.warn(`warning: ${warning}`);
  return { settings: outcome.result.stored, ...txOutcome(outcome) };
};

/**
 * require_signed_writes is changed by an operator key only (no reader counts it otherwise),
 * and is turned on only once every registered builder has a key: a builder without one
 * could write nothing the fleet acts on.
 */
const checkEnforcementChange = async (base: BaseView, on: boolean, builders: readonly string[]): Promise<void> => {
  const trust = await trustAtBase(base);
  if (!trust.myKey?.operator) {
    throw notNowError(`require_signed_writes is changed by an operator key, and ${trust.signer ? `this clone's key (${trust.signer.key.publicKey.fingerprint}) is not one` : 'this clone has no key'}`, {
      code: 'not_operator_key',
      hint: 'run it where an operator key signs; the first operator key, while signed writes are not required, can be a builder\'s own: buildctl builder key add ID --operator on that builder',
    });
  }
  const missing = on ? buildersWithoutKeys(trust.ledger, builders) : [];
  if (missing.length > 0) {
    throw notNowError(`refusing to require signed writes: ${missing.join(', ')} ${missing.length === 1 ? 'has' : 'have'} no key in force`, {
      code: 'builders_without_keys',
      hint: `register one for each (buildctl init on the builder, or buildctl builder key add ID --key KEY.pub), or remove builders no longer in use; see buildctl builder key list`,
      details: { builders: missing },
    });
  }
};
