// The message operations as plans (what a send, a read mark and an ack do to the store),
// apart from the commands that run them: the outbox delivers queued ones through these,
// and nothing here depends on how a mutation is run (ops/mutate.ts).
import { ackMessage, markRead, newMessage } from '../domain/messages.js';
import { docs } from '../schemas/layout.js';
import type { Message, MessagesDoc } from '../schemas/messages.js';
import type { Apply } from '../store/transaction.js';
import { readActingBuilder } from './fleet-read.js';

export const EMPTY_MESSAGES: MessagesDoc = { messages: [] };

export interface SendOptions {
  to: string[];
  body: string;
  type?: string | undefined;
  subject?: string | undefined;
  ackRequired?: boolean | undefined;
  replyTo?: string | undefined;
}

/** What a queued send needs to be applied later: ids and time fixed when it was asked for. */
export interface SendIntent extends SendOptions {
  id: string;
  from: string;
  now: string;
}

export const sendPlan = (intent: SendIntent): Apply<Message> => async (read) => {
  const { settings, knownBuilders } = await readActingBuilder(read, intent.from);
  // A send only appends: it needs the ids there are, not every message (store/transaction.ts).
  const ids = await read.ids(docs.messages);
  const message = newMessage((id) => ids.has(id), {
    id: intent.id,
    from: intent.from,
    to: intent.to,
    type: intent.type ?? 'info',
    subject: intent.subject,
    body: intent.body,
    ackRequired: intent.ackRequired ?? false,
    replyTo: intent.replyTo,
    now: new Date(intent.now),
    subjectMax: settings.subjectMax,
    bodyMax: settings.bodyMax,
    knownBuilders,
  });
  return {
    result: message,
    writes: [{ spec: docs.messages, append: [message] }],
    summary: `msg.send ${message.id} ${intent.from} -> ${message.to.join(',')}`,
  };
};

export interface ReadIntent {
  reader: string;
  ids: string[];
  all: boolean;
  now: string;
}

export const readPlan = (intent: ReadIntent): Apply<Message[]> => async (read) => {
  const step = markRead((await read(docs.messages)) ?? EMPTY_MESSAGES, { reader: intent.reader, ids: intent.ids, all: intent.all, now: new Date(intent.now) });
  const marked = new Set(step.marked);
  return {
    result: step.doc.messages.filter((m) => marked.has(m.id)),
    writes: [{ spec: docs.messages, value: step.doc }],
    summary: `msg.read ${step.marked.length > 3 ? `${step.marked.length} messages` : step.marked.join(',')} by ${intent.reader}`,
  };
};

export interface AckIntent {
  by: string;
  id: string;
  note?: string | undefined;
  now: string;
}

export const ackPlan = (intent: AckIntent): Apply<{ message: Message; outcome: 'acked' | 'already' }> => async (read) => {
  const step = ackMessage((await read(docs.messages)) ?? EMPTY_MESSAGES, { by: intent.by, id: intent.id, note: intent.note, now: new Date(intent.now) });
  return {
    result: { message: step.message, outcome: step.outcome },
    writes: [{ spec: docs.messages, value: step.doc }],
    summary: `msg.ack ${intent.id} by ${intent.by}`,
  };
};
