// Time you can trust (DESIGN.md, "Health and time"). Every builder's clock is wrong by some
// amount, so elapsed time that leads to an action (declare a builder dead, requeue its jobs,
// time a job out, reap or take over a lock) is measured on the observer's own clock, by how
// long the observer itself has seen no change, as lease-based systems do. Timestamps written
// by other hosts serve display and skew detection only.
//
// A clone keeps what it saw (schemas/observations.ts): per watched thing, the version it saw
// last and when it first saw that version (`first_seen`, taken after the look's fetch, so the
// version landed at or before it), and the start of its previous look (`after`: the version
// was not there yet, so it landed after that). From these, at any later time `asOf` at which
// the version is still the current one:
//   elapsed since the version landed  >=  asOf - first_seen      (low: what actions use)
//   elapsed since the version landed  <=  asOf - after           (high: display only)
// Only the rates of the clocks need to agree, never their offsets. A clone that has not
// watched a thing for the whole period waits instead of acting.
//
// Everything here is pure: observations and times in, decisions out.
import type { Health } from '../schemas/dashboard.js';
import type { Job } from '../schemas/jobs.js';
import type { Lock } from '../schemas/locks.js';
import type { BeatSighting, Observations, OffsetRange, Sighting, Watched } from '../schemas/observations.js';
import type { Settings } from './config.js';
import { parseDuration } from './durations.js';
import { classifyAge } from './health.js';

/** A look at the remote: started before its fetch, answered after it. */
export interface Look {
  from: Date;
  at: Date;
}

/** What a look shows of one builder's latest beat. */
export interface BeatSight {
  /** Changes with every beat: the heartbeat commit (or the beat's own text on older layouts). */
  version: string;
  /** The beat's own timestamp, from the builder's clock. */
  beat_at: string | null;
}

/** At most this many entries per kind are kept: the file stays small whatever the store holds. */
export const MAX_WATCHED = 2000;

/**
 * How far a beat's timestamp can trail its landing on the remote (the push itself), allowed
 * for in the upper end of a clock offset range.
 */
export const OFFSET_SLACK_MS = 5000;

const iso = (date: Date): string => date.toISOString();
const ms = (text: string): number => Date.parse(text);

/**
 * Folds one look into what was watched: a thing whose version changed (or that is new) gets
 * `first_seen` = the end of this look and `after` = the start of the previous one; a thing
 * seen unchanged keeps its entry; a thing gone from the look is forgotten. A look that
 * started before the recorded one (a slower process finishing late) changes nothing: its
 * view may be older than what is recorded.
 */
const fold = <T extends Sighting>(
  previous: Watched<T>,
  current: ReadonlyMap<string, string>,
  look: Look,
  make: (id: string, base: Sighting, old: T | undefined) => T,
): Watched<T> => {
  if (previous.looked_from !== null && ms(previous.looked_from) > look.from.getTime()) return previous;
  const after = previous.looked_from !== null && ms(previous.looked_from) <= look.from.getTime() ? previous.looked_from : null;
  const entries: Record<string, T> = {};
  const ids = [...current.keys()].sort().slice(0, MAX_WATCHED);
  for (const id of ids) {
    const version = current.get(id) ?? '';
    const old = Object.hasOwn(previous.entries, id) ? previous.entries[id] : undefined;
    entries[id] = old !== undefined && old.version === version ? old : make(id, { version, first_seen: iso(look.at), after }, old);
  }
  return { looked_from: iso(look.from), looked_at: iso(look.at), entries };
};

// ---- heartbeats and clock offsets ----------------------------------------------------------

/** The offset range one new beat gives: its timestamp minus when it landed, which lies in (after, first_seen]. */
export const offsetOfBeat = (beatAt: string, sighting: Sighting): OffsetRange => ({
  low: ms(beatAt) - ms(sighting.first_seen),
  high: sighting.after === null ? null : ms(beatAt) - ms(sighting.after) + OFFSET_SLACK_MS,
});

