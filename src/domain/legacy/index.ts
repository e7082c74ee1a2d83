// The legacy converters by document kind (the names of DOCUMENT_KINDS in schemas/layout.ts).
import { convertLegacyDashboard } from './dashboard.js';
import { convertLegacyHeartbeat } from './heartbeat.js';
import { convertLegacyJobs } from './jobs.js';
import { convertLegacyLocks } from './locks.js';
import { convertLegacyMessages } from './messages.js';
import { convertLegacyStatus } from './status.js';
import type { LegacyConverter } from './types.js';

export type { Converted, LegacyContext, LegacyConverter } from './types.js';

const CONVERTERS: Readonly<Record<string, LegacyConverter>> = {
  messages: convertLegacyMessages,
  messages_archive: convertLegacyMessages,
  jobs: convertLegacyJobs,
  jobs_archive: convertLegacyJobs,
  locks: convertLegacyLocks,
  status: convertLegacyStatus,
  heartbeat: convertLegacyHeartbeat,
  health_dashboard: convertLegacyDashboard,
};

export const legacyConverter = (kind: string): LegacyConverter | undefined => CONVERTERS[kind];
