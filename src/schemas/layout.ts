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
import { statusDoc } from './status.js';

/** A document in the store: its path and the schema its content must satisfy. */
export interface DocSpec<T> {
  readonly path: string;
  readonly schema: z.ZodMiniType<T>;
}

const spec = <T>(path: string, schema: z.ZodMiniType<T>): DocSpec<T> => ({ path, schema });

export const paths = {
  builders: 'coordination/builders.json',
  jobs: 'coordination/jobs.json',
  locks: 'coordination/locks.json',
  messages: 'coordination/messages.json',
  config: 'coordination/config.json',
  dashboard: 'shared/health_dashboard.json',
  status: (id: string) => `${id}/status.json`,
  heartbeat: (id: string) => `${id}/heartbeat.json`,
  metrics: (id: string) => `${id}/metrics.jsonl`,
} as const;

export const docs = {
  builders: spec(paths.builders, buildersDoc),
  jobs: spec(paths.jobs, jobsDoc),
  locks: spec(paths.locks, locksDoc),
  messages: spec(paths.messages, messagesDoc),
  config: spec(paths.config, configDoc),
  dashboard: spec(paths.dashboard, dashboardDoc),
  status: (id: string) => spec(paths.status(id), statusDoc),
  heartbeat: (id: string) => spec(paths.heartbeat(id), heartbeatDoc),
};

export interface DocumentKind {
  readonly name: string;
  readonly pattern: RegExp;
  readonly schema: z.ZodMiniType<unknown>;
  /** json: one document; jsonl: one document per line */
  readonly format: 'json' | 'jsonl';
}

/** Every document kind, by name, with the pattern its path matches. */
export const DOCUMENT_KINDS: readonly DocumentKind[] = [
  { name: 'builders', pattern: /^coordination\/builders\.json$/, schema: buildersDoc, format: 'json' },
  { name: 'jobs', pattern: /^coordination\/jobs\.json$/, schema: jobsDoc, format: 'json' },
  { name: 'locks', pattern: /^coordination\/locks\.json$/, schema: locksDoc, format: 'json' },
  { name: 'messages', pattern: /^coordination\/messages\.json$/, schema: messagesDoc, format: 'json' },
  { name: 'config', pattern: /^coordination\/config\.json$/, schema: configDoc, format: 'json' },
  { name: 'health_dashboard', pattern: /^shared\/health_dashboard\.json$/, schema: dashboardDoc, format: 'json' },
  { name: 'status', pattern: /^[a-z][a-z0-9-]{0,31}\/status\.json$/, schema: statusDoc, format: 'json' },
  { name: 'heartbeat', pattern: /^[a-z][a-z0-9-]{0,31}\/heartbeat\.json$/, schema: heartbeatDoc, format: 'json' },
  { name: 'metrics', pattern: /^[a-z][a-z0-9-]{0,31}\/metrics\.jsonl$/, schema: metricsLine, format: 'jsonl' },
];

export const kindOfPath = (path: string): DocumentKind | undefined =>
  DOCUMENT_KINDS.find((kind) => kind.pattern.test(path));
