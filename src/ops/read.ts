import type { ClassifyContext } from '../domain/classify.js';
import { BuildctlError } from '../errors.js';
import type { BuildersDoc } from '../schemas/builders.js';
import { docs, type DocSpec } from '../schemas/layout.js';
import { invalidDocument } from '../store/documents.js';
import { dropReplacedHeartbeats, replacedDue, VIEW_PASS_BUDGET_MS } from '../store/maintenance.js';
import { openSnapshot, type DocRead, type Snapshot } from '../store/snapshot.js';
import { fetchAll, type Store } from '../store/store.js';
import type { Context } from './context.js';

export const LEGACY_NOTE = 'this store has legacy documents; "buildctl migrate" converts them';

/**
 * Views read a store of the older layout as it is: a document that fails the schema but
 * that a legacy converter turns into a valid one is read converted (nothing is written),
 * and the view says so once, on stderr. Without a registry, the builders are those found
 * by their folders (said once too). Mutations read the same way (ops/tolerance.ts).
 */
export interface ViewReads {
  /** A read as the snapshot gave it, with a legacy document converted. */
  tolerate<T>(read: DocRead<T>, spec: DocSpec<T>): Promise<DocRead<T>>;
  /** A document from origin/main, a legacy one converted. */
  main<T>(spec: DocSpec<T>): Promise<DocRead<T>>;
  /** A document from origin/main: undefined when absent, an invalid-data error when invalid. */
  mainOrThrow<T>(spec: DocSpec<T>): Promise<T | undefined>;
}

export const viewReads = (snapshot: Snapshot, warn: (line: string) => void): ViewReads => {
  let noted = false;
  let registry: Promise<DocRead<BuildersDoc>> | undefined;
  let context: Promise<ClassifyContext> | undefined;
  const readRegistry = (): Promise<DocRead<BuildersDoc>> =>
    (registry ??= (async () => {
      const read = await snapshot.main(docs.builders);
      if (read.status !== 'missing') return read;
      const { findBuilderFolders } = await import('./fleet-members.js');
      const { foundBuildersNote } = await import('../domain/legacy/discovery.js');
      const found = await findBuilderFolders(snapshot, new Set());
      if (found.length === 0) return read;
      warn(foundBuildersNote(found.map((f) => f.entry.id)));
      return { status: 'ok', value: { builders: found.map((f) => f.entry) }, source: read.source };
    })());
  /** Who "all" is and who still reads with the older scripts, for converting messages. */
  const classifyContext = (): Promise<ClassifyContext> =>
    (context ??= (async () => {
      const [builders, config] = await Promise.all([readRegistry(), snapshot.main(docs.config)]);
      return {
        fleet: builders.status === 'ok' ? builders.value.builders.map((b) => b.id) : [],
        legacyReaders: config.status === 'ok' ? (config.value.legacy_readers ?? []) : [],
      };
    })());
  const tolerate = async <T>(read: DocRead<T>, spec: DocSpec<T>): Promise<DocRead<T>> => {
    if (read.status !== 'invalid') return read;
    // The legacy converters load only when a document fails its schema.
    const { classifyText } = await import('../domain/classify.js');
    const classified = classifyText(spec.path, read.text, await classifyContext());
    if (classified.status !== 'legacy' && classified.status !== 'valid') return read;
    if (classified.status === 'legacy' && !noted) warn(LEGACY_NOTE);
    noted ||= classified.status === 'legacy';
    // classifyText parsed it with the schema of the path's kind, which is spec's.
    return { status: 'ok', value: classified.value as T, source: read.source };
  };
  const main = async <T>(spec: DocSpec<T>): Promise<DocRead<T>> =>
    spec.path === docs.builders.path ? ((await readRegistry()) as DocRead<unknown> as DocRead<T>) : tolerate(await snapshot.main(spec), spec);
  return {
    tolerate,
    main,
    mainOrThrow: async (spec) => {
      const read = await main(spec);
      if (read.status === 'invalid') throw invalidDocument(spec.path, read.problems);
      return read.status === 'ok' ? read.value : undefined;
    },
  };
};

/** One document for a view (see viewReads); `warn` receives the notes. */
export const readMainOrThrow = <T>(snapshot: Snapshot, spec: DocSpec<T>, warn: (line: string) => void = () => undefined): Promise<T | undefined> =>
  viewReads(snapshot, warn).mainOrThrow(spec);

/**
 * Documents of origin/main as this clone last fetched it, read as a view reads them (from
 * git objects, never the work tree, which is only a view for people).
 */
export const readLastFetched = async <T extends readonly DocSpec<unknown>[]>(
  store: Store,
  ...specs: T
): Promise<{ [K in keyof T]: T[K] extends DocSpec<infer D> ? D | undefined : never }> => {
  const snapshot = openSnapshot(store);
  try {
    const values: unknown[] = [];
    for (const spec of specs) values.push(await readMainOrThrow(snapshot, spec));
    return values as { [K in keyof T]: T[K] extends DocSpec<infer D> ? D | undefined : never };
  } finally {
    snapshot.close();
  }
};

export interface Freshness {
  /** Whether this call fetched from the remote. */
  fetched: boolean;
  /** Why the fetch failed, when it did (the view then shows the last known state). */
  fetch_error: string | null;
}

/**
 * A view's fetch of main and every builder's heartbeat ref. The fetch replaces the beats it
 * had; where no agent ticks (a clone that only looks: status, serve), nothing else would
 * drop them (store/maintenance.ts) and they would pile up until git's own gc gives up on
 * them ("too many unreachable loose objects"). So when some are due, a short pass follows.
 */
export const fetchFleet = async (ctx: Context, store: Store): Promise<Freshness> => {
  const freshness = await fetchOrFallBack(() => fetchAll(store, ctx.now()), ctx.warn);
  if (freshness.fetched && (await replacedDue(store, ctx.now()))) {
    await dropReplacedHeartbeats(store, { now: ctx.now(), budgetMs: VIEW_PASS_BUDGET_MS, monotonic: ctx.monotonic });
  }
  return freshness;
};

/** Fetches, or on an unreachable remote reports why and lets the caller show what it has. */
export const fetchOrFallBack = async (fetch: () => Promise<void>, warn: (line: string) => void): Promise<Freshness> => {
  try {
    await fetch();
    return { fetched: true, fetch_error: null };
  } catch (error) {
    if (error instanceof BuildctlError && error.kind === 'unreachable') {
      warn(`warning: ${error.message}; showing the last known state`);
      return { fetched: false, fetch_error: error.message };
    }
    throw error;
  }
};
