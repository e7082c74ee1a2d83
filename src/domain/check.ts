// `buildctl check`: the fleet's condition as one monitoring verdict, in the convention of
// Nagios-style checks: 0 ok, 1 warning, 2 critical. One pure function of the documents,
// what this clone observed and the time; thresholds come from settings (defaults in
// domain/config.ts, documented in the README).
import type { BuilderEntry } from '../schemas/builders.js';
import type { HeartbeatDoc } from '../schemas/heartbeat.js';
import type { Job } from '../schemas/jobs.js';
import type { Lock } from '../schemas/locks.js';
import type { Message } from '../schemas/messages.js';
import type { Observations } from '../schemas/observations.js';
import { clockOffsetMs, displayLeftMs, judgeBeat, type BeatSight } from './clocks.js';
import type { Settings } from './config.js';
import { parseDuration } from './durations.js';
import { formatAge, plural } from './format.js';
import { IDENTITY_FILE_ON_MAIN } from './identity.js';
import { awaitingAckFrom } from './messages.js';
import { describeTaint, type Taint, type Verdict } from './trust.js';

export type CheckStatus = 'ok' | 'warning' | 'critical';
export const CHECK_EXIT_CODES: Readonly<Record<CheckStatus, number>> = { ok: 0, warning: 1, critical: 2 };

export interface Finding {
  severity: 'warning' | 'critical';
  /** Stable, for scripts: builder_dead, builder_stale, builder_silent, clock_skew, job_dead, job_overdue, job_long_running, lock_expired, message_unacked, outbox_not_empty, notify_failed, invalid_document, legacy_document, remote_unreachable, unverified_write, unverified_heartbeat, forged_heartbeat, forged_write. */
  code: string;
  /** What it is about: a builder, job, lock or message id, a file, or the clone. */
  subject: string;
  message: string;
}

export interface CheckInput {
  now: Date;
  settings: Settings;
  builders: readonly BuilderEntry[];
  heartbeats: ReadonlyMap<string, HeartbeatDoc>;
  /** What this clone has watched (domain/clocks.ts): health held within it, and the clock offsets. */
  observations: Observations;
  /** What identifies each builder's current beat (default: its timestamp). */
  sights?: ReadonlyMap<string, BeatSight> | undefined;
  /** The start of this clone's latest look at the heartbeats (none: never looked). */
  lookedFrom: Date | undefined;
  jobs: readonly Job[];
  locks: readonly Lock[];
  messages: readonly Message[];
  outboxQueued: number;
  /** Documents that are not valid: legacy (migratable) ones warn, broken or invalid ones are critical. */
  documents: ReadonlyArray<{ file: string; status: 'legacy' | 'broken' | 'invalid'; reason: string }>;
  /** Why the fetch failed, when it did. */
  fetchError: string | null;
  /** Main holds a `.build_server_id` (only a push puts one there): a sign of a hostile push. */
  identityFileOnMain?: boolean | undefined;
  /** This clone's notification deliveries: given up on in the last day, and failing now (retried). */
  notify?: { gaveUp: number; failing: number; lastError: string | null } | undefined;
  /** Signed writes: what is not acted on (require_signed_writes), and who signed each builder's status and heartbeat. */
  trust?: CheckTrust | undefined;
}

export interface CheckTrust {
  enforced: boolean;
  /** Keys in force: none means nobody signs yet, and nothing is said. */
  keys: number;
  untrusted: readonly Taint[];
  builders: ReadonlyArray<{ id: string; status: Verdict | null; heartbeat: Verdict | null }>;
}

export interface CheckResult {
  status: CheckStatus;
  exit_code: number;
  /** The one line a monitoring system shows. */
  summary: string;
  findings: Finding[];
}

const ago = (now: Date, iso: string): string => `${formatAge(now.getTime() - Date.parse(iso))} ago`;

