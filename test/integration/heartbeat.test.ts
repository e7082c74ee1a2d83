import { afterEach, describe, expect, it } from 'vitest';
import { heartbeat } from '../../src/ops/heartbeat.js';
import { fleetStatus } from '../../src/ops/status.js';
import { isBuildctlError } from '../../src/errors.js';
import { initStore } from '../../src/ops/init.js';
import { join } from 'node:path';
import { commitCount, gitSync, heartbeatFiles, makeFleet, testContext, type Fleet } from '../helpers/fleet.js';

let fleet: Fleet | undefined;
afterEach(() => fleet?.cleanup());

describe('heartbeats on per-builder refs', () => {
  it('adds no commit to main and keeps one parentless commit per builder, which carries both files', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const mainBefore = gitSync(fleet.remote, ['rev-parse', 'main']).trim();
    const countBefore = commitCount(fleet.remote);
    for (let i = 0; i < 3; i++) {
      await heartbeat(testContext(fleet.stores.build1!, 'build1'));
      await heartbeat(testContext(fleet.stores.build2!, 'build2'));
    }
    expect(commitCount(fleet.remote)).toBe(countBefore);
    expect(gitSync(fleet.remote, ['rev-parse', 'main']).trim()).toBe(mainBefore);
    for (const id of ['build1', 'build2']) {
      // One commit, no parent: history never grows however often a builder beats.
      expect(commitCount(fleet.remote, `heartbeat/${id}`)).toBe(1);
      // Its files ride in the commit itself, which points at the empty tree.
      expect(gitSync(fleet.remote, ['ls-tree', '-r', '--name-only', `heartbeat/${id}`]).trim()).toBe('');
      const files = await heartbeatFiles(fleet.remote, id);
      expect(Object.keys(files).sort()).toEqual([`${id}/heartbeat.json`, `${id}/metrics.jsonl`]);
      const metrics = files[`${id}/metrics.jsonl`]!.trim().split('\n');
      expect(metrics).toHaveLength(3);
      const beat = JSON.parse(files[`${id}/heartbeat.json`]!);
      expect(beat.id).toBe(id);
      expect(beat.system.memory_total_mb).toBeGreaterThan(0);
      expect(beat.system.load_avg).toHaveLength(3);
    }
  });

  it('is seen as healthy by another clone, with its metrics', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    await heartbeat(testContext(fleet.stores.build1!, 'build1'));
    const view = await fleetStatus(testContext(fleet.stores.build2!, 'build2'), { fetch: true });
    const row = view.builders.find((b) => b.id === 'build1');
    expect(row?.health).toBe('healthy');
    expect(row?.system?.memory_total_mb).toBeGreaterThan(0);
    expect(view.builders.find((b) => b.id === 'build2')?.health).toBe('unknown');
  });

  it('reports a second agent beating as the same id, takes the ref back saying so, and --force still takes it plainly', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    // A second clone wrongly configured as build1.
    const impostor = join(fleet.root, 'impostor', 'store');
    await initStore(testContext(impostor), { remote: fleet.remote, builders: [] });
    await heartbeat(testContext(fleet.stores.build1!, 'build1'));
    await heartbeat(testContext(impostor, 'build1', { hostname: 'other-host' }));
    const back = await heartbeat(testContext(fleet.stores.build1!, 'build1'));
    expect(back.duplicate).toMatchObject({ other_host: 'other-host', other_pid: process.pid });
    expect(gitSync(fleet.remote, ['rev-parse', 'heartbeat/build1']).trim()).toBe(back.commit);
    const stored = JSON.parse((await heartbeatFiles(fleet.remote, 'build1'))['build1/heartbeat.json']!);
    expect(stored.duplicate).toMatchObject({ other_host: 'other-host' });
    const forced = await heartbeat(testContext(fleet.stores.build1!, 'build1'), { force: true });
    expect(gitSync(fleet.remote, ['rev-parse', 'heartbeat/build1']).trim()).toBe(forced.commit);
  });

  it('two processes of one clone beating at once (the agent and a job run) take turns: neither looks like a duplicate agent', async () => {
    fleet = await makeFleet(['build1']);
    const ctx = testContext(fleet.stores.build1!, 'build1');
    await heartbeat(ctx);
    const beats = await Promise.allSettled([heartbeat(ctx), heartbeat(ctx), heartbeat(ctx)]);
    expect(beats.map((b) => (b.status === 'fulfilled' ? 'ok' : String((b.reason as Error).message)))).toEqual(['ok', 'ok', 'ok']);
    // Each rolled the metrics from the one before: four samples, none lost.
    expect((await heartbeatFiles(fleet.remote, 'build1'))['build1/metrics.jsonl']!.trim().split('\n')).toHaveLength(4);
    expect(await heartbeat(ctx)).toMatchObject({ took_over: false });
  });

  it('refuses to beat for a builder that is not registered', async () => {
    fleet = await makeFleet(['build1']);
    const error = await heartbeat(testContext(fleet.stores.build1!, 'build9')).catch((e: unknown) => e);
    expect(isBuildctlError(error) && error.code).toBe('unknown_builder');
    expect(gitSync(fleet.remote, ['for-each-ref', 'refs/heads/heartbeat/'])).toBe('');
  });
});
