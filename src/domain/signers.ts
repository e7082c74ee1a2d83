// coordination/signers.json: who may sign for whom. These are the document's transitions
// (add, revoke, accept); which of them count is history's to say (domain/trust.ts judges
// each change by who signed it).
import { usageError } from '../errors.js';
import type { AcceptedCommit, SignerEntry, SignerKey, SignersDoc } from '../schemas/signers.js';
import { checkBuilderId, RESERVED_IDS } from './ids.js';

export const EMPTY_SIGNERS: SignersDoc = { signers: [] };

/** A public key as ops/ parsed it (the store derives the fingerprint). */
export interface KeyInput {
  /** `ssh-ed25519 <base64>` */
  key: string;
  fingerprint: string;
  comment: string;
}

export const isActive = (key: SignerKey): boolean => !key.revoked_at;

export const activeKeys = (doc: SignersDoc | undefined, id: string): SignerKey[] =>
  doc?.signers.find((entry) => entry.id === id)?.keys.filter(isActive) ?? [];

/** Who holds `key` (active or not), if anyone. */
export const holderOf = (doc: SignersDoc | undefined, key: string): { entry: SignerEntry; key: SignerKey } | undefined => {
  for (const entry of doc?.signers ?? []) {
    const found = entry.keys.find((k) => k.key === key);
    if (found) return { entry, key: found };
  }
  return undefined;
};

const withEntry = (doc: SignersDoc, entry: SignerEntry): SignersDoc => {
  const others = doc.signers.filter((e) => e.id !== entry.id);
  return { ...doc, signers: [...others, entry].sort((a, b) => a.id.localeCompare(b.id)) };
};

/**
 * Registers a public key for a builder (or an operator's name), or makes an active one an
 * operator key. A key belongs to one signer, and a revoked key stays revoked.
 */
export const addKey = (
  doc: SignersDoc | undefined,
  input: { id: string; key: KeyInput; operator: boolean; by: string; now: Date },
): { doc: SignersDoc; outcome: 'added' | 'updated' | 'unchanged'; key: SignerKey } => {
  const id = checkBuilderId(input.id, 'signer id');
  if (RESERVED_IDS.has(id)) throw usageError(`"${id}" cannot hold keys: it means every builder`, { code: 'reserved_builder_id', hint: 'name the builder (or operator) the key belongs to' });
  const current = doc ?? EMPTY_SIGNERS;
  const held = holderOf(current, input.key.key);
  if (held && held.entry.id !== id) {
    throw usageError(`the key ${input.key.fingerprint} is already registered for ${held.entry.id}`, {
      code: 'key_taken',
      hint: 'a key signs for one builder or operator only: give each its own key',
    });
  }
  if (held && !isActive(held.key)) {
    throw usageError(`the key ${input.key.fingerprint} of ${id} was revoked${held.key.revoked_at ? ` at ${held.key.revoked_at}` : ''}: a revoked key is never trusted again`, {
      code: 'key_revoked',
      hint: 'make a new key (buildctl init --signing-key NEW_PATH on that host) and add that one',
    });
  }
  const entry: SignerEntry = current.signers.find((e) => e.id === id) ?? { id, keys: [] };
  if (held) {
    if (held.key.operator || !input.operator) return { doc: current, outcome: 'unchanged', key: held.key };
    const key: SignerKey = { ...held.key, operator: true };
    return { doc: withEntry(current, { ...entry, keys: entry.keys.map((k) => (k.key === key.key ? key : k)) }), outcome: 'updated', key };
  }
  const key: SignerKey = {
    key: input.key.key,
    fingerprint: input.key.fingerprint,
    comment: input.key.comment || null,
    operator: input.operator,
    added_at: input.now.toISOString(),
    added_by: input.by,
    revoked_at: null,
    revoked_by: null,
    revoked_reason: null,
  };
  return { doc: withEntry(current, { ...entry, keys: [...entry.keys, key] }), outcome: 'added', key };
};

/**
 * Revokes a key of `id`: the one with `fingerprint`, or its only active key. Its later
 * signatures count as forged; earlier ones stay verified (domain/trust.ts).
 */
export const revokeKey = (
  doc: SignersDoc | undefined,
  input: { id: string; fingerprint?: string | undefined; reason?: string | undefined; by: string; now: Date },
): { doc: SignersDoc; key: SignerKey } => {
  const id = checkBuilderId(input.id, 'signer id');
  const current = doc ?? EMPTY_SIGNERS;
  const entry = current.signers.find((e) => e.id === id);
  const active = entry?.keys.filter(isActive) ?? [];
  const list = 'list them with "buildctl builder key list"';
  if (!entry || active.length === 0) throw usageError(`${id} has no active key to revoke`, { code: 'no_such_key', hint: list });
  let target: SignerKey | undefined;
  if (input.fingerprint === undefined) {
    if (active.length > 1) {
      throw usageError(`${id} has ${active.length} active keys: say which to revoke`, { code: 'key_ambiguous', hint: `add --key FINGERPRINT (${active.map((k) => k.fingerprint).join(', ')})` });
    }
    target = active[0];
  } else {
    target = active.find((k) => k.fingerprint === input.fingerprint || k.key === input.fingerprint);
    if (!target) throw usageError(`${id} has no active key ${input.fingerprint}`, { code: 'no_such_key', hint: list });
  }
  const key: SignerKey = { ...target!, revoked_at: input.now.toISOString(), revoked_by: input.by, revoked_reason: input.reason ?? null };
  return { doc: withEntry(current, { ...entry, keys: entry.keys.map((k) => (k.key === key.key ? key : k)) }), key };
};

/** Records that an operator vouched for a commit (`buildctl trust accept`). Once per commit. */
export const acceptCommit = (
  doc: SignersDoc | undefined,
  input: { commit: string; by: string; reason: string; now: Date },
): { doc: SignersDoc; accepted: AcceptedCommit; outcome: 'added' | 'unchanged' } => {
  const current = doc ?? EMPTY_SIGNERS;
  const existing = current.accepted?.find((a) => a.commit === input.commit);
  if (existing) return { doc: current, accepted: existing, outcome: 'unchanged' };
  const accepted: AcceptedCommit = { commit: input.commit, by: input.by, at: input.now.toISOString(), reason: input.reason };
  return { doc: { ...current, accepted: [...(current.accepted ?? []), accepted] }, accepted, outcome: 'added' };
};
