import { describe, expect, it } from 'vitest';
import { buildctlErrorFrom } from '../helpers/errors.js';
import {
  ackMessage,
  awaitsAckFrom,
  deriveSubject,
  isUnreadBy,
  listMessages,
  mailboxCounts,
  markRead,
  sendMessage,
  type SendMessageInput,
  thread,
} from '../../src/domain/messages.js';
import { messagesDoc, type MessagesDoc } from '../../src/schemas/messages.js';

const T0 = Date.parse('2026-03-01T10:00:00Z');
const at = (seconds: number): Date => new Date(T0 + seconds * 1000);
const EMPTY: MessagesDoc = { messages: [] };
const FLEET = ['build1', 'build2', 'build3'];

const send = (doc: MessagesDoc, input: Partial<SendMessageInput> & { id: string }, seconds = 0) =>
  sendMessage(doc, {
    from: 'build1',
    to: ['build2'],
    type: 'info',
    body: 'hello',
    ackRequired: false,
    now: at(seconds),
    subjectMax: 100,
    bodyMax: 10_000,
    knownBuilders: FLEET,
    ...input,
  });

const errorOf = buildctlErrorFrom;

const valid = (doc: MessagesDoc): MessagesDoc => {
  expect(messagesDoc.safeParse(doc).success).toBe(true);
  return doc;
};

describe('sendMessage', () => {
  it('appends a message with empty per-recipient state', () => {
    const { doc, message } = send(EMPTY, { id: 'm1', to: ['build2', 'build3'], type: 'request', subject: 'Deploy', body: 'go\nnow', ackRequired: true });
    expect(valid(doc).messages).toEqual([message]);
    expect(message).toEqual({
      id: 'm1',
      from: 'build1',
      to: ['build2', 'build3'],
      type: 'request',
      subject: 'Deploy',
      body: 'go\nnow',
      created_at: at(0).toISOString(),
      ack_required: true,
      reply_to: null,
      read_by: {},
      acked_by: {},
    });
  });

  it.each([
    ['the first line', 'apt update done\nall builders green', 'apt update done'],
    ['the first non-empty line, trimmed', '\n   \n  \tdisk full on /var  \nmore', 'disk full on /var'],
    ['a cut to subjectMax, without error', `${'x'.repeat(150)}\nrest`, 'x'.repeat(100)],
  ])('derives the subject from %s', (_case, body, subject) => {
    expect(send(EMPTY, { id: 'm1', body }).message.subject).toBe(subject);
  });

  it('counts characters, not UTF-16 units, when cutting a derived subject', () => {
    expect(deriveSubject('🚀'.repeat(5), 3)).toBe('🚀🚀🚀');
  });

  it('keeps real newlines and turns CRLF into LF', () => {
    expect(send(EMPTY, { id: 'm1', body: 'a\r\nb\n\tc' }).message.body).toBe('a\nb\n\tc');
  });

  it('stores a broadcast as exactly ["all"]', () => {
    expect(send(EMPTY, { id: 'm1', to: ['build2', 'all'] }).message.to).toEqual(['all']);
  });

  it('dedupes recipients', () => {
    expect(send(EMPTY, { id: 'm1', to: ['build2', 'build2', 'build3'] }).message.to).toEqual(['build2', 'build3']);
  });

  it('accepts a subject of exactly subjectMax and a body of exactly bodyMax', () => {
    const { message } = send(EMPTY, { id: 'm1', subject: 's'.repeat(100), body: 'b'.repeat(10_000) });
    expect([message.subject.length, message.body.length]).toEqual([100, 10_000]);
  });

  it.each([
    ['an explicit subject over subjectMax', { subject: 's'.repeat(101) }, 'subject_too_long'],
    ['a body over bodyMax', { body: 'b'.repeat(10_001) }, 'body_too_long'],
    ['a body over a configured bodyMax', { body: 'b'.repeat(21), bodyMax: 20 }, 'body_too_long'],
    ['an empty body', { body: '' }, 'empty_body'],
    ['a blank body', { body: ' \n\t ' }, 'empty_body'],
    ['an unknown recipient', { to: ['build2', 'build9'] }, 'unknown_recipient'],
    ['no recipients', { to: [] }, 'no_recipients'],
    ['a message only to the sender', { to: ['build1'] }, 'only_to_self'],
    ['an unknown type', { type: 'urgent' }, 'invalid_message_type'],
    ['a bad sender id', { from: 'Build1' }, 'invalid_builder_id'],
    ['a reply to an unknown message', { replyTo: 'nope' }, 'unknown_reply_to'],
    ['an escape sequence in the body', { body: 'red \u001b[31m text' }, 'control_character'],
    ['a NUL in the subject', { subject: 'a\u0000b' }, 'control_character'],
    ['a bare carriage return in the body', { body: 'progress\r50%' }, 'control_character'],
    ['a newline in an explicit subject', { subject: 'one\ntwo' }, 'multiline_subject'],
    ['a bad id', { id: '!bad' }, 'invalid_message_id'],
  ] as const)('refuses %s as usage (exit 2), sending nothing', (_case, input, code) => {
    const error = errorOf(() => send(EMPTY, { id: 'm1', ...input }));
    expect([error.kind, error.exitCode, error.code]).toEqual(['usage', 2, code]);
    expect(error.hint).toBeTruthy();
  });

  it('lists the known builders when a recipient is unknown', () => {
    expect(errorOf(() => send(EMPTY, { id: 'm1', to: ['build9'] })).hint).toContain('build1, build2, build3');
  });

  it('refuses a duplicate id', () => {
    const doc = send(EMPTY, { id: 'm1' }).doc;
    expect(errorOf(() => send(doc, { id: 'm1' })).code).toBe('duplicate_message_id');
  });

  it('accepts a reply to a known message', () => {
    const doc = send(EMPTY, { id: 'm1' }).doc;
    expect(send(doc, { id: 'm2', from: 'build2', to: ['build1'], replyTo: 'm1' }).message.reply_to).toBe('m1');
  });
});

