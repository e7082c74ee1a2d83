import type { Command } from 'commander';
import { mutationJson, readJson } from '../output.js';
import { buildContext, printJson, table, type Runtime } from '../runtime.js';

export const registerConfig = (program: Command, runtime: Runtime): void => {
  const config = program.command('config').description('fleet settings (coordination/config.json)');

  config
    .command('show')
    .description('every setting with its value and whether it is the default')
    .option('--no-fetch', 'use the last fetched state')
    .option('--json', 'print as JSON')
    .action(async (options: { fetch: boolean; json?: boolean }, command: Command) => {
      const { showConfig } = await import('../../ops/config.js');
      const entries = await showConfig(buildContext(runtime, command), { fetch: options.fetch });
      if (options.json) return printJson(runtime, readJson('config', Object.fromEntries(entries.map((e) => [e.key, e.value]))));
      runtime.out(table(['KEY', 'VALUE', 'SOURCE'], entries.map((e) => [e.key, Array.isArray(e.value) ? e.value.join(',') || 'none' : String(e.value), e.source])));
    });

  config
    .command('set')
    .description('change settings for the whole fleet: one or more KEY VALUE pairs, checked together, in one commit')
    .argument('<key>', 'setting name, e.g. stale_after')
    .argument('<value>', 'new value; durations as 90s, 5m, 2h, 7d')
    .argument('[more...]', 'more KEY VALUE pairs, e.g. stale_after 6m dead_after 10m')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', `
Settings: stale_after (3m), dead_after (5m), schedule ("* * * * *"), metrics_window (7d),
lock_ttl (30s), job_max_attempts (3), job_retention (7d), message_retention (30d),
subject_max (100), body_max (10000), max_clock_skew (30s: a builder clock further off is
shown by status, logged by the agent and a warning of check), legacy_readers (none:
builders still running the older scripts, comma-separated; "none" empties it); for
"buildctl check": check_job_running (6h), check_unacked_after (1h); for notifications:
notify_timeout (10s), notify_rate_limit (20 per target per hour), notify_storm (5);
require_signed_writes (off; on/off, changed by an operator key only, and turned on only
once every registered builder has a key: see README, "Trust").
Notification targets: buildctl notify add|remove.

schedule is a cron expression (checked as the agent's scheduler reads it; six fields give
seconds). Every agent follows it: the long-running one (systemd) reschedules itself after
its next tick, and the crontab line runs every minute but ticks only in the minutes the
schedule selects (seconds need the long-running agent). Ticks further apart than
dead_after are set with a warning: a builder that beats only from its agent would be
declared dead between its beats.

Examples:
  buildctl config set lock_ttl 45s
  buildctl config set stale_after 6m dead_after 10m      one commit, checked together
  buildctl config set schedule '*/2 * * * *'`)
    .action(async (key: string, value: string, more: string[], options: { json?: boolean }, command: Command) => {
      if (more.length % 2 !== 0) {
        const { usageError } = await import('../../errors.js');
        throw usageError(`"${more.at(-1) ?? ''}" has no value`, { code: 'invalid_setting', hint: 'give KEY VALUE pairs: buildctl config set stale_after 6m dead_after 10m' });
      }
      const pairs: Array<[string, string]> = [[key, value]];
      for (let i = 0; i < more.length; i += 2) pairs.push([more[i] ?? '', more[i + 1] ?? '']);
      const { setConfig } = await import('../../ops/config.js');
      const result = await setConfig(buildContext(runtime, command), pairs);
      if (options.json) return printJson(runtime, mutationJson('settings', result.settings, result));
      const shown = result.settings.map((s) => `${s.key} = ${JSON.stringify(s.value)}`).join(', ');
      runtime.out(result.changed ? shown : `${shown} already: nothing changed`);
    });
};
