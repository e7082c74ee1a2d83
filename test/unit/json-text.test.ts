import { describe, expect, it } from 'vitest';
import { parseDocumentText } from '../../src/schemas/document-text.js';
import { checkJsonStructure, MAX_DEPTH, restoreProtoKeys } from '../../src/schemas/json-text.js';
import { serializeDocument } from '../../src/store/documents.js';
import { messagesDoc } from '../../src/schemas/messages.js';

describe('checkJsonStructure', () => {
  it.each(['{}', '[]', '{"a": [1, {"b": "}{[]\\"\\\\"}], "c": null}', '"text"', '{"a": {"a": {"a": 1}}}', '[{"a": 1}, {"a": 2}]'])('passes %j', (text) => {
    expect(checkJsonStructure(text)).toBeUndefined();
  });

  it('finds nesting deeper than the limit, where it starts, without recursing', () => {
    expect(checkJsonStructure(`${'['.repeat(MAX_DEPTH)}${']'.repeat(MAX_DEPTH)}`)).toBeUndefined();
    expect(checkJsonStructure(`{"messages": [{"x": ${'['.repeat(200_000)}${']'.repeat(200_000)}}]}`)).toEqual({
      path: 'messages[0].x[0][0][0][0][0]...',
      reason: `nested deeper than ${MAX_DEPTH} levels`,
    });
  });

  it.each([
    ['{"a": 1, "a": 2}', 'a', 'a'],
    ['{"jobs": [{"id": "x"}, {"id": "y", "status": 1, "id": "z"}]}', 'jobs[1].id', 'id'],
    ['{"a": 1, "\\u0061": 2}', 'a', 'a'],
    ['{"__proto__": 1, "__proto__": 2}', '__proto__', '__proto__'],
  ])('finds the duplicate key in %s at %s', (text, path, key) => {
    expect(checkJsonStructure(text)).toEqual({ path, reason: `duplicate key "${key}": JSON keeps only the last one, so a rewrite would lose the others` });
  });

  it('tells keys from values: the same word as a key and a value is no duplicate', () => {
    expect(checkJsonStructure('{"a": "a", "b": ["a", "b"], "c": {"a": "b"}}')).toBeUndefined();
  });
});

describe('own __proto__ keys', () => {
  const text = '{"__proto__": {"x_top": 1}, "messages": [], "x_other": {"__proto__": [1, 2]}}\n';

  it('survive a parse and a rewrite as data; no prototype changes', () => {
    const parsed = parseDocumentText(text, messagesDoc);
    expect(parsed.ok).toBe(true);
    const value = (parsed as { value: Record<string, unknown> }).value;
    expect(Object.hasOwn(value, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    const again = serializeDocument('coordination/messages.json', value, messagesDoc);
    expect(JSON.parse(again)).toEqual(JSON.parse(text));
    expect(again).toContain('"__proto__": {\n    "x_top": 1\n  }');
    expect(({} as Record<string, unknown>).x_top).toBeUndefined();
  });

  it('restoreProtoKeys copies only where both sides have the same shape', () => {
    const source = JSON.parse('{"a": [{"__proto__": 1}], "b": {"__proto__": 2}}');
    const target = { a: [{}], b: 'not an object' };
    restoreProtoKeys(source, target);
    expect(Object.hasOwn(target.a[0]!, '__proto__')).toBe(true);
    expect(target.b).toBe('not an object');
  });
});
