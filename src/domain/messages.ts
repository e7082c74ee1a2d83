// Messages between builders: addressing and per-recipient read / ack state.
import type { Message } from '../schemas/messages.js';

/** A message is for `id` when sent to it or to all, and not sent by it. */
export const isAddressedTo = (message: Message, id: string): boolean =>
  message.from !== id && (message.to.includes(id) || message.to.includes('all'));

export const isUnreadBy = (message: Message, id: string): boolean => isAddressedTo(message, id) && message.read_by[id] === undefined;

export const awaitsAckFrom = (message: Message, id: string): boolean =>
  isAddressedTo(message, id) && message.ack_required && message.acked_by[id] === undefined;

export const mailboxCounts = (messages: readonly Message[], id: string): { unread: number; awaiting_ack: number } => ({
  unread: messages.filter((m) => isUnreadBy(m, id)).length,
  awaiting_ack: messages.filter((m) => awaitsAckFrom(m, id)).length,
});
