// coordination/locks.json of the older scripts: a map from lock name to
// `{locked_by, locked_at, expires_at}`, every entry present and null when free. The current
// layout lists held locks with an owner and a fencing token.
import { changeLog, isObject, type Json } from './changes.js';
import { toIsoUtc } from './timestamps.js';
import type { LegacyConverter } from './types.js';

export const convertLegacyLocks: LegacyConverter = (json) => {
  if (!isObject(json)) return undefined;
  const log = changeLog();
  if (Array.isArray(json.locks)) return { value: json, changes: [], removes: [] };
  if (!isObject(json.locks)) return undefined;
  const held: Json[] = [];
  const free: string[] = [];
  const unreadable: Json = {};
  const names = Object.keys(json.locks).sort();
  for (const name of names) {
    const entry = json.locks[name];
    const owner = isObject(entry) ? (entry.locked_by ?? entry.owner) : undefined;
    if (!isObject(entry) || owner === null || owner === undefined) {
      free.push(name);
      continue;
    }
    const acquired = toIsoUtc(entry.locked_at ?? entry.acquired_at);
    // A legacy lock without an expiry never ended on its own: it expires when it was taken,
    // so it shows as expired (free to take) instead of held forever.
    const expires = entry.expires_at == null ? acquired : toIsoUtc(entry.expires_at);
    if (typeof owner !== 'string' || acquired === undefined || expires === undefined) {
      unreadable[name] = entry;
      continue;
    }
    const { locked_by: _by, locked_at: _at, expires_at: _exp, owner: _owner, acquired_at: _acq, ...rest } = entry;
    held.push({ name, owner, token: held.length + 1, acquired_at: acquired, renewed_at: acquired, expires_at: expires, ...rest });
  }
  const { locks: _locks, ...others } = json;
  const value: Json = { ...others, locks: held, last_token: typeof json.last_token === 'number' ? Math.max(json.last_token, held.length) : held.length };
  log.tally('lock map turned into the lock list');
  if (free.length > 0) log.name('free locks (no holder) dropped:', free);
  if (held.length > 0) log.name('held locks listed with fencing tokens 1..n:', held.map((l) => String(l.name)));
  if (Object.keys(unreadable).length > 0) {
    value.legacy_locks = unreadable;
    log.name('locks without a readable holder or time kept in legacy_locks:', Object.keys(unreadable));
  }
  return { value, changes: log.list(), removes: free, entries: names.length };
};
