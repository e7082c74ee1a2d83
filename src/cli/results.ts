// The --json document of each operation, in one place: the CLI commands print these, and
// the MCP server (`buildctl mcp`) returns the very same documents as its tools' results,
// so an agent reading a tool result and a script reading `--json` see one shape.
import type { AuditLog } from '../ops/log.js';
import type { BuilderMetrics } from '../ops/metrics.js';
import type { CheckReport } from '../ops/check.js';
import type { FleetStatus } from '../ops/status.js';
import type { LockView } from '../domain/locks.js';
import type { Job } from '../schemas/jobs.js';
import type { Lock } from '../schemas/locks.js';
import type { Message } from '../schemas/messages.js';
import type { StatusDoc } from '../schemas/status.js';
import { mutationJson, readJson, type Outcome } from './output.js';

export type JsonDocument = Record<string, unknown>;

// ---- reads ----------------------------------------------------------------------------
export const fleetJson = (view: FleetStatus): JsonDocument => readJson('fleet', view);
export const messagesJson = (list: { messages: Message[] }): JsonDocument => readJson('messages', list.messages);
export const threadJson = (found: { message: Message; ancestors: Message[]; replies: Message[] }): JsonDocument => ({
  message: found.message,
  ancestors: found.ancestors,
  replies: found.replies,
});
export const locksJson = (locks: LockView[]): JsonDocument => readJson('locks', locks);
export const checkJson = (report: CheckReport): JsonDocument => readJson('check', report);
export const eventsJson = (log: AuditLog): JsonDocument => readJson('events', log.events);
export const metricsJson = (metrics: BuilderMetrics): JsonDocument => readJson('metrics', metrics);
// The contract's shapes for jobs (README, "Scripting with --json"). `job list` and `job
// show` still print their older shapes until their command is converted (branch i14).
export const jobsJson = (jobs: Job[]): JsonDocument => readJson('jobs', jobs);
export const jobJson = (job: Job): JsonDocument => readJson('job', job);

// ---- changes --------------------------------------------------------------------------
export const messageChangeJson = (result: { message: Message } & Outcome): JsonDocument => mutationJson('message', result.message, result);
export const messagesChangeJson = (result: { messages: Message[] } & Outcome): JsonDocument => mutationJson('messages', result.messages, result);
export const statusChangeJson = (result: { status: StatusDoc } & Outcome): JsonDocument => mutationJson('status', result.status, result);
export const lockChangeJson = (result: { lock: Lock } & Outcome): JsonDocument => mutationJson('lock', result.lock, result);
export const jobChangeJson = (result: { job: Job } & Outcome): JsonDocument => mutationJson('job', result.job, result);
