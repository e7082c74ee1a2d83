import * as z from 'zod/mini';
import { builderId, timestamp } from './common.js';

export const MESSAGE_TYPES = ['info', 'warning', 'error', 'request'] as const;
export const messageType = z.enum(MESSAGE_TYPES);

export const messageId = z.string().check(
  z.regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'a message id is letters, digits, ".", "_", ":" or "-"'),
);

export const message = z.looseObject({
  id: messageId,
  from: builderId,
  /** Recipient builder ids, or ["all"] for a broadcast. */
  to: z.array(builderId).check(z.minLength(1)),
  type: messageType,
  subject: z.string(),
  body: z.string(),
  created_at: timestamp,
  ack_required: z._default(z.boolean(), false),
  reply_to: z.optional(z.nullable(messageId)),
  /** Per recipient: when it was read. */
  read_by: z._default(z.record(builderId, timestamp), {}),
  /** Per recipient: when it was acknowledged, with an optional note. */
  acked_by: z._default(
    z.record(builderId, z.looseObject({ at: timestamp, note: z.optional(z.string()) })),
    {},
  ),
});

export const messagesDoc = z.looseObject({
  messages: z.array(message),
});

export type MessageType = z.infer<typeof messageType>;
export type Message = z.infer<typeof message>;
export type MessagesDoc = z.infer<typeof messagesDoc>;
