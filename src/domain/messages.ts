// Messages between builders: addressing, per-recipient read / ack state, and the pure
// transitions behind `msg send|read|ack|list|show`.
import { usageError } from '../errors.js';
import { MESSAGE_TYPES, messageId, type Message, type MessagesDoc, type MessageType } from '../schemas/messages.js';
import { checkBuilderId } from './ids.js';
import { checkText } from './text.js';

/** A message is for `id` when sent to it or to all, and not sent by it. */
export const isAddressedTo = (message: Message, id: string): boolean =>
  message.from !== id && (message.to.includes(id) || message.to.includes('all'));

// read_by and acked_by are keyed by builder ids: a builder may be called "constructor" or
// "toString", so only own keys count (never what Object.prototype has under that name).
/** Whether `id` has read the message (an own key of read_by). */
export const hasRead = (message: Message, id: string): boolean => Object.hasOwn(message.read_by, id);
/** Whether `id` has acknowledged the message (an own key of acked_by). */
export const hasAcked = (message: Message, id: string): boolean => Object.hasOwn(message.acked_by, id);

export const isUnreadBy = (message: Message, id: string): boolean => isAddressedTo(message, id) && !hasRead(message, id);

export const awaitsAckFrom = (message: Message, id: string): boolean =>
  isAddressedTo(message, id) && message.ack_required && !hasAcked(message, id);

/** Everyone a message is for: its recipients, with `all` meaning every registered builder but the sender. */
export const recipientsOf = (message: Message, builders: readonly string[]): string[] =>
  message.to.includes('all') ? builders.filter((id) => id !== message.from) : message.to.filter((id) => id !== message.from);

/** The recipients who still owe an acknowledgement (none when no ack was asked for): what its sender waits on. */
export const awaitingAckFrom = (message: Message, builders: readonly string[]): string[] =>
  message.ack_required ? recipientsOf(message, builders).filter((id) => !hasAcked(message, id)) : [];

export const mailboxCounts = (messages: readonly Message[], id: string): { unread: number; awaiting_ack: number } => ({
  unread: messages.filter((m) => isUnreadBy(m, id)).length,
  awaiting_ack: messages.filter((m) => awaitsAckFrom(m, id)).length,
});

// ---- transitions ----------------------------------------------------------------------
//
// Error kinds: everything refused here is bad input (`usage`, exit 2): a message that is
// too long or addressed to nobody known will not become acceptable by waiting, and
// nothing is sent. Credentials are refused before any transition runs, for every
// committed field at once (domain/committed.ts, through ops/mutate.ts).

export const findMessage = (doc: MessagesDoc, id: string): Message | undefined => doc.messages.find((m) => m.id === id);

/** The message with that id; an unknown id is bad input (exit 2). */
export const requireMessage = (doc: MessagesDoc, id: string): Message => {
  const found = findMessage(doc, id);
  if (!found) throw usageError(`unknown message "${id}"`, { code: 'unknown_message', hint: 'see your messages with "buildctl msg list --all"' });
  return found;
};

const isMessageType = (value: string): value is MessageType => (MESSAGE_TYPES as readonly string[]).includes(value);

const checkMessageType = (type: string): MessageType => {
  if (!isMessageType(type)) {
    throw usageError(`unknown message type "${type}"`, { code: 'invalid_message_type', hint: `types are: ${MESSAGE_TYPES.join(', ')}` });
  }
  return type;
};

/** Length as a reader counts it: code points, so an emoji is one character, not two. */
const charCount = (text: string): number => [...text].length;
const cutTo = (text: string, max: number): string => [...text].slice(0, max).join('');

/** The first non-empty line of the body, trimmed and cut to `max` characters. */
export const deriveSubject = (body: string, max: number): string => {
  const first = body.split('\n').find((line) => line.trim() !== '') ?? '';
  return cutTo(first.trim(), max);
};

export interface SendMessageInput {
  /** The new message's id, made by the caller. */
  id: string;
  from: string;
  /** Builder ids, or ['all'] for a broadcast. */
  to: readonly string[];
  type: string;
  subject?: string | undefined;
  body: string;
  ackRequired: boolean;
  replyTo?: string | undefined;
  now: Date;
  subjectMax: number;
  bodyMax: number;
  /** Registered builder ids: every recipient must be one (or `all`). */
  knownBuilders: readonly string[];
}

const checkRecipients = (to: readonly string[], from: string, known: readonly string[]): string[] => {
  const wanted = [...new Set(to.map((t) => t.trim()).filter((t) => t !== ''))];
  if (wanted.length === 0) throw usageError('a message needs at least one recipient', { code: 'no_recipients', hint: 'give builder ids (build1,build2) or all' });
  // `all` already includes everyone: a broadcast is stored as exactly ["all"].
  if (wanted.includes('all')) return ['all'];
  const unknown = wanted.filter((t) => !known.includes(t));
  if (unknown.length > 0) {
    throw usageError(`unknown recipient${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `"${u}"`).join(', ')}`, {
      code: 'unknown_recipient',
      hint: `known builders: ${known.join(', ') || 'none yet'}, or all`,
      details: { unknown, known },
    });
  }
  // A message only to its sender never shows in any mailbox (isAddressedTo skips the sender).
  if (wanted.every((t) => t === from)) {
    throw usageError(`a message from ${from} only to ${from} would never be shown`, { code: 'only_to_self', hint: 'address it to another builder or all' });
  }
  return wanted;
};

