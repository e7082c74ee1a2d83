// `buildctl migrate`: a store written by older scripts, made current in one run:
// - builders found by their folders are registered in coordination/builders.json (host,
//   ip, manager, capabilities from their status documents), first, so that a broadcast's
//   `read` flag can be given to each builder it was for;
// - every legacy document of the layout on main is rewritten in the current layout, in the
//   same commit (op `store.migrate`), through the normal transaction: its loss guard
//   checks that no job, message, lock or builder disappears except the free legacy locks;
// - every heartbeat ref that is an older scripts' branch is replaced by one buildctl
//   commit (its tip kept as `legacy/heartbeat/<id>`).
// Files that are not documents of the layout are never judged and never touched. The
// report says per file what changed, and the entries counted before and after.
import { heartbeatRefChanges, isOlderHeartbeatRef } from '../domain/legacy/heartbeat-ref.js';
import { classifyText, COUNTED, entriesOf, type ClassifyContext, type EntryCounts } from '../domain/classify.js';
import { scanForCredentials, type StoredCredential } from '../domain/credential-scan.js';
import { parseJsonLoosely } from '../domain/legacy/changes.js';
import { invalidDataError, isBuildctlError } from '../errors.js';
import type { BuilderEntry, BuildersDoc } from '../schemas/builders.js';
import { BUILDER_ID_PATTERN } from '../schemas/common.js';
import { docs, kindOfPath, paths as layout, specOfPath } from '../schemas/layout.js';
import { serializeDocument, type Problem } from '../store/documents.js';
import { fetchedHeartbeatRef, keepLegacyRef, publishHeartbeat } from '../store/heartbeat-ref.js';
import { listHeartbeatRefs, listMainFiles, openSnapshot, type Snapshot } from '../store/snapshot.js';
import { fetchAll, ORIGIN_MAIN, openStore, type Store } from '../store/store.js';
import type { Write } from '../store/transaction.js';
import type { Context } from './context.js';
import { findBuilderFolders } from './fleet-members.js';
import { adminActor } from './identity.js';
import { mutate } from './mutate.js';
import { fetchOrFallBack } from './read.js';

export interface MigratedFile {
  file: string;
  kind: string;
  changes: string[];
  /** Entries of the document's list (messages, jobs, locks, builders) before and after; null for other documents. */
  entries_before: number | null;
  entries_after: number | null;
}

export type { EntryCounts };

export interface MigratedRef {
  /** `heartbeat/<id>` */
  ref: string;
  changes: string[];
  /** Where the old tip was kept (null with --dry-run). */
  kept_as: string | null;
  /** The new heartbeat commit (null with --dry-run, or when it was left: see `left`). */
  commit: string | null;
  /** Why it was left as it is, if it was. */
  left?: string;
}

export interface MigrateReport {
  dry_run: boolean;
  /** Whether anything was written (never with --dry-run). */
  changed: boolean;
  /** The commit on main (null when main did not change). */
  commit: string | null;
  files: MigratedFile[];
  /** Builders registered from their folders (or that would be). */
  registered: BuilderEntry[];
  heartbeat_refs: MigratedRef[];
  /** Entries of every document of the layout on main (hot files and archives), before and after. */
  counts: { before: EntryCounts; after: EntryCounts };
  /** Documents neither current nor migratable: left as they are, for a person to fix. */
  invalid: Array<{ file: string; problems: Problem[] }>;
  /** Entries whose text looks like a credential: rotate them. */
  credentials: StoredCredential[];
  /** Files that are not documents of the layout: kept as they are. */
  skipped: number;
}

interface RefPlan {
  id: string;
  sha: string;
  text: string;
  changes: string[];
}

interface Plan {
  report: Omit<MigrateReport, 'dry_run' | 'changed' | 'commit' | 'heartbeat_refs'>;
  writes: Write[];
  refs: RefPlan[];
  refsLeft: MigratedRef[];
}

const describeBuilder = (b: BuilderEntry): string => {
  const where = [b.host, b.ip, b.manager].filter((x): x is string => typeof x === 'string' && x !== '');
  return where.length > 0 ? `${b.id} (${where.join(', ')})` : b.id;
};

