import * as z from 'zod/mini';
import { effectiveSettings, type Settings } from '../domain/config.js';
import { buildFleetView, type FleetView } from '../domain/fleet-view.js';
import { queueCounts, queueMayWait, queueWaits, type QueueGlance, type QueueWait } from '../domain/jobs.js';
import { invalidDataError } from '../errors.js';
import type { BuilderEntry, BuildersDoc } from '../schemas/builders.js';
import type { HeartbeatDoc } from '../schemas/heartbeat.js';
import type { Job, JobsDoc } from '../schemas/jobs.js';
import type { Lock } from '../schemas/locks.js';
import { message, type Message } from '../schemas/messages.js';
import { docs } from '../schemas/layout.js';
import type { StatusDoc } from '../schemas/status.js';
import { entryLineValue, entryObjectHasKey, fieldString, type Problem } from '../store/documents.js';
import { listIntents } from '../store/outbox.js';
import type { BeatSight } from '../domain/clocks.js';
import type { Observations } from '../schemas/observations.js';
import { loadObservations } from '../store/observations.js';
import { heartbeatCommits, openSnapshot, type DocRead, type Snapshot } from '../store/snapshot.js';
import { fetchAgeMs, lastFetchAt, openStore, ORIGIN_MAIN } from '../store/store.js';
import { IDENTITY_FILE } from '../store/view.js';
import { openViewMemo, type ViewMemo } from '../store/view-memo.js';
import type { Taint } from '../domain/trust.js';
import { judgeHeartbeat, ledgerAt, type Ledger, type SignatureView } from './trust.js';
import type { Context } from './context.js';
import { tryResolveActor } from './identity.js';
import { readHeartbeat } from './heartbeats-read.js';
import { beatSights, recordLook } from './observe.js';
import { fetchFleet, viewReads, type Freshness } from './read.js';
import { isAddressedTo } from '../domain/messages.js';

/** Who signed what a builder's row shows: its status.json's latest change, and its heartbeat. */
export interface BuilderSignatures {
  status: SignatureView | null;
  heartbeat: SignatureView | null;
}

/** Signed writes across the fleet (README, "Trust"). */
export interface FleetTrust {
  /** How many keys are in force (0: nobody signs yet; the marks say little). */
  keys: number;
  require_signed_writes: boolean;
  /** Facts the fleet does not act on (require_signed_writes): their latest change is not trusted. */
  untrusted: Taint[];
}

export interface FleetStatus extends FleetView, Freshness {
  generated_at: string;
  store: string;
  /** When this clone last fetched main (every command does). */
  last_fetch_at: string | null;
  /**
   * When this clone last fetched the heartbeat refs (only `status`, `check` and the agent's
   * ticks do): health is as of then, so after `--no-fetch` this says how old that part is.
   */
  heartbeats_fetched_at: string | null;
  /** How long ago each part was fetched, in seconds, on this host's clock (null: never). */
  fetch_age_seconds: { main: number | null; heartbeats: number | null };
  me: string | null;
  /** Operations queued in this clone's outbox while the remote was unreachable. */
  outbox: { queued: number };
  /** Documents that could not be read; the view leaves them out. */
  problems: Array<{ file: string } & Problem>;
  /** Queued jobs that wait for dependencies, are blocked, or that no enabled builder can ever run. */
  queue_waits: { never_runs: number; jobs: QueueWait[] };
  /** Each builder's signatures, by id. */
  signatures: Record<string, BuilderSignatures>;
  trust: FleetTrust;
  /** Main has a `.build_server_id` (someone pushed one): never checked out, but worth removing. */
  identity_file_on_main: boolean;
}

