// How times, ages and counts read in every text output: one helper each, so `status`,
// `lock list`, `msg list` and error messages say the same thing the same way.
// (--json keeps the stored ISO-8601 strings and plain numbers.)

/**
 * An absolute time, in UTC to the second: `2026-11-29 01:02:03Z`. Fleets span time zones,
 * so every host prints the same text for the same moment. Text that is not a time is
 * returned as it is (a hand-edited document must still show something).
 */
export const formatTime = (time: string | Date | number): string => {
  const ms = time instanceof Date ? time.getTime() : typeof time === 'number' ? time : Date.parse(time);
  if (!Number.isFinite(ms)) return String(time);
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
};

/**
 * A short duration or age: `42s`, `3m 12s` (seconds shown under ten minutes, where
 * stale and dead thresholds and lock TTLs live), `34m`, `2h 5m`, `4d`. Negative ages (a
 * clock slightly ahead) show as `0s`.
 */
export const formatAge = (ms: number): string => {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m ${seconds % 60}s`;
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 === 0 ? `${hours}h` : `${hours}h ${minutes % 60}m`;
  return `${Math.floor(hours / 24)}d`;
};

/** `1 builder`, `2 builders`; irregular plurals are given: plural(n, 'entry', 'entries'). */
export const plural = (n: number, noun: string, nouns = `${noun}s`): string => `${n} ${n === 1 ? noun : nouns}`;
