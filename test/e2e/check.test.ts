// `buildctl check` against a real fleet: each condition it reports, set up the way the
// fleet would show it (a builder's heartbeat ref, documents on main, an unreachable
// remote), with the monitoring exit code it must give. Time passes on build1 (the
// checking clone) through the test-only BUILDCTL_TEST_CLOCK_OFFSET, and only forward:
// silence and expiry are what this clone itself watched (DESIGN.md, "Health and time").
import { renameSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFleet, pushHandEdit, pushHeartbeatRef, runCli, type Fleet } from '../helpers/fleet.js';

let fleet: Fleet;
const MINUTE = 60_000;
const iso = (offsetMs: number): string => new Date(Date.now() + offsetMs).toISOString();

/** How far build1's clock (every CLI run of this file) is ahead of the real one, in ms. */
let clock = 0;
const cli = (args: string[], as = 'build1') =>
  runCli(['--store', fleet.stores.build1!, '--as', as, ...args], { env: { BUILDCTL_TEST_CLOCK_OFFSET: `+${clock}ms` } });

/** A heartbeat of `id`, stamped `offsetMs` from now on the real clock (its own clock). */
const beat = (id: string, offsetMs: number) => {
  const t = iso(offsetMs);
  pushHeartbeatRef(fleet, id, {
    heartbeat: { id, timestamp: t, host: id, pid: 1, version: '0.1.0' },
    metrics: `${JSON.stringify({ kind: 'sample', t: t.replace(/\.\d{3}Z$/, 'Z'), cpu: 1, mem: 2, disk: 3, load: 0.1 })}\n`,
  });
};
/** Both builders beat now, on clocks that agree with build1's. */
const alive = () => {
  beat('build1', clock);
  beat('build2', clock);
};

const check = async (options: { beat?: boolean } = {}) => {
  if (options.beat !== false) alive();
  const run = await cli(['check', '--json']);
  const { check: report } = JSON.parse(run.stdout) as { check: { status: string; exit_code: number; summary: string; findings: Array<{ severity: string; code: string; subject: string }> } };
  expect(report.exit_code).toBe(run.code);
  return { code: run.code, status: report.status, codes: report.findings.map((f) => `${f.severity}:${f.code}:${f.subject}`), summary: report.summary };
};

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
const job = (fields: Record<string, unknown>) => ({ type: 'build', priority: 5, status: 'queued', assigned_to: null, attempts: 0, max_attempts: 3, created_at: iso(-10 * 60 * MINUTE), ...fields });

beforeAll(async () => {
  fleet = await makeFleet(['build1', 'build2']);
  expect((await cli(['heartbeat'])).code).toBe(0);
  beat('build2', 0);
});
afterAll(() => fleet.cleanup());

