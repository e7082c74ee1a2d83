// Turning document text into validated values and back. Every read parses with the zod
// schema; every write validates again and serialises in one canonical form (2-space JSON,
// schema key order, trailing newline) so that rewrites make minimal diffs.
import type * as z from 'zod/mini';
import { invalidDataError, type BuildctlError } from '../errors.js';
import { issuesToProblems, type Problem } from '../schemas/issues.js';
import { parseDocumentText } from '../schemas/document-text.js';
import { restoreProtoKeys } from '../schemas/json-text.js';

export type { Problem };

export const invalidDocument = (file: string, problems: readonly Problem[]): BuildctlError => {
  const first = problems[0];
  const where = first && first.path !== '' ? `${file}: ${first.path}` : file;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : '';
  return invalidDataError(`invalid document ${where}: ${first?.reason ?? 'invalid'}${more}`, {
    code: 'invalid_document',
    hint: `nothing was written; "buildctl validate" lists every problem and tells whether "buildctl migrate" can convert ${file} (a legacy document), else fix it in the store`,
    details: { file, problems },
  });
};

/** Parses or throws an invalid-data error naming the file, field path and reason. */
export const parseDocument = <T>(file: string, text: string, schema: z.ZodMiniType<T>): T => {
  const outcome = parseDocumentText(text, schema);
  if (!outcome.ok) throw invalidDocument(file, outcome.problems);
  return outcome.value;
};

/**
 * Freezes a value read from a document, all the way down (iteratively: documents are
 * bounded in depth, not in breadth). A transaction trusts an entry it read and validated
 * as long as it is the very same object: freezing makes a transition that changes one in
 * place fail loudly instead of slipping an unvalidated change into the write.
 */
export const deepFreeze = <T>(value: T): T => {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const next = pending.pop();
    if (next === null || typeof next !== 'object' || Object.isFrozen(next)) continue;
    Object.freeze(next);
    if (Array.isArray(next)) for (let i = 0; i < next.length; i++) pending.push(next[i]);
    else for (const key of Object.keys(next)) pending.push((next as Record<string, unknown>)[key]);
  }
  return value;
};

type ZodDef = { _zod?: { def?: { type?: string; shape?: Record<string, unknown>; element?: unknown } } };

/**
 * The schema of one entry of a collection document (`jobs[]` of `{ jobs: [...] }`), when
 * the document's schema is an object whose `field` is a plain array; undefined otherwise.
 */
export const entrySchemaOf = (schema: z.ZodMiniType<unknown>, field: string): z.ZodMiniType<unknown> | undefined => {
  const def = (schema as ZodDef)._zod?.def;
  if (def?.type !== 'object' || !def.shape || !Object.hasOwn(def.shape, field)) return undefined;
  const array = (def.shape[field] as ZodDef)._zod?.def;
  return array?.type === 'array' && array.element ? (array.element as z.ZodMiniType<unknown>) : undefined;
};

export interface SerializeOptions {
  /** Look for own `__proto__` keys to keep (false when no text read contained one). */
  keepProtoKeys?: boolean;
  /**
   * Entries of the collection array `field` that were read from a validated document and
   * are unchanged (the same objects): they are not validated again. Only the rest of the
   * document, and the entries that are new or changed, are.
   */
  trusted?: { field: string; entries: ReadonlySet<unknown> };
}

const invalidWrite = (file: string, problems: readonly Problem[]): Error =>
  // A transition produced something its own schema rejects: a bug, not bad input.
  new Error(`refusing to write invalid ${file}: ${problems.map((p) => `${p.path}: ${p.reason}`).join('; ')}`);

/** The validated value of a document about to be written (see SerializeOptions.trusted). */
const validatedForWrite = (file: string, value: unknown, schema: z.ZodMiniType<unknown>, trusted: SerializeOptions['trusted']): unknown => {
  const entrySchema = trusted ? entrySchemaOf(schema, trusted.field) : undefined;
  const entries = trusted && value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>)[trusted.field] : undefined;
  if (!trusted || !entrySchema || !Array.isArray(entries)) {
    const result = schema.safeParse(value, { reportInput: true });
    if (!result.success) throw invalidWrite(file, issuesToProblems(result.error.issues));
    return result.data;
  }
  // The document around the entries, then each entry that is not trusted.
  const skeleton = schema.safeParse({ ...(value as Record<string, unknown>), [trusted.field]: [] }, { reportInput: true });
  if (!skeleton.success) throw invalidWrite(file, issuesToProblems(skeleton.error.issues));
  const out = entries.map((entry, index) => {
    if (trusted.entries.has(entry)) return entry;
    const result = entrySchema.safeParse(entry, { reportInput: true });
    if (!result.success) throw invalidWrite(file, issuesToProblems(result.error.issues).map((p) => ({ ...p, path: `${trusted.field}[${index}]${p.path === '' ? '' : `.${p.path}`}` })));
    return result.data;
  });
  (skeleton.data as Record<string, unknown>)[trusted.field] = out;
  return skeleton.data;
};

/**
 * The canonical text of a document, and the value it is the text of: validated, 2-space
 * JSON, trailing newline. Own `__proto__` keys of `value` (kept from the document it was
 * read from) are kept.
 */