/** Two ranges that agree narrow each other; ones that do not (the clock was set) give the newer. */
const narrow = (older: OffsetRange | null | undefined, newer: OffsetRange): OffsetRange => {
  if (!older) return newer;
  const low = Math.max(older.low, newer.low);
  const high = older.high === null ? newer.high : newer.high === null ? older.high : Math.min(older.high, newer.high);
  return high !== null && high < low ? newer : { low, high };
};

export const observeHeartbeats = (obs: Observations, beats: ReadonlyMap<string, BeatSight>, look: Look): Observations => {
  const versions = new Map([...beats].map(([id, beat]) => [id, beat.version]));
  const heartbeats = fold<BeatSighting>(obs.heartbeats, versions, look, (id, base, old) => {
    const beatAt = beats.get(id)?.beat_at ?? null;
    const offset = beatAt === null || Number.isNaN(ms(beatAt)) ? (old?.offset_ms ?? null) : narrow(old?.offset_ms, offsetOfBeat(beatAt, base));
    return { ...base, beat_at: beatAt, offset_ms: offset };
  });
  return { ...obs, heartbeats };
};

/**
 * A builder's clock offset from this clone's, in ms (positive: its clock is ahead), as close
 * to zero as the beats seen allow; 0 when they are consistent with no offset, null when this
 * clone has no range for it.
 */
export const clockOffsetMs = (sighting: BeatSighting | undefined): number | null => {
  const range = sighting?.offset_ms;
  if (!range) return null;
  if (range.low > 0) return range.low;
  if (range.high !== null && range.high < 0) return range.high;
  return 0;
};

/** Builders whose clock is further off than `maxMs` from this clone's, by what their beats said. */
export const skewedClocks = (observations: Observations, ids: readonly string[], maxMs: number): Array<{ builder: string; offset_seconds: number }> =>
  ids.flatMap((builder) => {
    const offset = clockOffsetMs(Object.hasOwn(observations.heartbeats.entries, builder) ? observations.heartbeats.entries[builder] : undefined);
    return offset !== null && Math.abs(offset) > maxMs ? [{ builder, offset_seconds: Math.round(offset / 1000) }] : [];
  });

/** Elapsed time since a version landed, as of `asOf`: at least `low`, at most `high` (null: unknown). */
export interface Elapsed {
  low: number;
  high: number | null;
}

/** What this clone's watch says about the current version of a thing, or undefined when it never saw that version. */
export const elapsedSince = (sighting: Sighting | undefined, version: string, asOf: Date): Elapsed | undefined => {
  if (sighting === undefined || sighting.version !== version) return undefined;
  const now = asOf.getTime();
  return { low: Math.max(0, now - ms(sighting.first_seen)), high: sighting.after === null ? null : Math.max(0, now - ms(sighting.after)) };
};

export interface BeatJudgement {
  /** For display: the timestamp-based age, held within what this clone saw. */
  health: Health;
  /** For actions: `dead` only when this clone itself saw no beat for longer than dead_after. */
  actionHealth: Health;
  /** How long this clone has seen no new beat (a lower bound), or undefined when it never saw this one. */
  silent: Elapsed | undefined;
}

/**
 * Judges a builder's heartbeat. `lookedFrom` is the start of the look that showed `beat`
 * (this clone's latest look at the heartbeats); without one (never looked), only the beat's
 * timestamp speaks, and no action may follow from it.
 */
export const judgeBeat = (
  beat: BeatSight | undefined,
  sighting: Sighting | undefined,
  lookedFrom: Date | undefined,
  now: Date,
  settings: Pick<Settings, 'staleAfterMs' | 'deadAfterMs'>,
): BeatJudgement => {
  if (beat === undefined) return { health: 'unknown', actionHealth: 'unknown', silent: undefined };
  const asOf = lookedFrom ?? now;
  const silent = lookedFrom === undefined ? undefined : elapsedSince(sighting, beat.version, lookedFrom);
  const stamped = beat.beat_at === null ? Number.NaN : asOf.getTime() - ms(beat.beat_at);
  let estimate = Number.isNaN(stamped) ? silent?.low : stamped;
  if (silent !== undefined && estimate !== undefined) estimate = Math.min(Math.max(estimate, silent.low), silent.high ?? Number.POSITIVE_INFINITY);
  const health = estimate === undefined ? 'unknown' : classifyAge(estimate, settings);
  const proven = silent !== undefined && silent.low > settings.deadAfterMs;
  const actionHealth = proven ? 'dead' : health === 'dead' ? 'stale' : health;
  return { health: proven ? 'dead' : health, actionHealth, silent };
};