export const evaluateCheck = (input: CheckInput): CheckResult => {
  const { now, settings } = input;
  const findings: Finding[] = [];
  const add = (severity: Finding['severity'], code: string, subject: string, message: string) => findings.push({ severity, code, subject, message });

  if (input.fetchError !== null) add('critical', 'remote_unreachable', 'remote', `remote unreachable (${input.fetchError}); judged on the last fetched state`);

  const own = <T>(record: Readonly<Record<string, T>>, key: string): T | undefined => (Object.hasOwn(record, key) ? record[key] : undefined);
  for (const builder of input.builders.filter((b) => b.enabled)) {
    const beat = input.heartbeats.get(builder.id);
    const seen = own(input.observations.heartbeats.entries, builder.id);
    const sight = input.sights?.get(builder.id) ?? (beat ? { version: `beat:${beat.timestamp}`, beat_at: beat.timestamp } : undefined);
    const { health } = judgeBeat(sight, seen, input.lookedFrom, now, settings);
    if (!beat) add('warning', 'builder_silent', builder.id, `${builder.id} has never sent a heartbeat`);
    else if (health === 'dead') add('critical', 'builder_dead', builder.id, `${builder.id} dead: last heartbeat ${ago(now, beat.timestamp)}`);
    else if (health === 'stale') add('warning', 'builder_stale', builder.id, `${builder.id} stale: last heartbeat ${ago(now, beat.timestamp)}`);
    // The offset as this clone's looks bound it (domain/clocks.ts), ahead or behind.
    const offset = clockOffsetMs(seen);
    if (offset !== null && Math.abs(offset) > settings.maxClockSkewMs) {
      add('warning', 'clock_skew', builder.id, `${builder.id}'s clock runs about ${formatAge(Math.abs(offset))} ${offset > 0 ? 'ahead' : 'behind'} (max_clock_skew ${formatAge(settings.maxClockSkewMs)})`);
    }
  }

  for (const job of input.jobs) {
    if (job.status === 'dead') {
      add('warning', 'job_dead', job.id, `job ${job.id} is dead after ${plural(job.attempts, 'attempt')}${job.result?.reason ? ` (${job.result.reason})` : ''}: buildctl job retry ${job.id}`);
    }
    if (job.status !== 'running' || !job.started_at) continue;
    const running = now.getTime() - Date.parse(job.started_at);
    const timeoutMs = job.timeout ? parseDuration(job.timeout, 'timeout') : undefined;
    if (timeoutMs !== undefined && running > timeoutMs + settings.staleAfterMs) {
      add('critical', 'job_overdue', job.id, `job ${job.id} has run ${formatAge(running)}, past its timeout of ${job.timeout}: is any agent running housekeeping?`);
    } else if (timeoutMs === undefined && running > settings.checkJobRunningMs) {
      add('warning', 'job_long_running', job.id, `job ${job.id} has run ${formatAge(running)} on ${job.assigned_to ?? '?'} (check_job_running ${formatAge(settings.checkJobRunningMs)})`);
    }
  }

  for (const lock of input.locks) {
    // Housekeeping reaps expired locks on its next tick: only one left for longer is a finding.
    if (-displayLeftMs(lock, own(input.observations.locks.entries, lock.name), now) > settings.staleAfterMs) {
      add('warning', 'lock_expired', lock.name, `lock ${lock.name} (${lock.owner}) expired ${ago(now, lock.expires_at)} and was not reaped: is any agent running housekeeping?`);
    }
  }

  const fleet = input.builders.map((b) => b.id);
  for (const message of input.messages) {
    const waiting = awaitingAckFrom(message, fleet);
    if (waiting.length > 0 && now.getTime() - Date.parse(message.created_at) > settings.checkUnackedAfterMs) {
      add('warning', 'message_unacked', message.id, `message ${message.id} from ${message.from}, sent ${ago(now, message.created_at)}, awaits an ack from ${waiting.join(', ')}`);
    }
  }

  const notify = input.notify;
  if (notify && notify.gaveUp + notify.failing > 0) {
    const parts = [notify.gaveUp > 0 && `${plural(notify.gaveUp, 'notification')} given up in the last day`, notify.failing > 0 && `${plural(notify.failing, 'notification')} failing and retried`].filter(Boolean);
    add('warning', 'notify_failed', 'notifications', `${parts.join(', ')} from this clone${notify.lastError ? ` (last: ${notify.lastError})` : ''}: buildctl notify list`);
  }

  const trust = input.trust;
  if (trust && trust.keys > 0) {
    for (const taint of trust.untrusted) add('critical', 'unverified_write', taint.kind === 'status' ? taint.id : `${taint.kind}:${taint.id}`, `not acted on: ${describeTaint(taint)}`);
    for (const b of trust.builders) {
      if (trust.enforced && b.heartbeat !== null && b.heartbeat !== 'verified') {
        add('critical', 'unverified_heartbeat', b.id, `${b.id}'s heartbeat is ${b.heartbeat}: housekeeping counts ${b.id} as unknown (buildctl validate --signatures)`);
      } else if (b.heartbeat === 'forged') add('warning', 'forged_heartbeat', b.id, `${b.id}'s heartbeat is forged: another builder's key signed it (buildctl validate --signatures)`);
      if (!trust.enforced && b.status === 'forged') add('warning', 'forged_write', b.id, `the latest change to ${b.id}'s status is forged (buildctl log --builder ${b.id})`);
    }
  }

  if (input.outboxQueued > 0) add('warning', 'outbox_not_empty', 'outbox', `${plural(input.outboxQueued, 'operation')} waiting in this clone's outbox (buildctl outbox list)`);

  for (const doc of input.documents) {
    if (doc.status === 'legacy') add('warning', 'legacy_document', doc.file, `${doc.file} is in a legacy layout (buildctl migrate)`);
    else add('critical', 'invalid_document', doc.file, `${doc.file} is ${doc.status}: ${doc.reason} (buildctl validate)`);
  }

  if (input.identityFileOnMain) {
    add('warning', 'identity_file_on_main', '.build_server_id', IDENTITY_FILE_ON_MAIN);
  }

  findings.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'critical' ? -1 : 1));
  const status: CheckStatus = findings.some((f) => f.severity === 'critical') ? 'critical' : findings.length > 0 ? 'warning' : 'ok';
  return { status, exit_code: CHECK_EXIT_CODES[status], summary: summaryOf(status, findings, input), findings };
};

const summaryOf = (status: CheckStatus, findings: readonly Finding[], input: CheckInput): string => {
  if (status === 'ok') {
    const enabled = input.builders.filter((b) => b.enabled).length;
    const running = input.jobs.filter((j) => j.status === 'running').length;
    const queued = input.jobs.filter((j) => j.status === 'queued').length;
    return `OK: ${plural(enabled, 'builder')} healthy, ${plural(running, 'job')} running, ${queued} queued`;
  }
  const critical = findings.filter((f) => f.severity === 'critical');
  const warnings = findings.filter((f) => f.severity === 'warning');
  const part = (label: string, list: readonly Finding[]) => (list.length === 0 ? [] : [`${label}: ${list.map((f) => f.message).join('; ')}`]);
  return [...part('CRITICAL', critical), ...part('WARNING', warnings)].join(' | ');
};
