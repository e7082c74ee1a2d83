// The archives housekeeping writes (coordination/archive/<kind>-YYYY-MM.json, one file per
// month). Nothing on the hot path reads them; `--archived` views and lookups of an id that
// left the hot file do.
import { paths } from '../schemas/layout.js';
import { listMainFiles } from '../store/snapshot.js';
import type { Store } from '../store/store.js';

export type ArchiveKind = 'jobs' | 'messages';

/** The months (YYYY-MM) with an archive of this kind on origin/main, oldest first. */
export const archiveMonths = async (store: Store, kind: ArchiveKind): Promise<string[]> => {
  const file = kind === 'jobs' ? paths.jobsArchive('MONTH') : paths.messagesArchive('MONTH');
  const [before, after] = file.split('MONTH') as [string, string];
  return (await listMainFiles(store))
    .filter((path) => path.startsWith(before) && path.endsWith(after))
    .map((path) => path.slice(before.length, path.length - after.length))
    .filter((month) => /^\d{4}-\d{2}$/.test(month))
    .sort();
};

/** Months that can hold entries from `since` on (an archive month is when they finished or were sent). */
export const monthsSince = (months: readonly string[], since: Date | undefined): string[] =>
  since === undefined ? [...months] : months.filter((month) => month >= since.toISOString().slice(0, 7));
