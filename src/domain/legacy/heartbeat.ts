// <id>/heartbeat.json of the older scripts: `server` or `server_id` for the builder,
// `last_heartbeat` for the time, a `system` block of other metrics (cpu_usage,
// memory_used_gb, ...) or such metrics at the top level. What has a place in the current
// heartbeat moves there; every other field stays as it is.
import { systemSnapshot } from '../../schemas/system.js';
import { changeLog, isObject, rename, type ChangeLog, type Json } from './changes.js';
import { convertTime } from './timestamps.js';
import type { LegacyContext, LegacyConverter } from './types.js';

/** The builder a legacy status or heartbeat speaks for: its own field, else its folder. */
export const takeBuilderId = (doc: Json, ctx: LegacyContext, log: ChangeLog): void => {
  for (const field of ['server_id', 'server']) {
    if (rename(doc, field, 'id')) log.tally(`"${field}" renamed "id"`);
  }
  if (doc.id === undefined) {
    doc.id = ctx.path.split('/')[0];
    log.tally('"id" taken from the folder');
  }
};

/** A `system` block of the older metrics cannot be the current snapshot: it moves aside. */
export const moveLegacySystem = (doc: Json, log: ChangeLog): void => {
  if (doc.system !== undefined && doc.system !== null && !systemSnapshot.safeParse(doc.system).success) {
    if (rename(doc, 'system', 'legacy_system')) log.tally('older "system" metrics kept in legacy_system');
  }
};

export const convertLegacyHeartbeat: LegacyConverter = (json, ctx) => {
  if (!isObject(json)) return undefined;
  const log = changeLog();
  const doc: Json = { ...json };
  takeBuilderId(doc, ctx, log);
  if (rename(doc, 'last_heartbeat', 'timestamp')) log.tally('"last_heartbeat" renamed "timestamp"');
  if (doc.timestamp == null || !convertTime(doc, 'timestamp', log)) return undefined;
  moveLegacySystem(doc, log);
  return { value: doc, changes: log.list(), removes: [] };
};
