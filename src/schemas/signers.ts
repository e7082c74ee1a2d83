import * as z from 'zod/mini';
import { builderId, timestamp } from './common.js';

/** An ed25519 public key as `ssh-ed25519 <base64>` (its comment is kept apart). */
export const publicKeyText = z.string().check(z.regex(/^ssh-ed25519 [A-Za-z0-9+/]+={0,2}$/, 'an ed25519 public key: "ssh-ed25519 AAAA..." (the comment apart)'));

export const signerKey = z.looseObject({
  key: publicKeyText,
  /** SHA256:..., as `ssh-keygen -l` prints it. For people: readers derive it from `key`. */
  fingerprint: z.string(),
  comment: z.optional(z.nullable(z.string())),
  /** An operator key may sign operator actions (--force, lock break, key changes for others, settings). */
  operator: z._default(z.boolean(), false),
  added_at: timestamp,
  added_by: z.string(),
  revoked_at: z.optional(z.nullable(timestamp)),
  revoked_by: z.optional(z.nullable(z.string())),
  revoked_reason: z.optional(z.nullable(z.string())),
});

export const signerEntry = z.looseObject({
  /** A builder id, or an operator's name (same format) for keys of people who are not builders. */
  id: builderId,
  keys: z.array(signerKey),
});

/** A commit an operator vouched for (`buildctl trust accept`): its changes count as verified. */
export const acceptedCommit = z.looseObject({
  commit: z.string().check(z.regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/, 'a full commit id')),
  by: z.string(),
  at: timestamp,
  reason: z.string(),
});

/** coordination/signers.json: who may sign for whom. Which changes to it count is decided by history (domain/trust.ts). */
export const signersDoc = z.looseObject({
  signers: z.array(signerEntry),
  accepted: z.optional(z.array(acceptedCommit)),
});

export type SignerKey = z.infer<typeof signerKey>;
export type SignerEntry = z.infer<typeof signerEntry>;
export type AcceptedCommit = z.infer<typeof acceptedCommit>;
export type SignersDoc = z.infer<typeof signersDoc>;