// ---- locks ---------------------------------------------------------------------------------

/** A lock changes generation on every acquisition (token) and every renewal. */
export const lockVersion = (lock: Lock): string => `${lock.token}/${lock.renewed_at}/${lock.expires_at}`;

/** The lease a holder asked for: expiry minus renewal, both from the holder's own clock. */
export const lockTtlMs = (lock: Lock): number => {
  const ttl = ms(lock.expires_at) - ms(lock.renewed_at);
  return Number.isNaN(ttl) ? 0 : Math.max(0, ttl);
};

export const observeLocks = (obs: Observations, locks: readonly Lock[], look: Look): Observations => ({
  ...obs,
  locks: fold(obs.locks, new Map(locks.map((lock) => [lock.name, lockVersion(lock)])), look, (_id, base) => base),
});

export interface LockJudgement {
  /** Free to take over: this clone saw this generation unchanged for its whole TTL. */
  expired: boolean;
  /** How long this clone has seen it unchanged. */
  watchedMs: number;
  /** How much longer this clone must see it unchanged before it may take it. */
  leftMs: number;
  /** Whether the holder's own timestamps say it expired (display only). */
  expiredByItsClock: boolean;
}

/** The observer's rule for a lock that someone else holds, at `now` on this clone's clock. */
export const judgeLock = (lock: Lock, sighting: Sighting | undefined, now: Date): LockJudgement => {
  const ttl = lockTtlMs(lock);
  const elapsed = elapsedSince(sighting, lockVersion(lock), now);
  const watchedMs = elapsed?.low ?? 0;
  return {
    expired: elapsed !== undefined && watchedMs >= ttl,
    watchedMs,
    leftMs: Math.max(0, ttl - watchedMs),
    expiredByItsClock: ms(lock.expires_at) <= now.getTime(),
  };
};

/**
 * Time left on a lock for display: the holder's expiry time, held within what this clone
 * saw (a generation it watched for longer than its TTL shows expired, whatever its clock).
 */
export const displayLeftMs = (lock: Lock, sighting: Sighting | undefined, now: Date): number => {
  const stamped = ms(lock.expires_at) - now.getTime();
  const elapsed = elapsedSince(sighting, lockVersion(lock), now);
  if (elapsed === undefined) return stamped;
  const ttl = lockTtlMs(lock);
  const most = ttl - elapsed.low;
  const least = elapsed.high === null ? Number.NEGATIVE_INFINITY : ttl - elapsed.high;
  return Math.min(Math.max(stamped, least), most);
};

// ---- job timeouts --------------------------------------------------------------------------

/** A run of a job: a new claim (attempt) is a new version. */
export const jobRunVersion = (job: Job): string => `${job.attempts}/${job.started_at ?? ''}`;

/** Running jobs with a timeout are watched; nothing else needs it. */
export const observeJobs = (obs: Observations, jobs: readonly Job[], look: Look): Observations => ({
  ...obs,
  jobs: fold(obs.jobs, new Map(jobs.filter((job) => job.status === 'running' && job.timeout).map((job) => [job.id, jobRunVersion(job)])), look, (_id, base) => base),
});

/** A running job is past its timeout when this clone itself watched that run for longer. */
export const isTimedOut = (job: Job, sighting: Sighting | undefined, now: Date): boolean => {
  if (job.status !== 'running' || !job.timeout) return false;
  const elapsed = elapsedSince(sighting, jobRunVersion(job), now);
  return elapsed !== undefined && elapsed.low > parseDuration(job.timeout, 'timeout');
};
