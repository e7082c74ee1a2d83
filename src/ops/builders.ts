import { addBuilder, checkBuilderInput, removeBuilder, type BuilderInput } from '../domain/fleet.js';
import { checkBuilderId } from '../domain/ids.js';
import type { BuilderEntry } from '../schemas/builders.js';
import { docs } from '../schemas/layout.js';
import { openSnapshot } from '../store/snapshot.js';
import { fetchMain, openStore, type Store } from '../store/store.js';
import type { Context } from './context.js';
import { mutate, txOutcome, type Outcome } from './mutate.js';
import { adminActor } from './identity.js';
import { fetchOrFallBack, readMainOrThrow } from './read.js';

export interface AddedBuilders extends Outcome {
  results: Array<{ builder: BuilderEntry; outcome: 'added' | 'updated' | 'unchanged' }>;
}

/** Registers (or updates) builders in one transaction. */
export const addBuilders = async (ctx: Context, inputs: BuilderInput[], store?: Store): Promise<AddedBuilders> => {
  const target = store ?? (await openStore(ctx.storeDir));
  const actor = await adminActor(ctx);
  const outcome = await mutate(ctx, target, {
    op: 'builder.add',
    actor,
    input: { builders: inputs },
    check: () => inputs.forEach((input) => checkBuilderInput(input)),
    apply: async (read) => {
      let doc = await read(docs.builders);
      const results: AddedBuilders['results'] = [];
      for (const input of inputs) {
        const step = addBuilder(doc, input, ctx.now());
        doc = step.doc;
        results.push({ builder: step.builder, outcome: step.outcome });
      }
      const touched = results.filter((r) => r.outcome !== 'unchanged').map((r) => `${r.builder.id} (${r.outcome})`);
      return { result: results, writes: doc ? [{ spec: docs.builders, value: doc }] : [], summary: `builder.add ${touched.join(', ')}` };
    },
  });
  return { results: outcome.result, ...txOutcome(outcome) };
};

export const removeBuilderOp = async (ctx: Context, id: string): Promise<{ builder: BuilderEntry } & Outcome> => {
  const store = await openStore(ctx.storeDir);
  const outcome = await mutate(ctx, store, {
    op: 'builder.remove',
    actor: await adminActor(ctx),
    input: { id },
    check: () => void checkBuilderId(id),
    apply: async (read) => {
      const { doc, removed } = removeBuilder(await read(docs.builders), id);
      return { result: removed, writes: [{ spec: docs.builders, value: doc, removes: [removed.id] }], summary: `builder.remove ${id}` };
    },
  });
  return { builder: outcome.result, ...txOutcome(outcome) };
};

export const listBuilders = async (ctx: Context, options: { fetch: boolean }): Promise<BuilderEntry[]> => {
  const store = await openStore(ctx.storeDir);
  if (options.fetch) await fetchOrFallBack(() => fetchMain(store), ctx.warn);
  const snapshot = openSnapshot(store);
  try {
    // Without a registry: the builders found by their folders, said on stderr.
    return (await readMainOrThrow(snapshot, docs.builders, ctx.warn))?.builders ?? [];
  } finally {
    snapshot.close();
  }
};
