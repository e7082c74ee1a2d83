// One reading of this host's system for a heartbeat, from node:os, statfs and /proc: no
// child process, no dependency, well under a millisecond. What a build fleet looks at:
// CPU busy share (since the previous beat, from the kernel's cumulative counters kept
// between beats: a cron-run process has no earlier sample of its own), CPU count and
// model, memory and swap, load, uptime, free space on the store's file system and on the
// build workspace (BUILDCTL_WORKSPACE), and whether a container runtime is installed.
//
// systeminformation used to provide memory and uptime: its `time()` runs `date` and
// `ls -l /etc/localtime` in a shell on every call (about 114 ms of a beat), and importing
// it costs about 25 ms; nothing it offered here is beyond node:os and /proc.
import { cpus, freemem, loadavg, totalmem, uptime } from 'node:os';
import { readFile, realpath, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { cpuCounters, type CpuCounters, type DiskUse, type SystemSnapshot } from '../schemas/system.js';
import { writeFileAtomic } from '../store/atomic-write.js';


const readCounters = (): CpuCounters => {
  let busy = 0;
  let idle = 0;
  for (const cpu of cpus()) {
    const t = cpu.times;
    busy += t.user + t.nice + t.sys + t.irq;
    idle += t.idle;
  }
  return { busy, idle };
};

const busyShare = (from: CpuCounters, to: CpuCounters): number | undefined => {
  const busy = to.busy - from.busy;
  const total = busy + (to.idle - from.idle);
  return total > 0 && busy >= 0 ? (busy / total) * 100 : undefined;
};

const round1 = (value: number): number => Math.round(value * 10) / 10;

/**
 * CPU busy share since the previous beat of this clone. The first beat (or the first after
 * the counters reset at a reboot) reports the share since boot, which the next beat, a
 * minute later, replaces: no beat waits to sample.
 */
const cpuPercent = async (stateDir: string, now: CpuCounters): Promise<number> => {
  const file = join(stateDir, 'cpu-counters.json');
  // This clone's own state, yet read with its schema: a file cut short by a crash (or
  // anything else in it) is no previous reading, and the beat goes on.
  const text = await readFile(file, 'utf8').catch(() => undefined);
  let previous: CpuCounters | undefined;
  try {
    const parsed = text === undefined ? undefined : cpuCounters.safeParse(JSON.parse(text));
    previous = parsed?.success ? parsed.data : undefined;
  } catch {
    previous = undefined;
  }
  await writeFileAtomic(file, JSON.stringify(now));
  return (previous ? busyShare(previous, now) : undefined) ?? busyShare({ busy: 0, idle: 0 }, now) ?? 0;
};

/** Fields of /proc/meminfo in kB (Linux); empty elsewhere. */
const meminfo = async (): Promise<Map<string, number>> => {
  const text = await readFile('/proc/meminfo', 'utf8').catch(() => '');
  const fields = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^(\w+):\s+(\d+)/.exec(line);
    if (match) fields.set(match[1]!, Number(match[2]));
  }
  return fields;
};

/** Mount points (Linux), longest first: the mount a path lives on is the first that holds it. */
const mountPoints = async (): Promise<string[]> => {
  const text = await readFile('/proc/self/mounts', 'utf8').catch(() => '');
  const points = text
    .split('\n')
    .map((line) => line.split(' ')[1])
    .filter((point): point is string => point !== undefined && point.startsWith('/'))
    .map((point) => point.replace(/\\040/g, ' '));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
};

const mountOf = (path: string, points: readonly string[]): string =>
  points.find((point) => point === '/' || path === point || path.startsWith(`${point}/`)) ?? '/';

const diskUse = async (path: string, points: readonly string[]): Promise<DiskUse | undefined> => {
  const real = await realpath(path).catch(() => undefined);
  if (real === undefined) return undefined;
  const fs = await statfs(real).catch(() => undefined);
  if (!fs) return undefined;
  return { path, mount: mountOf(real, points), free_gb: round1((fs.bavail * fs.bsize) / 1e9), total_gb: round1((fs.blocks * fs.bsize) / 1e9) };
};

const RUNTIMES: ReadonlyArray<[string, string[]]> = [
  ['docker', ['/var/run/docker.sock', '/run/docker.sock', '/usr/bin/docker', '/usr/local/bin/docker']],
  ['podman', ['/run/podman/podman.sock', '/usr/bin/podman', '/usr/local/bin/podman']],
];

/** The first container runtime installed on this host (its socket or its binary), if any. */
const containerRuntime = async (): Promise<string | null> => {
  for (const [name, paths] of RUNTIMES) {
    for (const path of paths) if (await stat(path).then(() => true, () => false)) return name;
  }
  return null;
};

/**
 * `workspaces`: the build workspace's paths (BUILDCTL_WORKSPACE, separated by ":"), whose
 * file systems are reported beside the store's, one entry per mount.
 */
export const collectSystemMetrics = async (storeDir: string, stateDir: string, workspaces: readonly string[] = []): Promise<SystemSnapshot> => {
  const counters = readCounters();
  const list = cpus();
  const [cpu, mem, points, runtime] = await Promise.all([cpuPercent(stateDir, counters), meminfo(), mountPoints(), containerRuntime()]);
  const uses = (await Promise.all([storeDir, ...workspaces].map((path) => diskUse(path, points)))).filter((use): use is DiskUse => use !== undefined);
  const disks = [...new Map(uses.map((use) => [use.mount, use])).values()];
  const store = uses[0];
  // MB as before (bytes / 1e6): /proc/meminfo's "kB" are KiB.
  const mb = (kib: number): number => Math.round((kib * 1024) / 1e6);
  const total = mem.get('MemTotal') ?? totalmem() / 1024;
  const available = mem.get('MemAvailable') ?? freemem() / 1024;
  const swapTotal = mem.get('SwapTotal');
  const load = loadavg();
  return {
    cpu_pct: round1(cpu),
    cpu_count: list.length,
    ...(list[0]?.model ? { cpu_model: list[0].model.trim() } : {}),
    memory_used_mb: mb(total - available),
    memory_total_mb: mb(total),
    ...(swapTotal === undefined ? {} : { swap_used_mb: mb(swapTotal - (mem.get('SwapFree') ?? swapTotal)), swap_total_mb: mb(swapTotal) }),
    disk_free_gb: store?.free_gb ?? 0,
    disk_total_gb: store?.total_gb ?? 0,
    disks,
    load_avg: [round1(load[0] ?? 0), round1(load[1] ?? 0), round1(load[2] ?? 0)],
    uptime_seconds: Math.round(uptime()),
    container_runtime: runtime,
  };
};
