// Settings: coordination/config.json holds only what an operator changed; everything else
// comes from these defaults.
import { usageError } from '../errors.js';
import { CONFIG_KEYS, configShape, type ConfigDoc, type ConfigKey } from '../schemas/config.js';
import { issuesToProblems } from '../schemas/issues.js';
import { parseDuration } from './durations.js';
import { formatAge } from './format.js';

export const CONFIG_DEFAULTS = {
  stale_after: '3m',
  dead_after: '5m',
  schedule: '* * * * *',
  metrics_window: '7d',
  lock_ttl: '30s',
  job_max_attempts: 3,
  job_retention: '7d',
  message_retention: '30d',
  subject_max: 100,
  body_max: 10000,
  max_clock_skew: '30s',
  check_job_running: '6h',
  check_unacked_after: '1h',
  legacy_readers: [] as readonly string[],
  notify_timeout: '10s',
  notify_rate_limit: 20,
  notify_storm: 5,
  require_signed_writes: false,
} as const satisfies Required<{ [K in ConfigKey]: unknown }>;

export interface Settings {
  staleAfterMs: number;
  deadAfterMs: number;
  schedule: string;
  metricsWindowMs: number;
  lockTtlMs: number;
  jobMaxAttempts: number;
  jobRetentionMs: number;
  messageRetentionMs: number;
  subjectMax: number;
  bodyMax: number;
  /** A builder whose clock is further off than this from an observer's is shown (status), logged (agent) and a warning (check). */
  maxClockSkewMs: number;
  checkJobRunningMs: number;
  checkUnackedAfterMs: number;
  /** Builders still running the older scripts (domain/legacy/readers.ts). */
  legacyReaders: readonly string[];
  notifyTimeoutMs: number;
  notifyRateLimit: number;
  notifyStorm: number;
  // require_signed_writes is not here: what counts is the setting as history let it change
  // (only an operator key changes it), which the trust ledger (ops/trust.ts) works out.
}

export type ConfigValue = string | number | boolean | readonly string[];

/** Each key with its effective value and where it came from. */
export const configEntries = (doc: ConfigDoc | undefined): Array<{ key: ConfigKey; value: ConfigValue; source: 'store' | 'default' }> =>
  CONFIG_KEYS.map((key) => {
    const stored = doc?.[key];
    return stored === undefined
      ? { key, value: CONFIG_DEFAULTS[key], source: 'default' as const }
      : { key, value: stored, source: 'store' as const };
  });

export const effectiveSettings = (doc: ConfigDoc | undefined): Settings => {
  const get = <K extends ConfigKey>(key: K) => (doc?.[key] ?? CONFIG_DEFAULTS[key]) as NonNullable<ConfigDoc[K]>;
  return {
    staleAfterMs: parseDuration(get('stale_after'), 'stale_after'),
    deadAfterMs: parseDuration(get('dead_after'), 'dead_after'),
    schedule: get('schedule'),
    metricsWindowMs: parseDuration(get('metrics_window'), 'metrics_window'),
    lockTtlMs: parseDuration(get('lock_ttl'), 'lock_ttl'),
    jobMaxAttempts: get('job_max_attempts'),
    jobRetentionMs: parseDuration(get('job_retention'), 'job_retention'),
    messageRetentionMs: parseDuration(get('message_retention'), 'message_retention'),
    subjectMax: get('subject_max'),
    bodyMax: get('body_max'),
    maxClockSkewMs: parseDuration(get('max_clock_skew'), 'max_clock_skew'),
    checkJobRunningMs: parseDuration(get('check_job_running'), 'check_job_running'),
    checkUnackedAfterMs: parseDuration(get('check_unacked_after'), 'check_unacked_after'),
    legacyReaders: get('legacy_readers'),
    notifyTimeoutMs: parseDuration(get('notify_timeout'), 'notify_timeout'),
    notifyRateLimit: get('notify_rate_limit'),
    notifyStorm: get('notify_storm'),
  };
};

const BOOLEAN_WORDS: Readonly<Record<string, boolean>> = { true: true, on: true, yes: true, false: false, off: false, no: false };

const isConfigKey = (key: string): key is ConfigKey => (CONFIG_KEYS as string[]).includes(key);

/**
 * What the rules need to know about a cron expression, from the scheduler that will run it
 * (node-cron, passed in by the operation: this module stays pure).
 */
export interface ScheduleRules {
  /** Why the expression is not one the agent can run, or undefined when it is. */
  explain: (expression: string) => string | undefined;
  /** The longest time between two ticks of a valid expression, in ms. */
  longestGapMs: (expression: string) => number;
}

