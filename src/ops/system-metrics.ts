// One reading of this host's system. Memory and uptime come from systeminformation; disk
// is statfs of the store's own file system; CPU is the busy share since the previous beat,
// from the kernel's cumulative counters kept between beats (a cron-run process has no
// earlier sample of its own, and systeminformation's currentLoad would report since boot).
import { cpus, loadavg } from 'node:os';
import { readFile, statfs, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { commonJsExports } from '../interop.js';
import type { SystemSnapshot } from '../schemas/system.js';

interface CpuCounters {
  busy: number;
  idle: number;
}

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

const cpuPercent = async (stateDir: string): Promise<number> => {
  const file = join(stateDir, 'cpu-counters.json');
  const now = readCounters();
  const previous = await readFile(file, 'utf8').then((t) => JSON.parse(t) as CpuCounters, () => undefined);
  await mkdir(stateDir, { recursive: true });
  await writeFile(file, JSON.stringify(now));
  const share = previous ? busyShare(previous, now) : undefined;
  if (share !== undefined) return share;
  // First beat (or the counters reset at a reboot): sample a short interval instead.
  await sleep(200);
  return busyShare(now, readCounters()) ?? 0;
};

export const collectSystemMetrics = async (storeDir: string, stateDir: string): Promise<SystemSnapshot> => {
  const si = commonJsExports(await import('systeminformation'));
  const [cpu, mem, time, disk] = await Promise.all([cpuPercent(stateDir), si.mem(), si.time(), statfs(storeDir)]);
  const gb = (bytes: number) => round1(bytes / 1e9);
  const load = loadavg();
  return {
    cpu_pct: round1(cpu),
    memory_used_mb: Math.round((mem.total - mem.available) / 1e6),
    memory_total_mb: Math.round(mem.total / 1e6),
    disk_free_gb: gb(disk.bavail * disk.bsize),
    disk_total_gb: gb(disk.blocks * disk.bsize),
    load_avg: [round1(load[0] ?? 0), round1(load[1] ?? 0), round1(load[2] ?? 0)],
    uptime_seconds: Math.round(Number(time.uptime)),
  };
};
