// The agent as cron and systemd run it: the built CLI, real git, real signals.
import { spawn } from 'node:child_process';
import { readFileSync, renameSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LOG_ROTATE_BYTES } from '../../src/ops/agent.js';
import { CLI, commitCount, gitSync, makeFleet, runCli, type Fleet } from '../helpers/fleet.js';

let fleet: Fleet | undefined;
afterEach(() => fleet?.cleanup());

const logLines = (file: string): Array<Record<string, unknown>> =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

/** A clock offset that puts this process 30 s into the next minute whose number (UTC) is even, or odd. */
const offsetIntoMinute = (even: boolean): string => {
  const now = Date.now();
  let minute = Math.floor(now / 60_000) + 2;
  if ((minute % 2 === 0) !== even) minute++;
  return `+${minute * 60_000 + 30_000 - now}ms`;
};

describe('the fleet\'s schedule reaches every agent', () => {
  it('agent --once --if-scheduled (the crontab line) ticks only in the minutes the schedule selects', async () => {
    fleet = await makeFleet(['build1']);
    const f = fleet;
    expect((await runCli(['--store', f.stores.build1!, '--as', 'build1', 'config', 'set', 'schedule', '*/2 * * * *'])).code).toBe(0);
    const log = join(f.root, 'agent.log');
    const once = (even: boolean) =>
      runCli(['--store', f.stores.build1!, '--as', 'build1', 'agent', '--once', '--if-scheduled', '--log-file', log], { env: { BUILDCTL_TEST_CLOCK_OFFSET: offsetIntoMinute(even) } });
    const skipped = await once(false);
    expect(skipped.code, skipped.stderr).toBe(0);
    expect(gitSync(f.remote, ['for-each-ref', 'refs/heads/heartbeat/'])).toBe('');
    const ticked = await once(true);
    expect(ticked.code, ticked.stderr).toBe(0);
    expect(gitSync(f.remote, ['for-each-ref', 'refs/heads/heartbeat/'])).toContain('refs/heads/heartbeat/build1');
    expect(logLines(log).map((l) => l.msg)).toEqual(['tick']);
  });

  it('the long-running agent follows a changed schedule after its next tick', async () => {
    fleet = await makeFleet(['build1']);
    const f = fleet;
    const as1 = (args: string[]) => runCli(['--store', f.stores.build1!, '--as', 'build1', ...args]);
    expect((await as1(['config', 'set', 'schedule', '* * * * * *'])).code).toBe(0); // every second
    const log = join(f.root, 'agent.log');
    const child = spawn(process.execPath, [CLI, '--store', f.stores.build1!, '--as', 'build1', 'agent', '--log-file', log], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: f.root, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', BUILDCTL_ID_FILE: join(f.root, 'none') },
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const waitFor = async (what: (lines: Array<Record<string, unknown>>) => boolean, label: string) => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const lines = (() => {
          try {
            return logLines(log);
          } catch {
            return [];
          }
        })();
        if (what(lines)) return lines;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}: ${JSON.stringify(lines.map((l) => l.msg))}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    try {
      await waitFor((lines) => lines.some((l) => l.msg === 'tick'), 'a first tick');
      expect((await as1(['config', 'set', 'schedule', '*/2 * * * * *'])).code).toBe(0);
      const lines = await waitFor((l) => l.some((x) => x.msg === 'schedule changed: rescheduled'), 'the reschedule');
      expect(lines.find((l) => l.msg === 'schedule changed: rescheduled')).toMatchObject({ schedule: '*/2 * * * * *', was: '* * * * * *' });
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});

describe('buildctl agent', () => {
  it('--once does one tick, logs one JSON line, and a second tick adds no commit to main', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const log = join(fleet.root, 'agent.log');
    const args = ['--store', fleet.stores.build1!, '--as', 'build1', 'agent', '--once', '--log-file', log];
    expect((await runCli(args)).code).toBe(0);
    const commits = commitCount(fleet.remote);
    expect((await runCli(args)).code).toBe(0);
    expect(commitCount(fleet.remote)).toBe(commits);
    const lines = logLines(log);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ msg: 'tick', builder: 'build1', exit_code: 0, housekeeping: { changed: true, dashboard_changed: true } });
    expect(lines[1]).toMatchObject({ msg: 'tick', exit_code: 0, housekeeping: { changed: false, commit: null } });
  });

  it('moves a log that has grown past 10 MiB to agent.log.1 and starts a new one', async () => {
    fleet = await makeFleet(['build1']);
    const log = join(fleet.root, 'agent.log');
    writeFileSync(`${log}.1`, 'the older rotation, replaced\n');
    writeFileSync(log, '{"msg":"an old tick"}\n');
    truncateSync(log, LOG_ROTATE_BYTES); // as large as the limit
    const args = ['--store', fleet.stores.build1!, '--as', 'build1', 'agent', '--once', '--log-file', log];
    expect((await runCli(args)).code).toBe(0);
    expect(statSync(`${log}.1`).size).toBe(LOG_ROTATE_BYTES);
    expect(readFileSync(`${log}.1`, 'utf8').startsWith('{"msg":"an old tick"}')).toBe(true);
    expect(logLines(log)).toEqual([expect.objectContaining({ msg: 'tick', exit_code: 0 })]);
    // Under the limit: appended as before.
    expect((await runCli(args)).code).toBe(0);
    expect(logLines(log)).toHaveLength(2);
    expect(statSync(`${log}.1`).size).toBe(LOG_ROTATE_BYTES);
  });

  it('--once exits 4 when the remote is unreachable, and the next tick carries on', async () => {
    fleet = await makeFleet(['build1']);
    const args = ['--store', fleet.stores.build1!, '--as', 'build1', 'agent', '--once'];
    renameSync(fleet.remote, `${fleet.remote}.away`);
    const down = await runCli(args);
    expect(down.code).toBe(4);
    const line = JSON.parse(down.stderr.trim().split('\n').pop()!);
    expect(line).toMatchObject({ msg: 'tick failed', exit_code: 4, heartbeat: { code: 'remote_unreachable' }, housekeeping: { code: 'remote_unreachable' } });
    renameSync(`${fleet.remote}.away`, fleet.remote);
    expect((await runCli(args)).code).toBe(0);
    expect(gitSync(fleet.remote, ['rev-parse', '--verify', 'heartbeat/build1']).trim()).toMatch(/^[0-9a-f]{40}$/);
  });

  it('long-running: beats on a fast schedule and stops cleanly on SIGTERM', async () => {
    fleet = await makeFleet(['build1']);
    const log = join(fleet.root, 'agent.log');
    const child = spawn(process.execPath, [CLI, '--store', fleet.stores.build1!, '--as', 'build1', 'agent', '--schedule', '*/1 * * * * *', '--log-file', log], {
      env: { PATH: process.env.PATH ?? '', HOME: fleet.root, GIT_CONFIG_GLOBAL: '/dev/null' },
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 30_000;
    const ticks = () => {
      try {
        return logLines(log).filter((l) => l.msg === 'tick').length;
      } catch {
        return 0;
      }
    };
    while (ticks() < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const lines = logLines(log);
    expect(lines.filter((l) => l.msg === 'tick').length).toBeGreaterThanOrEqual(2);
    expect(lines.at(-1)).toMatchObject({ msg: 'agent stopped', signal: 'SIGTERM' });
    // Each beat replaced the ref: still one commit on it.
    expect(commitCount(fleet.remote, 'heartbeat/build1')).toBe(1);
  });

  it('refuses an invalid schedule with exit 2', async () => {
    fleet = await makeFleet(['build1']);
    const run = await runCli(['--store', fleet.stores.build1!, '--as', 'build1', 'agent', '--schedule', 'every minute']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('invalid schedule "every minute"');
  });
});
