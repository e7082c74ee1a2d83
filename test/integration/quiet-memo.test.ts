// An idle housekeeping pass remembers, per blob, until when the job queue and the messages
// stay quiet (store/quiet-memo.ts), and the next passes skip them. These tests make the memo
// say more than the documents do, to see that it is trusted exactly as far as it should be:
// for the same blob, the same settings and at most ten minutes.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { effectiveSettings } from '../../src/domain/config.js';
import { setConfig } from '../../src/ops/config.js';
import { housekeepingOp } from '../../src/ops/housekeeping.js';
import { docs } from '../../src/schemas/layout.js';
import { loadQuietMemo, MAX_QUIET_MS, quietEntry, saveQuietMemo, stillQuiet } from '../../src/store/quiet-memo.js';
import { storeAt } from '../../src/store/store.js';
import { transact } from '../../src/store/transaction.js';
import { gitSync, makeFleet, testContext, type Fleet } from '../helpers/fleet.js';

let fleet: Fleet | undefined;
afterEach(() => fleet?.cleanup());

const MINUTE = 60_000;
const RETENTION = effectiveSettings(undefined).jobRetentionMs;

/** Enough for the queue to be remembered as validated (store/valid-cache.ts): glances need that. */
const QUEUED = 300;

const queued = (i: number, at: string) => ({ id: `job_${i}`, type: 'build', priority: 5, status: 'queued', assigned_to: null, labels: [], attempts: 0, max_attempts: 3, created_at: at });

/** A fleet whose queue has one finished job that comes due five minutes after t0. */
const seeded = async (t0: number) => {
  const f = await makeFleet(['build1', 'build2']);
  const created = new Date(t0 - MINUTE).toISOString();
  const finishedAt = new Date(t0 - RETENTION + 5 * MINUTE).toISOString();
  const jobs = [...Array.from({ length: QUEUED }, (_, i) => queued(i, created)), { ...queued(99, created), id: 'job_done', status: 'completed', assigned_to: 'build2', attempts: 1, completed_at: finishedAt }];
  await transact(storeAt(f.stores.build1!), { op: 'test.seed', actor: 'test', apply: () => ({ result: null, writes: [{ spec: docs.jobs, value: { jobs } }], summary: 'test.seed' }) });
  return { f, due: Date.parse(finishedAt) + RETENTION };
};

const passAt = (f: Fleet, at: number) => housekeepingOp(testContext(f.stores.build1!, 'build1', { now: () => new Date(at) }), storeAt(f.stores.build1!), 'build1');

/** The memo, with the queue's entry saying it is quiet longer than it is. */
const overstate = async (f: Fleet, through: number) => {
  const store = storeAt(f.stores.build1!);
  const memo = await loadQuietMemo(store);
  expect(memo.jobs, 'the pass before left a memo of the queue').toBeDefined();
  await saveQuietMemo(store, { ...memo, jobs: { ...memo.jobs!, through } });
};

