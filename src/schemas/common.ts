import * as z from 'zod/mini';

/** Builder ids: lowercase letter first, then lowercase letters, digits and `-`, at most 32. */
export const BUILDER_ID_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;
export const builderId = z.string().check(
  z.regex(BUILDER_ID_PATTERN, 'a builder id is a lowercase letter, then lowercase letters, digits or "-", at most 32 characters'),
);

/** ISO-8601 UTC timestamp, e.g. 2026-11-27T07:19:02.123Z. */
export const timestamp = z.iso.datetime({ message: 'an ISO-8601 UTC time such as 2026-11-27T07:19:02Z' });

/** Durations as settings write them: "90s", "5m", "2h", "7d" (also "500ms"). */
export const DURATION_PATTERN = /^(\d+)(ms|s|m|h|d)$/;
export const duration = z.string().check(
  z.regex(DURATION_PATTERN, 'a duration such as "90s", "5m", "2h" or "7d"'),
);

export const label = z.string().check(
  z.regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'lowercase letters, digits, ".", "_" or "-", at most 64 characters'),
);

export const nonNegative = z.number().check(z.gte(0));
