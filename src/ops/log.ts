// `buildctl log`: the audit trail of main.
import { auditEvents, type AuditEvent } from '../domain/audit.js';
import { parseSince } from '../domain/since.js';
import { readCommits } from '../store/commit-log.js';
import { fetchMain, openStore } from '../store/store.js';
import type { Context } from './context.js';
import { fetchOrFallBack } from './read.js';

export interface LogOptions {
  builder?: string | undefined;
  op?: string | undefined;
  since?: string | undefined;
  /** The newest this many events (all when undefined). */
  limit?: number | undefined;
  fetch: boolean;
}

export interface AuditLog {
  events: AuditEvent[];
  /** How many events matched before the limit. */
  matched: number;
}

export const auditLog = async (ctx: Context, options: LogOptions): Promise<AuditLog> => {
  const store = await openStore(ctx.storeDir);
  if (options.fetch) await fetchOrFallBack(() => fetchMain(store), ctx.warn);
  const since = options.since === undefined ? undefined : parseSince(options.since, ctx.now());
  const events = auditEvents(await readCommits(store, { since }), { builder: options.builder, op: options.op, since });
  return { events: options.limit === undefined ? events : events.slice(-options.limit), matched: events.length };
};