/** Validates and appends a message; nothing is sent when any check fails. */
/**
 * The message a send adds, checked against the ids the store has (`has`): the whole
 * transition of a send, which only appends. A transaction can hand it the ids of a large
 * messages.json without parsing every message (store/transaction.ts, appends).
 */
export const newMessage = (has: (id: string) => boolean, input: SendMessageInput): Message => {
  const from = checkBuilderId(input.from, 'sender');
  const type = checkMessageType(input.type);
  const to = checkRecipients(input.to, from, input.knownBuilders);

  // Bodies keep real newlines; CRLF from a Windows editor becomes LF rather than a refusal.
  const body = input.body.replace(/\r\n/g, '\n');
  if (body.trim() === '') throw usageError('the message body is empty', { code: 'empty_body', hint: 'write what you want to say' });
  const bodyLength = charCount(body);
  if (bodyLength > input.bodyMax) {
    throw usageError(`the body has ${bodyLength} characters, more than ${input.bodyMax}`, {
      code: 'body_too_long',
      hint: 'shorten it, or put the details in a file in the store and point to it',
    });
  }
  checkText(body, 'body', { multiline: true });

  const explicit = input.subject?.trim();
  let subject: string;
  if (explicit) {
    const subjectLength = charCount(explicit);
    if (subjectLength > input.subjectMax) {
      throw usageError(`the subject has ${subjectLength} characters, more than ${input.subjectMax}`, {
        code: 'subject_too_long',
        hint: `shorten it to ${input.subjectMax} characters, or leave --subject out to use the body's first line`,
      });
    }
    checkText(explicit, 'subject', { multiline: false });
    subject = explicit;
  } else {
    subject = deriveSubject(body, input.subjectMax);
  }
  if (!messageId.safeParse(input.id).success) {
    throw usageError(`invalid message id "${input.id}"`, { code: 'invalid_message_id', hint: 'a message id is letters, digits, ".", "_", ":" or "-"' });
  }
  if (has(input.id)) {
    throw usageError(`a message with id "${input.id}" already exists`, { code: 'duplicate_message_id', hint: 'message ids are unique; send again for a fresh id' });
  }
  if (input.replyTo !== undefined && !has(input.replyTo)) {
    throw usageError(`cannot reply to unknown message "${input.replyTo}"`, { code: 'unknown_reply_to', hint: 'see the messages with "buildctl msg list --all"' });
  }
  const message: Message = {
    id: input.id,
    from,
    to,
    type,
    subject,
    body,
    created_at: input.now.toISOString(),
    ack_required: input.ackRequired,
    reply_to: input.replyTo ?? null,
    read_by: {},
    acked_by: {},
  };
  return message;
};

export const sendMessage = (doc: MessagesDoc, input: SendMessageInput): { doc: MessagesDoc; message: Message } => {
  const message = newMessage((id) => findMessage(doc, id) !== undefined, input);
  return { doc: { ...doc, messages: [...doc.messages, message] }, message };
};

const requireAddressedTo = (message: Message, id: string): Message => {
  if (!isAddressedTo(message, id)) {
    throw usageError(`message ${message.id} is not addressed to ${id}`, {
      code: 'not_addressed',
      hint: `it is to ${message.to.join(', ')} from ${message.from}; read and ack are per recipient`,
    });
  }
  return message;
};

const replaceMessages = (doc: MessagesDoc, changed: ReadonlyMap<string, Message>): MessagesDoc =>
  changed.size === 0 ? doc : { ...doc, messages: doc.messages.map((m) => changed.get(m.id) ?? m) };

/**
 * Marks messages read for `reader` only (a broadcast read by build1 stays unread for
 * build2). `all` marks every unread message addressed to the reader. Messages already
 * read keep their first read time, so a repeat changes nothing.
 */
export const markRead = (
  doc: MessagesDoc,
  input: { reader: string; ids?: readonly string[] | undefined; all?: boolean | undefined; now: Date },
): { doc: MessagesDoc; marked: string[] } => {
  const reader = checkBuilderId(input.reader, 'reader');
  let targets: Message[];
  if (input.all) {
    targets = doc.messages.filter((m) => isAddressedTo(m, reader));
  } else if (input.ids && input.ids.length > 0) {
    targets = input.ids.map((id) => requireAddressedTo(requireMessage(doc, id), reader));
  } else {
    throw usageError('which messages? give message ids or all', { code: 'no_messages_given', hint: 'buildctl msg read ID... or buildctl msg read --all' });
  }
  const stamp = input.now.toISOString();
  const changed = new Map<string, Message>();
  for (const m of targets) {
    if (!hasRead(m, reader) && !changed.has(m.id)) changed.set(m.id, { ...m, read_by: { ...m.read_by, [reader]: stamp } });
  }
  return { doc: replaceMessages(doc, changed), marked: [...changed.keys()] };
};