/** Everything the fleet view and `check` read: the documents of main, every heartbeat, this clone's outbox. */
export interface FleetDocs extends Freshness, Pick<FleetStatus, 'heartbeats_fetched_at' | 'fetch_age_seconds'> {
  store: string;
  last_fetch_at: string | null;
  me: string | null;
  /** What this clone has watched (recorded now when this call fetched). */
  observations: Observations;
  /** What identifies each builder's current beat. */
  sights: Map<string, BeatSight>;
  /** The start of this clone's latest look at the heartbeats: health is as of then. */
  lookedFrom: Date | undefined;
  settings: Settings;
  builders: BuilderEntry[];
  statuses: Map<string, StatusDoc>;
  heartbeats: Map<string, HeartbeatDoc>;
  jobs: Job[];
  locks: Lock[];
  /** With `jobs: 'waits'`, set when the jobs were left unread (`jobs` is then empty): how many each status has. */
  queueCounts?: Record<string, number> | undefined;
  /** Every message; with `messages: 'mine'`, at least those of `me`'s mail it has not read or acknowledged (all its mail counts count). */
  messages: Message[];
  outbox: { queued: number };
  problems: FleetStatus['problems'];
  identity_file_on_main: boolean;
  signatures: Map<string, BuilderSignatures>;
  trust: FleetTrust;
}

export interface FleetReadOptions {
  fetch: boolean;
  /**
   * `mine`: only this builder's unread or unacknowledged mail is needed (the view's mail
   * counts): of a messages.json this clone validated before, only the entries that may be
   * such are parsed. Default `all`.
   */
  messages?: 'all' | 'mine';
  /**
   * `waits`: only the queue's counts and its waiting jobs (queueWaits) are needed: when a
   * glance at the text of a jobs.json this clone validated before shows no job could wait,
   * the jobs are left unread and only counted. Default `all`.
   */
  jobs?: 'all' | 'waits';
}

export const readFleetDocs = async (ctx: Context, options: FleetReadOptions): Promise<FleetDocs> => {
  const store = await openStore(ctx.storeDir);
  const from = ctx.now();
  const freshness: Freshness = options.fetch ? await fetchFleet(ctx, store) : { fetched: false, fetch_error: null };
  const look = { from, at: ctx.now() };
  const problems: FleetStatus['problems'] = [];
  const take = <T>(read: DocRead<T>): T | undefined => {
    if (read.status === 'invalid') for (const p of read.problems) problems.push({ file: read.source, ...p });
    return read.status === 'ok' ? read.value : undefined;
  };
  const snapshot = openSnapshot(store);
  const views = viewReads(snapshot, ctx.warn);
  // Which commit each heartbeat ref names: one git process, started now to overlap the reads.
  const beatRefs = heartbeatCommits(store);
  beatRefs.catch(() => undefined); // awaited below; a failure is thrown there
  const memo = await openViewMemo(store);
  try {
    const me = (await tryResolveActor(ctx))?.id ?? null;
    const registry = views.main(docs.builders);
    const [builders, config, queue, locks, messages] = await Promise.all([
      registry,
      views.main(docs.config),
      readJobs(snapshot, views, memo, options.jobs === 'waits' ? registry : undefined),
      views.main(docs.locks),
      readMessages(snapshot, views, memo, options.messages === 'mine' ? me : undefined),
    ]);
    const jobs = queue.read;
    if (builders.status === 'missing' && (await snapshot.text('refs/remotes/origin/main')) === undefined) {
      throw invalidDataError('this store has no main branch yet', { code: 'store_empty', hint: 'run "buildctl init" to seed it' });
    }
    const fleet = take(builders)?.builders ?? [];
    const statuses = new Map<string, StatusDoc>();
    const heartbeats = new Map<string, HeartbeatDoc>();
    // Who signed each builder's status and heartbeat: the ledger's verdicts, checked in-process.
    const mainCommit = await snapshot.resolve(ORIGIN_MAIN);
    const ledger = await ledgerAt(store, snapshot.objects, mainCommit);
    const signatures = new Map<string, BuilderSignatures>();
    await Promise.all(
      fleet.map(async ({ id }) => {
        const status = take(await views.main(docs.status(id)));
        if (status) statuses.set(id, status);
        const beat = await readHeartbeat(snapshot, id);
        const value = take(await views.tolerate(beat, docs.heartbeat(id)));
        if (value) heartbeats.set(id, value);
        signatures.set(id, await builderSignatures(snapshot, ledger, id));
      }),
    );
    const ids = new Set(fleet.map((b) => b.id));
    const sights = beatSights(new Map([...(await beatRefs)].filter(([id]) => ids.has(id))), heartbeats);
    const heldLocks = take(locks)?.locks ?? [];
    // A fetch is a look: it is recorded. Without one, the view is as of the last look.
    const observations = freshness.fetched
      ? await recordLook(ctx, store, { heartbeats: { look, beats: sights }, main: { look, locks: heldLocks } })
      : await loadObservations(store, ctx.warn);
    const lookedFrom = observations.heartbeats.looked_from;
    const seconds = (ms: number | undefined): number | null => (ms === undefined ? null : Math.round(ms / 1000));
    return {
      store: store.dir,
      ...freshness,
      last_fetch_at: (await lastFetchAt(store)) ?? null,
      heartbeats_fetched_at: (await lastFetchAt(store, 'heartbeats')) ?? null,
      fetch_age_seconds: { main: seconds(await fetchAgeMs(store, 'main')), heartbeats: seconds(await fetchAgeMs(store, 'heartbeats')) },
      me,
      settings: effectiveSettings(take(config)),
      builders: fleet,
      statuses,
      heartbeats,
      observations,
      sights,
      lookedFrom: lookedFrom === null ? undefined : new Date(lookedFrom),
      jobs: take(jobs)?.jobs ?? [],
      queueCounts: queue.counts,
      locks: heldLocks,
      messages: take(messages)?.messages ?? [],
      outbox: { queued: (await listIntents(store, ctx.warn)).length },
      problems,
      // Whether it is there, never its bytes: a pushed file may be of any size.
      identity_file_on_main: mainCommit !== undefined && (await snapshot.objects.readObject(`${mainCommit}:${IDENTITY_FILE}`, { maxBytes: 0 })) !== undefined,
      signatures,
      trust: { keys: ledger.state.keys.filter((k) => k.revoked_in === null).length, require_signed_writes: ledger.state.enforce_since !== null, untrusted: Object.values(ledger.taints) },
    };
  } finally {
    snapshot.close();
    await memo.flush();
  }
};

