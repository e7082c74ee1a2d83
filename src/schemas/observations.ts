// What one clone has seen of the fleet, on its own clock (.git/buildctl/observations.json,
// never committed): when it first saw each builder's heartbeat, each lock generation and each
// running job. The rules that read it are in domain/clocks.ts.
import * as z from 'zod/mini';
import { builderId, timestamp } from './common.js';
import { jobId } from './jobs.js';
import { lockName } from './locks.js';

/** One thing watched: the version this clone saw last, and when it first saw that version. */
export const sighting = z.object({
  /** What identifies a change: a heartbeat commit, a lock's token and renewal, a job's attempt. */
  version: z.string().check(z.minLength(1), z.maxLength(200)),
  /** When this clone first saw this version (its own clock). The version landed at or before it. */
  first_seen: timestamp,
  /** The start of this clone's previous look, which still showed an older version (or none): it landed after that. */
  after: z.nullable(timestamp),
});

/** A clock offset range in ms (the builder's clock minus this clone's); high is null when unbounded. */
export const offsetRange = z.object({ low: z.number(), high: z.nullable(z.number()) });

export const beatSighting = z.object({
  ...sighting.shape,
  /** The beat's own timestamp (the builder's clock): for display and skew only. */
  beat_at: z.nullable(timestamp),
  /** What the beats seen so far say about the builder's clock offset. */
  offset_ms: z.nullable(offsetRange),
});

const watched = <T extends z.ZodMiniType>(entry: T, key: z.ZodMiniType<string>) =>
  z.object({
    /** The start and end of this clone's latest look (before and after its fetch). */
    looked_from: z.nullable(timestamp),
    looked_at: z.nullable(timestamp),
    entries: z.record(key, entry),
  });

export const observationsDoc = z.object({
  version: z.literal(1),
  heartbeats: watched(beatSighting, builderId),
  locks: watched(sighting, lockName),
  jobs: watched(sighting, jobId),
});

export type Sighting = z.infer<typeof sighting>;
export type BeatSighting = z.infer<typeof beatSighting>;
export type OffsetRange = z.infer<typeof offsetRange>;
export type Observations = z.infer<typeof observationsDoc>;
export type Watched<T> = { looked_from: string | null; looked_at: string | null; entries: Record<string, T> };

const nothingWatched = () => ({ looked_from: null, looked_at: null, entries: {} });

/** A clone that has seen nothing yet. */
export const emptyObservations = (): Observations => ({ version: 1, heartbeats: nothingWatched(), locks: nothingWatched(), jobs: nothingWatched() });
