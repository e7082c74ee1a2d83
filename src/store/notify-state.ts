// This clone's notification deliveries (.git/buildctl/notify.json): what waits to be sent,
// when each target was last sent to, and what was given up on. Local to the clone, never
// committed: only the builder that recorded an event sends it.
import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDocumentText } from '../schemas/document-text.js';
import { notifyState, type NotifyState } from '../schemas/notify.js';
import { writeFileAtomic } from './atomic-write.js';
import type { Store } from './store.js';

export const notifyStateFile = (store: Store): string => join(store.stateDir, 'notify.json');

/**
 * The state, or undefined when there is none. A file that does not parse is moved aside
 * (kept for a person to read, with the reason given to `warn`) rather than blocking every
 * later delivery.
 */
export const readNotifyState = async (store: Store, warn: (line: string) => void): Promise<NotifyState | undefined> => {
  const file = notifyStateFile(store);
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const parsed = parseDocumentText(text, notifyState);
  if (parsed.ok) return parsed.value;
  const aside = `${file}.unreadable-${Date.now()}`;
  await rename(file, aside).catch(() => undefined);
  warn(`notification state ${file} is unreadable (${parsed.problems[0]?.reason ?? 'invalid'}); moved to ${aside}, starting afresh`);
  return undefined;
};

export const writeNotifyState = (store: Store, state: NotifyState): Promise<void> =>
  writeFileAtomic(notifyStateFile(store), `${JSON.stringify(state, null, 2)}\n`);
