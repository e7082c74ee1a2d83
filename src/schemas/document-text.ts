// Document text as read: a byte-order mark dropped, broken JSON described in words an
// operator can act on, and text parsed against its schema within the bounds of
// json-text.ts, without throwing. Pure, so every layer (the domain's classification of
// legacy files, the store's reads, the views) judges the same text the same way.
import type * as z from 'zod/mini';
import { issuesToProblems, type Problem } from './issues.js';
import { checkJsonStructure, MAX_DOCUMENT_BYTES, restoreProtoKeys, sizeProblem } from './json-text.js';

/**
 * The JSON text of a document: a UTF-8 byte-order mark (PowerShell and Windows editors
 * write one) is not part of it. Rewrites serialise without one.
 */
export const withoutBom = (text: string): string => (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);

/** Where JSON text is broken, in words an operator can act on. */
export const diagnoseJsonText = (raw: string): Problem | undefined => {
  const text = withoutBom(raw);
  if (text.trim() === '') return { path: '', reason: 'the file is empty' };
  const marker = /^(<{7}|={7}|>{7})( |$)/m.exec(text);
  if (marker) {
    const line = text.slice(0, marker.index).split('\n').length;
    return { path: '', reason: `git merge-conflict marker "${marker[1]}" at line ${line}` };
  }
  try {
    JSON.parse(text);
    return undefined;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const position = /at position (\d+)/.exec(message);
    // Node names a cut-off file "unexpected end" only sometimes: an error at the very end of
    // the text ("Expected ',' or '}' after property value", "Unterminated string") is one too.
    const truncated = /unexpected end/i.test(message) || (position !== null && Number(position[1]) >= text.trimEnd().length);
    // Node 20 names no position for an unexpected token, and quotes the text around it instead
    // (which may span lines): find the position, and drop the quote.
    const offset = position ? Number(position[1]) : truncated ? text.trimEnd().length + (text.trimEnd().length < text.length ? 1 : 0) : firstBadOffset(text);
    const before = text.slice(0, offset).split('\n');
    const line = before.length;
    const column = (before[before.length - 1]?.length ?? 0) + 1;
    const what = truncated ? 'unexpected end of input: is the file truncated?' : message.replace(/ in JSON at position \d+.*$/, '').replace(/,\s+(\.\.\.)?"[\s\S]*$/, '');
    return { path: '', reason: `JSON syntax error at line ${line}:${column} (${what})` };
  }
};

/** Where JSON.parse gives up: the shortest prefix of `text` that fails before its own end, less one. */
const firstBadOffset = (text: string): number => {
  const failsInside = (length: number): boolean => {
    try {
      JSON.parse(text.slice(0, length));
      return false;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const position = /at position (\d+)/.exec(message);
      return !/unexpected end/i.test(message) && (position === null || Number(position[1]) < length);
    }
  };
  // A prefix that stops before the bad character fails only at its end (or parses), so the
  // shortest prefix failing inside ends with the bad character.
  let low = 1;
  let high = text.length;
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    if (failsInside(middle)) high = middle;
    else low = middle + 1;
  }
  return low - 1;
};

/** `bounded`: the text is over a limit (size, depth, duplicate keys): no converter may look at it either. */
export type ParseOutcome<T> = { ok: true; value: T } | { ok: false; problems: Problem[]; bounded?: true };

/** Parses document text against its schema without throwing. */
export const parseDocumentText = <T>(text: string, schema: z.ZodMiniType<T>): ParseOutcome<T> => {
  // Characters never outnumber bytes: text longer than the byte limit is over it.
  if (text.length > MAX_DOCUMENT_BYTES) return { ok: false, problems: [sizeProblem(Buffer.byteLength(text))], bounded: true };
  let data: unknown;
  try {
    // One parse on the hot path; only text that fails is diagnosed (an empty file or a
    // conflict marker never parses as JSON).
    data = JSON.parse(withoutBom(text));
  } catch {
    return { ok: false, problems: [diagnoseJsonText(text) ?? { path: '', reason: 'not valid JSON' }] };
  }
  // Bounded before anything recursive (zod, JSON.stringify, the domain) sees the value.
  const structure = checkJsonStructure(text);
  if (structure) return { ok: false, problems: [structure], bounded: true };
  // reportInput: without it zod leaves `input` off every issue, and a wrong type reads as missing.
  const result = schema.safeParse(data, { reportInput: true });
  if (!result.success) return { ok: false, problems: issuesToProblems(result.error.issues) };
  if (text.includes('"__proto__"')) restoreProtoKeys(data, result.data);
  return { ok: true, value: result.data };
};
