// `buildctl migrate`: every legacy document on main rewritten in the current layout, in
// one commit through the normal transaction (op `store.migrate`). The conversions are the
// pure ones of src/domain/legacy; the transaction's loss guard checks that no job, message,
// lock or builder disappears except the free legacy locks the conversion names.
import { invalidDataError } from '../errors.js';
import { docs, specOfPath } from '../schemas/layout.js';
import type { Problem } from '../store/documents.js';
import { listMainFiles, openSnapshot } from '../store/snapshot.js';
import { fetchMain, ORIGIN_MAIN, openStore, type Store } from '../store/store.js';
import type { Write } from '../store/transaction.js';
import { classifyText, fleetOf } from './classify.js';
import type { Context } from './context.js';
import { mutate } from './mutate.js';
import { adminActor } from './identity.js';
import { fetchOrFallBack } from './read.js';

export interface MigratedFile {
  file: string;
  kind: string;
  changes: string[];
}

export interface MigrateReport {
  dry_run: boolean;
  /** Whether a commit was made (never with --dry-run). */
  changed: boolean;
  commit: string | null;
  files: MigratedFile[];
  /** Files neither current nor migratable: left as they are, for a person to fix. */
  invalid: Array<{ file: string; problems: Problem[] }>;
}

interface Plan {
  files: MigratedFile[];
  writes: Write[];
  invalid: MigrateReport['invalid'];
}

/** What migration would write, from origin/main as last fetched. Refuses while any file is broken. */
const planMigration = async (store: Store): Promise<Plan> => {
  const snapshot = openSnapshot(store);
  try {
    const fleet = fleetOf(await snapshot.text(`${ORIGIN_MAIN}:${docs.builders.path}`));
    const plan: Plan = { files: [], writes: [], invalid: [] };
    const broken: string[] = [];
    for (const path of await listMainFiles(store)) {
      const spec = specOfPath(path);
      if (!spec && !path.endsWith('.json')) continue;
      const classified = classifyText(path, (await snapshot.text(`${ORIGIN_MAIN}:${path}`)) ?? '', { fleet });
      if (classified.status === 'broken') broken.push(`${path} (${classified.problems[0]?.reason ?? 'broken'})`);
      if (classified.status === 'invalid') plan.invalid.push({ file: path, problems: classified.problems });
      if (classified.status !== 'legacy' || !spec || !classified.kind) continue;
      plan.files.push({ file: path, kind: classified.kind, changes: classified.changes });
      plan.writes.push({ spec, value: classified.value, removes: classified.removes });
    }
    if (broken.length > 0) {
      throw invalidDataError(`cannot migrate while ${broken.length} file${broken.length > 1 ? 's are' : ' is'} broken: ${broken.join('; ')}`, {
        code: 'store_broken',
        hint: 'fix or remove the broken files by hand ("buildctl validate" shows where), then run "buildctl migrate" again; nothing was written',
        details: { broken },
      });
    }
    return plan;
  } finally {
    snapshot.close();
  }
};

export const migrateStore = async (ctx: Context, options: { dryRun: boolean }): Promise<MigrateReport> => {
  const store = await openStore(ctx.storeDir);
  if (options.dryRun) {
    await fetchOrFallBack(() => fetchMain(store), ctx.warn);
    const plan = await planMigration(store);
    return { dry_run: true, changed: false, commit: null, files: plan.files, invalid: plan.invalid };
  }
  const outcome = await mutate(ctx, store, {
    op: 'store.migrate',
    actor: await adminActor(ctx),
    // Migration rewrites what is already committed; it takes nothing from anyone.
    input: {},
    // transact has just put origin/main level with the remote: plan from it.
    apply: async () => {
      const plan = await planMigration(store);
      return { result: plan, writes: plan.writes, summary: `store.migrate ${plan.files.length} legacy document${plan.files.length === 1 ? '' : 's'}` };
    },
  });
  const { files, invalid } = outcome.result;
  return { dry_run: false, changed: outcome.changed, commit: outcome.commit ?? null, files, invalid };
};
