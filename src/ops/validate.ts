// `buildctl validate`: every document on main and on every heartbeat ref (or, with
// `staged`, every document staged for commit: the pre-commit hook), told apart as valid,
// legacy (migratable, with what migration changes), broken or invalid. Documents are the
// paths of the store layout (schemas/layout.ts); every other file in the repository is
// skipped, whatever it holds. It also names builders found by their folders that the
// registry lacks, and entries whose text looks like a credential (to rotate).
import { heartbeatRefChanges, isOlderHeartbeatRef } from '../domain/legacy/heartbeat-ref.js';
import { classifyText, type ClassifyContext, type FileStatus } from '../domain/classify.js';
import { scanForCredentials, type StoredCredential } from '../domain/credential-scan.js';
import { BUILDER_ID_PATTERN } from '../schemas/common.js';
import { MAX_DOCUMENT_BYTES, sizeProblem } from '../schemas/json-text.js';
import { docs, kindOfPath } from '../schemas/layout.js';
import type { Problem } from '../store/documents.js';
import { fetchedHeartbeatRef } from '../store/heartbeat-ref.js';
import { isRegularFile, MODE_TREE, notRegular } from '../store/objects.js';
import { listHeartbeatRefs, listMainEntries, listStagedFiles, openSnapshot, type Snapshot } from '../store/snapshot.js';
import { ORIGIN_MAIN, openStore } from '../store/store.js';
import { IDENTITY_FILE } from '../store/view.js';
import type { Context } from './context.js';
import { findBuilderFolders } from './fleet-members.js';
import { fetchFleet, type Freshness } from './read.js';

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
  /** Documents that are not valid (legacy, broken or invalid). */
  invalid: number;
  counts: Record<FileStatus, number>;
  files: FileReport[];
  /** Files that are not documents of the layout: not checked, never changed. */
  skipped: number;
  /** Their paths (with --verbose). */
  skipped_files?: string[];
  /** Builder folders (`<id>/status.json`, `<id>/heartbeat.json`) that `buildctl migrate` would register. */
  unregistered_builders: string[];
  /** Entries whose text looks like a credential: rotate them (git history keeps them). */
  credentials: StoredCredential[];
  /**
   * Main holds a `.build_server_id`: only a push puts one there, and a builder that read it
   * would act as the id it names. buildctl never checks it out (store/view.ts); remove it.
   */
  identity_file_on_main: boolean;
}

/** Who "all" is (the registry, else the builders found by their folders) and who still runs the older scripts. */
export const classifyContextOf = async (snapshot: Snapshot, options: { discover: boolean }): Promise<{ context: ClassifyContext; unregistered: string[] }> => {
  const buildersText = await snapshot.text(`${ORIGIN_MAIN}:${docs.builders.path}`);
  const registered = buildersText === undefined ? [] : await snapshot.main(docs.builders).then((r) => (r.status === 'ok' ? r.value.builders.map((b) => b.id) : []));
  const found = options.discover ? await findBuilderFolders(snapshot, new Set(registered)) : [];
  // Without a registry every builder folder is a builder; with one, those the older scripts left.
  const unregistered = found.filter((f) => buildersText === undefined || f.legacy).map((f) => f.entry.id);
  const config = await snapshot.main(docs.config);
  return {
    context: { fleet: [...registered, ...unregistered].sort(), legacyReaders: config.status === 'ok' ? (config.value.legacy_readers ?? []) : [] },
    unregistered,
  };
};

/** Directories that hold documents: a link or submodule there is as invalid as one at a document path. */
const isDocumentDir = (path: string, fleet: readonly string[]): boolean =>
  path === 'coordination' || path === 'coordination/archive' || path === 'shared' || fleet.includes(path);