/**
 * The messages a view reads: all of them, or (`mine`: a builder's id) those of its mail
 * that it has not read or not acknowledged yet: all its mail counts count. When the file
 * can be read entry by entry (validated before, canonical), an entry is left unparsed when
 * its text shows it cannot count: it names neither the builder nor `all` (a message for it
 * names one of them in `to`), or it asks no ack and its read_by has the builder. Otherwise
 * the whole file is read as usual.
 */
const readMessages = async (snapshot: Snapshot, views: ReturnType<typeof viewReads>, memo: ViewMemo, mine: string | null | undefined): Promise<DocRead<{ messages: Message[] }>> => {
  if (mine !== undefined && mine !== null) {
    // The same blob, the same builder: the same mail (kept entries are parsed with their schema again).
    const blob = await snapshot.mainBlob(docs.messages);
    const key = `${blob}:${mine}`;
    const kept = blob === undefined ? undefined : memo.get(MAIL_SLOT, key, mailSchema);
    if (kept) return { status: 'ok', value: { messages: kept }, source: docs.messages.path };
    const named = [JSON.stringify(mine), JSON.stringify('all')];
    const mayCount = (text: string): boolean =>
      named.some((name) => text.includes(name)) && !(entryLineValue(text, 'ack_required') === 'false' && entryObjectHasKey(text, 'read_by', mine));
    const entries = await snapshot.mainEntries(docs.messages, mayCount);
    if (entries) {
      const messages = (entries as Message[]).filter((m) => isAddressedTo(m, mine));
      if (blob !== undefined) memo.set(MAIL_SLOT, key, messages);
      return { status: 'ok', value: { messages }, source: docs.messages.path };
    }
  }
  return views.main(docs.messages);
};

/** The view memo's slots (store/view-memo.ts): a builder's mail, and the queue's counts when no job can wait. */
const MAIL_SLOT = 'status-mail';
const QUEUE_SLOT = 'status-queue';
const mailSchema = z.array(message);
const countsSchema = z.record(z.string(), z.int().check(z.gte(0)));

/** A job's glance for a view of the queue, off its text; undefined when the text does not say. */
const queueGlance = (fields: Map<string, string>): QueueGlance | undefined => {
  const status = fieldString(fields.get('status'));
  const target = fieldString(fields.get('target'));
  if (typeof status !== 'string' || (fields.has('target') && target === undefined)) return undefined;
  return {
    status,
    waits: (fields.has('dependencies') && fields.get('dependencies') !== '[]') || fields.has('blocked'),
    target: target ?? null,
    labels: fields.has('labels') && fields.get('labels') !== '[]',
  };
};

