import { describe, expect, it } from 'vitest';
import { CONFIG_DEFAULTS, configEntries, effectiveSettings, scheduleWarnings, setConfigValue, setConfigValues, type ScheduleRules } from '../../src/domain/config.js';
import { CONFIG_KEYS, type ConfigDoc } from '../../src/schemas/config.js';
import { buildctlErrorFrom } from '../helpers/errors.js';

const MINUTE = 60_000;

/** A stand-in for the scheduler's own judgement (node-cron in ops/config.ts): five or six fields, ticks a minute apart. */
const rules: ScheduleRules = {
  explain: (expression) => (/^\S+( \S+){4,5}$/.test(expression) ? undefined : 'expected 5 or 6 fields'),
  longestGapMs: (expression) => (expression.startsWith('*/10 ') ? 10 * MINUTE : MINUTE),
};
const DAY = 86_400_000;

describe('defaults', () => {
  it('are the values DESIGN.md and the README list, for every key and no other', () => {
    expect(CONFIG_DEFAULTS).toEqual({
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
      legacy_readers: [], // not in DESIGN.md: the rollout setting of issue 12
      notify_timeout: '10s',
      notify_rate_limit: 20,
      notify_storm: 5,
      require_signed_writes: false, // issue 18: an operator key turns it on
    });
    expect(Object.keys(CONFIG_DEFAULTS).sort()).toEqual([...CONFIG_KEYS].sort());
  });
});

describe('effectiveSettings', () => {
  it.each([['no document', undefined], ['an empty document', {}]])('with %s is the defaults in milliseconds', (_, doc) => {
    expect(effectiveSettings(doc)).toEqual({
      staleAfterMs: 3 * MINUTE,
      deadAfterMs: 5 * MINUTE,
      schedule: '* * * * *',
      metricsWindowMs: 7 * DAY,
      lockTtlMs: 30_000,
      jobMaxAttempts: 3,
      jobRetentionMs: 7 * DAY,
      messageRetentionMs: 30 * DAY,
      subjectMax: 100,
      bodyMax: 10000,
      maxClockSkewMs: 30_000,
      checkJobRunningMs: 6 * 60 * MINUTE,
      checkUnackedAfterMs: 60 * MINUTE,
      legacyReaders: [],
      notifyTimeoutMs: 10_000,
      notifyRateLimit: 20,
      notifyStorm: 5,
    });
  });

  it('takes stored values over defaults, key by key', () => {
    const settings = effectiveSettings({ stale_after: '90s', job_max_attempts: 5, schedule: '*/2 * * * *' });
    expect(settings.staleAfterMs).toBe(90_000);
    expect(settings.jobMaxAttempts).toBe(5);
    expect(settings.schedule).toBe('*/2 * * * *');
    expect(settings.deadAfterMs).toBe(5 * MINUTE); // untouched keys keep their defaults
  });
});

describe('notify_targets', () => {
  it('is part of the document but no setting: config set refuses it and says how to change targets', () => {
    expect(CONFIG_KEYS).not.toContain('notify_targets');
    const error = buildctlErrorFrom(() => setConfigValue({}, 'notify_targets', '[]', rules));
    expect([error.code, error.hint]).toEqual(['unknown_setting', expect.stringContaining('buildctl notify add')]);
  });

  it('keeps the targets when a setting changes', () => {
    const targets = [{ name: 'ops', type: 'slack' as const, url_env: 'SLACK_URL' }];
    expect(setConfigValue({ notify_targets: targets }, 'stale_after', '2m', rules)).toEqual({ notify_targets: targets, stale_after: '2m' });
  });
});

describe('configEntries', () => {
  it('lists every key once, in the schema order, with where its value came from', () => {
    const entries = configEntries({ dead_after: '10m', body_max: 500 });
    expect(entries.map((e) => e.key)).toEqual(CONFIG_KEYS);
    expect(entries.filter((e) => e.source === 'store')).toEqual([
      { key: 'dead_after', value: '10m', source: 'store' },
      { key: 'body_max', value: 500, source: 'store' },
    ]);
    expect(entries.find((e) => e.key === 'stale_after')).toEqual({ key: 'stale_after', value: '3m', source: 'default' });
  });

  it('shows only defaults without a document', () => {
    expect(configEntries(undefined).every((e) => e.source === 'default' && e.value === CONFIG_DEFAULTS[e.key])).toBe(true);
  });
});

