// Editing a canonical collection document as text (store/documents.ts) gives exactly the
// text serialising the edited value would: the append path of a transaction relies on it.
import { describe, expect, it } from 'vitest';
import { appendToCanonicalText, canonicalEntryText, entryFieldsInCanonicalText, entryLineValue, entryObjectHasKey, entryStringsInCanonicalText, entryTextsInCanonicalText, idsInCanonicalText, serializeDocument } from '../../src/store/documents.js';
import { docs } from '../../src/schemas/layout.js';

const message = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  from: 'build1',
  to: ['build2'],
  type: 'info',
  subject: 'é "quoted" \\ and \u2028',
  body: 'line one\nline two\t{ "id": "not-an-id" }\n      "id": "fake"',
  created_at: '2026-01-01T00:00:00.000Z',
  ack_required: false,
  read_by: { build2: '2026-01-01T00:01:00.000Z' },
  acked_by: {},
  ...extra,
});

const text = (doc: unknown) => serializeDocument(docs.messages.path, doc, docs.messages.schema);

describe('a canonical collection document, as text', () => {
  it.each([
    ['empty', { messages: [] }],
    ['one', { messages: [message('m1')] }],
    ['several, with unknown fields inside and around', { note: { messages: [{ id: 'x' }] }, messages: [message('m1', { extra: [{ id: 'nested' }] }), message('m2'), message('m.3:x')], trailer: [{ id: 'after' }] }],
  ])('%s: appending gives what serialising the whole document gives, and the ids are read without parsing', (_label, doc) => {
    const before = text(doc);
    const added = [message('new-1'), message('new-2', { reply_to: 'm1' })];
    const appended = appendToCanonicalText(before, 'messages', added.map((m) => canonicalEntryText(JSON.parse(text({ messages: [m] })).messages[0])));
    expect(appended).toBe(text({ ...doc, messages: [...doc.messages, ...added] }));
    expect(idsInCanonicalText(before, 'messages', 'id')).toEqual(new Set(doc.messages.map((m) => m.id)));
  });

  it('an id with escapes is read as its value', () => {
    const before = text({ messages: [message('m1'), message('m2')] }).replace('"id": "m2"', '"id": "m\\u0032\\\\"');
    expect(idsInCanonicalText(before, 'messages', 'id')).toEqual(new Set(['m1', 'm2\\']));
  });

  it('an entry-level field is read for every entry, in order, never from a body or a nested object', () => {
    const doc = { messages: [message('m1', { created_at: '2026-01-02T00:00:00.000Z', extra: { created_at: 'nested' } }), message('m2', { body: '"created_at": "in a body"\n      "created_at": "fake"' }), message('m3', { created_at: '2026-01-03T00:00:00.000Z' })] };
    expect(entryStringsInCanonicalText(text(doc), 'messages', 'created_at')).toEqual(['2026-01-02T00:00:00.000Z', '2026-01-01T00:00:00.000Z', '2026-01-03T00:00:00.000Z']);
    // A value with escapes is read as its value.
    const escaped = text(doc).replace('"created_at": "2026-01-03T00:00:00.000Z"', '"created_at": "2026-01-0\\u0033T00:00:00.000Z"');
    expect(escaped).not.toBe(text(doc));
    expect(entryStringsInCanonicalText(escaped, 'messages', 'created_at')).toEqual(['2026-01-02T00:00:00.000Z', '2026-01-01T00:00:00.000Z', '2026-01-03T00:00:00.000Z']);
    expect(entryStringsInCanonicalText(text({ messages: [] }), 'messages', 'created_at')).toEqual([]);
    expect(entryStringsInCanonicalText(JSON.stringify(doc), 'messages', 'created_at')).toBeUndefined();
  });

  it('splits into the entries\' own texts, and reads a field\'s one-line value and an object field\'s keys as the parsed entry has them', () => {
    const ids = ['build1', 'build2', 'build10', 'constructor'];
    const messages = Array.from({ length: 40 }, (_, i) =>
      message(`m${i}`, {
        ack_required: i % 3 === 0,
        read_by: Object.fromEntries(ids.filter((_, j) => (i >> j) % 2 === 1).map((id) => [id, '2026-01-01T00:01:00.000Z'])),
        acked_by: i % 5 === 0 ? { build1: { at: '2026-01-01T00:02:00.000Z', note: '"read_by": {\n        "build2": ' } } : {},
        ...(i % 7 === 0 ? { extra: { read_by: { build10: 'x' } } } : {}),
      }),
    );
    const entries = entryTextsInCanonicalText(text({ messages }), 'messages')!;
    expect(entries.map((entry) => JSON.parse(entry))).toEqual(messages);
    for (const [i, entry] of entries.entries()) {
      expect(entryLineValue(entry, 'ack_required')).toBe(JSON.stringify(messages[i]!.ack_required));
      expect(entryLineValue(entry, 'id')).toBe(JSON.stringify(messages[i]!.id));
      expect(entryLineValue(entry, 'read_by')).toBe(Object.keys(messages[i]!.read_by).length === 0 ? '{}' : undefined);
      for (const id of ids) expect(entryObjectHasKey(entry, 'read_by', id), `${messages[i]!.id} ${id}`).toBe(Object.hasOwn(messages[i]!.read_by, id));
    }
    expect(entryTextsInCanonicalText(JSON.stringify({ messages }), 'messages')).toBeUndefined();
  });

  it('reads chosen fields of every entry off the text: one-line values whole, others by their opening', () => {
    const messages = Array.from({ length: 30 }, (_, i) =>
      message(`m${i}`, {
        ack_required: i % 2 === 0,
        read_by: i % 3 === 0 ? {} : { build2: '2026-01-01T00:01:00.000Z' },
        ...(i % 4 === 0 ? { reply_to: `m${i + 1}` } : {}),
        ...(i % 5 === 0 ? { extra: { created_at: 'nested', list: [] }, note: 'a "quoted",\n      "id": "x"' } : {}),
      }),
    );
    const keys = ['id', 'created_at', 'ack_required', 'read_by', 'to', 'reply_to', 'extra', 'note', 'absent'];
    const fields = entryFieldsInCanonicalText(text({ messages }), 'messages', keys)!;
    const expected = messages.map((m) => {
      const map = new Map<string, string>();
      for (const key of keys) {
        if (!(key in m)) continue;
        const value = (m as Record<string, unknown>)[key];
        const spans = typeof value === 'object' && value !== null && Object.keys(value).length > 0;
        map.set(key, spans ? (Array.isArray(value) ? '[' : '{') : JSON.stringify(value));
      }
      return map;
    });
    expect(fields).toEqual(expected);
    expect(entryFieldsInCanonicalText(text({ messages: [] }), 'messages', keys)).toEqual([]);
    expect(entryFieldsInCanonicalText(JSON.stringify({ messages }), 'messages', keys)).toBeUndefined();
  });

  it('text not in the canonical form is not edited', () => {
    const compact = JSON.stringify({ messages: [message('m1')] });
    expect(idsInCanonicalText(compact, 'messages', 'id')).toBeUndefined();
    expect(appendToCanonicalText(compact, 'messages', [canonicalEntryText(message('m2'))])).toBeUndefined();
  });
});
