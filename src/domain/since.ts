// `--since` of `log`, `metrics` and `msg list`: how far back to look.
import { usageError } from '../errors.js';
import { DURATION_PATTERN } from '../schemas/common.js';
import { parseDuration } from './durations.js';
import { parseIsoTime } from './jobs.js';

/** A duration back from `now` (90m, 24h, 7d) or a time with a zone (2026-11-28T22:00:00Z, or a date: midnight UTC). */
export const parseSince = (text: string, now: Date): Date => {
  const trimmed = text.trim();
  if (DURATION_PATTERN.test(trimmed)) return new Date(now.getTime() - parseDuration(trimmed, '--since'));
  try {
    return new Date(parseIsoTime(trimmed, '--since'));
  } catch {
    throw usageError(`invalid --since "${text}"`, {
      code: 'invalid_since',
      hint: 'give a duration back from now (90m, 24h, 7d) or a time with a zone (2026-11-28T22:00:00Z, or a date such as 2026-11-28)',
    });
  }
};