describe('setConfigValue', () => {
  it.each([
    ['stale_after', '2m', '2m'],
    ['dead_after', '10m', '10m'],
    ['metrics_window', '3d', '3d'],
    ['lock_ttl', '500ms', '500ms'],
    ['schedule', '*/5 * * * *', '*/5 * * * *'],
    // integer keys arrive as command-line text and are stored as numbers
    ['job_max_attempts', '5', 5],
    ['job_max_attempts', ' 7 ', 7],
    ['subject_max', '1000', 1000],
    ['body_max', '1', 1],
    // a list is comma-separated, sorted and without repeats; "none" or nothing empties it
    ['legacy_readers', 'build4, build3,build4', ['build3', 'build4']],
    ['legacy_readers', 'none', []],
    ['legacy_readers', '', []],
    // a flag takes the usual words for on and off
    ['require_signed_writes', 'on', true],
    ['require_signed_writes', 'TRUE', true],
    ['require_signed_writes', 'no', false],
  ])('sets %s from %j to %j', (key, text, value) => {
    const next = setConfigValue(undefined, key, text, rules);
    expect(next).toEqual({ [key]: value });
  });

  it('keeps the other stored keys, unknown ones included, and does not mutate its input', () => {
    const doc = { stale_after: '1m', future_setting: { on: true } } as ConfigDoc;
    const next = setConfigValue(doc, 'job_max_attempts', '4', rules);
    expect(next).toEqual({ stale_after: '1m', future_setting: { on: true }, job_max_attempts: 4 });
    expect(doc).toEqual({ stale_after: '1m', future_setting: { on: true } });
  });

  it('refuses a flag that is neither on nor off', () => {
    const error = buildctlErrorFrom(() => setConfigValue(undefined, 'require_signed_writes', 'maybe', rules));
    expect([error.code, error.exitCode]).toEqual(['invalid_setting', 2]);
  });

  it('refuses an unknown key and lists the settings there are', () => {
    const error = buildctlErrorFrom(() => setConfigValue(undefined, 'stale', '1m', rules));
    expect(error.code).toBe('unknown_setting');
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain('"stale"');
    for (const key of CONFIG_KEYS) expect(error.hint).toContain(key);
  });

  it.each([
    ['stale_after', '5', /must be a duration/],
    ['stale_after', '1.5m', /must be a duration/],
    ['lock_ttl', '-30s', /must be a duration/],
    ['metrics_window', 'week', /must be a duration/],
    ['schedule', '', /at least 1 character/],
    ['job_max_attempts', 'three', /expected number, got string/],
    ['job_max_attempts', '2.5', /expected number, got string/],
    ['job_max_attempts', '0', /must be >= 1/],
    ['job_max_attempts', '101', /must be <= 100/],
    ['job_max_attempts', '-1', /must be >= 1/],
    ['subject_max', '1001', /must be <= 1000/],
    ['body_max', '1000001', /must be <= 1000000/],
    ['legacy_readers', 'build3,Build4', /builder id/],
  ])('refuses %s = %j with the reason and the default', (key, text, reason) => {
    const error = buildctlErrorFrom(() => setConfigValue({}, key, text, rules));
    expect(error.code).toBe('invalid_setting');
    expect(error.exitCode).toBe(2);
    expect(error.message).toMatch(new RegExp(`^invalid value "${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}" for ${key}: `));
    expect(error.message).toMatch(reason);
    expect(error.hint).toBe(`the default is ${JSON.stringify(CONFIG_DEFAULTS[key as keyof typeof CONFIG_DEFAULTS])}`);
  });

  it.each([
    // [stored doc, key, value]: each would leave dead_after <= stale_after
    [{}, 'stale_after', '5m'], // equal to the default dead_after
    [{}, 'stale_after', '6m'],
    [{}, 'dead_after', '3m'], // equal to the default stale_after
    [{}, 'dead_after', '180s'], // the same time in other units
    [{ stale_after: '10m' }, 'dead_after', '9m'],
    [{ dead_after: '2m' }, 'stale_after', '2m'],
  ] as Array<[ConfigDoc, string, string]>)('refuses dead_after <= stale_after: %j + %s=%s', (doc, key, text) => {
    const error = buildctlErrorFrom(() => setConfigValue(doc, key, text, rules));
    expect(error.code).toBe('invalid_setting');
    expect(error.message).toMatch(/dead_after \(.+\) must be longer than stale_after \(.+\)/);
    expect(error.hint).toMatch(/^raise dead_after or lower stale_after/);
  });

  it('accepts dead_after just above stale_after', () => {
    expect(effectiveSettings(setConfigValue({ stale_after: '3m' }, 'dead_after', '181s', rules)).deadAfterMs).toBe(181_000);
  });
});

describe('setConfigValues: several settings, checked together', () => {
  it('sets stale_after past the old dead_after when dead_after is raised in the same call', () => {
    expect(setConfigValues({}, [['stale_after', '6m'], ['dead_after', '10m']], rules)).toEqual({ stale_after: '6m', dead_after: '10m' });
    expect(buildctlErrorFrom(() => setConfigValues({}, [['stale_after', '6m']], rules)).code).toBe('invalid_setting');
  });

  it('refuses the whole call when one pair is bad, or a key is given twice', () => {
    expect(buildctlErrorFrom(() => setConfigValues({}, [['lock_ttl', '45s'], ['stale_after', 'soon']], rules)).message).toMatch(/invalid value "soon" for stale_after/);
    expect(buildctlErrorFrom(() => setConfigValues({}, [['lock_ttl', '45s'], ['lock_ttl', '50s']], rules)).message).toBe('lock_ttl is given twice');
  });

  it.each(['61 * * * *', 'every minute please'])('refuses a schedule the scheduler cannot run: %j (exit 2)', (text) => {
    const strict: ScheduleRules = { ...rules, explain: (e) => (e === '* * * * *' ? undefined : 'no') };
    const error = buildctlErrorFrom(() => setConfigValues({}, [['schedule', text]], strict));
    expect([error.code, error.exitCode]).toEqual(['invalid_schedule', 2]);
    expect(error.message).toBe(`invalid value "${text}" for schedule: no`);
  });

  it('warns (not refuses: job run and heartbeat beat on their own) of ticks further apart than dead_after', () => {
    expect(scheduleWarnings({ schedule: '*/10 * * * *' }, rules)).toEqual([expect.stringMatching(/leaves up to 10m between ticks, not less than dead_after \(5m\)/)]);
    expect(scheduleWarnings({ schedule: '*/10 * * * *', stale_after: '12m', dead_after: '25m' }, rules)).toEqual([]);
    expect(scheduleWarnings(undefined, rules)).toEqual([]);
  });
});
