// Messages the older scripts can read, while a fleet moves to buildctl builder by builder
// (the setting `legacy_readers`: the builders still running them). Their readers select
//   .messages[] | select((.to == $id or .to == "all") and .read == false)
// sorted by `.timestamp`, and mark a message read with `.read = true`: one flag for every
// recipient, and `to` one id or "all", never a list.
//
// So a message for one of them is stored the way that selection finds it: `to` one id or
// "all" (the real list in `recipients` when it is longer), `timestamp` in their format,
// and `read` true once every old reader it is for has read it. buildctl reads it back in
// the current layout (the message converter): their `read = true` becomes the read of
// each old reader the message is for, and buildctl's own readers keep `read_by`.
import type { Message, MessagesDoc } from '../../schemas/messages.js';
import type { Json } from './changes.js';

/** The old scripts' time format (`date -u +"%Y-%m-%d %H:%M"`): it sorts with theirs. */
export const legacyTime = (iso: string): string => `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;

/** The old readers a message is for: its recipients among them ("all": every one but the sender). */
export const oldReadersOf = (message: { from: string; to: readonly string[] }, legacyReaders: readonly string[]): string[] => {
  const all = message.to.includes('all');
  return legacyReaders.filter((id) => id !== message.from && (all || message.to.includes(id)));
};

/**
 * The entry buildctl stores for `message`: as it is when no old reader needs it, else in
 * the form their selection finds (see above). Pure; the inverse is the message converter.
 */
export const forOldReaders = (message: Message, legacyReaders: readonly string[]): Message | Json => {
  const old = oldReadersOf(message, legacyReaders);
  if (old.length === 0) return message;
  const all = message.to.includes('all');
  // Several recipients cannot be one `to`: the one old reader among them, else "all" (their
  // scripts then show it to every old reader; the real list stays in `recipients`).
  const to = all ? 'all' : message.to.length === 1 ? message.to[0]! : old.length === 1 ? old[0]! : 'all';
  const entry: Json = { ...message, to };
  if (!all && message.to.length > 1) entry.recipients = [...message.to];
  entry.timestamp = legacyTime(message.created_at);
  entry.read = old.every((id) => Object.hasOwn(message.read_by, id));
  return entry;
};

/** Whether two JSON values are equal, object key order aside. */
export const sameJson = (a: unknown, b: unknown): boolean => {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => sameJson(x, b[i]));
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object' || Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => (a as Json)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Json)[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => sameJson((a as Json)[k], (b as Json)[k]));
};

/** messages.json as buildctl stores it while `legacyReaders` still run the older scripts. */
export const messagesForOldReaders = (doc: MessagesDoc, legacyReaders: readonly string[]): Json => ({
  ...doc,
  messages: doc.messages.map((m) => forOldReaders(m, legacyReaders)),
});
