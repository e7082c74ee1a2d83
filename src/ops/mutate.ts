// Every mutation goes through here: first the outbox is delivered (in order, exactly once),
// then the operation's own transaction. Operations whose intent stays valid later
// (messages, job add / complete / fail) are queued in the outbox when the remote cannot be
// reached; the rest fail with exit 4.
//
// It is also the one place where what is committed meets the credential check: every
// mutation states its whole input, which is vetted before anything is fetched, queued or
// written, and the commit message is vetted where the transaction builds it.
import { randomUUID } from 'node:crypto';
import { allowedTrailer, vetCommitMessage, vetCommitted } from '../domain/committed.js';
import { cycleEstimateMs, followsWin, formatLastWin, nextWin, parseLastWin, RECENT_COMMITS, retryDelayMs, turnDelayMs, type LastWin } from '../domain/fairness.js';
import { BuildctlError } from '../errors.js';
import type { DocSpec } from '../schemas/layout.js';
import { withLocalLock } from '../store/local-lock.js';
import { enqueueIntent, hasIntents, listIntents, logDropped, removeIntent, type Intent } from '../store/outbox.js';
import { openSnapshot } from '../store/snapshot.js';
import { fetchMain, ORIGIN_MAIN, type Store } from '../store/store.js';
import { findLandedOpAfter, findLandedOpSince, parsingRead, readLastWinRecord, transact, type Apply, type Pacing, type Plan, type ReadDoc, type TxOptions, type TxOutcome, type TxRequest } from '../store/transaction.js';
import type { Context } from './context.js';
import { readMainOrThrow } from './read.js';
import { checkSignedWrite } from './signed-writes.js';
import { tolerant } from './tolerance.js';

export interface Mutation<R> {
  /** Operation name for the commit trailer, e.g. `status.set`. */
  op: string;
  actor: string;
  /**
   * Everything the operator or script gave the operation, as committed: every string in it
   * is checked for credentials (domain/committed.ts). `{}` only for operations that take
   * nothing from anyone (housekeeping, migrate).
   */
  input: unknown;
  /**
   * Checks of the input that need no store (what is wrong whatever it holds: a misspelt
   * state, a lock name that cannot be): run after the credential check (their errors quote
   * the input) and before anything is fetched, so a typo made offline is said as such.
   */
  check?: () => void;
  apply: Apply<R>;
}

/**
 * The credential check of one mutation: refuses (exit 2) a credential in its input unless
 * allowed; an allowed one is recorded as a trailer of the commit; the commit message is
 * checked too; then the request's own checks. Runs before anything is fetched, queued or
 * written. Before its commit is written, the signed-writes rule (ops/signed-writes.ts)
 * has its say.
 */
const guarded = <R>(request: Mutation<R>, allow: boolean, opId?: string): TxRequest<R> => {
  const allowed = vetCommitted(request.op, request.input, allow);
  request.check?.();
  const trailers = allowedTrailer(allowed);
  return {
    op: request.op,
    actor: request.actor,
    ...(opId === undefined ? {} : { opId }),
    apply: allowed.length === 0 ? request.apply : async (read, base) => {
      const plan = await request.apply(read, base);
      return { ...plan, trailers: { ...plan.trailers, ...trailers } };
    },
    checkCommit: async (message, base) => {
      vetCommitMessage(message, allow);
      await checkSignedWrite(base, message);
    },
  };
};

export interface Delivery {
  delivered: string[];
  dropped: Array<{ op_id: string; op: string; reason: string }>;
  remaining: number;
}

/**
 * The fairness rules of domain/fairness.ts as the transaction's pacing: older operations
 * wait less after a rejection; a builder that has just won yields a turn.
 */