/** What migration would write, from origin/main (and the heartbeat refs) as last fetched. Refuses while any document is broken. */
const planMigration = async (ctx: Context, store: Store, snapshot: Snapshot): Promise<Plan> => {
  const now = ctx.now();
  const text = (path: string) => snapshot.text(`${ORIGIN_MAIN}:${path}`);
  const all = await listMainFiles(store);
  const documents = all.filter((path) => kindOfPath(path) !== undefined);

  // The fleet first: the registry as it is, plus the builders the older scripts left.
  const buildersText = await text(layout.builders);
  const registry = buildersText === undefined ? undefined : await snapshot.main(docs.builders);
  const current: BuildersDoc | undefined = registry?.status === 'ok' ? registry.value : undefined;
  const registered = new Set(current?.builders.map((b) => b.id) ?? []);
  const found = registry?.status === 'invalid' ? [] : await findBuilderFolders(snapshot, registered, now);
  const toRegister = found.filter((f) => buildersText === undefined || f.legacy).map((f) => f.entry);
  const config = await snapshot.main(docs.config);
  const context: ClassifyContext = {
    fleet: [...registered, ...toRegister.map((b) => b.id)].sort(),
    legacyReaders: config.status === 'ok' ? (config.value.legacy_readers ?? []) : [],
  };

  const report: Plan['report'] = {
    files: [],
    registered: toRegister,
    counts: { before: { messages: 0, jobs: 0, locks: 0, builders: 0 }, after: { messages: 0, jobs: 0, locks: 0, builders: 0 } },
    invalid: [],
    credentials: [],
    skipped: all.length - documents.length,
  };
  const writes: Write[] = [];
  const broken: string[] = [];
  const count = (kind: string, before: number | null, after: number | null): void => {
    const field = COUNTED[kind];
    if (field === undefined) return;
    report.counts.before[field] += before ?? 0;
    report.counts.after[field] += after ?? 0;
  };

  if (toRegister.length > 0) {
    const doc: BuildersDoc = { ...(current ?? {}), builders: [...(current?.builders ?? []), ...toRegister].sort((a, b) => a.id.localeCompare(b.id)) };
    writes.push({ spec: docs.builders, value: doc });
    report.files.push({
      file: layout.builders,
      kind: 'builders',
      changes: [`registered ${toRegister.length} builder${toRegister.length === 1 ? '' : 's'} found by their folders: ${toRegister.map(describeBuilder).join(', ')}`],
      entries_before: current?.builders.length ?? 0,
      entries_after: doc.builders.length,
    });
    count('builders', current?.builders.length ?? 0, doc.builders.length);
  }

  for (const path of documents) {
    const raw = (await text(path)) ?? '';
    const classified = classifyText(path, raw, context);
    const kind = classified.kind ?? '';
    if (classified.status === 'broken') broken.push(`${path} (${classified.problems[0]?.reason ?? 'broken'})`);
    if (classified.status === 'invalid') report.invalid.push({ file: path, problems: classified.problems });
    const before = entriesOf(kind, parseJsonLoosely(raw));
    const after = classified.value === undefined ? before : entriesOf(kind, classified.value);
    if (!(kind === 'builders' && toRegister.length > 0)) count(kind, before, after);
    const entry = kind.startsWith('messages') ? 'message' : kind.startsWith('jobs') ? 'job' : undefined;
    if (entry && classified.value !== undefined) report.credentials.push(...scanForCredentials(path, entry, classified.value));
    const spec = specOfPath(path);
    if (classified.status !== 'legacy' || !spec) continue;
    report.files.push({ file: path, kind, changes: classified.changes, entries_before: before, entries_after: after });
    writes.push({ spec, value: classified.value, removes: classified.removes });
  }
  if (broken.length > 0) {
    throw invalidDataError(`cannot migrate while ${broken.length} document${broken.length > 1 ? 's are' : ' is'} broken: ${broken.join('; ')}`, {
      code: 'store_broken',
      hint: 'fix or remove the broken documents by hand ("buildctl validate" shows where), then run "buildctl migrate" again; nothing was written',
      details: { broken },
    });
  }

  // Heartbeat refs that are branches of the older scripts, and whose heartbeat converts.
  const refs: RefPlan[] = [];
  const refsLeft: MigratedRef[] = [];
  for (const id of (await listHeartbeatRefs(store)).filter((ref) => BUILDER_ID_PATTERN.test(ref))) {
    const fetched = await fetchedHeartbeatRef(store, id);
    if (!fetched || !isOlderHeartbeatRef(fetched)) continue;
    if (context.legacyReaders?.includes(id)) {
      // Its older scripts may still push that branch: replacing it would break them.
      refsLeft.push({ ref: `heartbeat/${id}`, changes: [], kept_as: null, commit: null, left: `${id} still runs the older scripts (legacy_readers); migrate replaces its branch once it has moved` });
      continue;
    }
    const onRef = await (await snapshot.heartbeatCommit(id))?.file(layout.heartbeat(id));
    const beat = onRef?.kind === 'text' ? onRef.text : undefined;
    const classified = beat === undefined ? undefined : classifyText(layout.heartbeat(id), beat, context);
    if (classified?.value === undefined || (classified.status !== 'legacy' && classified.status !== 'valid')) {
      const why = classified ? `${classified.status}: ${classified.problems[0]?.reason ?? ''}` : 'no heartbeat.json on it';
      refsLeft.push({ ref: `heartbeat/${id}`, changes: [], kept_as: null, commit: null, left: `${why}; ${id}'s first "buildctl heartbeat" replaces it` });
      continue;
    }
    const spec = docs.heartbeat(id);
    refs.push({ id, sha: fetched.sha, text: serializeDocument(spec.path, classified.value, spec.schema), changes: [...classified.changes, ...heartbeatRefChanges(id, fetched.commits)] });
  }
  return { report, writes, refs, refsLeft };
};

