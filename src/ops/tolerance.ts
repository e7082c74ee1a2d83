// Mutations on a store that older scripts wrote, or still write while a fleet moves to
// buildctl builder by builder. buildctl never refuses a write because of entries it
// knows how to read:
// - a document that fails its schema but is of an older layout (domain/classify.ts) is
//   read converted, and when the operation rewrites it, it is written converted in the
//   same commit: counted in the trailer `Buildctl-Legacy-Converted`, said once on stderr;
// - without a registry, the builders are those found by their folders (said once);
// - while builders still run the older scripts (setting legacy_readers), messages for
//   them are written the way those scripts read them (domain/legacy/readers.ts).
import type { ClassifyContext } from '../domain/classify.js';
import { foundBuildersNote } from '../domain/legacy/discovery.js';
import { messagesForOldReaders } from '../domain/legacy/readers.js';
import type { BuildersDoc } from '../schemas/builders.js';
import { docs, kindOfPath, type DocSpec } from '../schemas/layout.js';
import { messagesDoc, messagesDocForOldReaders } from '../schemas/messages.js';
import { openSnapshot } from '../store/snapshot.js';
import type { Store } from '../store/store.js';
import { isAppend, isReplace, type Plan, type ReadDoc, type TxOutcome, type TxRequest, type Write } from '../store/transaction.js';
import type { Context } from './context.js';
import type { FoundBuilder } from './fleet-members.js';

/** The trailer naming what a commit converted from the older layout. */
export const TRAILER_LEGACY = 'Buildctl-Legacy-Converted';

/** messages.json while old readers are left: the same document, kept in their form. */
const MESSAGES_FOR_OLD_READERS: DocSpec<unknown> = { ...docs.messages, schema: messagesDocForOldReaders };

/** Kinds whose conversion needs to know the fleet and the old readers. */
const FLEET_KINDS = new Set(['messages', 'messages_archive']);

interface Attempt {
  read: ReadDoc;
  legacyReaders: readonly string[];
  context?: Promise<ClassifyContext>;
  /** Documents read converted: path -> entries converted (of a collection, if any), entries the conversion drops. */
  converted: Map<string, Conversion>;
}

export interface Tolerant<R> {
  request: TxRequest<R>;
  /** After the transaction (landed or not): the lines it has to say, once. */
  report(outcome: TxOutcome<R> | undefined): void;
}

interface Conversion {
  entries: number;
  collection: boolean;
  removes: readonly string[];
}

/** "coordination/messages.json (3 entries), build1/status.json" */
const described = (converted: ReadonlyMap<string, Conversion>, paths: readonly string[]): string =>
  paths
    .map((path) => {
      const { entries, collection } = converted.get(path)!;
      return collection ? `${path} (${entries} ${entries === 1 ? 'entry' : 'entries'})` : path;
    })
    .join(', ');

