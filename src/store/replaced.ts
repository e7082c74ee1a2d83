// The journal of heartbeat commits this clone no longer needs: one line per commit, when it
// was replaced, and whether it was this clone's own beat. Maintenance (store/maintenance.ts)
// removes their objects once they are older than a grace period. A fetch that brought many
// beats at once kept them in a pack: the journal names the pack too, for maintenance to
// remove it once the beats in it are replaced (what is still needed is kept loose).
import { appendFile, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { objectsDirAt } from './objects.js';

export const REPLACED_JOURNAL = 'replaced-heartbeats';

/**
 * A pack's journal line counts from this long after the fetch that made it: by then, the
 * beats in it have been replaced by the next beats, and those replacements journaled.
 */
export const PACK_JOURNAL_DELAY_MS = 5 * 60_000;

/** Notes heartbeat commits as replaced at `at`; `own`: this clone pushed them. Never fails. */
export const journalReplaced = async (stateDir: string, commits: readonly string[], at: Date, own: boolean): Promise<void> => {
  if (commits.length === 0) return;
  await mkdir(stateDir, { recursive: true }).catch(() => undefined);
  await appendFile(join(stateDir, REPLACED_JOURNAL), commits.map((commit) => `${at.getTime()} ${commit}${own ? ' own' : ''}\n`).join('')).catch(() => undefined);
};

/**
 * The commits a fetch replaced on heartbeat refs, from git's report of the ref updates
 * (`fetch` without --quiet, full ids with core.abbrev=40):
 * ` + <old>...<new> heartbeat/build1 -> origin/heartbeat/build1  (forced update)`.
 */
export const replacedInFetchReport = (stderr: string): string[] =>
  stderr
    .split('\n')
    .map((line) => /^ [+ ] ([0-9a-f]{7,64})\.\.\.?[0-9a-f]{7,64} +\S+ +-> +origin\/heartbeat\/\S+/.exec(line)?.[1])
    .filter((sha): sha is string => sha !== undefined);

/** The packs (`pack-<id>`, without the extension) in a repository's object store now. */
export const packsOf = async (dir: string): Promise<Set<string>> => {
  const names = await readdir(join(objectsDirAt(dir), 'pack')).catch(() => [] as string[]);
  return new Set(names.filter((name) => /^pack-[0-9a-f]{40,64}\.pack$/.test(name)).map((name) => name.slice(0, -'.pack'.length)));
};

/** Notes the packs a fetch of heartbeats made at `at` (see PACK_JOURNAL_DELAY_MS). Never fails. */
export const journalPacks = async (stateDir: string, packs: readonly string[], at: Date): Promise<void> => {
  if (packs.length === 0) return;
  await mkdir(stateDir, { recursive: true }).catch(() => undefined);
  await appendFile(join(stateDir, REPLACED_JOURNAL), packs.map((pack) => `${at.getTime() + PACK_JOURNAL_DELAY_MS} pack ${pack}\n`).join('')).catch(() => undefined);
};
