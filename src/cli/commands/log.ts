import type { Command } from 'commander';
import { DEFAULT_LOG_LIMIT, type AuditEvent } from '../../domain/audit.js';
import type { SignedEvent } from '../../ops/log.js';
import type { SignatureView } from '../../ops/trust.js';
import { formatTime, plural } from '../../domain/format.js';
import { eventsJson } from '../output.js';
import { buildContext, positiveInteger, printJson, table, type Runtime } from '../runtime.js';

/** The summary without the op name it starts with, then what the plan's trailers add. */
const whatOf = (event: AuditEvent): string => {
  const summary = event.summary.startsWith(`${event.op} `) ? event.summary.slice(event.op.length + 1) : event.summary.startsWith(`${event.op}: `) ? event.summary.slice(event.op.length + 2) : event.summary;
  const details = Object.entries(event.details).map(([name, value]) => `${name.toLowerCase().replace(/-/g, ' ')}: ${value}`);
  return [summary, ...details].join('; ');
};

/** verified, or the alarm in capitals: UNVERIFIED, FORGED (with the note, e.g. a key revoked since). */
export const signedOf = (signature: SignatureView): string => `${signature.verdict === 'verified' ? 'verified' : signature.verdict.toUpperCase()}${signature.note ? '*' : ''}`;

/** The events as a table; with `signed` (the fleet has keys), who signed each, and why not where not. */
export const renderLog = (events: readonly SignedEvent[], signed: boolean): string => {
  if (!signed) return table(['TIME', 'ACTOR', 'OP', 'WHAT'], events.map((e) => [formatTime(e.at), e.actor ?? '-', e.op, whatOf(e)]));
  const rows = table(['TIME', 'ACTOR', 'OP', 'SIGNED', 'WHAT'], events.map((e) => [formatTime(e.at), e.actor ?? '-', e.op, signedOf(e.signature), whatOf(e)]));
  const notes = events.filter((e) => e.signature.verdict !== 'verified' || e.signature.note).map((e) => `${e.commit.slice(0, 12)} ${e.op} by ${e.actor ?? '-'}: ${e.signature.verdict}, ${e.signature.reason}${e.signature.note ? ` (${e.signature.note})` : ''}`);
  return notes.length === 0 ? rows : `${rows}\n\n${notes.join('\n')}`;
};

export const registerLog = (program: Command, runtime: Runtime): void => {
  program
    .command('log')
    .description("who did what and when: main's history, from the trailers every change carries (claims, completions, lock takes and breaks, housekeeping's requeues)")
    .option('--builder <id>', 'only what this builder did')
    .option('--op <op>', 'only this operation (job.claim) or family (job, lock, msg, housekeeping)')
    .option('--since <when>', 'only since then: a duration back from now (24h, 7d) or a time (2026-11-28T22:00:00Z)')
    .option('--limit <n>', `the newest n events (default ${DEFAULT_LOG_LIMIT})`, positiveInteger('the limit'))
    .option('--all', 'every matching event, however many')
    .option('--no-fetch', 'use the last fetched state')
    .option('--json', 'print as JSON')
    .addHelpText('after', `
Times are the committing builder's clock. Commits made by hand or by older scripts
(no Buildctl-Op trailer) are not listed; "git log" shows them. Once the fleet has keys,
SIGNED says who signed each change: verified (by a key registered for its actor),
UNVERIFIED (unsigned, or an unknown key) or FORGED (another signer's key, or a key revoked
before it); the lines under the table say why, and "*" marks a note (e.g. a key revoked
since).

Examples:
  buildctl log --since 24h
  buildctl log --builder build2 --op job
  buildctl log --op lock.break --all --json`)
    .action(async (options: { builder?: string; op?: string; since?: string; limit?: number; all?: boolean; fetch: boolean; json?: boolean }, command: Command) => {
      const { auditLog } = await import('../../ops/log.js');
      const limit = options.all ? undefined : (options.limit ?? DEFAULT_LOG_LIMIT);
      const log = await auditLog(buildContext(runtime, command), { builder: options.builder, op: options.op, since: options.since, limit, fetch: options.fetch });
      if (log.matched > log.events.length) runtime.err(`buildctl: showing the newest ${log.events.length} of ${plural(log.matched, 'event')} (--limit N or --all for more)`);
      if (options.json) return printJson(runtime, eventsJson(log));
      if (log.events.length === 0) return runtime.out('no events match');
      runtime.out(renderLog(log.events, log.signing));
    });
};
