import type { Command } from 'commander';
import type { ValidateReport } from '../../ops/validate.js';
import type { SignatureReport } from '../../ops/signatures.js';
import { describeTaint } from '../../domain/trust.js';
import { usageError } from '../../errors.js';
import { plural } from '../../domain/format.js';
import { IDENTITY_FILE_ON_MAIN } from '../../domain/identity.js';
import { readJson } from '../output.js';
import { buildContext, printJson, type Runtime } from '../runtime.js';

/** After the entries that look like they hold a credential (validate, migrate). */
export const credentialAdvice = (n: number): string =>
  `${plural(n, 'entry looks', 'entries look')} like ${n === 1 ? 'it holds' : 'they hold'} a credential: rotate ${n === 1 ? 'it' : 'them'}; git history keeps what was committed, whatever happens to the entries now`;

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
  if (report.unregistered_builders.length > 0) {
    lines.push(`builders found by their folders, not registered: ${report.unregistered_builders.join(', ')} ("buildctl migrate" registers them)`);
  }
  for (const c of report.credentials) lines.push(`CREDENTIAL? ${c.entry} ${c.id} (${c.file}): ${c.found.join('; ')}`);
  if (report.credentials.length > 0) lines.push(credentialAdvice(report.credentials.length));
  if (report.identity_file_on_main) {
    lines.push(`HOSTILE? ${IDENTITY_FILE_ON_MAIN}`);
  }
  for (const path of report.skipped_files ?? []) lines.push(`skipped  ${path}`);
  const { legacy = 0, broken = 0, invalid = 0 } = report.counts;
  lines.push(
    report.valid
      ? report.checked === 1 ? 'the 1 document is valid' : `all ${report.checked} documents are valid`
      : `${report.invalid} of ${plural(report.checked, 'document')} ${report.invalid === 1 ? 'is' : 'are'} not valid: ${legacy} legacy${legacy > 0 ? ' (run "buildctl migrate")' : ''}, ${broken} broken, ${invalid} invalid`,
  );
  if (report.skipped > 0) lines.push(`${plural(report.skipped, 'other file is not a document', 'other files are not documents')} of the store layout: not checked${report.skipped_files ? '' : ' (--verbose lists them)'}`);
  return lines.join('\n');
};

const short = (sha: string | null): string => (sha === null ? '-' : sha.slice(0, 12));

export const renderSignatures = (report: SignatureReport): string => {
  const lines: string[] = [];
  for (const p of report.problems) lines.push(`${p.verdict.toUpperCase().padEnd(10)} ${short(p.commit)} ${p.op ?? '(no operation)'} by ${p.actor ?? '-'}: ${p.reason}${p.verdict === 'verified' ? ' (require_signed_writes does not act on it)' : ''}`);
  for (const h of report.heartbeats.filter((b) => b.verdict !== 'verified')) lines.push(`${h.verdict.toUpperCase().padEnd(10)} heartbeat/${h.builder} ${short(h.commit)}: ${h.reason}`);
  for (const r of report.refused) lines.push(`LEFT OUT   ${short(r.commit)}: ${r.change}`);
  for (const t of report.taints) lines.push(`NOT ACTED ON ${describeTaint(t)}`);
  const c = report.counts;
  const range = report.since ? `after ${short(report.since)}` : 'in all of main';
  lines.push(`${plural(report.checked, 'commit')} ${range}: ${c.verified} verified, ${c.unverified} unverified, ${c.forged} forged; ${plural(report.heartbeats.length, 'heartbeat')} (${report.heartbeats.filter((h) => h.verdict === 'verified').length} verified); require_signed_writes ${report.require_signed_writes ? 'on' : 'off'}`);
  lines.push(report.valid ? 'signatures: all verified' : 'signatures: not all verified (exit 5)');
  return lines.join('\n');
};

export const registerValidate = (program: Command, runtime: Runtime): void => {
  program
    .command('validate')
    .description('check every document on main and on every heartbeat ref: valid, legacy (migratable), broken or invalid (exit 5 unless all are valid); other files are skipped')
    .option('--no-fetch', 'check the last fetched state')
    .option('--staged', 'check the files staged for commit instead (what the pre-commit hook of "buildctl hooks install" runs)')
    .option('--verbose', 'also list the files that are not documents (skipped)')
    .option('--signatures', "check who signed main's history and every heartbeat instead: verified, unverified or forged (exit 5 unless all are verified)")
    .option('--since <commit>', 'with --signatures: only the commits after this one (default: after the first key was registered; nothing before it could be verified)')
    .option('--pre-receive', 'with --signatures: judge a push on the remote, as its pre-receive hook (reads "<old> <new> <ref>" lines; see scripts/pre-receive)')
    .option('--json', 'print the report as JSON')
    .action(async (options: { fetch: boolean; staged?: boolean; verbose?: boolean; signatures?: boolean; since?: string; preReceive?: boolean; json?: boolean }, command: Command) => {
      if ((options.since !== undefined || options.preReceive) && !options.signatures) {
        throw usageError(`${options.preReceive ? '--pre-receive' : '--since'} goes with --signatures`, { code: 'invalid_option', hint: 'buildctl validate --signatures --since COMMIT' });
      }
      if (options.preReceive) {
        const { checkPush, parseRefUpdates } = await import('../../ops/signatures.js');
        const chunks: Buffer[] = [];
        for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
        const verdict = await checkPush(process.cwd(), parseRefUpdates(Buffer.concat(chunks).toString('utf8')));
        if (!verdict.accepted) runtime.exitCode = 1;
        if (options.json) return printJson(runtime, readJson('push', verdict));
        for (const line of verdict.lines) runtime.err(line);
        return;
      }
      if (options.signatures) {
        const { validateSignatures } = await import('../../ops/signatures.js');
        const report = await validateSignatures(buildContext(runtime, command), { fetch: options.fetch, since: options.since });
        if (!report.valid) runtime.exitCode = 5;
        if (options.json) return printJson(runtime, readJson('signatures', report));
        return runtime.out(renderSignatures(report));
      }
      const { validateStore } = await import('../../ops/validate.js');
      const report = await validateStore(buildContext(runtime, command), { fetch: options.fetch, staged: options.staged ?? false, verbose: options.verbose ?? false });
      if (!report.valid) runtime.exitCode = 5;
      if (options.json) return printJson(runtime, readJson('validation', report));
      runtime.out(renderValidate(report));
    });
};