export const serializeDocumentValue = (file: string, value: unknown, schema: z.ZodMiniType<unknown>, options: SerializeOptions = {}): { text: string; value: unknown } => {
  const data = validatedForWrite(file, value, schema, options.trusted);
  if (options.keepProtoKeys !== false) restoreProtoKeys(value, data);
  return { text: `${JSON.stringify(data, null, 2)}\n`, value: data };
};

/** The canonical text of a document (see serializeDocumentValue). */
export const serializeDocument = <T>(file: string, value: unknown, schema: z.ZodMiniType<T>, options: SerializeOptions = {}): string =>
  serializeDocumentValue(file, value, schema as z.ZodMiniType<unknown>, options).text;

// ---------------------------------------------------------------------------------------
// Canonical text, edited as text. A collection document in its canonical form (what
// serializeDocument writes) has its array at the top level, entries at an indent of four:
//
//   {
//     "messages": [
//       {
//         "id": "msg_1",
//   ...
//       }
//     ]
//   }
//
// JSON strings never hold a raw newline, so each entry's keys are exactly the lines that
// start with six spaces inside the array. A transaction that only appends to a document
// this clone has validated (and knows to be canonical) looks its ids up and writes its new
// text from these, without parsing the entries: the same text serializeDocument would give;
// so does one that replaces entries (a claim).

/** Where the entries of `field` are: after `[`, up to the newline before the closing `]`. */
const collectionRegion = (text: string, field: string): { from: number; to: number; empty: boolean } | undefined => {
  const open = text.indexOf(`\n  ${JSON.stringify(field)}: [`);
  if (open < 0) return undefined;
  const from = open + `\n  ${JSON.stringify(field)}: [`.length;
  if (text.startsWith(']', from)) return { from, to: from, empty: true };
  const to = text.indexOf('\n  ]', from);
  return to < 0 ? undefined : { from, to, empty: false };
};

/**
 * The text of each entry of a canonical collection document (`    {` ... `    }`, parseable
 * as it is), in order; undefined when the text is not in that form. Entries are split where
 * a line at their own indent follows a comma: inside an entry, lines are indented deeper,
 * and no JSON string holds a raw newline.
 */
export const entryTextsInCanonicalText = (text: string, field: string): string[] | undefined => {
  const region = collectionRegion(text, field);
  if (!region) return undefined;
  if (region.empty) return [];
  const entries: string[] = [];
  let from = region.from + 1;
  for (let at = text.indexOf(',\n    ', from); at >= 0 && at < region.to; at = text.indexOf(',\n    ', at + 1)) {
    if (text.charCodeAt(at + 6) === 0x20) continue;
    entries.push(text.slice(from, at));
    from = at + 2;
  }
  entries.push(text.slice(from, region.to));
  return entries;
};

/**
 * Of one entry's canonical text (entryTextsInCanonicalText): the JSON text of its field
 * `key` when that fits on the field's line (a string, number, boolean, null, `{}` or `[]`),
 * else undefined (absent, or an object or array that spans lines).
 */
export const entryLineValue = (entryText: string, key: string): string | undefined => {
  const marker = `\n      ${JSON.stringify(key)}: `;
  const at = entryText.indexOf(marker);
  if (at < 0) return undefined;
  const start = at + marker.length;
  const end = entryText.indexOf('\n', start);
  const value = entryText.slice(start, end < 0 ? entryText.length : end);
  const bare = value.endsWith(',') ? value.slice(0, -1) : value;
  return bare.endsWith('{') || bare.endsWith('[') ? undefined : bare;
};

/** Of one entry's canonical text: whether its object field `field` has the own key `key`. */
export const entryObjectHasKey = (entryText: string, field: string, key: string): boolean => {
  const open = `\n      ${JSON.stringify(field)}: {\n`;
  const at = entryText.indexOf(open);
  if (at < 0) return false;
  const end = entryText.indexOf('\n      }', at + open.length - 1);
  const found = entryText.indexOf(`\n        ${JSON.stringify(key)}: `, at + open.length - 1);
  return found >= 0 && (end < 0 || found < end);
};

/**
 * Some fields of each entry of a canonical collection document, read off its text: for each
 * entry, in order, the JSON text of each of its fields named in `keys`, without the comma
 * after it. A value that fits on its line is given whole (`"a"`, `3`, `null`, `{}`, `[]`);
 * one that spans lines is given as its opening `{` or `[`. Entries start at the lines
 * indented four spaces that open an object, and their own fields are the lines indented six
 * that start with a quote (deeper lines are indented more, closing lines start with `}` or
 * `]`), so one search per key finds them. Undefined when the text is not in that form.
 */