describe('markRead', () => {
  const doc = [
    (d: MessagesDoc) => send(d, { id: 'b1', to: ['all'] }, 0).doc,
    (d: MessagesDoc) => send(d, { id: 'd2', to: ['build2'] }, 1).doc,
    (d: MessagesDoc) => send(d, { id: 'd3', to: ['build3'] }, 2).doc,
  ].reduce((d, step) => step(d), EMPTY);

  it('marks a broadcast read for the reader only', () => {
    const r = markRead(doc, { reader: 'build2', ids: ['b1'], now: at(10) });
    expect(r.marked).toEqual(['b1']);
    const b1 = r.doc.messages[0];
    expect(b1?.read_by).toEqual({ build2: at(10).toISOString() });
    expect(b1 && isUnreadBy(b1, 'build2')).toBe(false);
    expect(b1 && isUnreadBy(b1, 'build3')).toBe(true);
    expect(valid(r.doc).messages.slice(1)).toEqual(doc.messages.slice(1));
  });

  it('marks every unread message addressed to the reader with all', () => {
    const r = markRead(doc, { reader: 'build3', all: true, now: at(10) });
    expect(r.marked).toEqual(['b1', 'd3']);
    expect(mailboxCounts(r.doc.messages, 'build3').unread).toBe(0);
    expect(mailboxCounts(r.doc.messages, 'build2').unread).toBe(2);
  });

  it('keeps the first read time: a repeat changes nothing', () => {
    const once = markRead(doc, { reader: 'build2', all: true, now: at(10) }).doc;
    const twice = markRead(once, { reader: 'build2', all: true, now: at(20) });
    expect(twice.marked).toEqual([]);
    expect(twice.doc).toBe(once);
  });

  it.each([
    ['an unknown id', { ids: ['zz'] }, 'unknown_message'],
    ['a message to someone else', { ids: ['d3'] }, 'not_addressed'],
    ['neither ids nor all', {}, 'no_messages_given'],
  ] as const)('refuses %s as usage', (_case, input, code) => {
    const error = errorOf(() => markRead(doc, { reader: 'build2', now: at(10), ...input }));
    expect([error.kind, error.code]).toEqual(['usage', code]);
  });
});

