// shared/health_dashboard.json of the older scripts: `servers` (a map or a list) with
// their own health flags, `overall_status`, `jobs`, `alerts`, `history`. The dashboard is a
// summary that housekeeping rewrites from the live documents, so the conversion only
// gives it the current shape: each server listed with health `unknown` (the older flags
// were not reliable: "healthy" with no server online) until the next rewrite. Every older
// field stays as it is.
import { BUILDER_ID_PATTERN } from '../../schemas/common.js';
import { changeLog, isObject, type Json } from './changes.js';
import { toIsoUtc } from './timestamps.js';
import type { LegacyConverter } from './types.js';

export const convertLegacyDashboard: LegacyConverter = (json) => {
  if (!isObject(json) || json.builders !== undefined) return undefined;
  const updated = toIsoUtc(json.updated_at ?? json.timestamp);
  if (updated === undefined) return undefined;
  const log = changeLog();
  const servers: Array<[string, unknown]> = Array.isArray(json.servers)
    ? json.servers.map((s): [string, unknown] => [isObject(s) ? String(s.server ?? s.id ?? '') : '', s])
    : isObject(json.servers)
      ? Object.entries(json.servers)
      : [];
  const builders = servers
    .filter(([id]) => BUILDER_ID_PATTERN.test(id))
    .map(([id, s]) => ({ id, health: 'unknown', state: isObject(s) && typeof s.status === 'string' ? s.status : null, current_job: null }));
  const jobs = isObject(json.jobs) ? json.jobs : {};
  const queue: Json = {};
  for (const status of ['queued', 'running']) if (typeof jobs[status] === 'number') queue[status] = jobs[status];
  log.tally(`summary rebuilt in the current shape (${builders.length} builders, health unknown until housekeeping rewrites it); older fields kept`);
  return {
    value: { ...json, updated_at: updated, builders, counts: { healthy: 0, stale: 0, dead: 0, unknown: builders.length }, queue },
    changes: log.list(),
    removes: [],
  };
};
