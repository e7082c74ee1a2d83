// What an idle housekeeping pass found of the two largest documents (the job queue and the
// messages), so that the next pass need not read them again: for the blob it read, until
// when a pass changes none of their entries (domain/housekeeping.ts: jobsQuietThrough,
// messagesQuietThrough) and, for the queue, how many jobs each status has (the dashboard's
// counts). An entry holds only for that blob and the same settings and trust (its `key`),
// and for at most MAX_QUIET_MS after it was written, so a rule changed by a new build, or a
// clock set back, costs at most that long a delay. The file is this clone's own: a missing,
// garbled or lost one only means the documents are read again.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod/mini';
import { writeFileAtomic } from './atomic-write.js';
import type { Store } from './store.js';

/** The longest an entry is trusted after it was written. */
export const MAX_QUIET_MS = 10 * 60_000;

export interface QuietEntry {
  /** The document's blob at the base of the pass that wrote this. */
  blob: string;
  /** What else the judgement depended on (settings, untrusted ids), as the pass wrote it. */
  key: string;
  /** When it was written (ms since the epoch, this clone's clock). */
  written: number;
  /** Until when (inclusive, ms since the epoch) a pass changes none of its entries. */
  through: number;
  /** The queue only: how many jobs each status has. */
  counts?: Record<string, number>;
}

export interface QuietMemo {
  jobs?: QuietEntry;
  messages?: QuietEntry;
}

const fileOf = (store: Store) => join(store.stateDir, 'quiet-documents.json');

const count = z.int().check(z.gte(0));
const entrySchema = z.object({ blob: z.string(), key: z.string(), written: z.number(), through: z.number(), counts: z.optional(z.record(z.string(), count)) });
const memoSchema = z.object({ jobs: z.optional(entrySchema), messages: z.optional(entrySchema) });

/** The memo as the last pass left it; empty when there is none or it does not pass its schema. */
export const loadQuietMemo = async (store: Store): Promise<QuietMemo> => {
  try {
    const parsed = memoSchema.safeParse(JSON.parse(await readFile(fileOf(store), 'utf8')));
    return parsed.success ? parsed.data : {};
  } catch {
    return {};
  }
};

/** Keeps the memo for the next pass; never fails (the next pass reads the documents). */
export const saveQuietMemo = (store: Store, memo: QuietMemo): Promise<void> => writeFileAtomic(fileOf(store), `${JSON.stringify(memo)}\n`).catch(() => undefined);

/** Whether `entry` says a pass at `now` changes nothing in the document whose blob is `blob`, judged under `key`. */
export const stillQuiet = (entry: QuietEntry | undefined, blob: string | undefined, key: string, now: number): entry is QuietEntry =>
  entry !== undefined && blob !== undefined && entry.blob === blob && entry.key === key && now >= entry.written && now <= entry.through && now <= entry.written + MAX_QUIET_MS;

/** The entry a pass at `now` leaves for a document it found quiet through `through`; undefined when that is not now or later. */
export const quietEntry = (blob: string | undefined, key: string, now: number, through: number, counts?: Record<string, number>): QuietEntry | undefined =>
  blob === undefined || !(through >= now) ? undefined : { blob, key, written: now, through: Math.min(through, now + MAX_QUIET_MS), ...(counts ? { counts } : {}) };
