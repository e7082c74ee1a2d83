// Bounds on document text that JSON.parse and zod do not enforce. Anyone who can push to
// the store can write any bytes into a document; these make hostile text an invalid
// document (exit 5) instead of a crash, a silent loss or a confused prototype:
// - a size limit, checked before the text is even read in full;
// - a nesting limit: V8's JSON.parse copes with any depth, but JSON.stringify, zod and
//   every recursive walk overflow the stack somewhere past a few thousand levels;
// - no duplicate keys: JSON.parse keeps the last one, so a rewrite would silently drop
//   the others (`{"messages": [...100], "messages": [...1]}`).
// Pure, so `validate` and every command judge the same text the same way.
import { formatPath, type Problem } from './issues.js';

/** Far above any real document (they nest 6 levels at most), far below any stack limit. */
export const MAX_DEPTH = 1000;
/** Per document. Archiving keeps the hot documents small; an archive month of 20,000 messages is about 10 MiB. */
export const MAX_DOCUMENT_BYTES = 32 * 1024 * 1024;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;

interface Frame {
  /** Keys seen so far (objects only). */
  keys: Set<string> | undefined;
  /** The current key of an object, or index of an array: for the path in a problem. */
  at: string | number;
  expectKey: boolean;
}

/** Where a frame stack points, for a problem: at most the first 8 levels. */
const pathOf = (stack: readonly Frame[]): string => {
  const keys = stack.slice(0, 8).map((frame) => frame.at);
  return `${formatPath(keys)}${stack.length > 8 ? '...' : ''}`;
};

/** The end of the string that starts at `start` (a quote): the index of its closing quote. */
const stringEnd = (text: string, start: number): number => {
  let from = start + 1;
  for (;;) {
    const quote = text.indexOf('"', from);
    if (quote < 0) return text.length;
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote;
    from = quote + 1;
  }
};

export const sizeProblem = (bytes: number): Problem => ({
  path: '',
  reason: `the document is ${(bytes / 1048576).toFixed(1)} MiB, over the limit of ${MAX_DOCUMENT_BYTES / 1048576} MiB for one document`,
});

/**
 * Checks text that JSON.parse accepted: nesting depth and duplicate keys. One pass, no
 * recursion; string contents are skipped with indexOf.
 */
export const checkJsonStructure = (text: string): Problem | undefined => {
  const stack: Frame[] = [];
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      const top = stack[stack.length - 1];
      if (top?.keys && top.expectKey) {
        const raw = text.slice(i + 1, end);
        // Escapes name the same key in other spellings ("a" and "\u0061"): compare decoded.
        const key = raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
        if (top.keys.has(key)) {
          top.at = key;
          return { path: pathOf(stack), reason: `duplicate key "${key}": JSON keeps only the last one, so a rewrite would lose the others` };
        }
        top.keys.add(key);
        top.at = key;
        top.expectKey = false;
      }
      i = end;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (stack.length >= MAX_DEPTH) return { path: pathOf(stack), reason: `nested deeper than ${MAX_DEPTH} levels` };
      stack.push(c === OPEN_OBJECT ? { keys: new Set(), at: '', expectKey: true } : { keys: undefined, at: 0, expectKey: false });
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      stack.pop();
    } else if (c === COMMA) {
      const top = stack[stack.length - 1];
      if (top?.keys) top.expectKey = true;
      else if (top) top.at = (top.at as number) + 1;
    }
  }
  return undefined;
};

const PROTO = '__proto__';
const isPlainObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * zod never copies an own `__proto__` key into its output (an assignment would replace
 * the prototype instead), so a document with one would lose it on rewrite. This puts
 * every own `__proto__` of `source` back onto the same place in `target`, as an own data
 * property (never the prototype). Iterative; only where both sides have the same shape.
 */
export const restoreProtoKeys = (source: unknown, target: unknown): void => {
  const pending: Array<[unknown, unknown]> = [[source, target]];
  while (pending.length > 0) {
    const [from, to] = pending.pop()!;
    if (Array.isArray(from) && Array.isArray(to)) {
      for (let i = 0; i < from.length && i < to.length; i++) if (typeof from[i] === 'object') pending.push([from[i], to[i]]);
    } else if (isPlainObject(from) && isPlainObject(to) && from !== to) {
      if (Object.hasOwn(from, PROTO) && !Object.hasOwn(to, PROTO)) {
        Object.defineProperty(to, PROTO, { value: from[PROTO], enumerable: true, writable: true, configurable: true });
      }
      for (const key of Object.keys(from)) {
        if (key !== PROTO && typeof from[key] === 'object' && Object.hasOwn(to, key)) pending.push([from[key], to[key]]);
      }
    }
  }
};
