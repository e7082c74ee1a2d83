// The fleet registry (coordination/builders.json): who the builders are.
import { usageError } from '../errors.js';
import type { BuilderEntry, BuildersDoc } from '../schemas/builders.js';
import { label as labelSchema } from '../schemas/common.js';
import { checkBuilderId, RESERVED_IDS } from './ids.js';
import { checkOptionalText } from './text.js';

export const EMPTY_BUILDERS: BuildersDoc = { builders: [] };

export interface BuilderInput {
  id: string;
  host?: string | undefined;
  ip?: string | undefined;
  manager?: string | undefined;
  labels?: string[] | undefined;
  enabled?: boolean | undefined;
}

export const findBuilder = (doc: BuildersDoc | undefined, id: string): BuilderEntry | undefined =>
  doc?.builders.find((builder) => builder.id === id);

/** Checks that `id` is registered; the error lists the builders that are. */
export const requireBuilder = (doc: BuildersDoc | undefined, id: string, what = 'builder'): BuilderEntry => {
  const found = findBuilder(doc, id);
  if (!found) {
    const known = doc?.builders.map((b) => b.id).join(', ') || 'none yet';
    throw usageError(`unknown ${what} "${id}"`, {
      code: 'unknown_builder',
      hint: `registered builders: ${known}; add one with "buildctl builder add ${id}"`,
    });
  }
  return found;
};

/**
 * A builder's id and the fields given for it, checked alone: what is wrong whatever the
 * registry holds, so `builder add` refuses it before the store is asked.
 */
export const checkBuilderInput = (input: BuilderInput): { id: string; fields: Partial<BuilderEntry> } => {
  const id = checkBuilderId(input.id);
  if (RESERVED_IDS.has(id)) {
    throw usageError(`"${id}" cannot be a builder id: it means every builder`, { code: 'reserved_builder_id', hint: 'choose another id, e.g. build1' });
  }
  const fields: Partial<BuilderEntry> = {};
  for (const [value, what] of [[input.host, 'host'], [input.ip, 'ip'], [input.manager, 'manager']] as const) checkOptionalText(value, what, { multiline: false });
  if (input.host !== undefined) fields.host = input.host;
  if (input.ip !== undefined) fields.ip = input.ip;
  if (input.manager !== undefined) fields.manager = input.manager;
  if (input.labels !== undefined) {
    // Checked here, as job add does: a bad label is bad input (exit 2), not a refused write.
    const bad = input.labels.find((l) => !labelSchema.safeParse(l).success);
    if (bad !== undefined) {
      throw usageError(`invalid label "${bad}"`, { code: 'invalid_label', hint: 'a label is lowercase letters, digits, ".", "_" or "-", at most 64 characters' });
    }
    fields.labels = [...new Set(input.labels)].sort();
  }
  if (input.enabled !== undefined) fields.enabled = input.enabled;
  return { id, fields };
};

/**
 * Registers a builder, or updates the given fields of one already registered (so a setup
 * script can run `builder add` every time). Returns the new document and what happened.
 */
export const addBuilder = (
  doc: BuildersDoc | undefined,
  input: BuilderInput,
  now: Date,
): { doc: BuildersDoc; outcome: 'added' | 'updated' | 'unchanged'; builder: BuilderEntry } => {
  const { id, fields } = checkBuilderInput(input);
  const current = doc ?? EMPTY_BUILDERS;
  const existing = findBuilder(current, id);
  if (!existing) {
    const builder: BuilderEntry = { id, host: null, labels: [], enabled: true, ...fields, added_at: now.toISOString() };
    const builders = [...current.builders, builder].sort((a, b) => a.id.localeCompare(b.id));
    return { doc: { ...current, builders }, outcome: 'added', builder };
  }
  const updated: BuilderEntry = { ...existing, ...fields };
  const same = JSON.stringify(updated) === JSON.stringify(existing);
  if (same) return { doc: current, outcome: 'unchanged', builder: existing };
  const builders = current.builders.map((b) => (b.id === id ? updated : b));
  return { doc: { ...current, builders }, outcome: 'updated', builder: updated };
};

export const removeBuilder = (doc: BuildersDoc | undefined, id: string): { doc: BuildersDoc; removed: BuilderEntry } => {
  const removed = requireBuilder(doc, checkBuilderId(id));
  const current = doc ?? EMPTY_BUILDERS;
  return { doc: { ...current, builders: current.builders.filter((b) => b.id !== id) }, removed };
};
