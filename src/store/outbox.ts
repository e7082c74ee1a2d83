// The offline outbox: intents that could not reach the remote, kept inside the clone's .git
// directory (never committed, never pushed) until a later cycle delivers them. One JSON
// file per intent, named so that a directory listing is the delivery order. Written durably
// (fsync before the command says "queued": it may be all that is left of an operation), read
// with its schema; a file that does not parse (a crash left it empty) is moved to
// outbox-quarantine/ with a warning, so it can stop nothing, not even `outbox drop`.
import { appendFile, mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { redactCredentials } from '../redact.js';
import { intentDoc, type Intent } from '../schemas/intent.js';
import { writeFileAtomic } from './atomic-write.js';
import type { Store } from './store.js';

export type { Intent };

const outboxDir = (store: Store) => join(store.stateDir, 'outbox');
const fileOf = (intent: Pick<Intent, 'seq' | 'op_id'>) => `${String(intent.seq).padStart(8, '0')}-${intent.op_id}.json`;

const quarantineDir = (store: Store) => join(store.stateDir, 'outbox-quarantine');

/** Why a queued file is not an intent, or undefined when it is one. */
const problemOf = (text: string): { intent: Intent } | { problem: string } => {
  if (text.trim() === '') return { problem: 'the file is empty' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { problem: 'it is not JSON' };
  }
  const parsed = intentDoc.safeParse(value);
  return parsed.success ? { intent: parsed.data } : { problem: `it is not a queued operation (${parsed.error.issues[0]?.path.join('.') || 'the document'}: ${parsed.error.issues[0]?.message ?? 'invalid'})` };
};

/**
 * Queued intents in delivery order (a missing outbox is an empty one). A file that is not an
 * intent is moved to .git/buildctl/outbox-quarantine/ and `warn` is told: it is never
 * delivered, and it stops nothing else.
 */
export const listIntents = async (store: Store, warn: (line: string) => void = () => undefined): Promise<Intent[]> => {
  const names = await readdir(outboxDir(store)).catch(() => [] as string[]);
  const intents: Intent[] = [];
  for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
    const text = await readFile(join(outboxDir(store), name), 'utf8').catch(() => undefined);
    if (text === undefined) continue; // delivered meanwhile
    const read = problemOf(text);
    if ('intent' in read) {
      intents.push(read.intent);
      continue;
    }
    await mkdir(quarantineDir(store), { recursive: true });
    const moved = await rename(join(outboxDir(store), name), join(quarantineDir(store), name)).then(() => true, () => false);
    if (moved) warn(`warning: set aside the queued operation ${name}: ${read.problem}; it will not be delivered (moved to ${join(quarantineDir(store), name)}: look at it, then delete it)`);
  }
  return intents;
};

export const hasIntents = async (store: Store): Promise<boolean> =>
  (await readdir(outboxDir(store)).catch(() => [] as string[])).some((n) => n.endsWith('.json'));

export const enqueueIntent = async (store: Store, intent: Omit<Intent, 'seq'>, warn: (line: string) => void = () => undefined): Promise<Intent> => {
  const existing = await listIntents(store, warn);
  const seq = existing.reduce((max, i) => Math.max(max, i.seq), 0) + 1;
  const full: Intent = { seq, ...intent };
  await mkdir(outboxDir(store), { recursive: true });
  await writeFileAtomic(join(outboxDir(store), fileOf(full)), `${JSON.stringify(full, null, 2)}\n`, { durable: true });
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
