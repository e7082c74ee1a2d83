// `buildctl log`: who did what and when, from the trailers every transaction writes on main.
// Commits without a Buildctl-Op trailer (made by hand or by older scripts) are not events.
// (The commits come in as records the store read; only their type is imported.)
import type { CommitRecord } from '../schemas/commit-record.js';

/** How many of the newest events `log` shows (and the MCP tool returns) unless told otherwise. */
export const DEFAULT_LOG_LIMIT = 50;

export interface AuditEvent {
  commit: string;
  at: string;
  op: string;
  actor: string | null;
  op_id: string | null;
  summary: string;
  /** A plan's own trailers without their `Buildctl-` prefix, e.g. housekeeping's `Requeued`. */
  details: Record<string, string>;
}

export interface AuditFilter {
  /** Events this builder did (its Buildctl-Actor). */
  builder?: string | undefined;
  /** An operation (`job.claim`) or a family (`job`, `lock`). */
  op?: string | undefined;
  since?: Date | undefined;
}

const matchesOp = (op: string, wanted: string): boolean => op === wanted || op.startsWith(`${wanted}.`);

/** The events among the commits (oldest first), filtered. */
export const auditEvents = (commits: readonly CommitRecord[], filter: AuditFilter = {}): AuditEvent[] =>
  commits
    .filter((c): c is CommitRecord & { op: string } => c.op !== null)
    .filter((c) => filter.builder === undefined || c.actor === filter.builder)
    .filter((c) => filter.op === undefined || matchesOp(c.op, filter.op))
    // git's --since is a walk heuristic on the committer's clock: filter exactly here.
    .filter((c) => filter.since === undefined || Date.parse(c.at) >= filter.since.getTime())
    .map((c) => ({
      commit: c.commit,
      at: c.at,
      op: c.op,
      actor: c.actor,
      op_id: c.op_id,
      summary: c.summary,
      details: Object.fromEntries(Object.entries(c.trailers).filter(([name]) => name.startsWith('Buildctl-')).map(([name, value]) => [name.slice('Buildctl-'.length), value])),
    }));

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The events that name an id (a job, a lock, a message) in their summary or trailers, oldest
 * first: a job's timeline is its add, claim, requeues and end, as the commits recorded them.
 */
export const eventsAbout = (events: readonly AuditEvent[], id: string): AuditEvent[] => {
  const word = new RegExp(`(^|[\\s,:(])${escapeRegExp(id)}($|[\\s,:)])`);
  return events.filter((e) => word.test(e.summary) || Object.values(e.details).some((value) => word.test(value)));
};