export const fairPacing = (random: () => number = Math.random): Pacing => ({
  turnDelayMs: async (record, now, actor, recent) => {
    const win = parseLastWin(record);
    // main's log is read only straight after a win.
    return followsWin(win, now) ? turnDelayMs(win, now, actor, await recent(RECENT_COMMITS), random) : 0;
  },
  retryDelayMs: (ageMs, meanAttemptMs, record) => retryDelayMs(ageMs, cycleEstimateMs(meanAttemptMs, parseLastWin(record)), random),
  winRecord: (at, cycleMs, commit, previous) => formatLastWin(nextWin(parseLastWin(previous), at, cycleMs, commit)),
});

/** This clone's last winning attempt (when, and how long its cycle took), if recorded. */
export const readLastWin = async (store: Store): Promise<LastWin | undefined> => parseLastWin(await readLastWinRecord(store));

/** How every operation's transaction runs: fair pacing, warnings to the operator. */
const txOptions = (ctx: Context): TxOptions => ({ pacing: fairPacing(), warn: ctx.warn });

const isUnreachable = (error: unknown): boolean => error instanceof BuildctlError && error.kind === 'unreachable';

/** Refusals that mean the intent no longer applies to the store as it is now. */
const noLongerApplies = (error: unknown): error is BuildctlError =>
  error instanceof BuildctlError && (error.kind === 'usage' || error.kind === 'not_now');

// A commit's time comes from this host's clock, like queued_at; the margin covers a clock step.
const LANDED_MARGIN_MS = 10 * 60_000;

/**
 * The commit a queued op landed in, if any: looked for after the commit it was queued on
 * (no clock involved: a clock set back between queueing and delivery would hide the commit
 * from a search by time), else, for an intent written before `base` existed or whose base
 * is gone, by time.
 */
const landedOf = async (store: Store, intent: Intent): Promise<string | undefined> => {
  if (intent.base !== undefined) {
    const found = await findLandedOpAfter(store, intent.op_id, intent.base);
    if (found !== null) return found;
  }
  return findLandedOpSince(store, intent.op_id, new Date(Date.parse(intent.queued_at) - LANDED_MARGIN_MS).toISOString());
};

/**
 * Delivers queued intents in order. Each is looked for on origin/main first (a process
 * that delivered it may have died before removing it); an intent the store now refuses is
 * dropped with the reason logged. Stops at the first unreachable remote: the rest wait.
 * One deliverer at a time per clone (a second one skips).
 */
export const deliverOutbox = async (ctx: Context, store: Store): Promise<Delivery> => {
  const report: Delivery = { delivered: [], dropped: [], remaining: 0 };
  if (!(await hasIntents(store))) return report;
  const { PLANS } = await import('./intents.js');
  try {
    await withLocalLock(
      store.stateDir,
      async () => {
        await fetchMain(store);
        for (const intent of await listIntents(store, ctx.warn)) {
          if (await landedOf(store, intent)) {
            await removeIntent(store, intent);
            report.delivered.push(intent.op_id);
            continue;
          }
          const plan = Object.hasOwn(PLANS, intent.op) ? PLANS[intent.op] : undefined;
          if (!plan) {
            await drop(ctx, store, intent, `unknown queued operation "${intent.op}"`, report);
            continue;
          }
          try {
            // Checked again on delivery: an intent queued before this check existed, or
            // edited on disk, is dropped rather than committed.
            const request = guarded({ op: intent.op, actor: intent.actor, input: intent.input, apply: plan(intent.input) }, intent.allow_secret_like === true, intent.op_id);
            await run(ctx, store, request);
            await removeIntent(store, intent);
            report.delivered.push(intent.op_id);
          } catch (error) {
            if (noLongerApplies(error)) await drop(ctx, store, intent, error.message, report);
            else throw error;
          }
        }
      },
      { name: 'outbox', waitMs: 0, busyMessage: 'another process is delivering the outbox' },
    );
  } catch (error) {
    // Not now (unreachable, or another deliverer): the intents wait for the next cycle.
    if (!isUnreachable(error) && !(error instanceof BuildctlError && error.code === 'store_busy')) throw error;
  }
  report.remaining = (await listIntents(store, ctx.warn)).length;
  if (report.delivered.length > 0) ctx.warn(`delivered ${report.delivered.length} queued operation${report.delivered.length === 1 ? '' : 's'} from the outbox`);
  return report;
};

