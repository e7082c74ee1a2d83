// The one JSON contract of every command's --json (README, "Scripting with --json"):
// - a mutation prints the thing it changed under its noun, and what happened to the store:
//   `{ "<noun>": {...}, "changed": bool, "queued": bool, "commit": sha | null }`;
// - a read prints the documents under their noun: `{ "<noun>": [...] }`;
// - an error prints `{ "error": { "code", "message", "hint", "details" } }` on stdout, with
//   the same exit code as without --json.
import type { Outcome } from '../ops/mutate.js';
import type { BuildctlError } from '../errors.js';

export type { Outcome };

export const mutationJson = (noun: string, value: unknown, outcome: Outcome): Record<string, unknown> => ({
  [noun]: value,
  changed: outcome.changed,
  queued: outcome.queued,
  commit: outcome.commit,
});

export const readJson = (noun: string, value: unknown): Record<string, unknown> => ({ [noun]: value });

export const errorJson = (error: Pick<BuildctlError, 'code' | 'message' | 'hint' | 'details'>): Record<string, unknown> => ({
  error: { code: error.code, message: error.message, hint: error.hint ?? null, details: error.details ?? null },
});
