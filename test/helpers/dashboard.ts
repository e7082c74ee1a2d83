// For the dashboard's tests, its screenshots and its benchmark: a `buildctl serve` process,
// the system's Chromium driven by playwright-core (no browser download), and a builder's
// metrics history to draw.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import type { MetricsLine } from '../../src/schemas/metrics.js';
import { CLI } from './fleet.js';

export const CHROMIUM = '/usr/bin/chromium';

export interface Served {
  url: string;
  process: ChildProcess;
  stderr: () => string;
  stop: () => Promise<void>;
}

/** Starts the built CLI's `serve` on a free loopback port; resolves once it prints its address. */
export const startServe = (store: string, args: string[] = [], env: Record<string, string> = {}): Promise<Served> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, '--store', store, 'serve', '--port', '0', ...args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmpdir(), GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => reject(new Error(`buildctl serve did not start: ${stderr}`)), 60_000);
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const url = /on (http:\/\/\S+\/) /.exec(stdout)?.[1];
      if (!url) return;
      clearTimeout(timer);
      resolve({
        url,
        process: child,
        stderr: () => stderr,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      });
    });
    child.on('exit', (code) => reject(new Error(`buildctl serve exited ${code}: ${stderr}`)));
  });

/** Headless Chromium from Debian's package, with a fresh profile; fails saying how to install it. */
export const launchBrowser = async (viewport = { width: 1180, height: 760 }): Promise<BrowserContext> => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium); .ci/run does`);
  const { chromium } = await import('playwright-core');
  return chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'buildctl-chromium-')), {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
};

/** A week of believable metrics ending now: hourly summaries, then the last hour's samples. */
export const syntheticMetrics = (now: number, seed = 1): string => {
  const HOUR = 3_600_000;
  const wave = (t: number, base: number, amp: number) => Math.max(0, base + amp * Math.sin(t / (5 * HOUR) + seed) + (amp / 3) * Math.sin(t / (37 * 60_000) + seed * 2) + (amp / 4) * Math.sin(t / (3 * 60_000) + seed * 3));
  const r1 = (v: number) => Math.round(v * 10) / 10;
  const lines: MetricsLine[] = [];
  for (let h = 7 * 24; h >= 2; h--) {
    const t = Math.floor((now - h * HOUR) / HOUR) * HOUR;
    const cpu = wave(t, 45, 30);
    const mem = wave(t, 55, 15);
    const disk = 120 - (7 * 24 - h) * 0.08;
    const load = wave(t, 2, 1.5);
    lines.push({ kind: 'hour', t: new Date(t).toISOString().replace('.000Z', 'Z'), n: 60, cpu: [r1(cpu * 0.4), r1(cpu), r1(Math.min(100, cpu * 1.6))], mem: [r1(mem * 0.9), r1(mem), r1(Math.min(100, mem * 1.1))], disk: [r1(disk - 0.2), r1(disk), r1(disk)], load: [r1(load * 0.5), r1(load), r1(load * 1.7)] });
  }
  for (let m = 59; m >= 0; m--) {
    const t = now - m * 60_000;
    lines.push({ kind: 'sample', t: new Date(t).toISOString(), cpu: r1(wave(t, 45, 30)), mem: r1(wave(t, 55, 15)), disk: r1(120 - 7 * 24 * 0.08), load: r1(wave(t, 2, 1.5)) });
  }
  return `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`;
};
