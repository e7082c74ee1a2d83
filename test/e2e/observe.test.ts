// Watching the fleet with the built CLI on a real fleet: `log` (the audit trail from
// commit trailers), `metrics` (a builder's history from its heartbeat ref) and
// `status --watch` (until interrupted).
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, gitSync, makeFleet, pushHandEdit, pushHeartbeatRef, REPO_ROOT, runCli, type Fleet } from '../helpers/fleet.js';

let fleet: Fleet | undefined;
afterEach(() => fleet?.cleanup());

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const iso = (offsetMs: number): string => new Date(Date.now() + offsetMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
const cliOf = (f: Fleet) => (as: string, args: string[]) => runCli(['--store', f.stores[as] ?? f.stores.build1!, '--as', as, ...args]);

interface Event {
  commit: string;
  at: string;
  op: string;
  actor: string | null;
  summary: string;
  details: Record<string, string>;
}

describe('buildctl log', () => {
  it("shows who did what: claims, completions, lock takes and breaks, housekeeping's requeues; filters by builder, op and time", async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const f = fleet;
    const cli = cliOf(f);
    const first = (await cli('build1', ['job', 'add', '--type', 'build'])).stdout.trim();
    const second = (await cli('build1', ['job', 'add', '--type', 'test'])).stdout.trim();
    expect((await cli('build2', ['job', 'claim'])).code).toBe(0);
    expect((await cli('build2', ['job', 'complete', first])).code).toBe(0);
    expect((await cli('build2', ['job', 'claim'])).code).toBe(0);
    expect((await cli('build1', ['lock', 'acquire', 'deploy'])).code).toBe(0);
    expect((await cli('build2', ['lock', 'break', 'deploy', '--reason', 'build1 is being reinstalled'])).code).toBe(0);
    pushHandEdit(f, { 'notes.txt': 'a hand commit has no trailers\n' });
    // build2 beats once and goes silent: build1 sees the beat (status), and six minutes later
    // on its own clock its tick requeues build2's job (DESIGN.md, "Health and time").
    pushHeartbeatRef(f, 'build2', { heartbeat: { id: 'build2', timestamp: iso(0) }, metrics: '' });
    expect((await cli('build1', ['status'])).code).toBe(0);
    const later = await runCli(['--store', f.stores.build1!, '--as', 'build1', 'agent', '--once'], { env: { BUILDCTL_TEST_CLOCK_OFFSET: '+6m' } });
    expect(later.code, later.stderr).toBe(0);

    const all = await cli('build1', ['log', '--json']);
    expect(all.code).toBe(0);
    const events = (JSON.parse(all.stdout) as { events: Event[] }).events;
    expect(events.map((e) => [e.op, e.actor])).toEqual([
      ['store.init', 'operator'],
      ['builder.add', 'operator'],
      ['job.add', 'build1'],
      ['job.add', 'build1'],
      ['job.claim', 'build2'],
      ['job.complete', 'build2'],
      ['job.claim', 'build2'],
      ['lock.acquire', 'build1'],
      ['lock.break', 'build2'],
      ['housekeeping', 'build1'],
    ]);
    expect(events.every((e) => /^[0-9a-f]{40}$/.test(e.commit) && !Number.isNaN(Date.parse(e.at)))).toBe(true);
    expect(events[5]?.summary).toBe(`job.complete ${first}`);
    expect(events[8]?.summary).toBe('lock.break deploy held by build1 token 1: build1 is being reinstalled');
    expect(events[9]?.details).toMatchObject({ Requeued: second, 'Dead-Builders': 'build2' });

    const byBuilder = (JSON.parse((await cli('build1', ['log', '--builder', 'build2', '--json'])).stdout) as { events: Event[] }).events;
    expect(byBuilder.map((e) => e.op)).toEqual(['job.claim', 'job.complete', 'job.claim', 'lock.break']);
    const locks = (JSON.parse((await cli('build1', ['log', '--op', 'lock', '--json'])).stdout) as { events: Event[] }).events;
    expect(locks.map((e) => e.op)).toEqual(['lock.acquire', 'lock.break']);
    const claims = (JSON.parse((await cli('build1', ['log', '--op', 'job.claim', '--since', '1h', '--json'])).stdout) as { events: Event[] }).events;
    expect(claims).toHaveLength(2);
    const future = await cli('build1', ['log', '--since', '2099-01-01']);
    expect([future.code, future.stdout]).toEqual([0, 'no events match\n']);

    const text = await cli('build1', ['log', '--limit', '2']);
    expect(text.code).toBe(0);
    const lines = text.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^TIME\s+ACTOR\s+OP\s+WHAT$/);
    expect(lines[1]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+build2\s+lock\.break\s+deploy held by build1 token 1: build1 is being reinstalled$/);
    expect(lines[2]).toMatch(new RegExp(`housekeeping\\s+requeued 1 job, .*dead: build2.*; requeued: ${second}; dead builders: build2$`));
    expect(text.stderr).toContain('showing the newest 2 of 10 events');

    const bad = await cli('build1', ['log', '--since', 'yesterday']);
    expect([bad.code, bad.stderr.split('\n')[0]]).toEqual([2, 'buildctl: invalid --since "yesterday"']);
  });
});

