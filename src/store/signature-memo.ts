// The signatures of heartbeat commits this clone has checked. A commit's bytes never change
// (its id is their hash), so neither does whether its signature verifies, nor by which key:
// a view of 200 signed builders verified 200 ed25519 signatures (about 30 ms) at every look,
// most of them of beats it had checked a moment before (`serve` looks every few seconds).
// Only what the signature check found is kept; who may sign for whom (the trust ledger) is
// judged afresh every time. One line per builder, its latest beat: `<commit> <builder>
// <what the check found, as ops/trust.ts writes it>`. The file is this clone's own
// (.git/buildctl/, which no push can write); a missing or garbled one only means checking again.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-write.js';

const FILE = 'heartbeat-signatures';
const HEADER = 'buildctl heartbeat signatures 1';

export interface SignatureMemo {
  /** What the check of this commit's signature found, as remembered (opaque to the store). */
  get(commit: string): Promise<string | undefined>;
  /** Remembers the check of `builder`'s beat `commit` (replacing that builder's older one); written by `flush`. */
  remember(builder: string, commit: string, found: string): void;
  /** Writes what was remembered, when anything was; never fails. */
  flush(): Promise<void>;
}

interface Entries {
  byBuilder: Map<string, { commit: string; found: string }>;
  byCommit: Map<string, string>;
}

export const openSignatureMemo = (stateDir: string): SignatureMemo => {
  const file = join(stateDir, FILE);
  let loaded: Promise<Entries> | undefined;
  const load = () =>
    (loaded ??= readFile(file, 'utf8')
      .catch(() => '')
      .then((text) => {
        const entries: Entries = { byBuilder: new Map(), byCommit: new Map() };
        const [head, ...lines] = text.split('\n');
        if (head !== HEADER) return entries;
        for (const line of lines) {
          const match = /^([0-9a-f]{40}|[0-9a-f]{64}) (\S+) (.+)$/.exec(line);
          if (match) entries.byBuilder.set(match[2]!, { commit: match[1]!, found: match[3]! });
        }
        for (const { commit, found } of entries.byBuilder.values()) entries.byCommit.set(commit, found);
        return entries;
      }));
  let changed = false;
  return {
    get: async (commit) => (await load()).byCommit.get(commit),
    remember: (builder, commit, found) => {
      if (/\s/.test(builder) || /[\r\n]/.test(found)) return;
      void load().then((entries) => {
        entries.byBuilder.set(builder, { commit, found });
        entries.byCommit.set(commit, found);
        changed = true;
      });
    },
    flush: async () => {
      if (!loaded) return;
      const entries = await loaded;
      if (!changed) return;
      const lines = [...entries.byBuilder].map(([builder, { commit, found }]) => `${commit} ${builder} ${found}`);
      await writeFileAtomic(file, `${[HEADER, ...lines].join('\n')}\n`).catch(() => undefined);
    },
  };
};
