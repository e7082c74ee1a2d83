// `buildctl validate`: every document on main and on every heartbeat ref (or, with
// `staged`, every file staged for commit: the pre-commit hook), told apart as valid,
// legacy (migratable, with what migration changes), broken or invalid.
import { docs, kindOfPath } from '../schemas/layout.js';
import type { Problem } from '../store/documents.js';
import { listHeartbeatRefs, listMainFiles, listStagedFiles, openSnapshot } from '../store/snapshot.js';
import { fetchAll, ORIGIN_HEARTBEAT_PREFIX, ORIGIN_MAIN, openStore } from '../store/store.js';
import { classifyText, fleetOf, type FileStatus } from './classify.js';
import type { Context } from './context.js';
import { fetchOrFallBack, type Freshness } from './read.js';

export interface FileReport {
  /** `path` on main, `heartbeat/<id>:path` on a heartbeat ref, or `:path` in the index (staged) */
  file: string;
  kind: string | null;
  /** True only for `status: valid`. */
  valid: boolean;
  status: FileStatus;
  problems: Problem[];
  /** For legacy files: what `buildctl migrate` changes. */
  changes: string[];
}

export interface ValidateReport extends Freshness {
  valid: boolean;
  checked: number;
  /** Files that are not valid (legacy, broken or invalid). */
  invalid: number;
  counts: Record<FileStatus, number>;
  files: FileReport[];
}

const isDocumentPath = (path: string): boolean => kindOfPath(path) !== undefined || path.endsWith('.json');

export const validateStore = async (ctx: Context, options: { fetch: boolean; staged?: boolean }): Promise<ValidateReport> => {
  const store = await openStore(ctx.storeDir);
  const freshness = options.fetch && !options.staged ? await fetchOrFallBack(() => fetchAll(store), ctx.warn) : { fetched: false, fetch_error: null };
  const snapshot = openSnapshot(store);
  const files: FileReport[] = [];
  try {
    // Staged files come from the index (`:path`), everything else from origin/main as fetched.
    const rev = options.staged ? '' : ORIGIN_MAIN;
    const fleet = fleetOf((await snapshot.text(`${rev}:${docs.builders.path}`)) ?? (await snapshot.text(`${ORIGIN_MAIN}:${docs.builders.path}`)));
    const check = (file: string, path: string, text: string): void => {
      const { kind, status, problems, changes } = classifyText(path, text, { fleet });
      files.push({ file, kind, valid: status === 'valid', status, problems, changes });
    };
    const paths = options.staged ? await listStagedFiles(store) : await listMainFiles(store);
    for (const path of paths.filter(isDocumentPath)) check(options.staged ? `:${path}` : path, path, (await snapshot.text(`${rev}:${path}`)) ?? '');
    for (const id of options.staged ? [] : await listHeartbeatRefs(store)) {
      for (const path of [`${id}/heartbeat.json`, `${id}/metrics.jsonl`]) {
        const text = await snapshot.text(`${ORIGIN_HEARTBEAT_PREFIX}${id}:${path}`);
        const label = `heartbeat/${id}:${path}`;
        if (text === undefined) {
          const problems = [{ path: '', reason: 'missing from the heartbeat ref' }];
          files.push({ file: label, kind: kindOfPath(path)?.name ?? null, valid: false, status: 'invalid', problems, changes: [] });
        } else {
          check(label, path, text);
        }
      }
    }
  } finally {
    snapshot.close();
  }
  const counts: Record<FileStatus, number> = { valid: 0, legacy: 0, broken: 0, invalid: 0 };
  for (const file of files) counts[file.status]++;
  const invalid = files.length - counts.valid;
  return { ...freshness, valid: invalid === 0, checked: files.length, invalid, counts, files };
};
