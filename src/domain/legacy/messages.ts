// coordination/messages.json as the older scripts wrote it: `timestamp` instead of
// `created_at` (in four to six formats), `to` as one string, one `read` flag for every
// recipient, `acknowledged_by` lists, literal "\n" in bodies, types buildctl does not
// have, or none. Messages that are current already are left exactly as they are.
import { message as messageSchema, MESSAGE_TYPES } from '../../schemas/messages.js';
import { changeLog, isObject, rename, type ChangeLog, type Json } from './changes.js';
import { convertTime } from './timestamps.js';
import type { LegacyContext, LegacyConverter } from './types.js';

const isCurrentType = (type: unknown): boolean => (MESSAGE_TYPES as readonly unknown[]).includes(type);

/** Who a legacy `read: true` speaks for: the recipients, with "all" meaning the fleet (less the sender). */
const recipientsOf = (message: Json, fleet: readonly string[]): string[] => {
  const to = Array.isArray(message.to) ? message.to.filter((r): r is string => typeof r === 'string') : [];
  const named = to.filter((r) => r !== 'all');
  const everyone = to.includes('all') ? fleet.filter((id) => id !== message.from) : [];
  return [...new Set([...named, ...everyone])];
};

// A backslash and an "n", not preceded by another backslash (an escaped backslash stays).
const LITERAL_NEWLINE = /(?<!\\)\\n/g;

export const convertLegacyMessage = (raw: Json, ctx: LegacyContext, log: ChangeLog): Json => {
  const m: Json = { ...raw };
  if (typeof m.to === 'string') {
    m.to = m.to.split(',').map((r) => r.trim()).filter((r) => r !== '');
    log.tally('"to" strings to lists');
  }
  if (rename(m, 'timestamp', 'created_at')) log.tally('"timestamp" renamed "created_at"');
  convertTime(m, 'created_at', log);
  if (m.type === undefined) {
    m.type = 'info';
    log.tally('missing types set to info');
  } else if (!isCurrentType(m.type)) {
    m.legacy_type = m.type;
    log.name('types set to info (the original kept in legacy_type):', [String(m.type)]);
    m.type = 'info';
  }
  const body = typeof m.body === 'string' ? m.body.replace(LITERAL_NEWLINE, '\n') : m.body;
  if (body !== m.body) {
    m.body = body;
    log.tally('bodies with literal "\\n" turned into newlines');
  }
  const at = typeof m.created_at === 'string' ? m.created_at : undefined;
  if (typeof m.read === 'boolean' && at !== undefined) {
    const readers = m.read ? recipientsOf(m, ctx.fleet) : [];
    if (m.read && readers.length === 0) {
      // A broadcast read flag with no fleet to give it to: kept as it is, not guessed.
      log.tally('read flags kept: a broadcast with no registered builders to give them to');
    } else {
      const readBy = isObject(m.read_by) ? { ...m.read_by } : {};
      for (const reader of readers) readBy[reader] ??= at;
      m.read_by = readBy;
      if (m.read) log.name('read: true -> read_by for', readers);
      else log.tally('read: false dropped (unread is no read_by entry)');
      delete m.read;
    }
  }
  if (Array.isArray(m.acknowledged_by) && at !== undefined && m.acknowledged_by.every((a) => typeof a === 'string')) {
    const ackedBy = isObject(m.acked_by) ? { ...m.acked_by } : {};
    for (const by of m.acknowledged_by as string[]) ackedBy[by] ??= { at };
    m.acked_by = ackedBy;
    if (m.acknowledged_by.length > 0) log.name('acknowledged_by -> acked_by for', m.acknowledged_by as string[]);
    else log.tally('empty acknowledged_by lists dropped');
    delete m.acknowledged_by;
  }
  return m;
};

/** `{messages: [...]}` (or a bare list of messages) to the current layout. */
export const convertLegacyMessages: LegacyConverter = (json, ctx) => {
  const log = changeLog();
  let doc: Json;
  if (Array.isArray(json)) {
    doc = { messages: json };
    log.tally('a bare list of messages wrapped as {"messages": [...]}');
  } else if (isObject(json) && Array.isArray(json.messages)) {
    doc = { ...json };
  } else {
    return undefined;
  }
  doc.messages = (doc.messages as unknown[]).map((entry) =>
    isObject(entry) && !messageSchema.safeParse(entry).success ? convertLegacyMessage(entry, ctx, log) : entry,
  );
  return { value: doc, changes: log.list(), removes: [] };
};