describe('buildctl check', () => {
  it('a healthy fleet: OK on one line, exit 0', async () => {
    const run = await cli(['check']);
    expect([run.code, run.stdout]).toEqual([0, 'OK: 2 builders healthy, 0 jobs running, 0 queued\n']);
  });

  it('builders: silent (warning), stale (warning), dead (critical), a clock ahead (warning); a disabled one is not checked', async () => {
    expect((await cli(['builder', 'add', 'build3'])).code).toBe(0);
    expect(await check()).toMatchObject({ code: 1, status: 'warning', codes: ['warning:builder_silent:build3'] });
    expect((await cli(['builder', 'add', 'build3', '--disabled'])).code).toBe(0);
    expect((await check()).code).toBe(0);

    expect((await check()).code).toBe(0); // a look: both beat just now
    clock += 4 * MINUTE;
    beat('build1', clock);
    // build2 has not beaten for 4 minutes of build1's own watch: past stale_after (3m), not dead_after (5m)
    expect(await check({ beat: false })).toMatchObject({ code: 1, codes: ['warning:builder_stale:build2'] });
    clock += 6 * MINUTE;
    beat('build1', clock);
    const dead = await check({ beat: false });
    expect(dead).toMatchObject({ code: 2, status: 'critical', codes: ['critical:builder_dead:build2'] });
    expect(dead.summary).toMatch(/^CRITICAL: build2 dead: last heartbeat 10m ago$/);
    // A new beat stamped ten minutes ahead of build1's clock: alive, and its clock is ahead.
    beat('build1', clock);
    beat('build2', clock + 10 * MINUTE);
    expect(await check({ beat: false })).toMatchObject({ code: 1, codes: ['warning:clock_skew:build2'] });
    // A beat stamped ten minutes behind, seen between two looks: behind, and still alive.
    beat('build1', clock);
    beat('build2', clock - 10 * MINUTE);
    expect(await check({ beat: false })).toMatchObject({ code: 1, codes: ['warning:clock_skew:build2'] });
    expect((await check()).code).toBe(0);
  });

  it('jobs: dead (warning), running long without a timeout (warning), past its own timeout (critical)', async () => {
    pushHandEdit(fleet, { 'coordination/jobs.json': json({ jobs: [job({ id: 'job-dead', status: 'dead', attempts: 3, completed_at: iso(-MINUTE), result: { reason: 'build2 died' } })] }) });
    expect(await check()).toMatchObject({ code: 1, codes: ['warning:job_dead:job-dead'] });
    pushHandEdit(fleet, { 'coordination/jobs.json': json({ jobs: [job({ id: 'job-long', status: 'running', assigned_to: 'build1', attempts: 1, started_at: iso(-7 * 60 * MINUTE) })] }) });
    expect(await check()).toMatchObject({ code: 1, codes: ['warning:job_long_running:job-long'] });
    pushHandEdit(fleet, { 'coordination/jobs.json': json({ jobs: [job({ id: 'job-over', status: 'running', assigned_to: 'build1', attempts: 1, timeout: '1h', started_at: iso(-2 * 60 * MINUTE) })] }) });
    expect(await check()).toMatchObject({ code: 2, codes: ['critical:job_overdue:job-over'] });
    // The threshold is a setting.
    pushHandEdit(fleet, { 'coordination/jobs.json': json({ jobs: [job({ id: 'job-long', status: 'running', assigned_to: 'build1', attempts: 1, started_at: iso(-7 * 60 * MINUTE) })] }) });
    expect((await cli(['config', 'set', 'check_job_running', '8h'])).code).toBe(0);
    expect((await check()).code).toBe(0);
    pushHandEdit(fleet, { 'coordination/jobs.json': json({ jobs: [] }) });
  });

  it('an expired lock nobody reaped (warning), a message awaiting an ack too long (warning)', async () => {
    // A 30 s lock, stamped by its holder's clock (20 minutes behind: it "expired" long ago).
    const lock = { name: 'deploy', owner: 'build2', token: 4, acquired_at: iso(-20 * MINUTE), renewed_at: iso(-20 * MINUTE), expires_at: iso(-20 * MINUTE + 30_000) };
    pushHandEdit(fleet, { 'coordination/locks.json': json({ locks: [lock], last_token: 4 }) });
    expect((await check()).code).toBe(0); // first seen now: 30 s left by this clone's watch
    clock += 40_000;
    // Just expired by this clone's watch: housekeeping's next tick reaps it, no finding yet.
    expect((await check()).code).toBe(0);
    clock += 3 * MINUTE;
    expect(await check()).toMatchObject({ code: 1, codes: ['warning:lock_expired:deploy'] });
    pushHandEdit(fleet, { 'coordination/locks.json': json({ locks: [], last_token: 4 }) });

    const message = { id: 'msg-old', from: 'build1', to: ['build2'], type: 'request', subject: 'rotate keys', body: 'rotate keys', created_at: iso(-2 * 60 * MINUTE), ack_required: true, reply_to: null, read_by: {}, acked_by: {} };
    pushHandEdit(fleet, { 'coordination/messages.json': json({ messages: [message] }) });
    const unacked = await check();
    expect(unacked).toMatchObject({ code: 1, codes: ['warning:message_unacked:msg-old'] });
    expect(unacked.summary).toContain('awaits an ack from build2');
    expect((await cli(['msg', 'ack', 'msg-old'], 'build2')).code).toBe(0);
    expect((await check()).code).toBe(0);
  });

  it('a broken document (critical); an unreachable remote (critical) and a non-empty outbox (warning)', async () => {
    pushHandEdit(fleet, { 'coordination/locks.json': '{"locks": [\n' });
    expect(await check()).toMatchObject({ code: 2, codes: ['critical:invalid_document:coordination/locks.json'] });
    pushHandEdit(fleet, { 'coordination/locks.json': json({ locks: [], last_token: 4 }) });
    expect((await check()).code).toBe(0);

    renameSync(fleet.remote, `${fleet.remote}.away`);
    try {
      expect((await cli(['msg', 'send', 'build2', 'queued while away'])).code).toBe(0);
      expect(await check({ beat: false })).toMatchObject({ code: 2, codes: ['critical:remote_unreachable:remote', 'warning:outbox_not_empty:outbox'] });
    } finally {
      renameSync(`${fleet.remote}.away`, fleet.remote);
    }
    expect(await check()).toMatchObject({ code: 1, codes: ['warning:outbox_not_empty:outbox'] });
    expect((await cli(['outbox', 'flush'])).code).toBe(0);
    alive();
    const after = await cli(['check', '--verbose']);
    expect([after.code, after.stdout.split('\n')[0]]).toEqual([0, 'OK: 2 builders healthy, 0 jobs running, 0 queued']);
  });

  it("says in --help that its exit codes are the monitoring convention, not buildctl's table", async () => {
    const help = await runCli(['check', '--help']);
    expect(help.stdout).toContain("Exit codes follow the monitoring convention, NOT buildctl's usual table:");
    expect(help.stdout).toContain('0 OK, 1 WARNING, 2 CRITICAL');
    expect((await runCli(['--help'])).stdout).toContain('buildctl check uses the monitoring convention instead: 0 ok, 1 warning, 2 critical');
  });
});
