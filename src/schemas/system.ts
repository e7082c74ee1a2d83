import * as z from 'zod/mini';
import { nonNegative } from './common.js';

/** Free and total space of one file system a builder uses (the store's, the build workspace's). */
export const diskUse = z.looseObject({
  /** The path it was measured at. */
  path: z.string(),
  /** The mount point that path lives on. */
  mount: z.string(),
  free_gb: nonNegative,
  total_gb: nonNegative,
});

/** One reading of a builder's system, as heartbeat.json and status.json carry it. */
export const systemSnapshot = z.looseObject({
  cpu_pct: nonNegative,
  cpu_count: z.optional(z.int().check(z.gte(1))),
  cpu_model: z.optional(z.string()),
  memory_used_mb: nonNegative,
  memory_total_mb: nonNegative,
  swap_used_mb: z.optional(nonNegative),
  swap_total_mb: z.optional(nonNegative),
  /** Free space on the store's file system (also the first of `disks`). */
  disk_free_gb: nonNegative,
  disk_total_gb: z.optional(nonNegative),
  /** The store's file system and the build workspace's (BUILDCTL_WORKSPACE), one per mount. */
  disks: z.optional(z.array(diskUse)),
  load_avg: z.tuple([nonNegative, nonNegative, nonNegative]),
  uptime_seconds: nonNegative,
  /** A container runtime installed on the host (docker, podman), or null. */
  container_runtime: z.optional(z.nullable(z.string())),
});

export type DiskUse = z.infer<typeof diskUse>;
export type SystemSnapshot = z.infer<typeof systemSnapshot>;

/** .git/buildctl/cpu-counters.json: the kernel's cumulative CPU counters at this clone's last beat. */
export const cpuCounters = z.object({ busy: z.number().check(z.gte(0)), idle: z.number().check(z.gte(0)) });
export type CpuCounters = z.infer<typeof cpuCounters>;
