// The tools `buildctl mcp` offers: one per operation, each calling the same ops function as
// its CLI command (validation, credential refusal, transaction) and returning the same JSON
// document as that command's --json (shaped once, in cli/output.ts). Inputs are zod schemas
// built from the documents' own field schemas (schemas/): the server checks arguments with
// them, and clients see them as JSON Schema, generated from them by `npm run schemas` like
// the documents' schemas (schemas/mcp_tools.json, see tool-schemas.ts).
//
// Descriptions are written for a model choosing a tool: what it does, when to use it, and
// what it never does. Operators' commands (lock break, builder remove, config set, migrate,
// job add / cancel / retry, --force) have no tool.
import * as z from 'zod/mini';
import { DEFAULT_LOG_LIMIT } from '../../domain/audit.js';
import { parseDuration } from '../../domain/durations.js';
import { usageError } from '../../errors.js';
import type { Context } from '../../ops/context.js';
import { builderId, duration } from '../../schemas/common.js';
import { issuesToProblems } from '../../schemas/issues.js';
import { jobId, jobStatus, jobType } from '../../schemas/jobs.js';
import { lockName } from '../../schemas/locks.js';
import { messageId, messageType } from '../../schemas/messages.js';
import { builderState } from '../../schemas/status.js';
import * as shapes from '../output.js';

export interface Tool {
  name: string;
  title: string;
  description: string;
  /** Whether it changes the store (offered only with --allow-writes). */
  write: boolean;
  /** What the arguments must be (their JSON Schema is generated from it: tool-schemas.ts). */
  input: z.ZodMiniType;
  /** Checks the arguments against the input schema, then runs the operation. */
  call: (ctx: Context, args: unknown) => Promise<shapes.JsonDocument>;
}

interface ToolSpec<S extends z.ZodMiniType> {
  name: string;
  title: string;
  description: string;
  write: boolean;
  input: S;
  run: (ctx: Context, input: z.output<S>) => Promise<shapes.JsonDocument>;
}

/** Arguments that do not match the input schema: bad input (exit 2's kind), nothing is run. */
const parseArguments = <S extends z.ZodMiniType>(tool: string, schema: S, args: unknown): z.output<S> => {
  const parsed = schema.safeParse(args ?? {}, { reportInput: true });
  if (parsed.success) return parsed.data;
  const problems = issuesToProblems(parsed.error.issues);
  throw usageError(`invalid arguments for ${tool}: ${problems.map((p) => (p.path ? `${p.path}: ${p.reason}` : p.reason)).join('; ')}`, {
    code: 'invalid_arguments',
    hint: `see the input schema of ${tool} (tools/list)`,
    details: { problems },
  });
};

const tool = <S extends z.ZodMiniType>(spec: ToolSpec<S>): Tool => ({
  name: spec.name,
  title: spec.title,
  description: spec.description,
  write: spec.write,
  input: spec.input,
  call: async (ctx, args) => spec.run(ctx, parseArguments(spec.name, spec.input, args)),
});

const described = <T extends z.ZodMiniType>(schema: T, description: string): T => schema.check(z.describe(description));
const optional = <T extends z.ZodMiniType>(schema: T, description: string) => z.optional(described(schema, description));

const fetchArgument = optional(z.boolean(), "false: answer from this clone's last fetched state, without contacting the remote (faster, possibly stale). Default true.");
const since = (what: string) => optional(z.string(), `only ${what} since then: a duration back from now (90m, 24h, 7d) or an ISO time (2026-11-28T22:00:00Z)`);

/** The longest --wait a tool call may take: MCP clients time a request out after about a minute. */
const MAX_TOOL_WAIT_MS = 45_000;

const checkToolWait = (wait: string | undefined, instead: string): void => {
  if (wait === undefined || parseDuration(wait, 'wait') <= MAX_TOOL_WAIT_MS) return;
  throw usageError(`a wait of ${wait} is longer than a tool call may take (45s)`, {
    code: 'wait_too_long',
    hint: `wait at most 45s and call again, or wait from a shell: ${instead}`,
  });
};