export const tolerant = <R>(ctx: Context, store: Store, request: TxRequest<R>): Tolerant<R> => {
  let attempt: Attempt | undefined;
  let found: Promise<FoundBuilder[]> | undefined;
  let foundUsed: string[] = [];
  let landed: string[] = [];
  /** The plan writes the registry it read as the builders found by their folders: it registers them. */
  let registersFound = false;

  /** The registry, or without one the builders found by their folders (origin/main is the base here). */
  const registry = async (read: ReadDoc): Promise<BuildersDoc | undefined> => {
    const doc = await read(docs.builders);
    if (doc !== undefined) return doc;
    found ??= (async () => {
      const { findBuilderFolders } = await import('./fleet-members.js');
      const snapshot = openSnapshot(store);
      try {
        return await findBuilderFolders(snapshot, new Set(), ctx.now());
      } finally {
        snapshot.close();
      }
    })();
    const builders = (await found).map((f) => f.entry);
    if (builders.length === 0) return undefined;
    foundUsed = builders.map((b) => b.id);
    return { builders };
  };

  const context = (current: Attempt): Promise<ClassifyContext> =>
    (current.context ??= (async () => ({
      fleet: ((await registry(current.read))?.builders ?? []).map((b) => b.id),
      legacyReaders: current.legacyReaders,
      now: ctx.now().toISOString(),
    }))());

  const readInvalid = async (spec: DocSpec<unknown>, text: string): Promise<unknown> => {
    const current = attempt;
    const kind = kindOfPath(spec.path);
    if (!current || !kind) return undefined;
    const { classifyText } = await import('../domain/classify.js');
    const classifyCtx = FLEET_KINDS.has(kind.name) ? await context(current) : { fleet: [], legacyReaders: current.legacyReaders };
    const classified = classifyText(spec.path, text, classifyCtx);
    if (classified.status === 'legacy') current.converted.set(spec.path, { entries: classified.entries, collection: spec.collection !== undefined, removes: classified.removes });
    return classified.status === 'legacy' || classified.status === 'valid' ? classified.value : undefined;
  };

  /**
   * An append to a document that is written converted (read in an older layout, or messages
   * kept for the old readers) becomes the whole document: the conversion lands with it.
   */
  const wholeDocument = async (current: Attempt, write: Write): Promise<Write> => {
    if (!isAppend(write)) return write;
    const field = write.spec.collection?.field ?? '';
    const doc = ((await current.read(write.spec)) ?? {}) as Record<string, unknown>;
    const kept = Array.isArray(doc[field]) ? (doc[field] as unknown[]) : [];
    return { spec: write.spec, value: { ...doc, [field]: [...kept, ...write.append] } };
  };

  /** The plan as it is written: conversions' removals declared, messages kept for the old readers, the trailer. */
  const finish = async (current: Attempt, plan: Plan<R>): Promise<Plan<R>> => {
    const forOldReaders = (path: string) => path === docs.messages.path && current.legacyReaders.length > 0;
    const whole = await Promise.all(plan.writes.map((write) => (isAppend(write) && (current.converted.has(write.spec.path) || forOldReaders(write.spec.path)) ? wholeDocument(current, write) : write)));
    const writes = whole.map((write): Write => {
      // A replacement of entries (a claim) in a document read converted is written whole by
      // the transaction, all of it validated (store/transaction.ts); a queue's conversion
      // removes no entry, so there is no removal to declare.
      if (isAppend(write) || isReplace(write)) return write;
      const conversion = current.converted.get(write.spec.path);
      let next: Write = conversion && conversion.removes.length > 0 ? { ...write, removes: [...(write.removes ?? []), ...conversion.removes] } : write;
      if (write.spec.path === docs.messages.path && current.legacyReaders.length > 0) {
        const parsed = messagesDoc.safeParse(write.value);
        if (parsed.success) next = { ...next, spec: MESSAGES_FOR_OLD_READERS, value: messagesForOldReaders(parsed.data, current.legacyReaders) };
      }
      return next;
    });
    registersFound = foundUsed.length > 0 && writes.some((w) => w.spec.path === docs.builders.path);
    landed = [...new Set(writes.map((w) => w.spec.path))].filter((path) => current.converted.has(path));
    if (landed.length === 0) return { ...plan, writes };
    return { ...plan, writes, trailers: { ...plan.trailers, [TRAILER_LEGACY]: described(current.converted, landed) } };
  };

  let lastAttempt: Attempt | undefined;
  return {
    request: {
      ...request,
      readInvalid,
      apply: async (read, base) => {
        let legacyReaders: readonly string[] = [];
        try {
          legacyReaders = (await read(docs.config))?.legacy_readers ?? [];
        } catch {
          // An unreadable config.json stops the operations that need it, not every one.
        }
        const current: Attempt = { read, legacyReaders, converted: new Map() };
        attempt = current;
        lastAttempt = current;
        const tolerantRead: ReadDoc = Object.assign(
          async <T>(spec: DocSpec<T>): Promise<T | undefined> => (spec.path === docs.builders.path ? ((await registry(read)) as T | undefined) : read(spec)),
          {
            ids: (spec: DocSpec<unknown>) => read.ids(spec),
            entryFields: (spec: DocSpec<unknown>, keys: readonly string[]) => read.entryFields(spec, keys),
            blobId: (spec: DocSpec<unknown>) => read.blobId(spec),
          },
        );
        return finish(current, await request.apply(tolerantRead, base));
      },
    },
    report: (outcome) => {
      if (registersFound && outcome?.changed) ctx.warn(`coordination/builders.json created with the builders found by their folders: ${foundUsed.join(', ')}`);
      else if (foundUsed.length > 0) ctx.warn(foundBuildersNote(foundUsed));
      if (outcome?.changed && lastAttempt && landed.length > 0) {
        ctx.warn(`converted ${described(lastAttempt.converted, landed)} from the older scripts' layout in this commit ("buildctl migrate" converts the whole store)`);
      }
    },
  };
};
