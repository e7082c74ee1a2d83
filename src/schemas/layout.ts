// The store's layout: which file holds which document. This is the one place that maps
// paths to schemas; `validate`, operations and the JSON Schema export all use it.
import type * as z from 'zod/mini';
import { buildersDoc } from './builders.js';
import { configDoc } from './config.js';
import { dashboardDoc } from './dashboard.js';
import { heartbeatDoc } from './heartbeat.js';
import { jobsDoc } from './jobs.js';
import { locksDoc } from './locks.js';
import { messagesDoc } from './messages.js';
import { metricsLine } from './metrics.js';
import { signersDoc } from './signers.js';
import { eventsDoc } from './notify.js';
import { statusDoc } from './status.js';

/** A list of entries inside a document, each with an id: `jobs[].id`, `locks[].name`. */
export interface Collection {
  readonly field: string;
  readonly id: string;
}

/** A document in the store: its path and the schema its content must satisfy. */
export interface DocSpec<T> {
  readonly path: string;
  readonly schema: z.ZodMiniType<T>;
  /** The entries the transaction guards against silent loss (see `transact`). */
  readonly collection?: Collection;
  /** One of a builder's own documents: a view of the fleet reads one per builder, hundreds at once. */
  readonly perBuilder?: true;
}

const spec = <T>(path: string, schema: z.ZodMiniType<T>, collection?: Collection): DocSpec<T> =>
  collection ? { path, schema, collection } : { path, schema };

const builderSpec = <T>(path: string, schema: z.ZodMiniType<T>): DocSpec<T> => ({ path, schema, perBuilder: true });

export const paths = {
  builders: 'coordination/builders.json',
  jobs: 'coordination/jobs.json',
  locks: 'coordination/locks.json',
  messages: 'coordination/messages.json',
  config: 'coordination/config.json',
  /** Who may sign for whom: builders' and operators' public keys (domain/trust.ts). */
  signers: 'coordination/signers.json',
  /** Notifiable events recorded by housekeeping (only on fleets with notification targets). */
  events: 'coordination/events.json',
  dashboard: 'shared/health_dashboard.json',
  status: (id: string) => `${id}/status.json`,
  heartbeat: (id: string) => `${id}/heartbeat.json`,
  metrics: (id: string) => `${id}/metrics.jsonl`,
  /** Retired jobs and messages, one file per month (YYYY-MM) of when they finished / were sent. */
  jobsArchive: (month: string) => `coordination/archive/jobs-${month}.json`,
  messagesArchive: (month: string) => `coordination/archive/messages-${month}.json`,
} as const;

export const docs = {
  builders: spec(paths.builders, buildersDoc, { field: 'builders', id: 'id' }),
  jobs: spec(paths.jobs, jobsDoc, { field: 'jobs', id: 'id' }),
  locks: spec(paths.locks, locksDoc, { field: 'locks', id: 'name' }),
  messages: spec(paths.messages, messagesDoc, { field: 'messages', id: 'id' }),
  config: spec(paths.config, configDoc),
  signers: spec(paths.signers, signersDoc, { field: 'signers', id: 'id' }),
  events: spec(paths.events, eventsDoc, { field: 'events', id: 'id' }),
  dashboard: spec(paths.dashboard, dashboardDoc),
  status: (id: string) => builderSpec(paths.status(id), statusDoc),
  heartbeat: (id: string) => builderSpec(paths.heartbeat(id), heartbeatDoc),
  jobsArchive: (month: string) => spec(paths.jobsArchive(month), jobsDoc, { field: 'jobs', id: 'id' }),
  messagesArchive: (month: string) => spec(paths.messagesArchive(month), messagesDoc, { field: 'messages', id: 'id' }),
};

export interface DocumentKind {
  readonly name: string;
  readonly pattern: RegExp;
  readonly schema: z.ZodMiniType<unknown>;
  /** json: one document; jsonl: one document per line */
  readonly format: 'json' | 'jsonl';
}

/**
 * Every document kind, by name, with the pattern its path matches. These are the store's
 * documents; any other file in the repository is not buildctl's (never judged, never
 * rewritten). The layout's own folders are no builder's.
 */
export const DOCUMENT_KINDS: readonly DocumentKind[] = [
  { name: 'builders', pattern: /^coordination\/builders\.json$/, schema: buildersDoc, format: 'json' },
  { name: 'jobs', pattern: /^coordination\/jobs\.json$/, schema: jobsDoc, format: 'json' },
  { name: 'locks', pattern: /^coordination\/locks\.json$/, schema: locksDoc, format: 'json' },
  { name: 'messages', pattern: /^coordination\/messages\.json$/, schema: messagesDoc, format: 'json' },
  { name: 'config', pattern: /^coordination\/config\.json$/, schema: configDoc, format: 'json' },
  { name: 'signers', pattern: /^coordination\/signers\.json$/, schema: signersDoc, format: 'json' },
  { name: 'events', pattern: /^coordination\/events\.json$/, schema: eventsDoc, format: 'json' },
  { name: 'jobs_archive', pattern: /^coordination\/archive\/jobs-\d{4}-\d{2}\.json$/, schema: jobsDoc, format: 'json' },
  { name: 'messages_archive', pattern: /^coordination\/archive\/messages-\d{4}-\d{2}\.json$/, schema: messagesDoc, format: 'json' },
  { name: 'health_dashboard', pattern: /^shared\/health_dashboard\.json$/, schema: dashboardDoc, format: 'json' },
  { name: 'status', pattern: /^(?!(?:coordination|shared|all)\/)[a-z][a-z0-9-]{0,31}\/status\.json$/, schema: statusDoc, format: 'json' },
  { name: 'heartbeat', pattern: /^(?!(?:coordination|shared|all)\/)[a-z][a-z0-9-]{0,31}\/heartbeat\.json$/, schema: heartbeatDoc, format: 'json' },
  { name: 'metrics', pattern: /^(?!(?:coordination|shared|all)\/)[a-z][a-z0-9-]{0,31}\/metrics\.jsonl$/, schema: metricsLine, format: 'jsonl' },
];

export const kindOfPath = (path: string): DocumentKind | undefined =>
  DOCUMENT_KINDS.find((kind) => kind.pattern.test(path));

/** The spec of the JSON document at `path`, as `docs` gives it; undefined for other files. */
export const specOfPath = (path: string): DocSpec<unknown> | undefined => {
  const fixed = (Object.values(docs) as unknown[]).find((entry) => typeof entry === 'object' && (entry as DocSpec<unknown>).path === path);
  if (fixed) return fixed as DocSpec<unknown>;
  const kind = kindOfPath(path);
  const id = path.split('/')[0] ?? '';
  if (kind?.name === 'status') return docs.status(id);
  if (kind?.name === 'heartbeat') return docs.heartbeat(id);
  const month = /-(\d{4}-\d{2})\.json$/.exec(path)?.[1] ?? '';
  if (kind?.name === 'jobs_archive') return docs.jobsArchive(month);
  if (kind?.name === 'messages_archive') return docs.messagesArchive(month);
  return undefined;
};
