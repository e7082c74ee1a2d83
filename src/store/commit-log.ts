// The history of main as records: each commit with its time, summary and trailers. The
// transaction cycle writes `Buildctl-Op`, `Buildctl-Actor` and `Buildctl-Op-Id` (and a
// plan's own `Buildctl-*` trailers) into every commit, so history is an audit trail.
import type { CommitRecord } from '../schemas/commit-record.js';
import { git } from './git.js';
import { isAncestor } from './refs.js';
import { ORIGIN_MAIN, type Store } from './store.js';
import { TRAILER_ACTOR, TRAILER_OP, TRAILER_OP_ID } from './transaction.js';

export type { CommitRecord };

const FIELD = '\u001f';
const RECORD = '\u001e';

const TRAILER_LINE = /^([A-Za-z0-9-]+):\s?(.*)$/;

const parseTrailers = (text: string): Array<[string, string]> =>
  text
    .split('\n')
    .map((line) => TRAILER_LINE.exec(line.trim()))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => [match[1] ?? '', match[2] ?? '']);

/**
 * The trailers of a raw commit message, as git finds them: the last paragraph (after the
 * last blank line that has a line above it), when each of its lines is `Name: value`
 * (repeated names joined with ", "). Read from the end, line by line, stopping at the first
 * line that is no trailer: a heartbeat's message ends in its metrics, which are not.
 */
export const messageTrailers = (message: string): Record<string, string> => {
  const text = message.trimEnd();
  const found: Array<[string, string]> = [];
  let end = text.length;
  while (end > 0 || found.length > 0) {
    const start = end === 0 ? 0 : text.lastIndexOf('\n', end - 1) + 1;
    // The first line: no blank line above the paragraph, so the message is one paragraph.
    if (start === 0) return {};
    const line = text.slice(start, end).trim();
    if (line === '') break;
    const match = TRAILER_LINE.exec(line);
    if (!match) return {};
    found.push([match[1] ?? '', match[2] ?? '']);
    end = start - 1;
  }
  const trailers: Record<string, string> = {};
  for (const [name, value] of found.reverse()) trailers[name] = name in trailers ? `${trailers[name]}, ${value}` : value;
  return trailers;
};

// git stops walking at the first run of commits older than --since; writers' clocks differ,
// so ask for a day more and let the caller filter exactly.
const SINCE_MARGIN_MS = 86_400_000;

/**
 * Commits of origin/main (as last fetched; or of `range`, e.g. `A..B`), oldest first, along its first parents (the line
 * buildctl's transactions extend; a merge made by hand counts as the one commit that
 * brought its branch in); from about `since` on (committer clocks).
 */
export const readCommits = async (store: Store, options: { since?: Date | undefined; range?: string | undefined } = {}): Promise<CommitRecord[]> => {
  const { stdout } = await git(store.dir, [
    'log',
    '--first-parent',
    '--reverse',
    `--format=%H${FIELD}%ct${FIELD}%s${FIELD}%(trailers:only,unfold)${RECORD}`,
    ...(options.since ? [`--since=@${Math.floor((options.since.getTime() - SINCE_MARGIN_MS) / 1000)}`] : []),
    options.range ?? ORIGIN_MAIN,
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

/** The full id of `name` (a sha or its start, a ref) when it is a commit of origin/main (as last fetched). */
export const mainCommit = async (store: Store, name: string): Promise<string | undefined> => {
  const resolved = await git(store.dir, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${name}^{commit}`], { allowFail: true });
  const commit = resolved.stdout.trim();
  if (resolved.code !== 0 || commit === '') return undefined;
  return (await isAncestor(store.dir, commit, ORIGIN_MAIN)) ? commit : undefined;
};
