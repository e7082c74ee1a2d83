import * as z from 'zod/mini';
import { builderId, label, timestamp } from './common.js';

export const builderEntry = z.looseObject({
  id: builderId,
  host: z.optional(z.nullable(z.string())),
  ip: z.optional(z.nullable(z.string())),
  manager: z.optional(z.nullable(z.string())),
  labels: z._default(z.array(label), []),
  enabled: z._default(z.boolean(), true),
  added_at: z.optional(timestamp),
});

export const buildersDoc = z.looseObject({
  builders: z.array(builderEntry),
});

export type BuilderEntry = z.infer<typeof builderEntry>;
export type BuildersDoc = z.infer<typeof buildersDoc>;
