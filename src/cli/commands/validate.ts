import type { Command } from 'commander';
import type { ValidateReport } from '../../ops/validate.js';
import { plural } from '../../domain/format.js';
import { readJson } from '../output.js';
import { buildContext, printJson, type Runtime } from '../runtime.js';

export const renderValidate = (report: ValidateReport): string => {
  const lines: string[] = [];
  for (const file of report.files) {
    if (file.status === 'valid') continue;
    if (file.status === 'legacy') {
      lines.push(`legacy   ${file.file}: older layout, "buildctl migrate" converts it:`);
      for (const change of file.changes) lines.push(`           ${change}`);
      continue;
    }
    for (const problem of file.problems) lines.push(`${file.status.padEnd(8)} ${file.file}${problem.path ? `: ${problem.path}` : ''}: ${problem.reason}`);
  }
  const { legacy, broken, invalid } = report.counts;
  lines.push(
    report.valid
      ? report.checked === 1 ? 'the 1 document is valid' : `all ${report.checked} documents are valid`
      : `${report.invalid} of ${plural(report.checked, 'document')} ${report.invalid === 1 ? 'is' : 'are'} not valid: ${legacy} legacy${legacy > 0 ? ' (run "buildctl migrate")' : ''}, ${broken} broken, ${invalid} invalid`,
  );
  return lines.join('\n');
};

export const registerValidate = (program: Command, runtime: Runtime): void => {
  program
    .command('validate')
    .description('check every document on main and on every heartbeat ref: valid, legacy (migratable), broken or invalid (exit 5 unless all are valid)')
    .option('--no-fetch', 'check the last fetched state')
    .option('--staged', 'check the files staged for commit instead (what the pre-commit hook of "buildctl hooks install" runs)')
    .option('--json', 'print the report as JSON')
    .action(async (options: { fetch: boolean; staged?: boolean; json?: boolean }, command: Command) => {
      const { validateStore } = await import('../../ops/validate.js');
      const report = await validateStore(buildContext(runtime, command), { fetch: options.fetch, staged: options.staged ?? false });
      if (!report.valid) runtime.exitCode = 5;
      if (options.json) return printJson(runtime, readJson('validation', report));
      runtime.out(renderValidate(report));
    });
};
