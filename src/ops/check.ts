// `buildctl check`: one fetch, the fleet's documents and every file's validity, one verdict.
import { evaluateCheck, type CheckResult } from '../domain/check.js';
import type { Context } from './context.js';
import { readFleetDocs } from './status.js';
import { validateStore } from './validate.js';

export interface CheckReport extends CheckResult {
  generated_at: string;
  fetched: boolean;
}

export const checkFleet = async (ctx: Context, options: { fetch: boolean }): Promise<CheckReport> => {
  const docs = await readFleetDocs(ctx, options);
  // The fetch above brought main and every heartbeat ref: validate what it brought.
  const validation = await validateStore(ctx, { fetch: false });
  const now = ctx.now();
  const result = evaluateCheck({
    now,
    settings: docs.settings,
    builders: docs.builders,
    heartbeats: docs.heartbeats,
    observedAt: docs.last_fetch_at ? new Date(docs.last_fetch_at) : null,
    jobs: docs.jobs,
    locks: docs.locks,
    messages: docs.messages,
    outboxQueued: docs.outbox.queued,
    documents: validation.files.flatMap((f) => (f.status === 'valid' ? [] : [{ file: f.file, status: f.status, reason: f.problems[0]?.reason ?? f.changes[0] ?? '' }])),
    fetchError: docs.fetch_error,
  });
  return { ...result, generated_at: now.toISOString(), fetched: docs.fetched };
};
