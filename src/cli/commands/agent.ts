import type { Command } from 'commander';
import { mutationJson } from '../output.js';
import { buildContext, printJson, type Runtime } from '../runtime.js';

export const registerAgent = (program: Command, runtime: Runtime): void => {
  const agent = program
    .command('agent')
    .description('the builder agent: every tick a heartbeat, then housekeeping on main; --once for crontab')
    .option('--once', 'do one tick and exit')
    .option('--if-scheduled', "with --once: tick only if the fleet's schedule selects this minute (what the crontab line runs every minute)")
    .option('--schedule <cron>', 'cron expression for ticks (default: the fleet\'s schedule setting, "* * * * *")')
    .option('--log-file <path>', 'append the JSON log lines to this file instead of stderr')
    .addHelpText('after', `
Each tick logs one JSON line (pino) saying what it did. Exit codes of --once: 0 done (or,
with --if-scheduled, not this minute), 3 another tick of this store was still running
(this one was skipped), 4 the remote was unreachable (the next tick carries on), 1 failed
(also: another agent beats as this builder). The default log file is <store>.agent.log.

Examples:
  buildctl agent --once                     one tick, now
  buildctl agent --once --if-scheduled      what the crontab line runs every minute
  buildctl agent                            keep running, ticking on the fleet's schedule (and following changes to it)
  buildctl agent install --cron --dry-run   show the crontab line`)
    .action(async (options: { once?: boolean; ifScheduled?: boolean; schedule?: string; logFile?: string }, command: Command) => {
      const { runAgent } = await import('../../ops/agent.js');
      runtime.exitCode = await runAgent(buildContext(runtime, command), {
        once: options.once ?? false,
        ifScheduled: options.ifScheduled ?? false,
        schedule: options.schedule,
        logFile: options.logFile,
      });
    });

  agent
    .command('install')
    .description('install the agent as a crontab line (default) or a systemd unit; idempotent')
    .option('--cron', 'a crontab line running "buildctl agent --once" every minute (replaces an earlier line of ours)')
    .option('--systemd', 'a systemd unit running "buildctl agent" (long-running)')
    .option('--unit-dir <dir>', 'where the systemd unit goes', '/etc/systemd/system')
    .option('--log-file <path>', 'where the agent appends its log (default: <store>.agent.log, one per store)')
    .option('--dry-run', 'print what would be installed, change nothing')
    .option('--json', 'print the result as JSON')
    .action(async (options: { cron?: boolean; systemd?: boolean; unitDir: string; logFile?: string; dryRun?: boolean; json?: boolean }, command: Command) => {
      const { installAgent } = await import('../../ops/agent-install.js');
      // `agent` has its own --log-file, and commander gives a flag after the subcommand to
      // whichever command declared it first: read it from both.
      const logFile = options.logFile ?? command.optsWithGlobals<{ logFile?: string }>().logFile;
      const result = await installAgent(buildContext(runtime, command), {
        mode: options.systemd ? 'systemd' : 'cron',
        dryRun: options.dryRun ?? false,
        unitDir: options.unitDir,
        logFile,
        nodePath: process.execPath,
        cliPath: process.argv[1] ?? '',
      });
      const { changed, ...installed } = result;
      if (command.optsWithGlobals<{ json?: boolean }>().json) return printJson(runtime, mutationJson('agent', installed, { changed, queued: false, commit: null }));
      runtime.out(result.text);
      for (const line of result.actions) runtime.out(`- ${line}`);
    });
};