describe('buildctl metrics', () => {
  const line = (value: unknown) => `${JSON.stringify(value)}\n`;

  it('reads samples and hourly summaries from the heartbeat ref, since a time, with min / avg / max per metric', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const cli = cliOf(fleet);
    const hour = (hoursAgo: number, n: number, cpu: [number, number, number]) => ({ kind: 'hour', t: iso(-hoursAgo * HOUR).replace(/:\d\d:\d\dZ$/, ':00:00Z'), n, cpu, mem: [10, 20, 30], disk: [50, 50, 50], load: [0, 1, 2] });
    const sample = (minutesAgo: number, cpu: number) => ({ kind: 'sample', t: iso(-minutesAgo * MINUTE), cpu, mem: 40, disk: 49, load: 3 });
    pushHeartbeatRef(fleet, 'build1', {
      heartbeat: { id: 'build1', timestamp: iso(0) },
      metrics: [hour(30, 60, [1, 1, 1]), hour(5, 60, [0, 10, 90]), hour(3, 30, [5, 20, 60]), sample(50, 30), sample(20, 40), sample(1, 50)].map(line).join(''),
    });

    const day = await cli('build1', ['metrics', 'build1', '--json']);
    expect(day.code).toBe(0);
    const m = JSON.parse(day.stdout).metrics;
    expect(m).toMatchObject({ builder: 'build1', source: 'heartbeat/build1:build1/metrics.jsonl', skipped: [] });
    // The hour 30 h ago is outside the default 24 h.
    expect(m.hours).toHaveLength(2);
    expect(m.samples.map((s: { cpu: number }) => s.cpu)).toEqual([30, 40, 50]);
    // avg = (10*60 + 20*30 + 30 + 40 + 50) / 93, min and max over hours and samples.
    expect(m.summary.cpu).toEqual({ now: 50, min: 0, avg: Math.round(((10 * 60 + 20 * 30 + 120) / 93) * 10) / 10, max: 90 });
    expect(m.summary.load).toEqual({ now: 3, min: 0, avg: expect.any(Number), max: 3 });

    const recent = JSON.parse((await cli('build1', ['metrics', 'build1', '--since', '30m', '--json'])).stdout).metrics;
    expect(recent.samples.map((s: { cpu: number }) => s.cpu)).toEqual([40, 50]);
    expect(recent.hours).toEqual([]);

    const text = await cli('build1', ['metrics', 'build1', '--since', '7d']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^build1: 3 one-minute samples and 3 hourly summaries, from \d{4}-\d\d-\d\d \d\d:00:00Z to /);
    expect(text.stdout).toMatch(/\ncpu %\s+50\s+0\s+\S+\s+90\n/);
    expect(text.stdout).not.toMatch(/[▁-█]/); // sparklines only on a terminal

    const none = await cli('build1', ['metrics', 'build2']);
    expect([none.code, none.stdout.trim()]).toEqual([0, 'build2 has published no metrics yet (its agent writes them with every heartbeat)']);
    const unknown = await cli('build1', ['metrics', 'build9']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('build9');
  });

  it("shows a real heartbeat's sample", async () => {
    fleet = await makeFleet(['build1']);
    const cli = cliOf(fleet);
    expect((await cli('build1', ['heartbeat'])).code).toBe(0);
    const m = JSON.parse((await cli('build1', ['metrics', 'build1', '--json'])).stdout).metrics;
    expect(m.samples).toHaveLength(1);
    expect(m.summary.disk.now).toBeGreaterThan(0);
  });
});

describe('buildctl status --watch', () => {
  it('draws a frame per interval as plain lines when not on a terminal, and exits 0 on SIGINT', async () => {
    fleet = await makeFleet(['build1']);
    const child = spawn(process.execPath, [CLI, '--store', fleet.stores.build1!, '--as', 'build1', 'status', '--watch', '--interval', '1s'], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: fleet.root, GIT_CONFIG_GLOBAL: '/dev/null' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const frames = () => stdout.split('\n').filter((l) => l.startsWith('buildctl status, every 1s')).length;
    const deadline = Date.now() + 45_000;
    while (frames() < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(frames()).toBeGreaterThanOrEqual(2);
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(stdout).toContain('Fleet: 1 builder (0 healthy, 0 stale, 0 dead, 1 unknown)');
    expect(stdout).not.toContain('\u001b'); // no control sequences in a pipe
    expect(gitSync(fleet.remote, ['rev-list', '--count', 'main']).trim()).toBe('2'); // watching writes nothing
  });

  it('refuses an interval under a second', async () => {
    fleet = await makeFleet(['build1']);
    const run = await cliOf(fleet)('build1', ['status', '--watch', '--interval', '200ms']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('hint: use --interval 1s or longer');
  });
});
