// Who wrote it (issue 18), with real keys and the built CLI on a real fleet: build1 writing
// as build2 is shown as forged by log, status, validate and check; with
// require_signed_writes on, the CLI refuses to write it and nothing acts on one written
// anyway (pushed with build1's key by other means): no claim built on it, no lock taken
// over, no requeue by housekeeping; the owner or an operator settles it. Turning the
// setting on needs an operator key and a key for every builder.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heartbeat } from '../../src/ops/heartbeat.js';
import { housekeepingOp } from '../../src/ops/housekeeping.js';
import { addKeyOp } from '../../src/ops/signers.js';
import { docs } from '../../src/schemas/layout.js';
import type { JobsDoc } from '../../src/schemas/jobs.js';
import { storeAt } from '../../src/store/store.js';
import { transact } from '../../src/store/transaction.js';
import { gitSync, makeFleet, runCli, testContext, type Fleet } from '../helpers/fleet.js';

let fleet: Fleet;
let ops: string;

const cli = (store: string, as: string | null, args: string[]) => runCli(['--store', store, ...(as ? ['--as', as] : []), ...args]);
const as = (id: string, args: string[]) => cli(fleet.stores[id]!, id, args);
const ok = async (store: string, who: string | null, args: string[]): Promise<string> => {
  const run = await cli(store, who, args);
  if (run.code !== 0) throw new Error(`${args.join(' ')} exited ${run.code}: ${run.stderr}`);
  return run.stdout;
};
const json = async <T>(id: string, args: string[]): Promise<{ code: number; body: T; stderr: string }> => {
  const run = await as(id, [...args, '--json']);
  return { code: run.code, body: JSON.parse(run.stdout) as T, stderr: run.stderr };
};
const remoteMain = () => gitSync(fleet.remote, ['rev-parse', 'main']).trim();
const remoteJobs = (): JobsDoc => JSON.parse(gitSync(fleet.remote, ['show', 'main:coordination/jobs.json'])) as JobsDoc;

/** A commit made in build1's clone, signed by build1's key, claiming `actor`: what a modified client could push. */
const forgeAs = (actor: string, op: string, change: (jobs: JobsDoc, locks: { locks: Array<{ name: string }>; last_token: number }) => void) =>
  transact(storeAt(fleet.stores.build1!), {
    op,
    actor,
    apply: async (read) => {
      const jobs = structuredClone((await read(docs.jobs))!);
      const locks = structuredClone((await read(docs.locks))!);
      change(jobs, locks);
      return { result: null, writes: [{ spec: docs.jobs, value: jobs }, { spec: docs.locks, value: locks, removes: ['deploy'] }], summary: `${op} (forged)` };
    },
  });

interface Finding {
  severity: string;
  code: string;
  subject: string;
}

beforeAll(async () => {
  fleet = await makeFleet(['build1', 'build2', 'build3']);
  // build1 and build2 register their own keys (build3 never does); alice is the operator.
  for (const id of ['build1', 'build2']) await addKeyOp(testContext(fleet.stores[id]!, id), { id });
  ops = join(fleet.root, 'ops', 'store');
  mkdirSync(join(fleet.root, 'ops'));
  await ok(ops, null, ['init', '--remote', fleet.remote]);
  await ok(ops, 'alice', ['builder', 'key', 'add', 'alice', '--operator']);
}, 120_000);
afterAll(() => fleet?.cleanup());

