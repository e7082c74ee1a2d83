// Editing a canonical collection document as text (store/documents.ts) gives exactly the
// text serialising the edited value would: the append and replace paths of a transaction rely on it.
import { describe, expect, it } from 'vitest';
import {
  appendToCanonicalText,
  canonicalEntryText,
  entryFieldsInCanonicalText,
  entryLineValue,
  entryObjectHasKey,
  entryTextsInCanonicalText,
  fieldString,
  idLookupInCanonicalText,
  replaceInCanonicalText,
  serializeDocument,
} from '../../src/store/documents.js';
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
/** The canonical form itself, for ids the messages' schema refuses: the text edits know no schema. */
const canonical = (doc: unknown) => `${JSON.stringify(doc, null, 2)}\n`;

describe('a canonical collection document, as text', () => {
  it.each([
    ['empty', { messages: [] }],
    ['one', { messages: [message('m1')] }],
    ['several, with unknown fields inside and around', { note: { messages: [{ id: 'x' }] }, messages: [message('m1', { extra: [{ id: 'nested' }] }), message('m2'), message('m.3:x')], trailer: [{ id: 'after' }] }],
  ])('%s: appending gives what serialising the whole document gives, and the ids are looked up without parsing', (_label, doc) => {
    const before = text(doc);
    const added = [message('new-1'), message('new-2', { reply_to: 'm1' })];
    const appended = appendToCanonicalText(before, 'messages', added.map((m) => canonicalEntryText(JSON.parse(text({ messages: [m] })).messages[0])));
    expect(appended).toBe(text({ ...doc, messages: [...doc.messages, ...added] }));
    const has = idLookupInCanonicalText(before, 'messages', 'id')!;
    for (const m of doc.messages) expect(has(m.id)).toBe(true);
    // Not ids: a nested entry's, one around the array, one in a body, a prefix of one.
    for (const id of ['x', 'nested', 'after', 'not-an-id', 'fake', 'm', 'm.3', 'new-1']) expect(has(id)).toBe(false);
  });

  it('an id with characters JSON escapes is found as serialising writes it', () => {
    const before = canonical({ messages: [message('m1'), message('m2\\"\u2028')] });
    const has = idLookupInCanonicalText(before, 'messages', 'id')!;
    expect(has('m2\\"\u2028')).toBe(true);
    expect(has('m2')).toBe(false);
  });

  it('replacing an entry gives what serialising the document with it replaced gives, wherever it is', () => {
    const doc = { note: { messages: [{ id: 'm1' }] }, messages: [message('m1'), message('m10', { extra: [{ id: 'm1' }] }), message('m\\1'), message('m1x')], trailer: [{ id: 'm1' }] };
    const before = canonical(doc);
    for (const [i, entry] of doc.messages.entries()) {
      const changed = { ...entry, subject: 'changed', read_by: {}, extra: { nested: [1, 2] } };
      const replaced = replaceInCanonicalText(before, 'messages', 'id', entry.id, canonicalEntryText(changed));
      expect(replaced).toBe(canonical({ ...doc, messages: doc.messages.map((m, j) => (j === i ? changed : m)) }));
    }
  });

  it('an id that is not there, or is there twice, is not replaced', () => {
    const entry = canonicalEntryText(message('m1'));
    expect(replaceInCanonicalText(text({ messages: [message('m1')] }), 'messages', 'id', 'm2', entry)).toBeUndefined();
    expect(replaceInCanonicalText(text({ messages: [] }), 'messages', 'id', 'm1', entry)).toBeUndefined();
    expect(replaceInCanonicalText(text({ messages: [message('m1'), message('m1')] }), 'messages', 'id', 'm1', entry)).toBeUndefined();
  });

  it('an entry-level field is read for every entry, in order, never from a body or a nested object', () => {
    const doc = { messages: [message('m1', { created_at: '2026-01-02T00:00:00.000Z', extra: { created_at: 'nested' } }), message('m2', { body: '"created_at": "in a body"\n      "created_at": "fake"' }), message('m3', { created_at: '2026-01-03T00:00:00.000Z' })] };
    const createdAt = (of: string) => entryFieldsInCanonicalText(of, 'messages', ['created_at'])?.map((fields) => fieldString(fields.get('created_at')));
    expect(createdAt(text(doc))).toEqual(['2026-01-02T00:00:00.000Z', '2026-01-01T00:00:00.000Z', '2026-01-03T00:00:00.000Z']);
    // A value with escapes is read as its value.
    const escaped = text(doc).replace('"created_at": "2026-01-03T00:00:00.000Z"', '"created_at": "2026-01-0\\u0033T00:00:00.000Z"');
    expect(escaped).not.toBe(text(doc));
    expect(createdAt(escaped)).toEqual(['2026-01-02T00:00:00.000Z', '2026-01-01T00:00:00.000Z', '2026-01-03T00:00:00.000Z']);
    expect(createdAt(text({ messages: [] }))).toEqual([]);
    expect(createdAt(JSON.stringify(doc))).toBeUndefined();
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
    expect(idLookupInCanonicalText(compact, 'messages', 'id')).toBeUndefined();
    expect(replaceInCanonicalText(compact, 'messages', 'id', 'm1', canonicalEntryText(message('m1')))).toBeUndefined();
    expect(appendToCanonicalText(compact, 'messages', [canonicalEntryText(message('m2'))])).toBeUndefined();
  });
});
