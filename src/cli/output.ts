// The one JSON contract of every command's --json (README, "Scripting with --json"):
// - a mutation prints the thing it changed under its noun, and what happened to the store:
//   `{ "<noun>": {...}, "changed": bool, "queued": bool, "commit": sha | null }`;
// - a read prints the documents under their noun: `{ "<noun>": [...] }`;
// - an error prints `{ "error": { "code", "message", "hint", "details" } }` on stdout, with
//   the same exit code as without --json.
// Errors without --json are one `buildctl: ...` line and a `hint: ...` line on stderr,
// commander's own (an unknown option, a missing --reason) included.
// The document of each operation that the MCP server (`buildctl mcp`) offers too is shaped
// here once: its tools return what the commands print.
import { CommanderError, type Command } from 'commander';
import type { CheckReport } from '../ops/check.js';
import type { JobView } from '../ops/jobs.js';
import type { AuditLog } from '../ops/log.js';
import type { BuilderMetrics } from '../ops/metrics.js';
import type { Outcome } from '../ops/mutate.js';
import type { FleetStatus } from '../ops/status.js';
import type { LockView } from '../domain/locks.js';
import { isBuildctlError, type BuildctlError } from '../errors.js';
import type { Job } from '../schemas/jobs.js';
import type { Lock } from '../schemas/locks.js';
import type { Message } from '../schemas/messages.js';
import type { StatusDoc } from '../schemas/status.js';
import type { Runtime } from './runtime.js';
import { environmentFault } from '../faults.js';

export type { Outcome };

export type JsonDocument = Record<string, unknown>;

export const mutationJson = (noun: string, value: unknown, outcome: Outcome): Record<string, unknown> => ({
  [noun]: value,
  changed: outcome.changed,
  queued: outcome.queued,
  commit: outcome.commit,
});

export const readJson = (noun: string, value: unknown): Record<string, unknown> => ({ [noun]: value });

// ---- each operation's document: reads ------------------------------------------------
export const fleetJson = (view: FleetStatus): JsonDocument => readJson('fleet', view);
export const messagesJson = (list: { messages: Message[] }): JsonDocument => readJson('messages', list.messages);
export const threadJson = (found: { message: Message; ancestors: Message[]; replies: Message[] }): JsonDocument => ({
  message: found.message,
  ancestors: found.ancestors,
  replies: found.replies,
});
export const locksJson = (locks: LockView[]): JsonDocument => readJson('locks', locks);
export const checkJson = (report: CheckReport): JsonDocument => readJson('check', report);
export const eventsJson = (log: AuditLog): JsonDocument => readJson('events', log.events);
export const metricsJson = (metrics: BuilderMetrics): JsonDocument => readJson('metrics', metrics);
export const jobsJson = (jobs: Job[]): JsonDocument => readJson('jobs', jobs);
export const jobViewJson = (view: JobView): JsonDocument => ({ ...readJson('job', view.job), archive: view.archive, waits: view.waits, never_runs: view.never_runs });

// ---- each operation's document: changes ----------------------------------------------
export const messageChangeJson = (result: { message: Message } & Outcome): JsonDocument => mutationJson('message', result.message, result);
export const messagesChangeJson = (result: { messages: Message[] } & Outcome): JsonDocument => mutationJson('messages', result.messages, result);
export const statusChangeJson = (result: { status: StatusDoc } & Outcome): JsonDocument => mutationJson('status', result.status, result);
export const lockChangeJson = (result: { lock: Lock } & Outcome): JsonDocument => mutationJson('lock', result.lock, result);
export const jobChangeJson = (result: { job: Job } & Outcome): JsonDocument => mutationJson('job', result.job, result);

export const errorJson = (error: Pick<BuildctlError, 'code' | 'message' | 'hint' | 'details'>): Record<string, unknown> => ({
  error: { code: error.code, message: error.message, hint: error.hint ?? null, details: error.details ?? null },
});

/** Whether the command line asks for JSON (an argument after `--` belongs to a child command). */
export const wantsJson = (argv: readonly string[]): boolean => {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json');
};

/** `buildctl lock break`, from the words of the command line that name (sub)commands. */
export const commandPath = (program: Command, args: readonly string[]): string => {
  const path = [program.name()];
  let current = program;
  for (const arg of args) {
    if (arg === '--') break;
    if (arg.startsWith('-')) continue;
    const next = current.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
    if (!next) continue;
    path.push(next.name());
    current = next;
  }
  return path.join(' ');
};

export interface ErrorReport {
  exitCode: number;
  code: string;
  message: string;
  hint: string | undefined;
  details: Record<string, unknown> | undefined;
  stack: string | undefined;
}

const snakeCase = (text: string): string => text.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * What to tell the operator about an error that ended a command; undefined for commander's
 * help and version exits (exit 0, already printed).
 */
export const errorReport = (error: unknown, path: string): ErrorReport | undefined => {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0) return undefined;
    const usage = `run "${path} --help" for usage`;
    // `buildctl lock` alone: commander has printed the subcommands to stderr.
    if (error.code === 'commander.help') return { exitCode: 2, code: 'missing_subcommand', message: `"${path}" needs a subcommand`, hint: `pick one from the list above; ${usage}`, details: undefined, stack: undefined };
    const [message = error.message, ...more] = error.message.replace(/^error: /, '').split('\n');
    const suggestion = /\(Did you mean (.+)\?\)/.exec(more.join(' '))?.[1];
    return {
      exitCode: 2,
      code: snakeCase(error.code.replace(/^commander\./, '')),
      message,
      hint: suggestion ? `did you mean ${suggestion}? ${usage}` : usage,
      details: undefined,
      stack: error.stack,
    };
  }
  // A full disk, a read-only store or no git is the machine's fault, not a bug: said as one (src/faults.ts).
  const known = isBuildctlError(error) ? error : environmentFault(error);
  if (known) return { exitCode: known.exitCode, code: known.code, message: known.message, hint: known.hint, details: known.details, stack: error instanceof Error ? error.stack : known.stack };
  const message = error instanceof Error ? error.message : String(error);
  return {
    exitCode: 1,
    code: 'unexpected',
    message: `unexpected error: ${message}`,
    hint: 'run again with --debug for the stack trace, and please report it with that output',
    details: undefined,
    stack: error instanceof Error ? (error.stack ?? message) : message,
  };
};

/** With --json the error is the JSON document on stdout; otherwise one line and a hint on stderr. */
export const printError = (runtime: Runtime, report: ErrorReport, options: { json: boolean; debug: boolean }): void => {
  if (options.json) runtime.out(JSON.stringify(errorJson(report), null, 2));
  else {
    runtime.err(`buildctl: ${report.message}`);
    if (report.hint) runtime.err(`hint: ${report.hint}`);
  }
  if (options.debug && report.stack) runtime.err(report.stack);
};
