import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { metricsToText, rollMetrics } from '../../src/domain/metrics.js';
import type { MetricsLine } from '../../src/schemas/metrics.js';
import { publishHeartbeat } from '../../src/store/heartbeat-ref.js';
import { localRemoteDir, pruneRepositories } from '../../src/store/maintenance.js';
import { fetchRefs, HEARTBEAT_REFSPEC, storeAt } from '../../src/store/store.js';
import { gitSync, makeFleet, type Fleet } from '../helpers/fleet.js';

let fleet: Fleet | undefined;
afterEach(() => fleet?.cleanup());

const HOUR = 3_600_000;

/** Objects in a repository, loose and packed. */
const objects = (repo: string): number => {
  const fields = Object.fromEntries(
    gitSync(repo, ['count-objects', '-v']).trim().split('\n').map((line) => line.split(': ') as [string, string]),
  );
  return Number(fields.count) + Number(fields['in-pack']);
};

/** `beats` heartbeats one simulated minute apart, with a rolling metrics file, as the agent writes them. */
const beat = async (storeDir: string, builder: string, start: number, beats: number): Promise<number> => {
  const store = storeAt(storeDir);
  let lines: MetricsLine[] = [];
  let now = start;
  for (let i = 0; i < beats; i++) {
    now += 60_000;
    const t = new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z');
    lines = rollMetrics(lines, { kind: 'sample', t, cpu: (i * 7) % 100, mem: 40 + (i % 10), disk: 100, load: 0.5 }, new Date(now), 7 * 24 * HOUR);
    await publishHeartbeat(store, {
      builder,
      now: new Date(now),
      files: {
        [`${builder}/heartbeat.json`]: `${JSON.stringify({ id: builder, timestamp: new Date(now).toISOString(), host: 'test-host', pid: 1 }, null, 2)}\n`,
        [`${builder}/metrics.jsonl`]: metricsToText(lines),
      },
    });
  }
  return now;
};

describe('pruning replaced heartbeats', () => {
  it('keeps the remote and the clone bounded after 200 heartbeats', { timeout: 180_000 }, async () => {
    fleet = await makeFleet(['build1']);
    const dir = fleet.stores.build1 as string;
    const store = storeAt(dir);
    const start = Date.now();
    const end = await beat(dir, 'build1', start, 200);
    await fetchRefs(store, [HEARTBEAT_REFSPEC], { prune: true });
    const tip = gitSync(fleet.remote, ['rev-parse', 'heartbeat/build1']).trim();
    const main = gitSync(fleet.remote, ['rev-parse', 'main']).trim();
    // Every beat left its replaced commit, trees and blobs behind.
    expect(objects(fleet.remote)).toBeGreaterThan(600);
    expect(objects(dir)).toBeGreaterThan(600);

    // With the real clock nothing is an hour old yet: the grace period keeps everything.
    const early = await pruneRepositories(store, { now: new Date() });
    expect(early).toMatchObject({ pruned: true });
    expect(objects(fleet.remote)).toBeGreaterThan(600);
    // At most once an hour per clone.
    expect(await pruneRepositories(store, { now: new Date(Date.now() + 30 * 60_000) })).toMatchObject({ pruned: false });

    // Two hours later (the clock passed as `now`), every replaced beat is older than the expiry.
    const report = await pruneRepositories(store, { now: new Date(Math.max(end, Date.now()) + 2 * HOUR) });
    expect(report.pruned).toBe(true);
    expect(report.remote_kb_after).toBeLessThan(report.remote_kb_before as number);
    expect(report.clone_kb_after).toBeLessThan(report.clone_kb_before as number);
    expect(objects(fleet.remote)).toBeLessThan(60);
    expect(objects(dir)).toBeLessThan(60);
    // Nothing reachable went: the last beat and main are intact.
    expect(gitSync(fleet.remote, ['rev-parse', 'heartbeat/build1']).trim()).toBe(tip);
    expect(gitSync(fleet.remote, ['rev-parse', 'main']).trim()).toBe(main);
    gitSync(fleet.remote, ['fsck', '--no-progress', '--connectivity-only']);
    gitSync(dir, ['fsck', '--no-progress', '--connectivity-only']);
    expect(readFileSync(join(dir, '.git', 'buildctl', 'last-prune'), 'utf8')).toMatch(/^\d{4}-\d\d-\d\dT/);

    // The clone keeps beating after the prune.
    await beat(dir, 'build1', end + 2 * HOUR, 2);
  });

  it('prunes only the clone when the remote is not a local repository, and never throws', async () => {
    fleet = await makeFleet(['build1']);
    const dir = fleet.stores.build1 as string;
    expect(await localRemoteDir(dir)).toBe(fleet.remote);
    gitSync(dir, ['remote', 'set-url', 'origin', 'https://example.invalid/fleet.git']);
    expect(await localRemoteDir(dir)).toBeUndefined();
    const report = await pruneRepositories(storeAt(dir), { now: new Date() });
    expect(report).toMatchObject({ pruned: true, remote_skipped: 'not a local repository' });
    expect(report.remote_kb_before).toBeUndefined();

    // A broken clone is reported, not thrown.
    const broken = await pruneRepositories(storeAt(join(fleet.root, 'no-such-store')), { now: new Date() });
    expect(broken.pruned).toBe(false);
    expect(broken.reason).toEqual(expect.any(String));
  });
});
