// <id>/status.json of the older scripts: `server` (or `server_id`), `status` for the
// state, `timestamp` for updated_at, a `last_build` with `id` and `completed_at`, and a
// `system` block of the older metrics. Other fields (ip, capabilities, last_package, ...)
// stay as they are.
import { BUILDER_STATES } from '../../schemas/status.js';
import { changeLog, isObject, rename, type Json } from './changes.js';
import { moveLegacySystem, takeBuilderId } from './heartbeat.js';
import { convertTime, toIsoUtc } from './timestamps.js';
import type { LegacyConverter } from './types.js';

const STATE_WORDS: Record<string, (typeof BUILDER_STATES)[number]> = {
  busy: 'building',
  running: 'building',
  completed: 'success',
  error: 'failed',
};

const BUILD_OUTCOMES: Record<string, string> = { success: 'success', completed: 'success', failed: 'failed', failure: 'failed', error: 'failed', cancelled: 'cancelled' };

export const convertLegacyStatus: LegacyConverter = (json, ctx) => {
  if (!isObject(json)) return undefined;
  const log = changeLog();
  const doc: Json = { ...json };
  takeBuilderId(doc, ctx, log);
  if (doc.state === undefined && typeof doc.status === 'string') {
    const word = doc.status.toLowerCase();
    const state = (BUILDER_STATES as readonly string[]).includes(word) ? word : (STATE_WORDS[word] ?? 'idle');
    if (state !== word) {
      doc.legacy_state = doc.status;
      log.name('states mapped (the original kept in legacy_state):', [`${doc.status} -> ${state}`]);
    } else {
      log.tally('"status" renamed "state"');
    }
    doc.state = state;
    delete doc.status;
  }
  if (rename(doc, 'timestamp', 'updated_at')) log.tally('"timestamp" renamed "updated_at"');
  if (doc.updated_at == null || !convertTime(doc, 'updated_at', log)) return undefined;
  if (doc.current_job === undefined) {
    doc.current_job = null;
    log.tally('missing current_job set to null');
  } else if (isObject(doc.current_job)) {
    doc.legacy_current_job = doc.current_job;
    doc.current_job = typeof doc.current_job.id === 'string' ? doc.current_job.id : null;
    log.tally('current_job object reduced to its id (the original kept in legacy_current_job)');
  }
  if (doc.last_build === undefined) {
    doc.last_build = null;
    log.tally('missing last_build set to null');
  } else if (isObject(doc.last_build) && doc.last_build.finished_at === undefined) {
    const { id, completed_at, status, ...rest } = doc.last_build;
    const finished = toIsoUtc(completed_at);
    const outcome = typeof status === 'string' ? BUILD_OUTCOMES[status.toLowerCase()] : undefined;
    if (finished && outcome) {
      doc.last_build = { job: typeof id === 'string' ? id : null, status: outcome, finished_at: finished, ...rest };
      log.tally('last_build: "id" -> "job", "completed_at" -> "finished_at"');
    } else {
      doc.legacy_last_build = doc.last_build;
      doc.last_build = null;
      log.tally('last_build without a finish time or outcome kept in legacy_last_build');
    }
  }
  moveLegacySystem(doc, log);
  return { value: doc, changes: log.list(), removes: [] };
};