describe('ackMessage', () => {
  const doc = send(EMPTY, { id: 'm1', to: ['all'], type: 'request', ackRequired: true }).doc;

  it('records the ack per recipient with the note, and marks it read', () => {
    const r = ackMessage(doc, { by: 'build2', id: 'm1', note: ' done ', now: at(5) });
    expect(r.outcome).toBe('acked');
    expect(r.message.acked_by).toEqual({ build2: { at: at(5).toISOString(), note: 'done' } });
    expect(r.message.read_by).toEqual({ build2: at(5).toISOString() });
    expect(awaitsAckFrom(r.message, 'build2')).toBe(false);
    expect(awaitsAckFrom(r.message, 'build3')).toBe(true);
    expect(valid(r.doc).messages[0]).toEqual(r.message);
  });

  it('keeps an earlier read time and records an ack without a note', () => {
    const read = markRead(doc, { reader: 'build3', ids: ['m1'], now: at(1) }).doc;
    const r = ackMessage(read, { by: 'build3', id: 'm1', now: at(9) });
    expect(r.message.read_by.build3).toBe(at(1).toISOString());
    expect(r.message.acked_by.build3).toEqual({ at: at(9).toISOString() });
  });

  it('keeps the first ack: acking again changes nothing', () => {
    const once = ackMessage(doc, { by: 'build2', id: 'm1', note: 'first', now: at(5) }).doc;
    const again = ackMessage(once, { by: 'build2', id: 'm1', note: 'second', now: at(6) });
    expect(again.outcome).toBe('already');
    expect(again.doc).toBe(once);
  });

  it.each([
    ['an unknown id', { id: 'zz' }, 'unknown_message'],
    ['the sender acking its own message', { by: 'build1' }, 'not_addressed'],
  ] as const)('refuses %s as usage', (_case, input, code) => {
    const error = errorOf(() => ackMessage(doc, { by: 'build2', id: 'm1', now: at(5), ...input }));
    expect([error.kind, error.code]).toEqual(['usage', code]);
  });
});

describe('listMessages', () => {
  let doc = send(EMPTY, { id: 'm1', from: 'build1', to: ['all'], type: 'warning' }, 0).doc;
  doc = send(doc, { id: 'm2', from: 'build3', to: ['build2'] }, 1).doc;
  doc = send(doc, { id: 'm3', from: 'build2', to: ['build1'] }, 2).doc;
  doc = markRead(doc, { reader: 'build2', ids: ['m1'], now: at(3) }).doc;
  const ids = (input: Parameters<typeof listMessages>[1]) => listMessages(doc, input).map((m) => m.id);

  it.each([
    ['unread for build2', { for: 'build2', unreadOnly: true }, ['m2']],
    ['everything to build2', { for: 'build2', unreadOnly: false }, ['m1', 'm2']],
    ['to build2 from build1', { for: 'build2', unreadOnly: false, from: 'build1' }, ['m1']],
    ['to build2 of type warning', { for: 'build2', unreadOnly: false, type: 'warning' }, ['m1']],
    ['unread for build3 (the broadcast)', { for: 'build3', unreadOnly: true }, ['m1']],
    ['everything in the store', { unreadOnly: false }, ['m1', 'm2', 'm3']],
  ] as const)('%s', (_case, input, expected) => {
    expect(ids(input)).toEqual(expected);
  });

  it('refuses an unknown type filter', () => {
    expect(errorOf(() => ids({ unreadOnly: false, type: 'chat' })).code).toBe('invalid_message_type');
  });
});

describe('thread', () => {
  let doc = send(EMPTY, { id: 'root', from: 'build1', to: ['build2'] }, 0).doc;
  doc = send(doc, { id: 'r1', from: 'build2', to: ['build1'], replyTo: 'root' }, 1).doc;
  doc = send(doc, { id: 'other', from: 'build3', to: ['build1'] }, 2).doc;
  doc = send(doc, { id: 'r2', from: 'build1', to: ['build2'], replyTo: 'r1' }, 3).doc;
  doc = send(doc, { id: 'r1b', from: 'build3', to: ['build1'], replyTo: 'root' }, 4).doc;

  it('returns ancestors (oldest first), the message and every reply below it', () => {
    const t = thread(doc, 'r1');
    expect(t.ancestors.map((m) => m.id)).toEqual(['root']);
    expect(t.message.id).toBe('r1');
    expect(t.replies.map((m) => m.id)).toEqual(['r2']);
    expect(thread(doc, 'root').replies.map((m) => m.id)).toEqual(['r1', 'r2', 'r1b']);
    expect(thread(doc, 'r2').ancestors.map((m) => m.id)).toEqual(['root', 'r1']);
  });

  it('stops at a reply_to cycle in stored data', () => {
    const cyclic: MessagesDoc = { messages: doc.messages.map((m) => (m.id === 'root' ? { ...m, reply_to: 'r2' } : m)) };
    const t = thread(cyclic, 'r1');
    expect(t.ancestors.map((m) => m.id)).toEqual(['r2', 'root']);
    expect(t.replies.map((m) => m.id)).toEqual([]);
  });

  it('refuses an unknown id', () => {
    expect(errorOf(() => thread(doc, 'zz')).code).toBe('unknown_message');
  });
});
