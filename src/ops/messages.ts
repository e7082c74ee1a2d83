import { awaitingAckFrom, findMessage, inboxOrder, listMessages, thread } from '../domain/messages.js';
import { parseSince } from '../domain/since.js';
import { docs } from '../schemas/layout.js';
import type { Message } from '../schemas/messages.js';
import { openSnapshot } from '../store/snapshot.js';
import { fetchMain, openStore } from '../store/store.js';
import type { Context } from './context.js';
import { archiveMonths, monthsSince } from './archive-read.js';
import { resolveActor, tryResolveActor } from './identity.js';
import { ackPlan, EMPTY_MESSAGES, readPlan, sendPlan, type AckIntent, type ReadIntent, type SendIntent, type SendOptions } from './message-plans.js';
import { deferredOutcome, mutateOrQueue, type Outcome } from './mutate.js';
import { newId } from './new-id.js';
import { fetchOrFallBack, viewReads } from './read.js';

/** Sends as this builder. The commit names the message id and recipients, never its text. */
export const sendMessageOp = async (ctx: Context, options: SendOptions): Promise<{ message: Message } & Outcome> => {
  const store = await openStore(ctx.storeDir);
  const { id } = await resolveActor(ctx);
  const now = ctx.now();
  const intent: SendIntent = { ...options, id: newId('msg', now), from: id, now: now.toISOString() };
  const run = await mutateOrQueue(ctx, store, { op: 'msg.send', actor: id, input: intent, apply: sendPlan(intent) });
  return { message: run.queued ? run.result : run.outcome.result, ...deferredOutcome(run) };
};

/** The messages this marks read (none when all were read already). */
export const readMessagesOp = async (ctx: Context, options: { ids: string[]; all: boolean }): Promise<{ messages: Message[] } & Outcome> => {
  const store = await openStore(ctx.storeDir);
  const { id } = await resolveActor(ctx);
  const intent: ReadIntent = { reader: id, ids: options.ids, all: options.all, now: ctx.now().toISOString() };
  const run = await mutateOrQueue(ctx, store, { op: 'msg.read', actor: id, input: intent, apply: readPlan(intent) });
  return { messages: run.queued ? run.result : run.outcome.result, ...deferredOutcome(run) };
};

export const ackMessageOp = async (
  ctx: Context,
  options: { id: string; note?: string | undefined },
): Promise<{ message: Message; outcome: 'acked' | 'already' } & Outcome> => {
  const store = await openStore(ctx.storeDir);
  const { id } = await resolveActor(ctx);
  const intent: AckIntent = { by: id, id: options.id, note: options.note, now: ctx.now().toISOString() };
  const run = await mutateOrQueue(ctx, store, { op: 'msg.ack', actor: id, input: intent, apply: ackPlan(intent) });
  return { ...(run.queued ? run.result : run.outcome.result), ...deferredOutcome(run) };
};

/** The fleet's ids and the hot messages (origin/main, fetched first unless told not to). */
const readMailbox = async (ctx: Context, options: { fetch: boolean; archived: boolean; since?: Date | undefined }): Promise<{ builders: string[]; messages: Message[] }> => {
  const store = await openStore(ctx.storeDir);
  if (options.fetch) await fetchOrFallBack(() => fetchMain(store), ctx.warn);
  const snapshot = openSnapshot(store);
  const views = viewReads(snapshot, ctx.warn);
  try {
    const builders = ((await views.mainOrThrow(docs.builders))?.builders ?? []).map((b) => b.id);
    if (!options.archived) return { builders, messages: ((await views.mainOrThrow(docs.messages)) ?? EMPTY_MESSAGES).messages };
    const messages: Message[] = [];
    for (const month of monthsSince(await archiveMonths(store, 'messages'), options.since)) {
      messages.push(...((await views.mainOrThrow(docs.messagesArchive(month)))?.messages ?? []));
    }
    return { builders, messages };
  } finally {
    snapshot.close();
  }
};

export interface ListOptions {
  /** Every message in the store, not only mine. */
  all: boolean;
  /** Mine, read ones too. */
  includeRead: boolean;
  /** The messages I sent (each with who still owes an ack). */
  sent: boolean;
  /** From the monthly archives instead of the hot file (read or not). */
  archived: boolean;
  from?: string | undefined;
  type?: string | undefined;
  /** A duration back from now (24h) or a time. */
  since?: string | undefined;
  /** At most this many, after ordering. */
  limit?: number | undefined;
  fetch: boolean;
}

export interface MessageList {
  /** The viewer, when known (always, unless --all). */
  me: string | null;
  messages: Message[];
  /** For each listed message that asked for acks: who has not acked yet. */
  awaiting: Record<string, string[]>;
}

/**
 * By default my unread messages (to me or to all), in inbox order (domain/messages.ts,
 * inboxOrder); --all, --sent and --archived list in the order sent.
 */
export const listMessagesOp = async (ctx: Context, options: ListOptions): Promise<MessageList> => {
  const me = options.all ? ((await tryResolveActor(ctx))?.id ?? null) : (await resolveActor(ctx)).id;
  const since = options.since === undefined ? undefined : parseSince(options.since, ctx.now());
  const { builders, messages: source } = await readMailbox(ctx, { fetch: options.fetch, archived: options.archived, since });
  const mailbox = !options.all && !options.sent;
  const listed = listMessages(
    { messages: source },
    {
      for: mailbox ? (me ?? undefined) : undefined,
      unreadOnly: mailbox && !options.includeRead && !options.archived,
      from: options.sent ? (me ?? undefined) : options.from,
      type: options.type,
      since,
    },
  );
  const ordered = mailbox && !options.archived ? inboxOrder(listed, me ?? undefined) : listed;
  const messages = options.limit === undefined ? ordered : ordered.slice(0, options.limit);
  const awaiting: Record<string, string[]> = {};
  for (const m of messages) if (m.ack_required) awaiting[m.id] = awaitingAckFrom(m, builders);
  return { me, messages, awaiting };
};

/** One message with its thread, from the hot file, else from the archives. */
export const showMessageOp = async (ctx: Context, id: string, options: { fetch: boolean }): Promise<ReturnType<typeof thread> & { awaiting: string[] }> => {
  let { builders, messages } = await readMailbox(ctx, { fetch: options.fetch, archived: false });
  if (!findMessage({ messages }, id)) messages = [...(await readMailbox(ctx, { fetch: false, archived: true })).messages, ...messages];
  const found = thread({ messages }, id);
  return { ...found, awaiting: awaitingAckFrom(found.message, builders) };
};
