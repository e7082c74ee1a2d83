// Times as the older scripts wrote them, to ISO-8601 UTC. Formats seen in upstream stores:
// `2025-11-03 16:21` (no seconds, no zone: the scripts rewrote UTC times this way),
// `…Z` with 0 to 6 fractional digits, offsets such as `+00:00`, and the compact
// `20251107T084101Z`. A time without a zone is taken as UTC.
import { timestamp } from '../../schemas/common.js';
import type { ChangeLog, Json } from './changes.js';

export const isIsoUtc = (value: unknown): value is string => typeof value === 'string' && timestamp.safeParse(value).success;

const SPACED = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;
const COMPACT = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(Z)?$/i;

const offsetMinutes = (zone: string | undefined): number => {
  if (zone === undefined || zone.toUpperCase() === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2)));
};

/** Whole seconds print without a fraction; a fraction keeps its digits (up to 6) as written. */
const format = (ms: number, fraction: string | undefined): string => {
  const iso = new Date(ms).toISOString().slice(0, 19);
  return `${iso}${fraction && /[1-9]/.test(fraction) ? fraction.slice(0, 7) : ''}Z`;
};

/**
 * The same instant in ISO-8601 UTC, or undefined when the value is no time this knows.
 * A value that is ISO-8601 UTC already is returned as it is.
 */
export const toIsoUtc = (value: unknown): string | undefined => {
  if (isIsoUtc(value)) return value;
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) {
    // Epoch seconds (or milliseconds, for values too large to be seconds).
    return new Date(value < 1e11 ? value * 1000 : value).toISOString().replace('.000Z', 'Z');
  }
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  const spaced = SPACED.exec(text);
  const compact = spaced ? undefined : COMPACT.exec(text);
  const parts = spaced ?? compact;
  if (!parts) return undefined;
  const [year, month, day, hour, minute] = parts.slice(1, 6).map(Number) as [number, number, number, number, number];
  const second = Number(parts[6] ?? 0);
  const fraction = spaced ? spaced[7] : undefined;
  const zone = spaced ? spaced[8] : compact?.[7];
  const local = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(local);
  // Reject 2025-02-30 and 25:00 instead of rolling them over.
  if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day || check.getUTCHours() !== hour || check.getUTCMinutes() !== minute) return undefined;
  return format(local - offsetMinutes(zone) * 60_000, fraction);
};

/** Converts a time field in place; counts it when its text changed. False when it is no time at all. */
export const convertTime = (target: Json, field: string, log: ChangeLog): boolean => {
  const value = target[field];
  if (value === undefined || value === null) return true;
  const iso = toIsoUtc(value);
  if (iso === undefined) return false;
  if (iso !== value) {
    target[field] = iso;
    log.tally('timestamps to ISO-8601 UTC');
  }
  return true;
};