const artifactArguments = {
  artifacts: optional(z.array(z.string()), "files it produced, on this builder: absolute paths, or relative to the server's working directory"),
  artifact_urls: optional(z.array(z.string()), 'where the n-th artifact was published (a URL without credentials)'),
};

export const TOOLS: readonly Tool[] = [
  // ---- reads -------------------------------------------------------------------------
  tool({
    name: 'fleet_status',
    title: 'Fleet status',
    description:
      "The whole fleet in one view: every builder's health (healthy, stale, dead or unknown, from its heartbeat's age), state, current job and system metrics; the job queue's counts; the locks held; and this builder's unread mail (`me`, `mail`). Use it first in a session, and whenever you need to know who is doing what. Read-only. The same JSON as `buildctl status --json`.",
    write: false,
    input: z.strictObject({ fetch: fetchArgument }),
    run: async (ctx, input) => shapes.fleetJson(await (await import('../../ops/status.js')).fleetStatus(ctx, { fetch: input.fetch ?? true })),
  }),
  tool({
    name: 'inbox',
    title: 'My inbox',
    description:
      "This builder's unread messages (sent to it or to all), most urgent first (error, warning, request, info; within a type, those awaiting its ack first), with their whole bodies. Use it at the start of a session and when waiting on others. Listing marks nothing read: after acting on a message, call msg_ack when it has ack_required, else msg_read. The same JSON as `buildctl msg list --json`.",
    write: false,
    input: z.strictObject({
      include_read: optional(z.boolean(), 'true: messages already read too'),
      from: optional(builderId, 'only from this builder'),
      type: optional(messageType, 'only of this type'),
      since: since('messages sent'),
      limit: optional(z.int().check(z.gte(1), z.lte(1000)), 'at most this many, after ordering'),
      fetch: fetchArgument,
    }),
    run: async (ctx, input) => {
      const { listMessagesOp } = await import('../../ops/messages.js');
      const list = await listMessagesOp(ctx, {
        all: false,
        includeRead: input.include_read ?? false,
        sent: false,
        archived: false,
        from: input.from,
        type: input.type,
        since: input.since,
        limit: input.limit,
        fetch: input.fetch ?? true,
      });
      return shapes.messagesJson(list);
    },
  }),
  tool({
    name: 'message_show',
    title: 'A message and its thread',
    description:
      'One message with its thread: the messages it answers (`ancestors`, oldest first) and the replies to it (`replies`); archived messages are found too. Use it when a message has reply_to or you need the whole conversation. Read-only: it marks nothing read. The same JSON as `buildctl msg show ID --json`.',
    write: false,
    input: z.strictObject({ id: described(messageId, 'the message id, e.g. msg_1764380406_a1b2c3'), fetch: fetchArgument }),
    run: async (ctx, input) => shapes.threadJson(await (await import('../../ops/messages.js')).showMessageOp(ctx, input.id, { fetch: input.fetch ?? true })),
  }),
  tool({
    name: 'job_list',
    title: 'Job queue',
    description:
      "The job queue in the order jobs were added, or only the jobs of one status; archived true lists the jobs housekeeping archived instead. Use status running to find the job this builder is running (its `assigned_to`), queued to see what waits. Read-only: to take a job, use job_claim. The same JSON as `buildctl job list --json`.",
    write: false,
    input: z.strictObject({
      status: optional(jobStatus, 'only jobs with this status'),
      archived: optional(z.boolean(), 'true: the archived jobs (finished and retired) instead of the queue'),
      fetch: fetchArgument,
    }),
    run: async (ctx, input) =>
      shapes.jobsJson(await (await import('../../ops/jobs.js')).listJobsOp(ctx, { status: input.status, archived: input.archived ?? false, fetch: input.fetch ?? true })),
  }),
  tool({
    name: 'job_show',
    title: 'A job',
    description:
      'One job in full (archived ones too): type, priority, branch, commit, dependencies, status, assignee, attempts, times and result (artifacts, duration, reason, log); for a queued job, what it waits for (`waits`) and why no builder could ever run it (`never_runs`). Read-only. The same JSON as `buildctl job show ID --json`.',
    write: false,
    input: z.strictObject({ id: described(jobId, 'the job id, e.g. job_1764380406_a1b2c3'), fetch: fetchArgument }),
    run: async (ctx, input) => shapes.jobViewJson(await (await import('../../ops/jobs.js')).showJobOp(ctx, input.id, { fetch: input.fetch ?? true })),
  }),
  tool({
    name: 'lock_list',
    title: 'Locks',
    description:
      'Every named lock: its holder (`owner`), fencing token, expiry, seconds left and whether it has expired. Use it to find the locks this builder holds (release them before the session ends) or who holds a lock you need. Read-only. The same JSON as `buildctl lock list --json`.',
    write: false,
    input: z.strictObject({ fetch: fetchArgument }),
    run: async (ctx, input) => shapes.locksJson(await (await import('../../ops/locks.js')).listLocksOp(ctx, { fetch: input.fetch ?? true })),
  }),
  tool({
    name: 'check',
    title: 'Fleet health check',
    description:
      "The fleet's health verdict, ok, warning or critical, with one finding per problem: dead or stale builders, jobs past their timeout, expired locks not reaped, messages awaiting an ack for long, invalid documents, an unreachable remote. Use it to decide whether something needs a human operator. Read-only; a warning or critical verdict is a normal result, not a tool error. The same JSON as `buildctl check --json`.",
    write: false,
    input: z.strictObject({ fetch: fetchArgument }),
    run: async (ctx, input) => shapes.checkJson(await (await import('../../ops/check.js')).checkFleet(ctx, { fetch: input.fetch ?? true })),
  }),
  tool({
    name: 'audit_log',
    title: 'Audit log',
    description:
      "Who did what and when, from the history of the store's main branch: claims, completions, failures, sends, acks, lock takes, renewals and breaks, housekeeping's requeues. Oldest first; only the newest `limit` (default 50) matching events. Use it to learn what happened while you were away, or who took a job or lock. Read-only. The same JSON as `buildctl log --json`.",
    write: false,
    input: z.strictObject({
      builder: optional(builderId, 'only what this builder did'),
      op: optional(z.string(), 'only this operation (job.claim) or family (job, lock, msg, status, housekeeping)'),
      since: since('events'),
      limit: optional(z.int().check(z.gte(1), z.lte(10_000)), 'the newest this many matching events (default 50)'),
      fetch: fetchArgument,
    }),
    run: async (ctx, input) => {
      const { auditLog } = await import('../../ops/log.js');
      return shapes.eventsJson(await auditLog(ctx, { builder: input.builder, op: input.op, since: input.since, limit: input.limit ?? DEFAULT_LOG_LIMIT, fetch: input.fetch ?? true }));
    },
  }),
  tool({
    name: 'builder_metrics',
    title: "A builder's metrics",
    description:
      "A builder's recent system metrics from its heartbeats: one-minute samples of the last hour and hourly min / avg / max of cpu %, memory %, free disk (GB) and load, since `since` (default 24h), with a summary. Use it to judge whether a builder is overloaded or running out of disk. Read-only. The same JSON as `buildctl metrics ID --json`.",
    write: false,
    input: z.strictObject({ builder: described(builderId, 'the builder id, e.g. build1'), since: since('samples'), fetch: fetchArgument }),
    run: async (ctx, input) =>
      shapes.metricsJson(await (await import('../../ops/metrics.js')).builderMetrics(ctx, input.builder, { since: input.since ?? '24h', fetch: input.fetch ?? true })),
  }),

  // ---- changes (only with --allow-writes) ----------------------------------------------
  tool({
    name: 'msg_send',
    title: 'Send a message',
    description:
      'Send a message as this builder to builders (ids) or to all. Use it for progress, questions (type request, ack true when you need an answer) and warnings. The subject defaults to the first line of the body. Refused with nothing sent when a field looks like it holds a credential (a password, token or key: git history keeps it forever), when a recipient is unknown, or when the body is too long. When the remote cannot be reached it is kept and delivered later (`queued: true`). The same JSON as `buildctl msg send --json`.',
    write: true,
    input: z.strictObject({
      to: described(z.array(builderId).check(z.minLength(1)), 'recipient builder ids, or ["all"] for every builder'),
      body: described(z.string(), 'the message; real newlines are kept (at most 10,000 characters by default)'),
      type: optional(messageType, 'info (default), warning, error or request'),
      subject: optional(z.string(), 'at most 100 characters; default: the first line of the body'),
      ack: optional(z.boolean(), 'true: ask each recipient to acknowledge it'),
      reply_to: optional(messageId, 'the id of the message this answers'),
    }),
    run: async (ctx, input) =>
      shapes.messageChangeJson(
        await (await import('../../ops/messages.js')).sendMessageOp(ctx, { to: input.to, body: input.body, type: input.type, subject: input.subject, ackRequired: input.ack ?? false, replyTo: input.reply_to }),
      ),
  }),
  tool({
    name: 'msg_read',
    title: 'Mark messages read',
    description:
      "Mark messages read for this builder only (every recipient has its own read state): the given ids, or all true for every message addressed to it. Use it once you have read and acted on messages that need no ack. Returns the messages it marked (none when they were read already). The same JSON as `buildctl msg read --json`.",
    write: true,
    input: z.strictObject({
      ids: optional(z.array(messageId), 'the message ids to mark'),
      all: optional(z.boolean(), 'true: every message addressed to this builder'),
    }),
    run: async (ctx, input) => shapes.messagesChangeJson(await (await import('../../ops/messages.js')).readMessagesOp(ctx, { ids: input.ids ?? [], all: input.all ?? false })),
  }),
  tool({
    name: 'msg_ack',
    title: 'Acknowledge a message',
    description:
      "Acknowledge a message for this builder (it marks it read too), with an optional short note of what you did. Use it for messages with ack_required once you have acted on them: their sender waits for it. Only this builder's own acknowledgement. The same JSON as `buildctl msg ack --json`.",
    write: true,
    input: z.strictObject({ id: described(messageId, 'the message id'), note: optional(z.string(), 'a short note, e.g. "rolled back at 22:05"') }),
    run: async (ctx, input) => shapes.messageChangeJson(await (await import('../../ops/messages.js')).ackMessageOp(ctx, { id: input.id, note: input.note })),
  }),
  tool({
    name: 'status_set',
    title: "Set this builder's state",
    description:
      "Set this builder's state: idle (free for work), building (with the job id), success or failed (closing its current job into last_build). job_claim, job_complete and job_fail set it already; use this to go idle at the end of a session, or to correct it. Changes only this builder's own status. The same JSON as `buildctl status set --json`.",
    write: true,
    input: z.strictObject({ state: described(builderState, 'idle, building, success or failed'), job: optional(jobId, 'the job it is building or has finished') }),
    run: async (ctx, input) => shapes.statusChangeJson(await (await import('../../ops/status-set.js')).setStatus(ctx, { state: input.state, job: input.job })),
  }),
  tool({
    name: 'job_claim',
    title: 'Claim the next job',
    description:
      "Take the most urgent queued job this builder may run (priority 1 first, then the oldest; its target or labels must match this builder and its dependencies must be done), optionally only of one type, and mark this builder building it, in one commit: exactly one builder wins each job. When there is nothing to claim it fails with code nothing_to_claim, which is normal: do not retry in a tight loop (`wait` keeps looking, at most 45s). The same JSON as `buildctl job claim --json`.",
    write: true,
    input: z.strictObject({
      type: optional(jobType, 'only jobs of this type, e.g. build'),
      wait: optional(duration, 'keep looking this long while nothing is eligible, at most 45s'),
    }),
    run: async (ctx, input) => {
      checkToolWait(input.wait, 'buildctl job claim --wait 10m');
      return shapes.jobChangeJson(await (await import('../../ops/jobs.js')).claimJobOp(ctx, { type: input.type, wait: input.wait }));
    },
  }),
  tool({
    name: 'job_complete',
    title: 'Complete my job',
    description:
      "Mark this builder's running job completed, describing the files it produced (each file's size and sha256 are recorded, never the file; with artifact_urls, where each was published); this builder's status records it as its last build (success). Only the job's assignee may complete it: it never finishes another builder's job. The same JSON as `buildctl job complete --json`.",
    write: true,
    input: z.strictObject({ id: described(jobId, 'the job id'), ...artifactArguments }),
    run: async (ctx, input) =>
      shapes.jobChangeJson(await (await import('../../ops/jobs.js')).finishJobOp(ctx, 'complete', { id: input.id, artifacts: input.artifacts, artifactUrls: input.artifact_urls })),
  }),
  tool({
    name: 'job_fail',
    title: 'Fail my job',
    description:
      "Mark this builder's running job failed, with the reason (what went wrong, in a line), and optionally the files it left (logs, a core dump: described, never stored). Only the job's assignee may fail it: it never touches another builder's job. The same JSON as `buildctl job fail --json`.",
    write: true,
    input: z.strictObject({ id: described(jobId, 'the job id'), reason: described(z.string(), 'what went wrong, in a line'), ...artifactArguments }),
    run: async (ctx, input) =>
      shapes.jobChangeJson(
        await (await import('../../ops/jobs.js')).finishJobOp(ctx, 'fail', { id: input.id, reason: input.reason, artifacts: input.artifacts, artifactUrls: input.artifact_urls }),
      ),
  }),
  tool({
    name: 'lock_acquire',
    title: 'Acquire a lock',
    description:
      "Take a named lock for this builder for `ttl` (default the fleet's lock_ttl, 30s), or renew it when this builder holds it already. Returns the lock with its fencing token, which grows with every acquisition: hand it to the resource you protect. Held by another builder: fails with code lock_held, naming the holder, unless `wait` lets it keep trying (at most 45s). Renew before the TTL runs out (lock_renew) and release when done (lock_release). It never takes a lock another builder holds before it expires. The same JSON as `buildctl lock acquire --json`.",
    write: true,
    input: z.strictObject({
      name: described(lockName, 'the lock name, e.g. deploy'),
      ttl: optional(duration, 'how long it holds without renewal, e.g. 2m'),
      wait: optional(duration, 'keep trying this long while another builder holds it, at most 45s'),
    }),
    run: async (ctx, input) => {
      checkToolWait(input.wait, 'buildctl lock run NAME --wait 5m -- COMMAND');
      return shapes.lockChangeJson(await (await import('../../ops/locks.js')).acquireLockOp(ctx, { name: input.name, ttl: input.ttl, wait: input.wait }));
    },
  }),
  tool({
    name: 'lock_renew',
    title: 'Renew my lock',
    description:
      "Extend a lock this builder holds by `ttl` from now. Fails with not_lock_owner or lock_expired when this builder no longer holds it: then stop the work it guards, another builder may have it. The same JSON as `buildctl lock renew --json`.",
    write: true,
    input: z.strictObject({ name: described(lockName, 'the lock name'), ttl: optional(duration, "new time to live from now (default the fleet's lock_ttl)") }),
    run: async (ctx, input) => shapes.lockChangeJson(await (await import('../../ops/locks.js')).renewLockOp(ctx, { name: input.name, ttl: input.ttl })),
  }),
  tool({
    name: 'lock_release',
    title: 'Release my lock',
    description:
      "Free a lock this builder holds. Another builder's lock is refused (not_lock_owner): this server never releases or breaks the locks of others (an operator does, with buildctl lock break). The same JSON as `buildctl lock release --json`.",
    write: true,
    input: z.strictObject({ name: described(lockName, 'the lock name') }),
    run: async (ctx, input) => shapes.lockChangeJson(await (await import('../../ops/locks.js')).releaseLockOp(ctx, input.name)),
  }),
];
