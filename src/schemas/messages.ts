import * as z from 'zod/mini';
import { builderId, timestamp } from './common.js';

export const MESSAGE_TYPES = ['info', 'warning', 'error', 'request'] as const;
export const messageType = z.enum(MESSAGE_TYPES);

export const messageId = z.string().check(
  z.regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'letters, digits, ".", "_", ":" or "-"'),
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

/**
 * A message as stored while builders still run the older scripts (setting
 * legacy_readers; domain/legacy/readers.ts): `to` one id or "all" as their scripts read
 * it, the real list in `recipients`, their `timestamp` and `read` flag beside the
 * current fields. Only written for such messages; read back as a `message`.
 */
export const messageForOldReaders = z.extend(message, {
  to: z.union([z.array(builderId).check(z.minLength(1)), builderId]),
  recipients: z.optional(z.array(builderId).check(z.minLength(2))),
  timestamp: z.optional(z.string()),
  read: z.optional(z.boolean()),
});

/** messages.json while old readers are left: each message current, or kept for them. */
export const messagesDocForOldReaders = z.looseObject({
  messages: z.array(z.union([message, messageForOldReaders])),
});