export const entryFieldsInCanonicalText = (text: string, field: string, keys: readonly string[]): Array<Map<string, string>> | undefined => {
  const region = collectionRegion(text, field);
  if (!region) return undefined;
  const starts: number[] = [];
  for (let at = text.indexOf('\n    {', region.from); at >= 0 && at < region.to; at = text.indexOf('\n    {', at + 6)) starts.push(at);
  const entries = starts.map(() => new Map<string, string>());
  for (const key of keys) {
    const marker = `\n      ${JSON.stringify(key)}: `;
    let entry = 0;
    for (let at = text.indexOf(marker, region.from); at >= 0 && at < region.to; at = text.indexOf(marker, at + marker.length)) {
      while (entry + 1 < starts.length && starts[entry + 1]! < at) entry++;
      const end = text.indexOf('\n', at + marker.length);
      const value = text.slice(at + marker.length, end < 0 ? region.to : end);
      entries[entry]?.set(key, value.endsWith(',') ? value.slice(0, -1) : value);
    }
  }
  return entries;
};

/** A string field's JSON text (as entryFieldsInCanonicalText gives it): its value, null for null, undefined when absent or not a string. */
export const fieldString = (json: string | undefined): string | null | undefined => {
  if (json === undefined || json === 'null') return json === undefined ? undefined : null;
  if (!json.startsWith('"')) return undefined;
  return json.includes('\\') ? (JSON.parse(json) as string) : json.slice(1, -1);
};

/**
 * An entry's canonical text inside a collection document: 2-space JSON at an indent of four.
 * (Only after a newline: U+2028 and U+2029 stay raw in JSON strings, and a regular
 * expression's `^` would take them for line ends.)
 */
export const canonicalEntryText = (entry: unknown): string => `    ${JSON.stringify(entry, null, 2).replaceAll('\n', '\n    ')}`;

/** A canonical collection document's text with entries (their canonical texts) added at the end; undefined when it is not in that form. */
export const appendToCanonicalText = (text: string, field: string, entries: readonly string[]): string | undefined => {
  const region = collectionRegion(text, field);
  if (!region || entries.length === 0) return region ? text : undefined;
  if (region.empty) return `${text.slice(0, region.from)}\n${entries.join(',\n')}\n  ${text.slice(region.from)}`;
  return `${text.slice(0, region.to)},\n${entries.join(',\n')}${text.slice(region.to)}`;
};

type Region = { from: number; to: number };

/**
 * Where the lines of entries whose `idKey` is `id` start in a canonical collection
 * document's text, within its collection's `region` (the id's line: an entry's own fields
 * are the lines indented six inside the array).
 */
const idLines = (text: string, region: Region, idKey: string, id: string): number[] => {
  const marker = `\n      ${JSON.stringify(idKey)}: ${JSON.stringify(id)}`;
  const lines: number[] = [];
  for (let found = text.indexOf(marker, region.from); found >= 0 && found < region.to; found = text.indexOf(marker, found + marker.length)) {
    const next = text.charCodeAt(found + marker.length);
    if (next === 0x2c || next === 0x0a) lines.push(found); // else a longer id that starts with this one
  }
  return lines;
};

/**
 * Whether a canonical collection document's text has an entry with a given id, as a
 * question asked of the text each time (one search); undefined when the text is not in
 * that form.
 */
export const idLookupInCanonicalText = (text: string, field: string, idKey: string): ((id: string) => boolean) | undefined => {
  const region = collectionRegion(text, field);
  return region && ((id) => idLines(text, region, idKey, id).length > 0);
};

/**
 * Where the entry whose `idKey` is `id` is: its lines (`    {` to `    }`, without the line
 * break before it). Undefined when the text is not in that form, or when no entry or more
 * than one has that id.
 */
const entryRange = (text: string, field: string, idKey: string, id: string): Region | undefined => {
  const region = collectionRegion(text, field);
  const lines = region && idLines(text, region, idKey, id);
  if (!region || lines?.length !== 1) return undefined;
  const at = lines[0]!;
  const from = text.lastIndexOf('\n    {', at);
  const close = text.indexOf('\n    }', at);
  return from < region.from || close < 0 || close >= region.to ? undefined : { from: from + 1, to: close + 6 };
};

/**
 * A canonical collection document's text with the entry whose id is `id` replaced by
 * `entry` (its canonical text); undefined when the text is not in that form or the id is
 * not there exactly once.
 */
export const replaceInCanonicalText = (text: string, field: string, idKey: string, id: string, entry: string): string | undefined => {
  const range = entryRange(text, field, idKey, id);
  return range && `${text.slice(0, range.from)}${entry}${text.slice(range.to)}`;
};

/** Validates entries about to be appended to a collection (a transition's bug if one fails). */
export const validatedEntries = (file: string, schema: z.ZodMiniType<unknown>, field: string, entries: readonly unknown[], keepProtoKeys: boolean): unknown[] => {
  const entrySchema = entrySchemaOf(schema, field);
  if (!entrySchema) throw new Error(`${file}: an append needs a document whose "${field}" is an array of entries`);
  return entries.map((entry, index) => {
    const result = entrySchema.safeParse(entry, { reportInput: true });
    if (!result.success) throw invalidWrite(file, issuesToProblems(result.error.issues).map((p) => ({ ...p, path: `${field}[+${index}]${p.path === '' ? '' : `.${p.path}`}` })));
    if (keepProtoKeys) restoreProtoKeys(entry, result.data);
    return result.data;
  });
};