const drop = async (ctx: Context, store: Store, intent: Intent, reason: string, report: Delivery): Promise<void> => {
  await logDropped(store, intent, reason, ctx.now());
  await removeIntent(store, intent);
  report.dropped.push({ op_id: intent.op_id, op: intent.op, reason });
  ctx.warn(`dropped queued ${intent.op} (${intent.op_id}): it no longer applies: ${reason}`);
};

/** One transaction that reads (and converts) what older scripts wrote: ops/tolerance.ts. */
const run = async <R>(ctx: Context, store: Store, request: TxRequest<R>, options?: TxOptions): Promise<TxOutcome<R>> => {
  const tolerance = tolerant(ctx, store, request);
  let outcome: TxOutcome<R> | undefined;
  try {
    outcome = await transact(store, tolerance.request, { ...txOptions(ctx), ...options });
    return outcome;
  } finally {
    tolerance.report(outcome);
  }
};

/** A mutation that needs a fresh answer: delivers the outbox, then runs; unreachable is exit 4. */
export const mutate = async <R>(ctx: Context, store: Store, request: Mutation<R>, options?: TxOptions): Promise<TxOutcome<R>> => {
  const checked = guarded(request, ctx.allowSecretLike === true);
  await deliverOutbox(ctx, store);
  return run(ctx, store, checked, options);
};

export type Deferred<R> = { queued: false; outcome: TxOutcome<R> } | { queued: true; result: R; intent: Intent };

/** What a mutation did to the store, as every command's --json reports it (cli/output.ts). */
export interface Outcome {
  changed: boolean;
  /** Kept in the outbox because the remote was unreachable; delivered later. */
  queued: boolean;
  /** The commit that landed on main; null when nothing changed or it is queued. */
  commit: string | null;
}

export const txOutcome = (outcome: TxOutcome<unknown>): Outcome => ({ changed: outcome.changed, queued: false, commit: outcome.commit ?? null });

export const deferredOutcome = (run: Deferred<unknown>): Outcome =>
  run.queued ? { changed: true, queued: true, commit: null } : txOutcome(run.outcome);

/**
 * A mutation whose intent stays valid later. When the remote cannot be reached, the intent
 * is checked against the last known state (bad input is still refused now, exit 2) and
 * queued; the caller reports it as queued and exits 0.
 */
export const mutateOrQueue = async <R>(ctx: Context, store: Store, request: Mutation<R>): Promise<Deferred<R>> => {
  const opId = randomUUID();
  const allow = ctx.allowSecretLike === true;
  const checked = guarded(request, allow, opId);
  await deliverOutbox(ctx, store);
  try {
    return { queued: false, outcome: await run(ctx, store, checked) };
  } catch (error) {
    if (!isUnreachable(error)) throw error;
    const snapshot = openSnapshot(store);
    let plan: Plan<R>;
    let base: string | undefined;
    try {
      const read: ReadDoc = parsingRead(<T>(spec: DocSpec<T>) => readMainOrThrow(snapshot, spec));
      base = await snapshot.resolve(ORIGIN_MAIN);
      plan = await checked.apply(read, { commit: base ?? '', objects: snapshot.objects, store });
    } finally {
      snapshot.close();
    }
    const intent = await enqueueIntent(store, {
      op_id: opId,
      op: request.op,
      actor: request.actor,
      queued_at: ctx.now().toISOString(),
      ...(base === undefined ? {} : { base }),
      input: request.input,
      reason: (error as BuildctlError).message,
      ...(allow ? { allow_secret_like: true } : {}),
    }, ctx.warn);
    ctx.warn(`queued: ${(error as BuildctlError).message}; the next successful command or agent tick delivers it (buildctl outbox list)`);
    return { queued: true, result: plan.result, intent };
  }
};
