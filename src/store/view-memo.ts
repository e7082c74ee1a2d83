// What a view worked out from large documents, kept for the next view of the same blobs: a
// `status` of a store with 10,000 live jobs and messages spends about a third of its time
// reading the queue's and the mail's text for a few counts and a builder's own messages,
// and a dashboard asks that every few seconds while neither changes. Each slot holds one
// value under one key, which names the blobs it was worked out from (git names a blob by
// its bytes, so the same key is the same input) and what else it depends on. The file
// starts from the schemas' fingerprint (set by the build) and DERIVATION: a build that
// reads documents differently starts afresh; without a fingerprint (sources run without
// the build's definitions) the memo is off, as the valid-blob cache is. The file is this clone's own: a
// missing, garbled or lost one only means the documents are read again.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod/mini';
import { writeFileAtomic } from './atomic-write.js';
import type { Store } from './store.js';

declare const __BUILDCTL_SCHEMA_FINGERPRINT__: string | undefined;

/** Raised when what a view works out from a document changes meaning (a rule in status, say). */
const DERIVATION = 1;

export interface ViewMemo {
  /** The value kept in `slot` for exactly `key`, when it passes `schema`. */
  get<T>(slot: string, key: string, schema: z.ZodMiniType<T>): T | undefined;
  /** Keeps `value` in `slot` for `key` (replacing what the slot held); written by `flush`. */
  set(slot: string, key: string, value: unknown): void;
  /** Writes what was set, in one atomic write; never fails. */
  flush(): Promise<void>;
}

const fileSchema = z.object({ print: z.string(), slots: z.record(z.string(), z.object({ key: z.string(), value: z.unknown() })) });

const OFF: ViewMemo = { get: () => undefined, set: () => undefined, flush: async () => undefined };

export const openViewMemo = async (store: Store, options: { fingerprint?: string } = {}): Promise<ViewMemo> => {
  const fingerprint = options.fingerprint ?? (typeof __BUILDCTL_SCHEMA_FINGERPRINT__ === 'string' ? __BUILDCTL_SCHEMA_FINGERPRINT__ : undefined);
  if (fingerprint === undefined) return OFF;
  const print = `${fingerprint}/${DERIVATION}`;
  const file = join(store.stateDir, 'view-memo.json');
  const kept = await readFile(file, 'utf8').then(
    (text) => {
      try {
        const parsed = fileSchema.safeParse(JSON.parse(text));
        return parsed.success && parsed.data.print === print ? parsed.data.slots : {};
      } catch {
        return {};
      }
    },
    () => ({}),
  );
  const slots: Record<string, { key: string; value: unknown }> = { ...kept };
  let changed = false;
  return {
    get: (slot, key, schema) => {
      const held = slots[slot];
      if (held === undefined || held.key !== key) return undefined;
      const parsed = schema.safeParse(held.value);
      return parsed.success ? parsed.data : undefined;
    },
    set: (slot, key, value) => {
      slots[slot] = { key, value };
      changed = true;
    },
    flush: async () => {
      if (!changed) return;
      changed = false;
      await writeFileAtomic(file, `${JSON.stringify({ print, slots })}\n`).catch(() => undefined);
    },
  };
};
