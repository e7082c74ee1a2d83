// The fleet view behind `buildctl status`: one pure function of the documents, what this
// clone has watched (domain/clocks.ts) and the time.
import type { BuilderEntry } from '../schemas/builders.js';
import type { Health } from '../schemas/dashboard.js';
import type { HeartbeatDoc } from '../schemas/heartbeat.js';
import { JOB_STATUSES, type Job, type JobStatus } from '../schemas/jobs.js';
import type { Lock } from '../schemas/locks.js';
import type { Message } from '../schemas/messages.js';
import { emptyObservations, type Observations } from '../schemas/observations.js';
import type { StatusDoc } from '../schemas/status.js';
import type { SystemSnapshot } from '../schemas/system.js';
import { clockOffsetMs, judgeBeat, type BeatSight } from './clocks.js';
import type { Settings } from './config.js';
import { listLocks, type LockView } from './locks.js';
import { mailboxCounts } from './messages.js';

export interface FleetInputs {
  now: Date;
  settings: Settings;
  me?: string | undefined;
  builders: readonly BuilderEntry[];
  statuses: ReadonlyMap<string, StatusDoc>;
  heartbeats: ReadonlyMap<string, HeartbeatDoc>;
  jobs: readonly Job[];
  /** How many jobs each status has, when the jobs were left unread (`jobs` is then empty). */
  queueCounts?: Readonly<Record<string, number>> | undefined;
  locks: readonly Lock[];
  messages: readonly Message[];
  /** What this clone has watched (none: health by timestamps alone). */
  observations?: Observations | undefined;
  /** The start of the look that showed these heartbeats (none: never looked). */
  lookedFrom?: Date | undefined;
  /** What identifies each builder's current beat (default: its timestamp). */
  sights?: ReadonlyMap<string, BeatSight> | undefined;
}

export interface BuilderRow {
  id: string;
  host: string | null;
  enabled: boolean;
  labels: string[];
  health: Health;
  heartbeat_at: string | null;
  /** By the beat's own timestamp (the builder's clock). */
  heartbeat_age_seconds: number | null;
  /** How long this clone itself has seen no new beat, as of its last look (at least); null when it never saw this beat. */
  silent_seconds: number | null;
  /** The builder's clock minus this clone's, as its beats showed it (0: no sign of an offset); null when unknown. */
  clock_offset_seconds: number | null;
  /** The offset is beyond max_clock_skew. */
  clock_skewed: boolean;
  /** Its latest beat says another agent beats as the same id (what that one's beat said). */
  duplicate_agent: { host: string | null; other_host: string | null; other_pid: number | null; detected_at: string } | null;
  state: string | null;
  current_job: string | null;
  system: SystemSnapshot | null;
}

export interface FleetView {
  builders: BuilderRow[];
  health: Record<Health, number>;
  queue: Record<JobStatus, number>;
  locks: LockView[];
  mail: { builder: string; unread: number; awaiting_ack: number } | null;
}

export const buildFleetView = (inputs: FleetInputs): FleetView => {
  const { now, settings } = inputs;
  const observations = inputs.observations ?? emptyObservations();
  const builders = inputs.builders.map((builder): BuilderRow => {
    const beat = inputs.heartbeats.get(builder.id);
    const status = inputs.statuses.get(builder.id);
    const heartbeatAt = beat?.timestamp ?? null;
    const sight = inputs.sights?.get(builder.id) ?? (beat ? { version: `beat:${beat.timestamp}`, beat_at: beat.timestamp } : undefined);
    const seen = Object.hasOwn(observations.heartbeats.entries, builder.id) ? observations.heartbeats.entries[builder.id] : undefined;
    const judged = judgeBeat(sight, seen, inputs.lookedFrom, now, settings);
    const offset = clockOffsetMs(seen);
    return {
      id: builder.id,
      host: builder.host ?? null,
      enabled: builder.enabled,
      labels: builder.labels,
      health: judged.health,
      heartbeat_at: heartbeatAt,
      heartbeat_age_seconds: heartbeatAt === null ? null : Math.max(0, Math.round((now.getTime() - Date.parse(heartbeatAt)) / 1000)),
      silent_seconds: judged.silent === undefined ? null : Math.round(judged.silent.low / 1000),
      clock_offset_seconds: offset === null ? null : Math.round(offset / 1000),
      clock_skewed: offset !== null && Math.abs(offset) > settings.maxClockSkewMs,
      duplicate_agent: beat?.duplicate
        ? { host: beat.host ?? null, other_host: beat.duplicate.other_host, other_pid: beat.duplicate.other_pid, detected_at: beat.duplicate.detected_at }
        : null,
      state: status?.state ?? null,
      current_job: status?.current_job ?? null,
      system: beat?.system ?? status?.system ?? null,
    };
  });
  const health: Record<Health, number> = { healthy: 0, stale: 0, dead: 0, unknown: 0 };
  for (const row of builders) health[row.health]++;
  const queue = Object.fromEntries(JOB_STATUSES.map((s) => [s, inputs.queueCounts?.[s] ?? 0])) as Record<JobStatus, number>;
  for (const job of inputs.jobs) queue[job.status]++;
  const locks = listLocks(inputs.locks, now, observations.locks.entries);
  const mail = inputs.me ? { builder: inputs.me, ...mailboxCounts(inputs.messages, inputs.me) } : null;
  return { builders, health, queue, locks, mail };
};
