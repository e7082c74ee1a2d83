import { ackMessage, listMessages, markRead, sendMessage, thread } from '../domain/messages.js';
import { docs } from '../schemas/layout.js';
import type { Message, MessagesDoc } from '../schemas/messages.js';
import { openSnapshot } from '../store/snapshot.js';
import { fetchMain, openStore } from '../store/store.js';
import type { Context } from './context.js';
import { readActingBuilder } from './fleet-read.js';
import { resolveActor } from './identity.js';
import { mutateOrQueue, type Apply } from './mutate.js';
import { newId } from './new-id.js';
import { fetchOrFallBack, readMainOrThrow } from './read.js';

const EMPTY_MESSAGES: MessagesDoc = { messages: [] };

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
  const step = sendMessage((await read(docs.messages)) ?? EMPTY_MESSAGES, {
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
    result: step.message,
    writes: [{ spec: docs.messages, value: step.doc }],
    summary: `msg.send ${step.message.id} ${intent.from} -> ${step.message.to.join(',')}`,
  };
};

export type Queueable<T> = T & { queued: boolean };

/** Sends as this builder. The commit names the message id and recipients, never its text. */
export const sendMessageOp = async (ctx: Context, options: SendOptions): Promise<Queueable<Message>> => {
  const store = await openStore(ctx.storeDir);
  const { id } = await resolveActor(ctx);
  const now = ctx.now();
  const intent: SendIntent = { ...options, id: newId('msg', now), from: id, now: now.toISOString() };
  const run = await mutateOrQueue(ctx, store, { op: 'msg.send', actor: id, input: intent, apply: sendPlan(intent) });
  return run.queued ? { ...run.result, queued: true } : { ...run.outcome.result, queued: false };
};

export interface ReadIntent {
  reader: string;
  ids: string[];
  all: boolean;
  now: string;
}

export const readPlan = (intent: ReadIntent): Apply<string[]> => async (read) => {
  const step = markRead((await read(docs.messages)) ?? EMPTY_MESSAGES, { reader: intent.reader, ids: intent.ids, all: intent.all, now: new Date(intent.now) });
  return {
    result: step.marked,
    writes: [{ spec: docs.messages, value: step.doc }],
    summary: `msg.read ${step.marked.length > 3 ? `${step.marked.length} messages` : step.marked.join(',')} by ${intent.reader}`,
  };
};

export const readMessagesOp = async (ctx: Context, options: { ids: string[]; all: boolean }): Promise<{ marked: string[]; changed: boolean; queued: boolean }> => {
  const store = await openStore(ctx.storeDir);
  const { id } = await resolveActor(ctx);
  const intent: ReadIntent = { reader: id, ids: options.ids, all: options.all, now: ctx.now().toISOString() };
  const run = await mutateOrQueue(ctx, store, { op: 'msg.read', actor: id, input: intent, apply: readPlan(intent) });
  return run.queued ? { marked: run.result, changed: true, queued: true } : { marked: run.outcome.result, changed: run.outcome.changed, queued: false };
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

export const ackMessageOp = async (
  ctx: Context,
  options: { id: string; note?: string | undefined },
): Promise<{ message: Message; outcome: 'acked' | 'already'; queued: boolean }> => {
  const store = await openStore(ctx.storeDir);
  const { id } = await resolveActor(ctx);
  const intent: AckIntent = { by: id, id: options.id, note: options.note, now: ctx.now().toISOString() };
  const run = await mutateOrQueue(ctx, store, { op: 'msg.ack', actor: id, input: intent, apply: ackPlan(intent) });
  return run.queued ? { ...run.result, queued: true } : { ...run.outcome.result, queued: false };
};

const readMessages = async (ctx: Context, fetch: boolean): Promise<MessagesDoc> => {
  const store = await openStore(ctx.storeDir);
  if (fetch) await fetchOrFallBack(() => fetchMain(store), ctx.warn);
  const snapshot = openSnapshot(store);
  try {
    return (await readMainOrThrow(snapshot, docs.messages, ctx.warn)) ?? EMPTY_MESSAGES;
  } finally {
    snapshot.close();
  }
};

export interface ListOptions {
  /** Every message in the store, not only mine. */
  all: boolean;
  /** Mine, read ones too. */
  includeRead: boolean;
  from?: string | undefined;
  type?: string | undefined;
  fetch: boolean;
}

/** By default: my unread messages (to me or to all). */
export const listMessagesOp = async (ctx: Context, options: ListOptions): Promise<{ me: string | null; messages: Message[] }> => {
  const me = options.all ? null : (await resolveActor(ctx)).id;
  const doc = await readMessages(ctx, options.fetch);
  const messages = listMessages(doc, { for: me ?? undefined, unreadOnly: me !== null && !options.includeRead, from: options.from, type: options.type });
  return { me, messages };
};

export const showMessageOp = async (ctx: Context, id: string, options: { fetch: boolean }) => thread(await readMessages(ctx, options.fetch), id);
