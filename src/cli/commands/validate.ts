import type { Command } from 'commander';
import { buildContext, printJson, type Runtime } from '../runtime.js';

export const registerValidate = (program: Command, runtime: Runtime): void => {
  program
    .command('validate')
    .description('check every document on main and on every heartbeat ref against its schema (exit 5 when any is invalid)')
    .option('--no-fetch', 'check the last fetched state')
    .option('--json', 'print the report as JSON')
    .action(async (options: { fetch: boolean; json?: boolean }, command: Command) => {
      const { validateStore } = await import('../../ops/validate.js');
      const report = await validateStore(buildContext(runtime, command), { fetch: options.fetch });
      if (!report.valid) runtime.exitCode = 5;
      if (options.json) return printJson(runtime, report);
      for (const file of report.files) {
        if (file.valid) continue;
        for (const problem of file.problems) runtime.out(`invalid  ${file.file}${problem.path ? `: ${problem.path}` : ''}: ${problem.reason}`);
      }
      runtime.out(report.valid ? `all ${report.checked} documents are valid` : `${report.invalid} of ${report.checked} documents are invalid`);
    });
};