/** Parses one value from its command-line text with the key's schema (exit 2 when invalid). */
const parseValue = (key: ConfigKey, text: string): ConfigValue => {
  const fieldSchema = configShape[key];
  const numeric = typeof CONFIG_DEFAULTS[key] === 'number';
  const list = Array.isArray(CONFIG_DEFAULTS[key]);
  const flag = typeof CONFIG_DEFAULTS[key] === 'boolean';
  // A list is comma-separated; "none" (or nothing) empties it.
  const items = text.split(',').map((item) => item.trim()).filter((item) => item !== '' && item.toLowerCase() !== 'none');
  const value: unknown = list
    ? [...new Set(items)].sort()
    : flag
      ? (BOOLEAN_WORDS[text.trim().toLowerCase()] ?? text)
      : numeric && /^-?\d+$/.test(text.trim()) ? Number(text.trim()) : text;
  const result = fieldSchema.safeParse(value, { reportInput: true });
  if (!result.success || result.data === undefined) {
    const reason = result.success ? 'a value is required' : issuesToProblems(result.error.issues)[0]?.reason ?? 'invalid';
    throw usageError(`invalid value "${text}" for ${key}: ${reason}`, {
      code: 'invalid_setting',
      hint: `the default is ${JSON.stringify(CONFIG_DEFAULTS[key])}`,
    });
  }
  return result.data as ConfigValue;
};

/**
 * The KEY VALUE pairs of a `config set`, each parsed with its key's schema: what is wrong
 * whatever the config holds (an unknown key, a key given twice, a value its schema refuses),
 * so refused before the store is asked. How the values fit together is setConfigValues'.
 */
export const parseSettings = (pairs: ReadonlyArray<readonly [string, string]>, rules: ScheduleRules): ConfigDoc => {
  if (pairs.length === 0) throw usageError('nothing to set', { code: 'invalid_setting', hint: 'give KEY VALUE, e.g. buildctl config set stale_after 2m' });
  const seen = new Set<string>();
  let next: ConfigDoc = {};
  for (const [key, text] of pairs) {
    if (!isConfigKey(key)) {
      throw usageError(`unknown setting "${key}"`, {
        code: 'unknown_setting',
        hint: key === 'notify_targets' ? 'notification targets are changed with "buildctl notify add" and "buildctl notify remove"' : `settings are: ${CONFIG_KEYS.join(', ')}`,
      });
    }
    if (seen.has(key)) throw usageError(`${key} is given twice`, { code: 'invalid_setting', hint: 'give each setting once' });
    seen.add(key);
    const value = parseValue(key, text);
    if (key === 'schedule') {
      // Every long-running agent would exit 2 at its start on an expression it cannot run.
      const why = rules.explain(String(value));
      if (why !== undefined) {
        throw usageError(`invalid value "${text}" for schedule: ${why}`, {
          code: 'invalid_schedule',
          hint: 'a cron expression: five fields (minute hour day month weekday), e.g. "* * * * *" (every minute) or "*/5 * * * *"; a sixth field in front gives seconds',
        });
      }
    }
    next = { ...next, [key]: value };
  }
  return next;
};

/**
 * Returns the config with every KEY VALUE pair set, checked together: a change that is only
 * valid with another (stale_after raised past dead_after, with dead_after raised too) is
 * given in one call and lands in one commit. Nothing is set unless every pair is valid.
 */
export const setConfigValues = (doc: ConfigDoc | undefined, pairs: ReadonlyArray<readonly [string, string]>, rules: ScheduleRules): ConfigDoc => {
  const next: ConfigDoc = { ...(doc ?? {}), ...parseSettings(pairs, rules) };
  // stale must come before dead, or health could never be "stale".
  const settings = effectiveSettings(next);
  if (settings.deadAfterMs <= settings.staleAfterMs) {
    throw usageError(`dead_after (${next.dead_after ?? CONFIG_DEFAULTS.dead_after}) must be longer than stale_after (${next.stale_after ?? CONFIG_DEFAULTS.stale_after})`, {
      code: 'invalid_setting',
      hint: 'raise dead_after or lower stale_after (both can be set in one call: buildctl config set stale_after 6m dead_after 10m)',
    });
  }
  return next;
};

/**
 * What a valid config still deserves a word about: an agent beats once a tick, so ticks
 * further apart than dead_after get a builder that beats only from its agent declared dead
 * between two of its beats. (Not refused: `job run` and `heartbeat` beat on their own.)
 */
export const scheduleWarnings = (doc: ConfigDoc | undefined, rules: ScheduleRules): string[] => {
  const settings = effectiveSettings(doc);
  const gap = rules.longestGapMs(settings.schedule);
  return gap >= settings.deadAfterMs
    ? [`schedule "${settings.schedule}" leaves up to ${formatAge(gap)} between ticks, not less than dead_after (${formatAge(settings.deadAfterMs)}): a builder that beats only from its agent will be declared dead between its beats; tick more often, or raise dead_after (and stale_after)`]
    : [];
};

/** Returns the config with KEY set to the value parsed from its command-line text. */
export const setConfigValue = (doc: ConfigDoc | undefined, key: string, text: string, rules: ScheduleRules): ConfigDoc => setConfigValues(doc, [[key, text]], rules);
