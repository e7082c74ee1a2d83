// The fleet view behind `buildctl status`: one pure function of the documents and the time.
import type { BuilderEntry } from '../schemas/builders.js';
import type { Health } from '../schemas/dashboard.js';
import type { HeartbeatDoc } from '../schemas/heartbeat.js';
import { JOB_STATUSES, type Job, type JobStatus } from '../schemas/jobs.js';
import type { Lock } from '../schemas/locks.js';
import type { Message } from '../schemas/messages.js';
import type { StatusDoc } from '../schemas/status.js';
import type { SystemSnapshot } from '../schemas/system.js';
import type { Settings } from './config.js';
import { healthOf } from './health.js';
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
  locks: readonly Lock[];
  messages: readonly Message[];
}

export interface BuilderRow {
  id: string;
  host: string | null;
  enabled: boolean;
  labels: string[];
  health: Health;
  heartbeat_at: string | null;
  heartbeat_age_seconds: number | null;
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
  const builders = inputs.builders.map((builder): BuilderRow => {
    const beat = inputs.heartbeats.get(builder.id);
    const status = inputs.statuses.get(builder.id);
    const heartbeatAt = beat?.timestamp ?? null;
    return {
      id: builder.id,
      host: builder.host ?? null,
      enabled: builder.enabled,
      labels: builder.labels,
      health: healthOf(heartbeatAt ?? undefined, now, settings),
      heartbeat_at: heartbeatAt,
      heartbeat_age_seconds: heartbeatAt === null ? null : Math.max(0, Math.round((now.getTime() - Date.parse(heartbeatAt)) / 1000)),
      state: status?.state ?? null,
      current_job: status?.current_job ?? null,
      system: beat?.system ?? status?.system ?? null,
    };
  });
  const health: Record<Health, number> = { healthy: 0, stale: 0, dead: 0, unknown: 0 };
  for (const row of builders) health[row.health]++;
  const queue = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
  for (const job of inputs.jobs) queue[job.status]++;
  const locks = listLocks(inputs.locks, now);
  const mail = inputs.me ? { builder: inputs.me, ...mailboxCounts(inputs.messages, inputs.me) } : null;
  return { builders, health, queue, locks, mail };
};
