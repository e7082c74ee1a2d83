import { ackMessage, listMessages, markRead, sendMessage, thread } from '../domain/messages.js';
import { docs } from '../schemas/layout.js';
import type { Message, MessagesDoc } from '../schemas/messages.js';
import { openSnapshot } from '../store/snapshot.js';
import { fetchMain, openStore } from '../store/store.js';
import { transact } from '../store/transaction.js';
import type { Context } from './context.js';
import { readActingBuilder } from './fleet-read.js';
import { resolveActor } from './identity.js';
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

/** Sends as this builder. The commit names the message id and recipients, never its text. */
export const sendMessageOp = async (ctx: Context, options: SendOptions): Promise<Message> => {
  const store = await openStore(ctx.storeDir);
  const { id } = await resolveActor(ctx);
  const outcome = await transact(store, {
    op: 'msg.send',
    actor: id,
    apply: async (read) => {
      const { settings, knownBuilders } = await readActingBuilder(read, id);
      const now = ctx.now();
      const step = sendMessage((await read(docs.messages)) ?? EMPTY_MESSAGES, {
        id: newId('msg', now),
        from: id,
        to: options.to,
        type: options.type ?? 'info',
        subject: options.subject,
        body: options.body,
        ackRequired: options.ackRequired ?? false,
        replyTo: options.replyTo,
        now,
        subjectMax: settings.subjectMax,
        bodyMax: settings.bodyMax,
        knownBuilders,
      });
      return {
        result: step.message,
        writes: [{ spec: docs.messages, value: step.doc }],
        summary: `msg.send ${step.message.id} ${id} -> ${step.message.to.join(',')}`,
      };
    },
  });
  return outcome.result;
};

export const readMessagesOp = async (ctx: Context, options: { ids: string[]; all: boolean }): Promise<{ marked: string[]; changed: boolean }> => {
  const store = await openStore(ctx.storeDir);
  const { id } = await resolveActor(ctx);
  const outcome = await transact(store, {
    op: 'msg.read',
    actor: id,
    apply: async (read) => {
      const step = markRead((await read(docs.messages)) ?? EMPTY_MESSAGES, { reader: id, ids: options.ids, all: options.all, now: ctx.now() });
      return {
        result: step.marked,
        writes: [{ spec: docs.messages, value: step.doc }],
        summary: `msg.read ${step.marked.length > 3 ? `${step.marked.length} messages` : step.marked.join(',')} by ${id}`,
      };
    },
  });
  return { marked: outcome.result, changed: outcome.changed };
};

export const ackMessageOp = async (ctx: Context, options: { id: string; note?: string | undefined }): Promise<{ message: Message; outcome: 'acked' | 'already' }> => {
  const store = await openStore(ctx.storeDir);
  const { id } = await resolveActor(ctx);
  const outcome = await transact(store, {
    op: 'msg.ack',
    actor: id,
    apply: async (read) => {
      const step = ackMessage((await read(docs.messages)) ?? EMPTY_MESSAGES, { by: id, id: options.id, note: options.note, now: ctx.now() });
      return {
        result: { message: step.message, outcome: step.outcome },
        writes: [{ spec: docs.messages, value: step.doc }],
        summary: `msg.ack ${options.id} by ${id}`,
      };
    },
  });
  return outcome.result;
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