/**
 * Records `by`'s acknowledgement (and marks the message read for it). The first ack
 * stands: acking again changes nothing (outcome `already`).
 */
export const ackMessage = (
  doc: MessagesDoc,
  input: { by: string; id: string; note?: string | undefined; now: Date },
): { doc: MessagesDoc; message: Message; outcome: 'acked' | 'already' } => {
  const by = checkBuilderId(input.by);
  const current = requireAddressedTo(requireMessage(doc, input.id), by);
  if (hasAcked(current, by)) return { doc, message: current, outcome: 'already' };
  const note = input.note?.trim();
  if (note) {
    // A note is committed like a body: the same checks apply.
    checkText(note, 'note', { multiline: true });
  }
  const stamp = input.now.toISOString();
  const message: Message = {
    ...current,
    read_by: hasRead(current, by) ? current.read_by : { ...current.read_by, [by]: stamp },
    acked_by: { ...current.acked_by, [by]: note ? { at: stamp, note } : { at: stamp } },
  };
  return { doc: replaceMessages(doc, new Map([[message.id, message]])), message, outcome: 'acked' };
};

export interface ListMessagesInput {
  /** Only messages addressed to this builder (to it or to all); all messages when undefined. */
  for?: string | undefined;
  /** Only those `for` has not read yet (read state is per recipient, so it needs `for`). */
  unreadOnly: boolean;
  from?: string | undefined;
  type?: string | undefined;
  /** Only those sent at or after this time. */
  since?: Date | undefined;
}

/** Messages in the order they were sent, filtered. */
export const listMessages = (doc: MessagesDoc, input: ListMessagesInput): Message[] => {
  const type = input.type === undefined ? undefined : checkMessageType(input.type);
  const reader = input.for;
  return doc.messages.filter(
    (m) =>
      (reader === undefined || isAddressedTo(m, reader)) &&
      (!input.unreadOnly || reader === undefined || !hasRead(m, reader)) &&
      (input.from === undefined || m.from === input.from) &&
      (type === undefined || m.type === type) &&
      (input.since === undefined || Date.parse(m.created_at) >= input.since.getTime()),
  );
};

/** Most urgent first: an error before a warning, a request (someone waits for an answer), then info. */
export const TYPE_URGENCY: Readonly<Record<MessageType, number>> = { error: 0, warning: 1, request: 2, info: 3 };

/**
 * The inbox order of `msg list`: most urgent type first; within a type, messages still
 * awaiting the viewer's ack before the rest; then oldest first (the one waiting longest).
 */
export const inboxOrder = (messages: readonly Message[], viewer: string | undefined): Message[] => {
  const rank = (m: Message): [number, number, number] => [
    TYPE_URGENCY[m.type],
    viewer !== undefined && awaitsAckFrom(m, viewer) ? 0 : 1,
    Date.parse(m.created_at),
  ];
  return messages
    .map((m, index) => ({ m, key: rank(m), index }))
    .sort((a, b) => a.key[0] - b.key[0] || a.key[1] - b.key[1] || a.key[2] - b.key[2] || a.index - b.index)
    .map(({ m }) => m);
};

/**
 * A message with its thread: ancestors via reply_to (oldest first) and every reply below
 * it (direct or nested, in the order sent). Cycles in stored data are cut, not followed.
 */
export const thread = (doc: MessagesDoc, id: string): { ancestors: Message[]; message: Message; replies: Message[] } => {
  const message = requireMessage(doc, id);
  const ancestors: Message[] = [];
  const seen = new Set([message.id]);
  let parentId = message.reply_to;
  while (parentId != null && !seen.has(parentId)) {
    const parent = findMessage(doc, parentId);
    if (!parent) break;
    seen.add(parent.id);
    ancestors.unshift(parent);
    parentId = parent.reply_to;
  }
  const inThread = new Set([message.id]);
  // Grow the set of descendants until it stops growing: one pass suffices in send order,
  // the repeat covers replies stored before their parent (hand edits, merged archives).
  let grew = true;
  while (grew) {
    grew = false;
    for (const m of doc.messages) {
      if (!inThread.has(m.id) && !seen.has(m.id) && m.reply_to != null && inThread.has(m.reply_to)) {
        inThread.add(m.id);
        grew = true;
      }
    }
  }
  const replies = doc.messages.filter((m) => m.id !== message.id && inThread.has(m.id));
  return { ancestors, message, replies };
};
