// `buildctl validate`: every document on main and on every heartbeat ref, against its schema.
import { kindOfPath } from '../schemas/layout.js';
import { diagnoseJsonText, parseDocumentText, type Problem } from '../store/documents.js';
import { listHeartbeatRefs, listMainFiles, openSnapshot } from '../store/snapshot.js';
import { fetchAll, ORIGIN_HEARTBEAT_PREFIX, ORIGIN_MAIN, openStore } from '../store/store.js';
import type { Context } from './context.js';
import { fetchOrFallBack, type Freshness } from './read.js';

export interface FileReport {
  /** `path` on main, or `heartbeat/<id>:path` on a heartbeat ref */
  file: string;
  kind: string | null;
  valid: boolean;
  problems: Problem[];
}

export interface ValidateReport extends Freshness {
  valid: boolean;
  checked: number;
  invalid: number;
  files: FileReport[];
}

const checkText = (text: string, path: string): { kind: string | null; problems: Problem[] } => {
  const kind = kindOfPath(path);
  if (!kind) {
    // Not a buildctl document: JSON files must still parse.
    const broken = path.endsWith('.json') ? diagnoseJsonText(text) : undefined;
    return { kind: null, problems: broken ? [broken] : [] };
  }
  if (kind.format === 'jsonl') {
    const problems: Problem[] = [];
    text.split('\n').forEach((line, index) => {
      if (line.trim() === '') return;
      const outcome = parseDocumentText(line, kind.schema);
      if (!outcome.ok) for (const p of outcome.problems) problems.push({ path: `line ${index + 1}${p.path ? ` ${p.path}` : ''}`, reason: p.reason });
    });
    return { kind: kind.name, problems };
  }
  const outcome = parseDocumentText(text, kind.schema);
  return { kind: kind.name, problems: outcome.ok ? [] : outcome.problems };
};

export const validateStore = async (ctx: Context, options: { fetch: boolean }): Promise<ValidateReport> => {
  const store = await openStore(ctx.storeDir);
  const freshness = options.fetch ? await fetchOrFallBack(() => fetchAll(store), ctx.warn) : { fetched: false, fetch_error: null };
  const [mainFiles, beatRefs] = await Promise.all([listMainFiles(store), listHeartbeatRefs(store)]);
  const snapshot = openSnapshot(store);
  const files: FileReport[] = [];
  try {
    const wanted = mainFiles.filter((path) => kindOfPath(path) || path.endsWith('.json'));
    for (const path of wanted) {
      const text = (await snapshot.text(`${ORIGIN_MAIN}:${path}`)) ?? '';
      const { kind, problems } = checkText(text, path);
      files.push({ file: path, kind, valid: problems.length === 0, problems });
    }
    for (const id of beatRefs) {
      for (const path of [`${id}/heartbeat.json`, `${id}/metrics.jsonl`]) {
        const text = await snapshot.text(`${ORIGIN_HEARTBEAT_PREFIX}${id}:${path}`);
        const label = `heartbeat/${id}:${path}`;
        if (text === undefined) {
          files.push({ file: label, kind: kindOfPath(path)?.name ?? null, valid: false, problems: [{ path: '', reason: 'missing from the heartbeat ref' }] });
          continue;
        }
        const { kind, problems } = checkText(text, path);
        files.push({ file: label, kind, valid: problems.length === 0, problems });
      }
    }
  } finally {
    snapshot.close();
  }
  const invalid = files.filter((f) => !f.valid).length;
  return { ...freshness, valid: invalid === 0, checked: files.length, invalid, files };
};
