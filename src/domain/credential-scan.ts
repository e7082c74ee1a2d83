// Credentials already committed: buildctl refuses new ones at write time (secrets.ts),
// but a store written by older scripts may hold some. Git history keeps them whatever
// happens to the entry now, so the only remedy is to rotate them: `validate` and
// `migrate` name the entries (by id, with what was recognised and where), never the text.
import { isObject } from './legacy/changes.js';
import { findCredential } from './secrets.js';

export interface StoredCredential {
  /** The document the entry is in. */
  file: string;
  entry: 'message' | 'job';
  id: string;
  /** What was recognised and where ("a value assigned to Password in the subject, line 1"). Never the value. */
  found: string[];
}

/** The free-text fields of an entry that the write-time check also covers. */
const textsOf = (entry: Record<string, unknown>, kind: 'message' | 'job'): Array<{ what: string; text: unknown }> => {
  if (kind === 'message') {
    const notes = isObject(entry.acked_by) ? Object.entries(entry.acked_by).map(([by, ack]) => ({ what: `ack note of ${by}`, text: isObject(ack) ? ack.note : undefined })) : [];
    return [{ what: 'subject', text: entry.subject }, { what: 'body', text: entry.body }, ...notes];
  }
  const result = isObject(entry.result) ? entry.result : {};
  return [{ what: 'description', text: entry.description }, { what: 'reason', text: result.reason }];
};

/** Entries of a messages or jobs document whose text looks like it holds a credential. */
export const scanForCredentials = (file: string, kind: 'message' | 'job', doc: unknown): StoredCredential[] => {
  const list = isObject(doc) ? doc[kind === 'message' ? 'messages' : 'jobs'] : undefined;
  if (!Array.isArray(list)) return [];
  const hits: StoredCredential[] = [];
  for (const entry of list) {
    if (!isObject(entry) || typeof entry.id !== 'string') continue;
    const found = textsOf(entry, kind).flatMap(({ what, text }) => {
      const finding = typeof text === 'string' ? findCredential(text) : undefined;
      return finding ? [`${finding.kind} in the ${what}, ${finding.where}`] : [];
    });
    if (found.length > 0) hits.push({ file, entry: kind, id: entry.id, found });
  }
  return hits;
};

export const ROTATE_ADVICE =
  'rotate these credentials: git history keeps what was committed, whatever happens to these entries now (the text is not shown here)';
