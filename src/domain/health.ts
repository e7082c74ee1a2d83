import type { Health } from '../schemas/dashboard.js';
import type { Settings } from './config.js';

/** Heartbeat age decides: healthy up to stale_after, stale up to dead_after, then dead. */
export const healthOf = (heartbeatAt: string | undefined, now: Date, settings: Pick<Settings, 'staleAfterMs' | 'deadAfterMs'>): Health => {
  if (heartbeatAt === undefined) return 'unknown';
  const age = now.getTime() - Date.parse(heartbeatAt);
  if (Number.isNaN(age)) return 'unknown';
  if (age <= settings.staleAfterMs) return 'healthy';
  if (age <= settings.deadAfterMs) return 'stale';
  return 'dead';
};
