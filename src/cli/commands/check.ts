import type { Command } from 'commander';
import { checkJson } from '../output.js';
import { buildContext, printJson, type Runtime } from '../runtime.js';

export const registerCheck = (program: Command, runtime: Runtime): void => {
  program
    .command('check')
    .description('one line on the fleet and a monitoring exit code (0 ok, 1 warning, 2 critical), for cron, CI schedules and Nagios-style monitors')
    .option('--no-fetch', 'judge the last fetched state')
    .option('--verbose', 'after the line, one line per finding')
    .option('--json', 'print the verdict and every finding as JSON')
    .addHelpText('after', `
Exit codes follow the monitoring convention, NOT buildctl's usual table:
  0 OK, 1 WARNING, 2 CRITICAL. (An error that stops the check itself, such as no store,
  still exits with buildctl's code and a "buildctl:" line: 2 bad usage, 5 invalid data.)

Critical: a dead builder; a running job past its own timeout; a broken or invalid
document; the remote unreachable. Warning: a stale builder or one that never sent a
heartbeat; a clock off by more than max_clock_skew (30s); a dead job; a job without a
timeout running longer than check_job_running (6h); an expired lock not reaped after
stale_after; a message awaiting an ack longer than check_unacked_after (1h); a non-empty
outbox in this clone; a legacy document. Disabled builders are not checked.
Thresholds: buildctl config set KEY VALUE.

Examples:
  buildctl check                       OK: 3 builders healthy, 1 job running, 0 queued
  */5 * * * * buildctl check || mail -s "fleet: $(buildctl check)" ops@example.org`)
    .action(async (options: { fetch: boolean; verbose?: boolean; json?: boolean }, command: Command) => {
      const { checkFleet } = await import('../../ops/check.js');
      const report = await checkFleet(buildContext(runtime, command), { fetch: options.fetch });
      runtime.exitCode = report.exit_code;
      if (options.json) return printJson(runtime, checkJson(report));
      runtime.out(report.summary);
      if (options.verbose) for (const f of report.findings) runtime.out(`${f.severity.toUpperCase().padEnd(8)} ${f.code}: ${f.message}`);
    });
};
