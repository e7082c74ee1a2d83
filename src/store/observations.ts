// Where a clone keeps what it has seen of the fleet (schemas/observations.ts): one small file
// in its private state, read with its schema, replaced atomically. The rules that use it
// live in domain/clocks.ts; this module only reads and writes it.
//
// Several processes of one clone update it (the agent, commands). A lost update only makes
// a later `first_seen` (the next look records the version again), which delays an action,
// never hastens one: every `first_seen` is a time at which the version was already there.
import { readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { emptyObservations, observationsDoc, type Observations } from '../schemas/observations.js';
import { writeFileAtomic } from './atomic-write.js';
import type { Store } from './store.js';

/** A file larger than this is not ours to trust (entries are capped far below it). */
export const MAX_OBSERVATIONS_BYTES = 4 * 2 ** 20;

const fileOf = (store: Store) => join(store.stateDir, 'observations.json');

/**
 * What this clone has seen so far. Missing: nothing seen yet. Unreadable, invalid or too
 * large: set aside as observations.json.bad (with a warning) and started afresh, which
 * only makes this clone wait longer before it acts.
 */
export const loadObservations = async (store: Store, warn: (line: string) => void = () => undefined): Promise<Observations> => {
  const file = fileOf(store);
  const size = (await stat(file).catch(() => undefined))?.size;
  if (size === undefined) return emptyObservations();
  let problem: string | undefined;
  if (size > MAX_OBSERVATIONS_BYTES) problem = `it is ${size} bytes`;
  else {
    const text = await readFile(file, 'utf8').catch(() => '');
    try {
      const parsed = observationsDoc.safeParse(JSON.parse(text));
      if (parsed.success) return parsed.data;
      problem = 'it does not match its schema';
    } catch {
      problem = text.trim() === '' ? 'it is empty' : 'it is not JSON';
    }
  }
  await rename(file, `${file}.bad`).catch(() => undefined);
  warn(`warning: this clone's observations (${file}) could not be read (${problem}); set aside as observations.json.bad, starting afresh: actions that need a watch period wait for it again`);
  return emptyObservations();
};

export const saveObservations = async (store: Store, observations: Observations): Promise<void> =>
  writeFileAtomic(fileOf(store), `${JSON.stringify(observations)}\n`);
