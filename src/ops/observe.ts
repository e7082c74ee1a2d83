// Recording what this clone sees (domain/clocks.ts has the rules, store/observations.ts the
// file). Every look that fetched records: `status`, the agent's housekeeping, `lock acquire`,
// `lock list`. A view that did not fetch records nothing: it saw nothing new.
import { observeHeartbeats, observeJobs, observeLocks, type BeatSight, type Look } from '../domain/clocks.js';
import type { HeartbeatDoc } from '../schemas/heartbeat.js';
import type { Job } from '../schemas/jobs.js';
import type { Lock } from '../schemas/locks.js';
import type { Observations } from '../schemas/observations.js';
import { loadObservations, saveObservations } from '../store/observations.js';
import type { Store } from '../store/store.js';
import type { Context } from './context.js';

/**
 * What a look shows of each builder's latest beat: its heartbeat commit (a new commit is a
 * new beat), or on older layouts with the beat on main, the beat's own timestamp.
 */
export const beatSights = (commits: ReadonlyMap<string, string>, beats: ReadonlyMap<string, HeartbeatDoc>): Map<string, BeatSight> => {
  const sights = new Map<string, BeatSight>();
  for (const [id, commit] of commits) sights.set(id, { version: commit, beat_at: beats.get(id)?.timestamp ?? null });
  for (const [id, beat] of beats) if (!sights.has(id)) sights.set(id, { version: `main:${beat.timestamp}`, beat_at: beat.timestamp });
  return sights;
};

export interface Seen {
  /** A look at the heartbeat refs: what each builder's latest beat is. */
  heartbeats?: { look: Look; beats: ReadonlyMap<string, BeatSight> } | undefined;
  /** A look at main: its locks, and its jobs when they matter (housekeeping's time-outs). */
  main?: { look: Look; locks: readonly Lock[]; jobs?: readonly Job[] | undefined } | undefined;
}

/** Folds what was seen into this clone's observations and keeps them. Returns what is now known. */
export const recordLook = async (ctx: Context, store: Store, seen: Seen): Promise<Observations> => {
  let observations = await loadObservations(store, ctx.warn);
  if (seen.heartbeats) observations = observeHeartbeats(observations, seen.heartbeats.beats, seen.heartbeats.look);
  if (seen.main) {
    observations = observeLocks(observations, seen.main.locks, seen.main.look);
    if (seen.main.jobs) observations = observeJobs(observations, seen.main.jobs, seen.main.look);
  }
  await saveObservations(store, observations);
  return observations;
};
