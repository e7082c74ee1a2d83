// `buildctl check`: one fetch, the fleet's documents and every file's validity, one verdict.
import { evaluateCheck, type CheckInput, type CheckResult } from '../domain/check.js';
import { compareTimes } from '../domain/durations.js';
import { readNotifyState } from '../store/notify-state.js';
import { openStore } from '../store/store.js';
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
    observations: docs.observations,
    sights: docs.sights,
    lookedFrom: docs.lookedFrom,
    jobs: docs.jobs,
    locks: docs.locks,
    messages: docs.messages,
    outboxQueued: docs.outbox.queued,
    documents: validation.files.flatMap((f) => (f.status === 'valid' ? [] : [{ file: f.file, status: f.status, reason: f.problems[0]?.reason ?? f.changes[0] ?? '' }])),
    fetchError: docs.fetch_error,
    identityFileOnMain: validation.identity_file_on_main,
    notify: await notifyProblems(ctx, now),
    trust: {
      enforced: docs.trust.require_signed_writes,
      keys: docs.trust.keys,
      untrusted: docs.trust.untrusted,
      builders: docs.builders.map((b) => ({ id: b.id, status: docs.signatures.get(b.id)?.status?.verdict ?? null, heartbeat: docs.signatures.get(b.id)?.heartbeat?.verdict ?? null })),
    },
  });
  return { ...result, generated_at: now.toISOString(), fetched: docs.fetched };
};

const DAY_MS = 86_400_000;

/** What this clone's notification deliveries have to report (undefined when it never sent any). */
const notifyProblems = async (ctx: Context, now: Date): Promise<CheckInput['notify']> => {
  const state = await readNotifyState(await openStore(ctx.storeDir), ctx.warn);
  if (!state) return undefined;
  const recent = state.failures.filter((f) => now.getTime() - Date.parse(f.at) < DAY_MS);
  const failing = state.queue.filter((q) => q.attempts > 0);
  const last = [...recent.map((f) => ({ at: f.at, text: `${f.target}: ${f.error}` })), ...failing.map((q) => ({ at: q.next_at, text: `${q.target}: ${q.last_error ?? 'failed'}` }))].sort((a, b) => compareTimes(a.at, b.at)).at(-1);
  return { gaveUp: recent.length, failing: failing.length, lastError: last?.text ?? null };
};