export const validateStore = async (ctx: Context, options: { fetch: boolean; staged?: boolean; verbose?: boolean }): Promise<ValidateReport> => {
  const store = await openStore(ctx.storeDir);
  const freshness = options.fetch && !options.staged ? await fetchFleet(ctx, store) : { fetched: false, fetch_error: null };
  const snapshot = openSnapshot(store);
  const files: FileReport[] = [];
  const skipped: string[] = [];
  const credentials: StoredCredential[] = [];
  let unregistered: string[] = [];
  let identityFile = false;
  try {
    // Staged files come from the index (`:path`), everything else from origin/main as fetched.
    const rev = options.staged ? '' : ORIGIN_MAIN;
    const known = await classifyContextOf(snapshot, { discover: !options.staged });
    unregistered = known.unregistered;
    const push = (file: string, kind: string | null, status: FileStatus, problems: Problem[], changes: string[]): void => {
      files.push({ file, kind, valid: status === 'valid', status, problems, changes });
    };
    // Main with modes and sizes, judged as every command reads it (store/objects.ts): only
    // a regular file is a document, under real directories.
    const entries = options.staged
      ? (await listStagedFiles(store)).map((path) => ({ path, mode: '100644', sha: `:${path}`, size: 0 }))
      : await listMainEntries(store);
    for (const listed of entries) {
      const { path } = listed;
      const kind = kindOfPath(path);
      const label = options.staged ? `:${path}` : path;
      if (path === IDENTITY_FILE) identityFile = true;
      if (!kind) {
        if (listed.mode !== MODE_TREE && isDocumentDir(path, known.context.fleet)) push(label, null, 'invalid', [notRegular(path, listed.mode, 'a directory')], []);
        else if (listed.mode !== MODE_TREE) skipped.push(path);
        continue;
      }
      if (!isRegularFile(listed.mode)) {
        push(label, kind.name, 'invalid', [notRegular(path, listed.mode, 'a regular file')], []);
        continue;
      }
      if (listed.size > MAX_DOCUMENT_BYTES) {
        push(label, kind.name, 'invalid', [sizeProblem(listed.size)], []);
        continue;
      }
      const classified = classifyText(path, (await snapshot.text(options.staged ? `${rev}:${path}` : listed.sha)) ?? '', known.context);
      push(label, classified.kind, classified.status, classified.problems, classified.changes);
      const entry = kind.name.startsWith('messages') ? 'message' : kind.name.startsWith('jobs') ? 'job' : undefined;
      if (entry && !options.staged && classified.value !== undefined) credentials.push(...scanForCredentials(path, entry, classified.value));
    }
    for (const id of options.staged ? [] : (await listHeartbeatRefs(store)).filter((ref) => BUILDER_ID_PATTERN.test(ref))) {
      const beatPath = `${id}/heartbeat.json`;
      const metricsPath = `${id}/metrics.jsonl`;
      const onRef = await snapshot.heartbeatCommit(id);
      const beatRead = await onRef?.file(beatPath);
      const metricsRead = await onRef?.file(metricsPath);
      const beat = beatRead?.kind === 'text' ? beatRead.text : undefined;
      const metrics = metricsRead?.kind === 'text' ? metricsRead.text : undefined;
      const fetched = await fetchedHeartbeatRef(store, id);
      const commits = fetched?.commits ?? 1;
      const label = (path: string): string => `heartbeat/${id}:${path}`;
      const missing = [{ path: '', reason: 'missing from the heartbeat ref' }];
      const classified = beat === undefined ? undefined : classifyText(beatPath, beat, known.context);
      if (!isOlderHeartbeatRef({ commits, hasMetrics: metrics !== undefined, form: onRef?.form ?? 'tree' })) {
        if (classified) push(label(beatPath), classified.kind, classified.status, classified.problems, classified.changes);
        else push(label(beatPath), 'heartbeat', 'invalid', missing, []);
        const lines = classifyText(metricsPath, metrics ?? '', known.context);
        push(label(metricsPath), lines.kind, lines.status, lines.problems, lines.changes);
        continue;
      }
      // A branch of the older scripts: `buildctl migrate` replaces it when its heartbeat converts,
      // else the builder's first heartbeat does (and says so).
      const convertible = classified?.status === 'valid' || classified?.status === 'legacy';
      const takeOver = [{ path: '', reason: `the older scripts' heartbeat branch: ${id}'s first "buildctl heartbeat" replaces it` }];
      if (!classified) push(label(beatPath), 'heartbeat', 'invalid', [...missing, ...takeOver], []);
      else if (!convertible) push(label(beatPath), classified.kind, classified.status, [...classified.problems, ...takeOver], []);
      else push(label(beatPath), classified.kind, 'legacy', classified.problems, [...classified.changes, ...heartbeatRefChanges(id, commits)]);
      if (metrics === undefined) push(label(metricsPath), 'metrics', convertible ? 'legacy' : 'invalid', convertible ? [] : missing, convertible ? ['missing: started empty'] : []);
    }
  } finally {
    snapshot.close();
  }
  const counts: Record<FileStatus, number> = { valid: 0, legacy: 0, broken: 0, invalid: 0 };
  for (const file of files) counts[file.status]++;
  const invalid = files.length - counts.valid;
  return {
    ...freshness,
    valid: invalid === 0,
    checked: files.length,
    invalid,
    counts,
    files,
    skipped: skipped.length,
    ...(options.verbose ? { skipped_files: skipped } : {}),
    unregistered_builders: unregistered,
    credentials,
    identity_file_on_main: identityFile,
  };
};
