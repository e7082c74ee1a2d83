// Builders of a fleet the older scripts ran: they never had a registry, only a folder per
// builder. A top-level folder `<id>/` holding `status.json` or `heartbeat.json`, whose
// name is a builder id, is a builder; its status document says where it runs.
import type { BuilderEntry } from '../../schemas/builders.js';
import { BUILDER_ID_PATTERN } from '../../schemas/common.js';
import { RESERVED_IDS } from '../ids.js';
import { isObject } from './changes.js';

/** Top-level folders of the layout itself: never a builder's. */
const LAYOUT_FOLDERS = new Set(['coordination', 'shared']);

const BUILDER_FILE = /^([^/]+)\/(status|heartbeat)\.json$/;

/** The builder folders among a store's file paths: id -> which of its two files exist. */
export const builderFolders = (paths: Iterable<string>): Map<string, { status: boolean; heartbeat: boolean }> => {
  const found = new Map<string, { status: boolean; heartbeat: boolean }>();
  for (const path of paths) {
    const match = BUILDER_FILE.exec(path);
    const id = match?.[1];
    if (id === undefined || !BUILDER_ID_PATTERN.test(id) || RESERVED_IDS.has(id) || LAYOUT_FOLDERS.has(id)) continue;
    const entry = found.get(id) ?? { status: false, heartbeat: false };
    entry[match![2] as 'status' | 'heartbeat'] = true;
    found.set(id, entry);
  }
  return new Map([...found].sort(([a], [b]) => a.localeCompare(b)));
};

// One line of plain text, as the registry keeps host, ip and manager.
const CONTROL = /[\u0000-\u001F\u007F-\u009F]/;
const textField = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' && !CONTROL.test(value) && value.length <= 200 ? value.trim() : undefined;

/**
 * The registry entry of a builder found by its folder, from what its status document (as
 * the older scripts wrote it, or current) holds: host (`hostname`, `host`), ip, manager,
 * and `capabilities` as they are. Anything unusable is left out, never guessed.
 */
export const registrationOf = (id: string, status: unknown, now?: Date): BuilderEntry => {
  const doc = isObject(status) ? status : {};
  const entry: BuilderEntry = { id, host: textField(doc.hostname) ?? textField(doc.host) ?? null, labels: [], enabled: true };
  if (now !== undefined) entry.added_at = now.toISOString();
  const ip = textField(doc.ip);
  const manager = textField(doc.manager);
  if (ip !== undefined) entry.ip = ip;
  if (manager !== undefined) entry.manager = manager;
  if (isObject(doc.capabilities)) entry.capabilities = doc.capabilities;
  return entry;
};

/** Said once by a command that worked with builders found by their folders. */
export const foundBuildersNote = (ids: readonly string[]): string =>
  `${ids.length} builder${ids.length === 1 ? '' : 's'} found by ${ids.length === 1 ? 'its folder' : 'their folders'} and not registered yet (${ids.join(', ')}): "buildctl migrate" registers ${ids.length === 1 ? 'it' : 'them'}`;
