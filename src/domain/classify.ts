// What a stored file is, told apart the way `validate`, `migrate`, the views and the
// mutations need it: valid; legacy (a converter turns it into a valid document:
// migratable, and readable as it is); broken (cannot be parsed at all: empty, a
// merge-conflict marker, a JSON syntax error); or invalid (parses, but neither the
// schema nor a converter accepts it). Pure: the caller reads the text.
import { diagnoseJsonText, parseDocumentText, withoutBom } from '../schemas/document-text.js';
import { issuesToProblems, type Problem } from '../schemas/issues.js';
import { kindOfPath } from '../schemas/layout.js';
import { isObject } from './legacy/changes.js';
import { legacyConverter, type LegacyContext } from './legacy/index.js';

export type FileStatus = 'valid' | 'legacy' | 'broken' | 'invalid';

export interface Classified {
  /** The document kind (schemas/layout.ts), or null for other files. */
  kind: string | null;
  status: FileStatus;
  /** What is wrong as the file stands (for legacy: what the current schema says). */
  problems: Problem[];
  /** Legacy only: what migration (or any rewrite) changes. */
  changes: string[];
  /** Legacy only: collection entries the conversion drops on purpose (free legacy locks). */
  removes: string[];
  /** Legacy only: how many entries the conversion changes (1 for a document without entries). */
  entries: number;
  /** Valid or legacy JSON documents: the parsed value in the current layout. */
  value?: unknown;
}

export type ClassifyContext = Omit<LegacyContext, 'path'>;

const result = (kind: string | null, status: FileStatus, problems: Problem[], extra: Partial<Classified> = {}): Classified => ({
  kind,
  status,
  problems,
  changes: [],
  removes: [],
  entries: 0,
  ...extra,
});

const classifyLines = (text: string, kind: NonNullable<ReturnType<typeof kindOfPath>>): Classified => {
  const problems: Problem[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    const outcome = parseDocumentText(line, kind.schema);
    if (!outcome.ok) for (const p of outcome.problems) problems.push({ path: `line ${index + 1}${p.path ? ` ${p.path}` : ''}`, reason: p.reason });
  });
  return result(kind.name, problems.length === 0 ? 'valid' : 'invalid', problems);
};

const BOM_DROPPED = 'UTF-8 byte-order mark dropped (older readers such as Python\'s json.load refuse it)';

/** Classifies the text of the file at `path`. */
export const classifyText = (path: string, text: string, ctx: ClassifyContext): Classified => {
  const kind = kindOfPath(path);
  if (kind?.format === 'jsonl') return classifyLines(text, kind);
  const broken = diagnoseJsonText(text);
  if (broken) return result(kind?.name ?? null, 'broken', [broken]);
  if (!kind) return result(null, 'valid', []);
  const bom = withoutBom(text) !== text;
  const outcome = parseDocumentText(text, kind.schema);
  // Over the bounds (size, depth, duplicate keys): no converter may look at it either.
  if (!outcome.ok && outcome.bounded) return result(kind.name, 'invalid', outcome.problems);
  // Messages kept for the old readers fail the schema as they stand (`to` is one string):
  // the converter tells them apart from what the older scripts wrote.
  const readersMatter = kind.name === 'messages' && (ctx.legacyReaders ?? []).length > 0;
  const converted = outcome.ok && !readersMatter ? undefined : legacyConverter(kind.name)?.(JSON.parse(withoutBom(text)), { ...ctx, path });
  const changes = [...(bom ? [BOM_DROPPED] : []), ...(converted?.changes ?? [])];
  if (converted === undefined || converted.changes.length === 0) {
    const value = outcome.ok ? outcome.value : converted && kind.schema.safeParse(converted.value).data;
    if (value === undefined) return result(kind.name, 'invalid', outcome.ok ? [] : outcome.problems);
    return changes.length === 0 ? result(kind.name, 'valid', [], { value }) : result(kind.name, 'legacy', [], { changes, entries: 1, value });
  }
  const parsed = kind.schema.safeParse(converted.value, { reportInput: true });
  if (!parsed.success) {
    // Converted, still invalid: what is left is what a person must fix.
    return result(kind.name, 'invalid', issuesToProblems(parsed.error.issues).map((p) => ({ ...p, reason: `${p.reason} (after legacy conversion)` })));
  }
  return result(kind.name, 'legacy', outcome.ok ? [] : outcome.problems, {
    changes,
    removes: converted.removes,
    entries: converted.entries ?? 1,
    value: parsed.data,
  });
};

/** The entries a migration report counts, over every document of the layout. */
export interface EntryCounts {
  messages: number;
  jobs: number;
  locks: number;
  builders: number;
}

/** Which count each document kind adds to. */
export const COUNTED: Readonly<Record<string, keyof EntryCounts>> = {
  messages: 'messages',
  messages_archive: 'messages',
  jobs: 'jobs',
  jobs_archive: 'jobs',
  locks: 'locks',
  builders: 'builders',
};

/**
 * The entries of a document's list (null for a kind without one): an array's length; of
 * a legacy lock map, the locks held (an entry without a holder is a name, not a lock).
 */
export const entriesOf = (kind: string, json: unknown): number | null => {
  const field = COUNTED[kind];
  if (field === undefined) return null;
  const list = isObject(json) ? json[field] : undefined;
  if (Array.isArray(list)) return list.length;
  return isObject(list) ? Object.values(list).filter((l) => isObject(l) && (l.locked_by ?? l.owner) != null).length : 0;
};