describe('a forged write is shown as forged', () => {
  let forged: string;

  it('build1 acting as build2 lands while nothing is enforced, and log says FORGED with whose key', async () => {
    expect((await as('build1', ['--as', 'build2', 'status', 'set', 'building'])).code).toBe(0);
    forged = remoteMain();
    const { body } = await json<{ events: Array<{ commit: string; actor: string; op: string; signature: { verdict: string; signer: string; reason: string } }> }>('build2', ['log']);
    const last = body.events.at(-1)!;
    expect(last).toMatchObject({ commit: forged, actor: 'build2', op: 'status.set', signature: { verdict: 'forged', signer: 'build1' } });
    expect(last.signature.reason).toMatch(/claims to be build2, signed by build1's key SHA256:/);
    // build2's own and alice's changes are verified; the text view shouts the forgery.
    expect(body.events.filter((e) => e.op === 'builder.key.add').map((e) => e.signature.verdict)).toEqual(['verified', 'verified', 'verified']);
    const text = (await as('build2', ['log'])).stdout;
    expect(text).toMatch(/build2 +status\.set +FORGED +build2 building/);
    expect(text).toContain(`${forged.slice(0, 12)} status.set by build2: forged, claims to be build2, signed by build1's key`);
  });

  it('status marks build2\'s status as forged; check warns; validate --signatures fails (exit 5)', async () => {
    const { body } = await json<{ fleet: { signatures: Record<string, { status: { verdict: string; commit: string } | null }> } }>('build2', ['status']);
    expect(body.fleet.signatures.build2?.status).toMatchObject({ verdict: 'forged', commit: forged });
    expect(body.fleet.signatures.build1?.status ?? null).toBeNull();
    expect((await as('build2', ['status'])).stdout).toContain(`FORGED build2's status (${forged.slice(0, 12)}): claims to be build2`);
    const check = await json<{ check: { findings: Finding[] } }>('build2', ['check']);
    expect(check.body.check.findings).toContainEqual(expect.objectContaining({ severity: 'warning', code: 'forged_write', subject: 'build2' }));
    const validate = await json<{ signatures: { valid: boolean; problems: Array<{ commit: string; verdict: string }> } }>('build2', ['validate', '--signatures']);
    expect(validate.code).toBe(5);
    expect(validate.body.signatures.problems).toEqual([expect.objectContaining({ commit: forged, verdict: 'forged' })]);
  });
});

describe('require_signed_writes', () => {
  let forgedCompletion: string;

  it('is turned on by an operator key only, and not while a registered builder has no key', async () => {
    const byBuilder = await as('build1', ['config', 'set', 'require_signed_writes', 'on']);
    expect([byBuilder.code, byBuilder.stderr]).toEqual([3, expect.stringContaining('is not one')]);
    const missing = await cli(ops, null, ['config', 'set', 'require_signed_writes', 'on', '--json']);
    expect(missing.code).toBe(3);
    expect(JSON.parse(missing.stdout)).toMatchObject({ error: { code: 'builders_without_keys', details: { builders: ['build3'] } } });
    await ok(ops, null, ['builder', 'remove', 'build3']);
    await ok(ops, null, ['config', 'set', 'require_signed_writes', 'on']);
    expect((await as('build2', ['builder', 'key', 'list'])).stdout).toContain('require_signed_writes: on');
  });

  it('the CLI refuses to write what the fleet would not act on, and nothing reaches the remote', async () => {
    const before = remoteMain();
    const forged = await as('build1', ['--as', 'build2', 'status', 'set', 'idle']);
    expect([forged.code, forged.stderr]).toEqual([2, expect.stringContaining("require_signed_writes is on, and this change would be forged: claims to be build2, signed by build1's key")]);
    expect(forged.stderr).toContain('hint: this clone\'s key signs for build1');
    const beat = await as('build1', ['--as', 'build2', 'heartbeat']);
    expect(beat.code).toBe(2);
    // An operator action needs an operator key: build1's is not one; alice's is.
    expect((await as('build2', ['lock', 'acquire', 'deploy', '--ttl', '1h'])).code).toBe(0);
    const brokenByBuilder = await as('build1', ['lock', 'break', 'deploy', '--reason', 'stuck']);
    expect([brokenByBuilder.code, brokenByBuilder.stderr]).toEqual([2, expect.stringContaining('not an operator key')]);
    expect((await cli(ops, null, ['lock', 'break', 'deploy', '--reason', 'stuck'])).code).toBe(0);
    expect(gitSync(fleet.remote, ['log', '--format=%s', `${before}..main`]).trim().split('\n')).toEqual([expect.stringMatching(/^lock\.break deploy/), expect.stringMatching(/^lock\.acquire deploy/)]);
  });

  it('a forged completion and a forged lock release, pushed anyway, are not acted on', async () => {
    // build2 runs job J (a job K waits for) and holds the lock "deploy".
    const j = JSON.parse(await ok(fleet.stores.build2!, 'build2', ['job', 'add', '--type', 'build', '--target', 'build2', '--json'])).job.id as string;
    await ok(fleet.stores.build2!, 'build2', ['job', 'claim']);
    const k = JSON.parse(await ok(fleet.stores.build1!, 'build1', ['job', 'add', '--type', 'test', '--after', j, '--json'])).job.id as string;
    await ok(fleet.stores.build2!, 'build2', ['lock', 'acquire', 'deploy', '--ttl', '1h']);
    // build1 completes J and frees the lock "as build2", signing with its own key.
    await forgeAs('build2', 'job.complete', (jobs, locks) => {
      const job = jobs.jobs.find((x) => x.id === j)!;
      Object.assign(job, { status: 'completed', completed_at: new Date().toISOString() });
      locks.locks = locks.locks.filter((l) => l.name !== 'deploy');
    });
    forgedCompletion = remoteMain();

    const claim = await as('build1', ['job', 'claim']);
    expect([claim.code, claim.stderr]).toEqual([3, expect.stringContaining(`not acting on job ${j}: the latest change is not trusted`)]);
    const show = await json<{ waits: string }>('build1', ['job', 'show', k]);
    expect(show.body.waits).toContain('its latest change unverified');
    const take = await as('build1', ['lock', 'acquire', 'deploy']);
    expect([take.code, take.stderr]).toEqual([5, expect.stringContaining(`refusing to act on lock deploy: its latest change (${forgedCompletion.slice(0, 12)}, job.complete by build2) is forged`)]);

    const check = await json<{ check: { status: string; findings: Finding[] } }>('build1', ['check']);
    expect(check.code).toBe(2);
    expect(check.body.check.findings).toEqual(expect.arrayContaining([
      expect.objectContaining({ severity: 'critical', code: 'unverified_write', subject: `job:${j}` }),
      expect.objectContaining({ severity: 'critical', code: 'unverified_write', subject: 'lock:deploy' }),
    ]));
    const validate = await as('build1', ['validate', '--signatures']);
    expect(validate.code).toBe(5);
    expect(validate.stdout).toContain(`NOT ACTED ON job ${j}`);
    expect((await as('build1', ['status'])).stdout).toContain('NOT ACTED ON');
  });

  it('housekeeping requeues a dead builder\'s job it claimed itself, never one whose claim was forged', async () => {
    const ctx2 = testContext(fleet.stores.build2!, 'build2');
    await ok(fleet.stores.build1!, 'build1', ['job', 'add', '--type', 'legit', '--target', 'build2']);
    await ok(fleet.stores.build2!, 'build2', ['job', 'claim', '--type', 'legit']);
    const m = JSON.parse(await ok(fleet.stores.build1!, 'build1', ['job', 'add', '--type', 'stolen', '--target', 'build2', '--json'])).job.id as string;
    await forgeAs('build2', 'job.claim', (jobs) => {
      Object.assign(jobs.jobs.find((x) => x.id === m)!, { status: 'running', assigned_to: 'build2', started_at: new Date().toISOString(), attempts: 1 });
    });
    // build2's own, signed heartbeat, then silence: build1's clone sees it, and six minutes
    // later on build1's clock (no new beat seen meanwhile) build2 is dead.
    await heartbeat(ctx2);
    await housekeepingOp(testContext(fleet.stores.build1!, 'build1'), storeAt(fleet.stores.build1!), 'build1');
    const later = testContext(fleet.stores.build1!, 'build1', { now: () => new Date(Date.now() + 6 * 60_000) });
    const report = await housekeepingOp(later, storeAt(fleet.stores.build1!), 'build1');
    expect(report.dead_builders).toEqual(['build2']);
    const legit = remoteJobs().jobs.find((x) => x.type === 'legit')!;
    expect(report.requeued_jobs).toEqual([legit.id]);
    expect(report.not_acted_on).toContain(`job:${m}`);
    expect(remoteJobs().jobs.find((x) => x.id === m)).toMatchObject({ status: 'running', assigned_to: 'build2' });
    // Housekeeping set build2's status after the requeue, signed by build1: that is the
    // fleet's rule at work, not build1 speaking for build2, so nothing is tainted by it.
    expect(gitSync(fleet.remote, ['log', '-1', '--format=%(trailers:key=Buildctl-Op,valueonly)', '--', 'build2/status.json']).trim()).toBe('housekeeping');
    const check = await json<{ check: { findings: Finding[] } }>('build1', ['check']);
    expect(check.body.check.findings.filter((f) => f.code === 'unverified_write' && f.subject === 'build2')).toEqual([]);
  });

  it('a heartbeat build1 signs for build2 leaves build2 unknown to housekeeping, never alive', async () => {
    const { publishHeartbeat } = await import('../../src/store/heartbeat-ref.js');
    const now = new Date();
    await publishHeartbeat(storeAt(fleet.stores.build1!), {
      builder: 'build2',
      now,
      force: true,
      files: { 'build2/heartbeat.json': `${JSON.stringify({ id: 'build2', timestamp: now.toISOString(), host: 'forged', pid: 1, version: '0.1.0' })}\n`, 'build2/metrics.jsonl': '' },
    });
    const check = await json<{ check: { findings: Finding[] } }>('build1', ['check']);
    expect(check.body.check.findings).toContainEqual(expect.objectContaining({ severity: 'critical', code: 'unverified_heartbeat', subject: 'build2' }));
    // Fresh by its timestamp, but housekeeping does not take build2 for alive on build1's word.
    await housekeepingOp(testContext(fleet.stores.build1!, 'build1'), storeAt(fleet.stores.build1!), 'build1');
    const dashboard = JSON.parse(gitSync(fleet.remote, ['show', 'main:shared/health_dashboard.json'])) as { builders: Array<{ id: string; health: string }> };
    expect(dashboard.builders.find((b) => b.id === 'build2')?.health).toBe('unknown');
  });

  it('is settled by the owner itself, or by an operator accepting the commit', async () => {
    // build2 takes its lock again: its own, signed change supersedes the forged release.
    expect((await as('build2', ['lock', 'acquire', 'deploy', '--ttl', '1h'])).code).toBe(0);
    expect((await as('build1', ['lock', 'acquire', 'deploy'])).stderr).toContain('held by build2');
    // A builder's key cannot accept; alice's can, and the job waiting on the completion runs.
    expect((await as('build1', ['trust', 'accept', forgedCompletion, '--reason', 'build2 did finish it'])).code).toBe(2);
    await ok(ops, null, ['trust', 'accept', forgedCompletion.slice(0, 12), '--reason', 'build2 did finish it']);
    const claimed = await json<{ job: { type: string } }>('build1', ['job', 'claim', '--type', 'test']);
    expect([claimed.code, claimed.body.job.type]).toEqual([0, 'test']);
  });
});
