import type { Command } from 'commander';
import type { MigrateReport } from '../../ops/migrate.js';
import { plural } from '../../domain/format.js';
import { mutationJson } from '../output.js';
import { buildContext, printJson, table, type Runtime } from '../runtime.js';
import { credentialAdvice } from './validate.js';

const entries = (before: number | null, after: number | null): string => (before === null || after === null ? '' : `${before} -> ${after}`);

export const renderMigrate = (report: MigrateReport): string => {
  const lines: string[] = [];
  const refs = report.heartbeat_refs.filter((r) => r.left === undefined);
  if (report.files.length === 0 && refs.length === 0) {
    lines.push('nothing to migrate: no legacy documents');
  } else {
    const rows = [
      ...report.files.flatMap((f) => f.changes.map((change, i) => [i === 0 ? f.file : '', i === 0 ? entries(f.entries_before, f.entries_after) : '', change])),
      ...refs.flatMap((r) => r.changes.map((change, i) => [i === 0 ? r.ref : '', '', change])),
    ];
    lines.push(table(['FILE', 'ENTRIES', 'CHANGE'], rows), '');
    const { before, after } = report.counts;
    const note = (field: keyof typeof before): string =>
      field === 'builders' && after.builders > before.builders ? '   (registered from their folders)' : '';
    lines.push(table(['IN ALL', 'BEFORE', 'AFTER'], (['messages', 'jobs', 'locks', 'builders'] as const).map((field) => [field, String(before[field]), `${after[field]}${note(field)}`])), '');
  }
  for (const r of report.heartbeat_refs) if (r.left !== undefined) lines.push(`left as it is: ${r.ref}: ${r.left}`);
  for (const c of report.credentials) lines.push(`CREDENTIAL? ${c.entry} ${c.id} (${c.file}): ${c.found.join('; ')}`);
  if (report.credentials.length > 0) {
    lines.push(credentialAdvice(report.credentials.length));
  }
  if (report.files.length > 0 || refs.length > 0) {
    const converted = report.files.filter((f) => f.kind !== 'builders' || f.changes.length > 1).length;
    const would = report.dry_run ? 'would ' : '';
    const what = [
      `${would}${report.dry_run ? 'convert' : 'converted'} ${plural(converted, 'legacy document')}`,
      ...(report.registered.length > 0 ? [`${would}${report.dry_run ? 'register' : 'registered'} ${plural(report.registered.length, 'builder')}`] : []),
      ...(refs.length > 0 ? [`${would}${report.dry_run ? 'replace' : 'replaced'} ${plural(refs.length, 'older heartbeat branch', 'older heartbeat branches')}`] : []),
    ].join(', ');
    lines.push(`${what}${report.dry_run ? ' (dry run: nothing written)' : report.commit ? ` (commit ${report.commit.slice(0, 12)})` : ''}`);
  }
  if (report.skipped > 0) lines.push(`${plural(report.skipped, 'other file is not a document', 'other files are not documents')} of the store layout: kept as ${report.skipped === 1 ? 'it is' : 'they are'}`);
  return lines.join('\n');
};

export const registerMigrate = (program: Command, runtime: Runtime): void => {
  program
    .command('migrate')
    .description('register the builders found by their folders, rewrite every legacy document on main in the current layout (one commit) and replace older heartbeat branches (exit 5 while any document is broken)')
    .option('--dry-run', 'print what would change and write nothing')
    .option('--json', 'print the report as JSON')
    .action(async (options: { dryRun?: boolean; json?: boolean }, command: Command) => {
      const { migrateStore } = await import('../../ops/migrate.js');
      const report = await migrateStore(buildContext(runtime, command), { dryRun: options.dryRun ?? false });
      for (const file of report.invalid) {
        runtime.err(`buildctl: left as it is (invalid, not a legacy layout): ${file.file}: ${file.problems[0]?.path ? `${file.problems[0].path}: ` : ''}${file.problems[0]?.reason ?? ''}`);
      }
      const { changed, commit, ...migration } = report;
      if (options.json) return printJson(runtime, mutationJson('migration', migration, { changed, commit, queued: false }));
      runtime.out(renderMigrate(report));
    });
};
