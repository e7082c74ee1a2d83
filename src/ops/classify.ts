// What a stored file is, told apart the way `validate`, `migrate` and the views need it:
// valid; legacy (a converter turns it into a valid document: migratable); broken (cannot
// be parsed at all: empty, a merge-conflict marker, a JSON syntax error); or invalid
// (parses, but neither the schema nor a converter accepts it).
import { legacyConverter, type LegacyContext } from '../domain/legacy/index.js';
import { issuesToProblems } from '../schemas/issues.js';
import { docs, kindOfPath } from '../schemas/layout.js';
import { diagnoseJsonText, parseDocumentText, type Problem } from '../store/documents.js';

export type FileStatus = 'valid' | 'legacy' | 'broken' | 'invalid';

export interface Classified {
  /** The document kind (schemas/layout.ts), or null for other JSON files. */
  kind: string | null;
  status: FileStatus;
  /** What is wrong as the file stands (for legacy: what the current schema says). */
  problems: Problem[];
  /** Legacy only: what migration changes. */
  changes: string[];
  /** Legacy only: collection entries the conversion drops on purpose (free legacy locks). */
  removes: string[];
  /** Valid or legacy JSON documents: the parsed value in the current layout. */
  value?: unknown;
}

const result = (kind: string | null, status: FileStatus, problems: Problem[], extra: Partial<Classified> = {}): Classified => ({
  kind,
  status,
  problems,
  changes: [],
  removes: [],
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

/** Classifies the text of the file at `path`. Pure: nothing is read or written. */
export const classifyText = (path: string, text: string, ctx: Omit<LegacyContext, 'path'>): Classified => {
  const kind = kindOfPath(path);
  if (kind?.format === 'jsonl') return classifyLines(text, kind);
  const broken = diagnoseJsonText(text);
  if (broken) return result(kind?.name ?? null, 'broken', [broken]);
  if (!kind) return result(null, 'valid', []);
  const outcome = parseDocumentText(text, kind.schema);
  if (outcome.ok) return result(kind.name, 'valid', [], { value: outcome.value });
  const converted = legacyConverter(kind.name)?.(JSON.parse(text), { ...ctx, path });
  if (!converted || converted.changes.length === 0) return result(kind.name, 'invalid', outcome.problems);
  const parsed = kind.schema.safeParse(converted.value, { reportInput: true });
  if (!parsed.success) {
    // Converted, still invalid: what is left is what a person must fix.
    return result(kind.name, 'invalid', issuesToProblems(parsed.error.issues).map((p) => ({ ...p, reason: `${p.reason} (after legacy conversion)` })));
  }
  return result(kind.name, 'legacy', outcome.problems, { changes: converted.changes, removes: converted.removes, value: parsed.data });
};

/** The registered builder ids in builders.json text (for a broadcast's legacy read flag); none when unreadable. */
export const fleetOf = (buildersText: string | undefined): string[] => {
  if (buildersText === undefined) return [];
  const outcome = parseDocumentText(buildersText, docs.builders.schema);
  return outcome.ok ? outcome.value.builders.map((b) => b.id) : [];
};
