import type { Command } from 'commander';
import type { MigrateReport } from '../../ops/migrate.js';
import { plural } from '../../domain/format.js';
import { mutationJson } from '../output.js';
import { buildContext, printJson, table, type Runtime } from '../runtime.js';

export const renderMigrate = (report: MigrateReport): string => {
  if (report.files.length === 0) return 'nothing to migrate: no legacy documents';
  const rows = report.files.flatMap((f) => f.changes.map((change, i) => [i === 0 ? f.file : '', change]));
  const verb = report.dry_run ? 'would convert' : report.changed ? `converted (commit ${report.commit?.slice(0, 12) ?? '?'})` : 'found nothing to change in';
  return `${table(['FILE', 'CHANGE'], rows)}\n${verb} ${plural(report.files.length, 'legacy document')}${report.dry_run ? ' (dry run: nothing written)' : ''}`;
};

export const registerMigrate = (program: Command, runtime: Runtime): void => {
  program
    .command('migrate')
    .description('rewrite every legacy document on main in the current layout, in one commit (exit 5 while any file is broken)')
    .option('--dry-run', 'print what would change and write nothing')
    .option('--json', 'print the report as JSON')
    .action(async (options: { dryRun?: boolean; json?: boolean }, command: Command) => {
      const { migrateStore } = await import('../../ops/migrate.js');
      const report = await migrateStore(buildContext(runtime, command), { dryRun: options.dryRun ?? false });
      for (const file of report.invalid) {
        runtime.err(`buildctl: left as it is (invalid, not a legacy layout): ${file.file}: ${file.problems[0]?.path ? `${file.problems[0].path}: ` : ''}${file.problems[0]?.reason ?? ''}`);
      }
      const { dry_run, files, invalid } = report;
      if (options.json) return printJson(runtime, mutationJson('migration', { dry_run, files, invalid }, { ...report, queued: false }));
      runtime.out(renderMigrate(report));
    });
};