describe('the quiet memo of an idle pass', () => {
  it('is written for the blob the pass read, with the queue counts, and trusted for at most ten minutes', async () => {
    const t0 = Date.now();
    const { f, due } = await seeded(t0);
    fleet = f;
    expect((await passAt(f, t0)).archived_jobs).toEqual([]);
    const memo = await loadQuietMemo(storeAt(f.stores.build1!));
    const blob = gitSync(f.remote, ['rev-parse', `main:${docs.jobs.path}`]).trim();
    expect(memo.jobs).toMatchObject({ blob, written: t0, through: due, counts: { queued: QUEUED, completed: 1, running: 0 } });

    // Told the queue is quiet well past the job's due time, the next pass believes it...
    await overstate(f, t0 + 60 * MINUTE);
    expect((await passAt(f, due + MINUTE)).archived_jobs).toEqual([]);
    const dashboard = JSON.parse(gitSync(f.remote, ['show', `main:${docs.dashboard.path}`])) as { queue: Record<string, number> };
    expect(dashboard.queue).toMatchObject({ queued: QUEUED, completed: 1 });
    // ...but not later than ten minutes after the memo was written.
    expect((await passAt(f, t0 + MAX_QUIET_MS + 1)).archived_jobs).toEqual(['job_done']);
  });

  it('is not trusted for another blob of the queue, nor under other settings', async () => {
    const t0 = Date.now();
    const { f, due } = await seeded(t0);
    fleet = f;
    await passAt(f, t0);
    await overstate(f, t0 + 9 * MINUTE);
    // Another job added: a new blob, read again, and the due job leaves.
    await transact(storeAt(f.stores.build2!), {
      op: 'test.add',
      actor: 'test',
      apply: async (read) => ({ result: null, writes: [{ spec: docs.jobs, value: { jobs: [...((await read(docs.jobs))?.jobs ?? []), queued(100, new Date(t0).toISOString())] } }], summary: 'test.add' }),
    });
    expect((await passAt(f, due + MINUTE)).archived_jobs).toEqual(['job_done']);

    // Quiet again (nothing finished), overstated, then the retention changes: read again.
    const { f: g } = await seeded(t0);
    f.cleanup();
    fleet = g;
    await passAt(g, t0);
    await overstate(g, t0 + 9 * MINUTE);
    await setConfig(testContext(g.stores.build1!, 'build1'), [['job_retention', '6d']]);
    expect((await passAt(g, t0 + MINUTE)).archived_jobs).toEqual(['job_done']);
  });

  it('an idle pass fetches once: main and every heartbeat together, and the transaction builds on that fetch', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const store = fleet.stores.build1!;
    const trace = join(fleet.root, 'trace.json');
    process.env.GIT_TRACE2_EVENT = trace;
    try {
      await housekeepingOp(testContext(store, 'build1'), storeAt(store), 'build1');
    } finally {
      delete process.env.GIT_TRACE2_EVENT;
    }
    const fetches = readFileSync(trace, 'utf8')
      .split('\n')
      .filter((line) => line.includes('"event":"start"'))
      .map((line) => (JSON.parse(line) as { argv: string[] }).argv)
      .filter((argv) => argv.includes('fetch'));
    expect(fetches).toHaveLength(1);
    expect(fetches[0]).toEqual(expect.arrayContaining(['+refs/heads/main:refs/remotes/origin/main', '+refs/heads/heartbeat/*:refs/remotes/origin/heartbeat/*']));
  });

  it('is ignored when it does not pass its schema, or is not JSON at all', async () => {
    fleet = await makeFleet(['build1']);
    const store = storeAt(fleet.stores.build1!);
    const file = join(fleet.stores.build1!, '.git', 'buildctl', 'quiet-documents.json');
    await saveQuietMemo(store, { jobs: quietEntry('b1', 'k', 0, 10, { queued: 1 })! });
    expect((await loadQuietMemo(store)).jobs?.counts).toEqual({ queued: 1 });
    for (const garbled of ['{"jobs":{"blob":"b1","key":"k","written":0,"through":"later"}}', '{"jobs":{"blob":"b1","key":"k","written":0,"through":10,"counts":{"queued":-1}}}', '{"jobs":', '']) {
      writeFileSync(file, garbled);
      expect(await loadQuietMemo(store)).toEqual({});
    }
  });

  it('says nothing for a clock set back before it was written, or a blob it was not written for', () => {
    const entry = quietEntry('b1', 'k', 1_000_000, 1_000_000 + 5 * MINUTE)!;
    expect(stillQuiet(entry, 'b1', 'k', 1_000_000 + MINUTE)).toBe(true);
    expect(stillQuiet(entry, 'b1', 'k', 1_000_000 - 1)).toBe(false);
    expect(stillQuiet(entry, 'b2', 'k', 1_000_000 + MINUTE)).toBe(false);
    expect(stillQuiet(entry, 'b1', 'other', 1_000_000 + MINUTE)).toBe(false);
    expect(stillQuiet(entry, undefined, 'k', 1_000_000 + MINUTE)).toBe(false);
    expect(stillQuiet(entry, 'b1', 'k', 1_000_000 + 5 * MINUTE + 1)).toBe(false);
    // Quiet forever is kept as ten minutes; already due is not kept at all.
    expect(quietEntry('b1', 'k', 0, Number.POSITIVE_INFINITY)?.through).toBe(MAX_QUIET_MS);
    expect(quietEntry('b1', 'k', 0, -1)).toBeUndefined();
    expect(quietEntry(undefined, 'k', 0, 10)).toBeUndefined();
  });
});
