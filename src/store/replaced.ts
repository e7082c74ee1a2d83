// The journal of heartbeat commits this clone no longer needs: one line per commit, when it
// was replaced, and whether it was this clone's own beat. Maintenance (store/maintenance.ts)
// removes their objects once they are older than a grace period.
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';

export const REPLACED_JOURNAL = 'replaced-heartbeats';

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