const summaryOf = (plan: Plan): string => {
  const converted = plan.report.files.filter((f) => f.file !== layout.builders).length;
  const parts = [`${converted} legacy document${converted === 1 ? '' : 's'}`];
  if (plan.report.registered.length > 0) parts.push(`registered ${plan.report.registered.map((b) => b.id).join(',')}`);
  return `store.migrate ${parts.join(', ')}`;
};

/** Replaces the older heartbeat branches, each only if it still points where it was looked at. */
const migrateRefs = async (ctx: Context, store: Store, refs: readonly RefPlan[]): Promise<MigratedRef[]> => {
  const done: MigratedRef[] = [];
  for (const ref of refs) {
    const entry: MigratedRef = { ref: `heartbeat/${ref.id}`, changes: ref.changes, kept_as: null, commit: null };
    try {
      entry.kept_as = await keepLegacyRef(store, ref.id, ref.sha);
      const published = await publishHeartbeat(store, {
        builder: ref.id,
        now: ctx.now(),
        lease: ref.sha,
        files: { [layout.heartbeat(ref.id)]: ref.text, [layout.metrics(ref.id)]: '' },
      });
      entry.commit = published.commit;
    } catch (error) {
      if (!isBuildctlError(error) || error.kind === 'unreachable') throw error;
      entry.left = `${error.message}; run "buildctl migrate" again`;
    }
    done.push(entry);
  }
  return done;
};

export const migrateStore = async (ctx: Context, options: { dryRun: boolean }): Promise<MigrateReport> => {
  const store = await openStore(ctx.storeDir);
  if (options.dryRun) {
    await fetchOrFallBack(() => fetchAll(store), ctx.warn);
    const snapshot = openSnapshot(store);
    try {
      const plan = await planMigration(ctx, store, snapshot);
      const refs = plan.refs.map((r): MigratedRef => ({ ref: `heartbeat/${r.id}`, changes: r.changes, kept_as: null, commit: null }));
      return { dry_run: true, changed: false, commit: null, ...plan.report, heartbeat_refs: [...refs, ...plan.refsLeft] };
    } finally {
      snapshot.close();
    }
  }
  // Heartbeat refs as well as main: the transaction fetches main again itself.
  await fetchAll(store);
  const outcome = await mutate(ctx, store, {
    op: 'store.migrate',
    actor: await adminActor(ctx),
    // Migration rewrites what is already committed; it takes nothing from anyone.
    input: {},
    // transact has just put origin/main level with the remote: plan from it.
    apply: async () => {
      const snapshot = openSnapshot(store);
      try {
        const plan = await planMigration(ctx, store, snapshot);
        return { result: plan, writes: plan.writes, summary: summaryOf(plan) };
      } finally {
        snapshot.close();
      }
    },
  });
  const plan = outcome.result;
  const refs = await migrateRefs(ctx, store, plan.refs);
  return {
    dry_run: false,
    changed: outcome.changed || refs.some((r) => r.commit !== null),
    commit: outcome.commit ?? null,
    ...plan.report,
    heartbeat_refs: [...refs, ...plan.refsLeft],
  };
};
