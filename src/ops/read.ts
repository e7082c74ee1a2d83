import { BuildctlError } from '../errors.js';
import type { DocSpec } from '../schemas/layout.js';
import { invalidDocument } from '../store/documents.js';
import type { Snapshot } from '../store/snapshot.js';

/** A document from origin/main: undefined when absent, an invalid-data error when invalid. */
export const readMainOrThrow = async <T>(snapshot: Snapshot, spec: DocSpec<T>): Promise<T | undefined> => {
  const read = await snapshot.main(spec);
  if (read.status === 'invalid') throw invalidDocument(spec.path, read.problems);
  return read.status === 'ok' ? read.value : undefined;
};

export interface Freshness {
  /** Whether this call fetched from the remote. */
  fetched: boolean;
  /** Why the fetch failed, when it did (the view then shows the last known state). */
  fetch_error: string | null;
}

/** Fetches, or on an unreachable remote reports why and lets the caller show what it has. */
export const fetchOrFallBack = async (fetch: () => Promise<void>, warn: (line: string) => void): Promise<Freshness> => {
  try {
    await fetch();
    return { fetched: true, fetch_error: null };
  } catch (error) {
    if (error instanceof BuildctlError && error.kind === 'unreachable') {
      warn(`warning: ${error.message}; showing the last known state`);
      return { fetched: false, fetch_error: error.message };
    }
    throw error;
  }
};
