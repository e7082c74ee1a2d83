import type { Health } from '../schemas/dashboard.js';
import type { Settings } from './config.js';

/** An age decides: healthy up to stale_after, stale up to dead_after, then dead. */
export const classifyAge = (ageMs: number, settings: Pick<Settings, 'staleAfterMs' | 'deadAfterMs'>): Health => {
  if (Number.isNaN(ageMs)) return 'unknown';
  if (ageMs <= settings.staleAfterMs) return 'healthy';
  if (ageMs <= settings.deadAfterMs) return 'stale';
  return 'dead';
};

/**
 * Health by a heartbeat's own timestamp alone: for display where this clone has watched
 * nothing (domain/clocks.ts judges with what it watched; no action follows from this).
 */
export const healthOf = (heartbeatAt: string | undefined, now: Date, settings: Pick<Settings, 'staleAfterMs' | 'deadAfterMs'>): Health =>
  heartbeatAt === undefined ? 'unknown' : classifyAge(now.getTime() - Date.parse(heartbeatAt), settings);
