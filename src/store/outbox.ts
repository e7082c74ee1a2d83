// The offline outbox: intents that could not reach the remote, kept inside the clone's .git
// directory (never committed, never pushed) until a later cycle delivers them. One JSON
// file per intent, named so that a directory listing is the delivery order.
import { appendFile, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { redactCredentials } from '../redact.js';
import { writeFileAtomic } from './atomic-write.js';
import type { Store } from './store.js';

export interface Intent {
  /** Delivery order within this clone. */
  seq: number;
  /** The op id its commit will carry: delivery is exactly once. */
  op_id: string;
  /** Operation name, e.g. `msg.send`. */
  op: string;
  actor: string;
  queued_at: string;
  /** Everything the operation needs to be applied later: ids and time included. */
  input: unknown;
  /** Why it was queued. */
  reason: string;
  /** The operator let a credential-like value through (--allow-secret-like); delivery keeps that choice. */
  allow_secret_like?: boolean;
}

const outboxDir = (store: Store) => join(store.stateDir, 'outbox');
const fileOf = (intent: Pick<Intent, 'seq' | 'op_id'>) => `${String(intent.seq).padStart(8, '0')}-${intent.op_id}.json`;

/** Queued intents in delivery order (a missing outbox is an empty one). */
export const listIntents = async (store: Store): Promise<Intent[]> => {
  const names = await readdir(outboxDir(store)).catch(() => [] as string[]);
  const intents: Intent[] = [];
  for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
    const text = await readFile(join(outboxDir(store), name), 'utf8').catch(() => undefined);
    if (text === undefined) continue; // delivered meanwhile
    intents.push(JSON.parse(text) as Intent);
  }
  return intents;
};

export const hasIntents = async (store: Store): Promise<boolean> =>
  (await readdir(outboxDir(store)).catch(() => [] as string[])).some((n) => n.endsWith('.json'));

export const enqueueIntent = async (store: Store, intent: Omit<Intent, 'seq'>): Promise<Intent> => {
  const existing = await listIntents(store);
  const seq = existing.reduce((max, i) => Math.max(max, i.seq), 0) + 1;
  const full: Intent = { seq, ...intent };
  await mkdir(outboxDir(store), { recursive: true });
  await writeFileAtomic(join(outboxDir(store), fileOf(full)), `${JSON.stringify(full, null, 2)}\n`);
  return full;
};

export const removeIntent = async (store: Store, intent: Pick<Intent, 'seq' | 'op_id'>): Promise<void> => {
  await rm(join(outboxDir(store), fileOf(intent)), { force: true });
};

/** Intents dropped because they no longer apply are logged here, never silently lost. */
export const logDropped = async (store: Store, intent: Intent, reason: string, at: Date): Promise<void> => {
  await mkdir(store.stateDir, { recursive: true });
  await appendFile(join(store.stateDir, 'outbox-dropped.jsonl'), `${redactCredentials(JSON.stringify({ at: at.toISOString(), reason, intent }))}\n`);
};
