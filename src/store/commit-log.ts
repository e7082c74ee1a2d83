// The history of main as records: each commit with its time, summary and trailers. The
// transaction cycle writes `Buildctl-Op`, `Buildctl-Actor` and `Buildctl-Op-Id` (and a
// plan's own `Buildctl-*` trailers) into every commit, so history is an audit trail.
import { git } from './git.js';
import { ORIGIN_MAIN, type Store } from './store.js';
import { TRAILER_ACTOR, TRAILER_OP, TRAILER_OP_ID } from './transaction.js';

export interface CommitRecord {
  commit: string;
  /** Committer time, ISO-8601 UTC (the writer's clock). */
  at: string;
  summary: string;
  /** The Buildctl-Op trailer, or null for a commit made by hand or by other tools. */
  op: string | null;
  actor: string | null;
  op_id: string | null;
  /** Every other trailer, by name (repeated names joined with ", "). */
  trailers: Record<string, string>;
}

const FIELD = '\u001f';
const RECORD = '\u001e';

const parseTrailers = (text: string): Array<[string, string]> =>
  text
    .split('\n')
    .map((line) => /^([A-Za-z0-9-]+):\s?(.*)$/.exec(line.trim()))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => [match[1] ?? '', match[2] ?? '']);

// git stops walking at the first run of commits older than --since; writers' clocks differ,
// so ask for a day more and let the caller filter exactly.
const SINCE_MARGIN_MS = 86_400_000;

/** Commits of origin/main (as last fetched), oldest first; from about `since` on (committer clocks). */
export const readCommits = async (store: Store, options: { since?: Date | undefined } = {}): Promise<CommitRecord[]> => {
  const { stdout } = await git(store.dir, [
    'log',
    '--reverse',
    `--format=%H${FIELD}%ct${FIELD}%s${FIELD}%(trailers:only,unfold)${RECORD}`,
    ...(options.since ? [`--since=@${Math.floor((options.since.getTime() - SINCE_MARGIN_MS) / 1000)}`] : []),
    ORIGIN_MAIN,
    '--',
  ]);
  const records: CommitRecord[] = [];
  for (const chunk of stdout.split(RECORD)) {
    const [commit, epoch, summary, trailerText] = chunk.replace(/^\n/, '').split(FIELD);
    if (!commit || !epoch) continue;
    const trailers: Record<string, string> = {};
    for (const [name, value] of parseTrailers(trailerText ?? '')) trailers[name] = name in trailers ? `${trailers[name]}, ${value}` : value;
    const take = (name: string): string | null => {
      const value = trailers[name] ?? null;
      delete trailers[name];
      return value;
    };
    records.push({ commit, at: new Date(Number(epoch) * 1000).toISOString(), summary: summary ?? '', op: take(TRAILER_OP), actor: take(TRAILER_ACTOR), op_id: take(TRAILER_OP_ID), trailers });
  }
  return records;
};
