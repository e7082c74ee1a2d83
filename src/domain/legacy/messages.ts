// coordination/messages.json as the older scripts wrote it: `timestamp` instead of
// `created_at` (in four to six formats), `to` as one string, one `read` flag for every
// recipient, `acknowledged_by` lists, literal "\n" in bodies, types buildctl does not
// have, or none. Messages that are current already are left exactly as they are, and so
// are messages kept in the form the old readers find (domain/legacy/readers.ts) while the
// fleet still has some (setting legacy_readers).
import { BUILDER_ID_PATTERN } from '../../schemas/common.js';
import { message as messageSchema, MESSAGE_TYPES, type Message } from '../../schemas/messages.js';
import { changeLog, isObject, rename, type ChangeLog, type Json } from './changes.js';
import { forOldReaders, oldReadersOf, sameJson } from './readers.js';
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

/**
 * A sender or recipient the older scripts named in a way a builder id cannot be ("Alex",
 * "Build 3"): lowercased, other characters turned into "-". Undefined when nothing usable is left.
 */
const asBuilderId = (name: string): string | undefined => {
  let id = name.trim().toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
  if (id !== '' && !/^[a-z]/.test(id)) id = `x-${id}`;
  id = id.slice(0, 32).replace(/-+$/, '');
  return BUILDER_ID_PATTERN.test(id) ? id : undefined;
};

/** Renames ids that cannot be builder ids, keeping the originals in `legacy_<field>`. */
const fixNames = (m: Json, log: ChangeLog): void => {
  if (typeof m.from === 'string' && !BUILDER_ID_PATTERN.test(m.from)) {
    const id = asBuilderId(m.from);
    if (id !== undefined) {
      m.legacy_from = m.from;
      log.name('senders renamed to builder-id form (the original kept in legacy_from):', [`${m.from} -> ${id}`]);
      m.from = id;
    }
  }
  if (Array.isArray(m.to) && m.to.some((r) => typeof r === 'string' && !BUILDER_ID_PATTERN.test(r))) {
    const renames: string[] = [];
    const fixed = m.to.map((r) => {
      const id = typeof r === 'string' && !BUILDER_ID_PATTERN.test(r) ? asBuilderId(r) : undefined;
      if (id !== undefined) renames.push(`${String(r)} -> ${id}`);
      return id ?? r;
    });
    if (renames.length > 0) {
      m.legacy_to = m.to;
      log.name('recipients renamed to builder-id form (the original kept in legacy_to):', renames);
      m.to = fixed;
    }
  }
};

// A backslash and an "n", not preceded by another backslash (an escaped backslash stays).
const LITERAL_NEWLINE = /(?<!\\)\\n/g;

export const convertLegacyMessage = (raw: Json, ctx: LegacyContext, log: ChangeLog): Json => {
  const m: Json = { ...raw };
  // buildctl wrote it for the old readers (legacy_readers): its `read` flag is theirs alone.
  const keptForOldReaders = m.created_at !== undefined && typeof m.timestamp === 'string';
  const recipients = Array.isArray(m.recipients) && m.recipients.length > 0 && m.recipients.every((r) => typeof r === 'string') ? m.recipients : undefined;
  if (typeof m.to === 'string' && recipients !== undefined) {
    // Kept for the old readers as one `to`: the real list is `recipients`.
    m.to = [...recipients];
    delete m.recipients;
    log.tally('"recipients" lists back to "to"');
  } else if (typeof m.to === 'string') {
    m.to = m.to.split(',').map((r) => r.trim()).filter((r) => r !== '');
    log.tally('"to" strings to lists');
  }
  fixNames(m, log);
  if (typeof m.id === 'number') {
    m.id = String(m.id);
    log.tally('numeric ids written as text');
  }
  for (const [field, plural] of [['subject', 'subjects'], ['body', 'bodies']] as const) {
    if (m[field] === undefined || m[field] === null) {
      m[field] = '';
      log.tally(`missing ${plural} set to empty`);
    }
  }
  if (m.created_at !== undefined && typeof m.timestamp === 'string') {
    delete m.timestamp; // the old readers' copy of created_at
    log.tally('"timestamp" copies for the old readers dropped');
  } else if (rename(m, 'timestamp', 'created_at')) {
    log.tally('"timestamp" renamed "created_at"');
  }
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
    const old = typeof m.from === 'string' && Array.isArray(m.to) ? oldReadersOf({ from: m.from, to: m.to as string[] }, ctx.legacyReaders ?? []) : [];
    // While old readers are left, their scripts set the flag: it speaks for them only.
    const readers = m.read ? (old.length > 0 ? old : keptForOldReaders ? [] : recipientsOf(m, ctx.fleet)) : [];
    if (m.read && readers.length === 0 && keptForOldReaders) {
      delete m.read; // no old reader left to give it to (legacy_readers is off): unread stays unread
      log.tally('read flags of the old readers dropped (no legacy_readers left)');
    } else if (m.read && readers.length === 0) {
      // A broadcast read flag with no fleet to give it to: kept as it is, not guessed.
      log.tally('read flags kept: a broadcast with no registered builders to give them to');
    } else {
      const readBy = isObject(m.read_by) ? { ...m.read_by } : {};
      const fresh = readers.filter((reader) => readBy[reader] === undefined);
      for (const reader of fresh) readBy[reader] = ctx.now ?? at;
      m.read_by = readBy;
      if (fresh.length > 0) log.name('read: true -> read_by for', fresh);
      else if (!m.read) log.tally('read: false dropped (unread is no read_by entry)');
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

/**
 * An entry exactly as buildctl stores a message for the old readers: current once read
 * back, and nothing to convert (their read marks already in read_by).
 */
const isKeptForOldReaders = (entry: Json, ctx: LegacyContext): Message | undefined => {
  const readers = ctx.legacyReaders ?? [];
  if (readers.length === 0 || typeof entry.to !== 'string' || entry.created_at === undefined) return undefined;
  const parsed = messageSchema.safeParse(convertLegacyMessage(entry, ctx, changeLog()));
  return parsed.success && sameJson(forOldReaders(parsed.data, readers), entry) ? parsed.data : undefined;
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
  let entries = Array.isArray(json) ? 1 : 0;
  doc.messages = (doc.messages as unknown[]).map((entry) => {
    if (!isObject(entry) || messageSchema.safeParse(entry).success) return entry;
    const kept = isKeptForOldReaders(entry, ctx);
    if (kept) return kept;
    entries++;
    return convertLegacyMessage(entry, ctx, log);
  });
  return { value: doc, changes: log.list(), removes: [], entries };
};
