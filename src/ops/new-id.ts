import { randomBytes } from 'node:crypto';

/**
 * A new job or message id: `job_<epoch seconds>_<6 hex>`, in the style the fleet's older
 * scripts used, sortable by time and unique enough for a fleet (the domain refuses a
 * duplicate anyway).
 */
export const newId = (prefix: 'job' | 'msg', now: Date): string =>
  `${prefix}_${Math.floor(now.getTime() / 1000)}_${randomBytes(3).toString('hex')}`;
