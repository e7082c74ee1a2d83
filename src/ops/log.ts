// `buildctl log`: the audit trail of main.
import { auditEvents, type AuditEvent } from '../domain/audit.js';
import { parseSince } from '../domain/since.js';
import { readCommits } from '../store/commit-log.js';
import { openObjectReader } from '../store/git.js';
import { fetchMain, openStore, ORIGIN_MAIN } from '../store/store.js';
import type { Context } from './context.js';
import { fetchOrFallBack } from './read.js';
import { signatureView, verdictsFor, type SignatureView } from './trust.js';

export interface LogOptions {
  builder?: string | undefined;
  op?: string | undefined;
  since?: string | undefined;
  /** The newest this many events (all when undefined). */
  limit?: number | undefined;
  fetch: boolean;
}

/** An event and who signed it: verified, unverified or forged (ops/trust.ts). */
export interface SignedEvent extends AuditEvent {
  signature: SignatureView;
}

export interface AuditLog {
  events: SignedEvent[];
  /** How many events matched before the limit. */
  matched: number;
  /** Whether any key was ever registered: before that, every change is unverified and saying so tells nothing. */
  signing: boolean;
}

export const auditLog = async (ctx: Context, options: LogOptions): Promise<AuditLog> => {
  const store = await openStore(ctx.storeDir);
  if (options.fetch) await fetchOrFallBack(() => fetchMain(store), ctx.warn);
  const since = options.since === undefined ? undefined : parseSince(options.since, ctx.now());
  // Signatures are checked in-process, once per commit: the ledger remembers its verdicts.
  const objects = openObjectReader(store.dir);
  try {
    // One commit for both the history and its verdicts, whatever another process fetches meanwhile.
    const tip = (await objects.readObject(ORIGIN_MAIN))?.sha;
    const events = auditEvents(await readCommits(store, { since, range: tip }), { builder: options.builder, op: options.op, since });
    const shown = options.limit === undefined ? events : events.slice(-options.limit);
    const { ledger, verdicts } = await verdictsFor(store, objects, tip, shown.map((e) => e.commit));
    return {
      events: shown.map((event) => ({ ...event, signature: signatureView(verdicts.get(event.commit), ledger, event.commit) })),
      matched: events.length,
      signing: ledger.signing_since !== null,
    };
  } finally {
    objects.close();
  }
};