/**
 * The jobs a view reads: all of them; or, given the registry (`waits`: the view needs the
 * counts and the waiting jobs), none when a glance at each job shows that no job could wait
 * (queueMayWait), with the counts taken from the glances.
 */
const readJobs = async (snapshot: Snapshot, views: ReturnType<typeof viewReads>, memo: ViewMemo, registry: Promise<DocRead<BuildersDoc>> | undefined): Promise<{ read: DocRead<JobsDoc>; counts?: Record<string, number> }> => {
  if (registry) {
    const none = { status: 'ok' as const, value: { jobs: [] }, source: docs.jobs.path };
    // The same queue and registry blobs: no job can wait again, with the same counts.
    const [queueBlob, registryBlob] = await Promise.all([snapshot.mainBlob(docs.jobs), snapshot.mainBlob(docs.builders)]);
    const key = `${queueBlob}:${registryBlob}`;
    const kept = queueBlob === undefined || registryBlob === undefined ? undefined : memo.get(QUEUE_SLOT, key, countsSchema);
    if (kept) return { read: none, counts: kept };
    const fields = await snapshot.mainFields(docs.jobs, ['status', 'dependencies', 'blocked', 'target', 'labels']);
    const glances = fields?.map(queueGlance);
    const builders = await registry;
    if (glances?.every((g) => g !== undefined) && builders.status === 'ok' && !queueMayWait(glances as QueueGlance[], builders.value.builders)) {
      const counts = queueCounts((glances as QueueGlance[]).map((g) => g.status));
      if (queueBlob !== undefined && registryBlob !== undefined) memo.set(QUEUE_SLOT, key, counts);
      return { read: none, counts };
    }
  }
  return { read: await views.main(docs.jobs) };
};

export const fleetStatus = async (ctx: Context, options: { fetch: boolean }): Promise<FleetStatus> => {
  const d = await readFleetDocs(ctx, { ...options, messages: 'mine', jobs: 'waits' });
  const view = buildFleetView({
    now: ctx.now(),
    settings: d.settings,
    me: d.me ?? undefined,
    builders: d.builders,
    statuses: d.statuses,
    heartbeats: d.heartbeats,
    jobs: d.jobs,
    queueCounts: d.queueCounts,
    locks: d.locks,
    messages: d.messages,
    observations: d.observations,
    lookedFrom: d.lookedFrom,
    sights: d.sights,
  });
  const waits = queueWaits(d.jobs, d.builders, new Set(d.trust.untrusted.filter((t) => t.kind === 'job').map((t) => t.id)));
  return {
    generated_at: ctx.now().toISOString(),
    store: d.store,
    fetched: d.fetched,
    fetch_error: d.fetch_error,
    last_fetch_at: d.last_fetch_at,
    heartbeats_fetched_at: d.heartbeats_fetched_at,
    fetch_age_seconds: d.fetch_age_seconds,
    me: d.me,
    outbox: d.outbox,
    ...view,
    problems: d.problems,
    identity_file_on_main: d.identity_file_on_main,
    queue_waits: { never_runs: waits.filter((w) => w.never_runs !== null).length, jobs: waits },
    signatures: Object.fromEntries(d.signatures),
    trust: d.trust,
  };
};

/** A builder's status.json (its latest change) and heartbeat, as signed. */
const builderSignatures = async (snapshot: Snapshot, ledger: Ledger, id: string): Promise<BuilderSignatures> => {
  const fact = ledger.status[id];
  const status: SignatureView | null = fact
    ? { verdict: fact.verdict, signer: fact.signer, reason: fact.reason, commit: fact.commit, note: fact.verdict === 'verified' && !fact.trusted ? `not ${id}'s own` : null }
    : null;
  const beat = await judgeHeartbeat(snapshot, id, ledger.state);
  const heartbeat: SignatureView | null = beat ? { verdict: beat.verdict, signer: beat.signer, reason: beat.reason, commit: beat.commit, note: null } : null;
  return { status, heartbeat };
};
