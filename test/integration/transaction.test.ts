import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { setStatus } from '../../src/ops/status-set.js';
import { docs } from '../../src/schemas/layout.js';
import { storeAt } from '../../src/store/store.js';
import { fairPacing } from '../../src/ops/mutate.js';
import { openObjectReader } from '../../src/store/git.js';
import { treeReader } from '../../src/store/objects.js';
import { committer, fetchBase, pushCommit, stage, transact, writeCommit, type TxRequest } from '../../src/store/transaction.js';
import { commitCount, gitSync, makeFleet, testContext, type Fleet } from '../helpers/fleet.js';

let fleet: Fleet | undefined;
afterEach(() => fleet?.cleanup());

const remoteFile = (f: Fleet, path: string): string => gitSync(f.remote, ['show', `main:${path}`]);

/** Sets `actor`'s labels to [value] in builders.json, paced fairly with `random` as the jitter source. */
const setLabel = (store: ReturnType<typeof storeAt>, actor: string, value: string, random: () => number) =>
  transact(
    store,
    {
      op: 'test.label',
      actor,
      apply: async (read) => {
        const doc = (await read(docs.builders))!;
        const builders = doc.builders.map((b) => (b.id === actor ? { ...b, labels: [value] } : b));
        return { result: value, writes: [{ spec: docs.builders, value: { ...doc, builders } }], summary: `test.label ${value}` };
      },
    },
    { pacing: fairPacing(random) },
  );

describe('transaction cycle against a real bare remote', () => {
  it('two clones mutating main at the same time both land', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const before = commitCount(fleet.remote);
    const results = await Promise.all([
      setStatus(testContext(fleet.stores.build1!, 'build1'), { state: 'building', job: 'job-a' }),
      setStatus(testContext(fleet.stores.build2!, 'build2'), { state: 'building', job: 'job-b' }),
    ]);
    expect(results.every((r) => r.changed)).toBe(true);
    expect(commitCount(fleet.remote)).toBe(before + 2);
    expect(JSON.parse(remoteFile(fleet, 'build1/status.json')).current_job).toBe('job-a');
    expect(JSON.parse(remoteFile(fleet, 'build2/status.json')).current_job).toBe('job-b');
  });

  it('re-applies the intent on fresh state after a rejected push, never a textual merge', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const store1 = storeAt(fleet.stores.build1!);
    const store2 = storeAt(fleet.stores.build2!);
    // Both append to the same document: a textual merge would conflict; re-applying cannot.
    const addLabel = (store: typeof store1, label: string) =>
      transact(store, {
        op: 'test.label',
        actor: 'test',
        apply: async (read) => {
          const doc = (await read(docs.builders))!;
          const builders = doc.builders.map((b) => (b.id === 'build1' ? { ...b, labels: [...b.labels, label].sort() } : b));
          return { result: label, writes: [{ spec: docs.builders, value: { ...doc, builders } }], summary: `test.label ${label}` };
        },
      });
    await Promise.all(['a', 'b', 'c', 'd'].map((label, i) => addLabel(i % 2 ? store2 : store1, label)));
    const labels = JSON.parse(remoteFile(fleet, 'coordination/builders.json')).builders[0].labels;
    expect(labels).toEqual(['a', 'b', 'c', 'd']);
    const log = gitSync(fleet.remote, ['log', '--format=%B', '-n', '4', 'main']);
    expect(log.match(/Buildctl-Op: test\.label/g)).toHaveLength(4);
    expect(new Set(log.match(/Buildctl-Op-Id: [0-9a-f-]{36}/g)).size).toBe(4);
  });

  it('takes turns: straight after its own win, a builder yields while others land commits', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const store1 = storeAt(fleet.stores.build1!);
    const label = setLabel;
    // The jitter source is asked for a turn only when the builder yields (no push is rejected here).
    let asked = 0;
    const spy = () => {
      asked++;
      return 0.5;
    };
    await label(storeAt(fleet.stores.build2!), 'build2', 'c', Math.random);
    await label(store1, 'build1', 'd', Math.random); // a win, with build2 active a moment ago
    const lastWin = join(fleet.stores.build1!, '.git', 'buildctl', 'last-win');
    expect(readFileSync(lastWin, 'utf8')).toMatch(/^\d{13} \d+( [0-9a-f]{40})+\n$/);
    await label(store1, 'build1', 'e', spy); // straight on: yields once
    expect(asked).toBe(1);
    // The same, but the last win was a minute ago: nobody is waiting on this builder.
    writeFileSync(lastWin, `${Date.now() - 60_000} 200\n`);
    await label(store1, 'build1', 'f', spy);
    expect(asked).toBe(1);
    const labels = JSON.parse(remoteFile(fleet, 'coordination/builders.json')).builders.map((b: { labels: string[] }) => b.labels);
    expect(labels).toEqual([['f'], ['c']]);
  });

  it('does not yield to itself: one clone acting as several builders (--as) takes no turns between its own commits', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const store1 = storeAt(fleet.stores.build1!);
    let asked = 0;
    const spy = () => {
      asked++;
      return 0.5;
    };
    const label = (actor: string, value: string, random: () => number = spy) => setLabel(store1, actor, value, random);
    // The fleet's setup commits were landed by this clone too (initStore, a minute ago as far as the pacing knows).
    const setup = gitSync(fleet.remote, ['rev-list', '-16', 'main']).trim().split('\n');
    writeFileSync(join(fleet.stores.build1!, '.git', 'buildctl', 'last-win'), `${Date.now() - 60_000} 200 ${setup.join(' ')}\n`);
    // build2's commit, then build1's straight after, both landed by this clone: nobody else is waiting.
    for (const [actor, value] of [['build2', 'a'], ['build1', 'b'], ['build2', 'c'], ['build1', 'd']] as const) await label(actor, value);
    expect(asked).toBe(0);
    const record = readFileSync(join(fleet.stores.build1!, '.git', 'buildctl', 'last-win'), 'utf8').trim().split(' ');
    expect(record.slice(2)).toHaveLength(Math.min(16, 4 + setup.length));
    // A commit another clone landed is others' activity: straight after its next win, this clone yields.
    await setLabel(storeAt(fleet.stores.build2!), 'build2', 'e', Math.random);
    await label('build1', 'f', () => 0.5); // a win, with build2 active a moment ago
    await label('build1', 'g'); // straight on: yields once
    expect(asked).toBe(1);
  });

  it('makes no commit when the transition changes nothing', async () => {
    fleet = await makeFleet(['build1']);
    const ctx = testContext(fleet.stores.build1!, 'build1');
    await setStatus(ctx, { state: 'idle' });
    const before = commitCount(fleet.remote);
    const again = await setStatus(ctx, { state: 'idle' });
    expect(again.changed).toBe(false);
    expect(commitCount(fleet.remote)).toBe(before);
  });

  it('does not apply an op twice when its push landed but the answer was lost', async () => {
    fleet = await makeFleet(['build1']);
    const store = storeAt(fleet.stores.build1!);
    // After the remote has accepted the first push, kill the pushing git client: the push
    // landed, but buildctl never hears back and must find its op id instead of re-applying.
    const fired = join(fleet.root, 'fired');
    writeFileSync(
      join(fleet.remote, 'hooks', 'post-receive'),
      `#!/bin/sh\n[ -e '${fired}' ] && exit 0\ntouch '${fired}'\nclient=$(ps -o ppid= -p $PPID | tr -d ' ')\nkill -9 "$client"\n`,
      { mode: 0o755 },
    );
    let calls = 0;
    const outcome = await transact(store, {
      op: 'test.once',
      actor: 'test',
      apply: async (read) => {
        calls++;
        const doc = (await read(docs.config)) ?? {};
        return { result: calls, writes: [{ spec: docs.config, value: { ...doc, lock_ttl: `${30 + calls}s` } }], summary: 'test.once' };
      },
    });
    expect(readFileSync(fired, 'utf8')).toBe('');
    expect(outcome.changed).toBe(true);
    expect(calls).toBe(1);
    expect(JSON.parse(remoteFile(fleet, 'coordination/config.json')).lock_ttl).toBe('31s');
    expect(gitSync(fleet.remote, ['log', '--format=%s', 'main']).match(/test\.once/g)).toHaveLength(1);
  });

  it('steps alone: a commit built on a base that main has left is rejected; nothing it read can overwrite the newer commit', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const store1 = storeAt(fleet.stores.build1!);
    const objects = openObjectReader(store1.dir);
    try {
      const trees = treeReader(objects);
      const label = (value: string): TxRequest<string> => ({
        op: 'test.label',
        actor: 'build1',
        apply: async (read) => {
          const doc = (await read(docs.builders))!;
          const builders = doc.builders.map((b) => (b.id === 'build1' ? { ...b, labels: [...b.labels, value] } : b));
          return { result: value, writes: [{ spec: docs.builders, value: { ...doc, builders } }], summary: `test.label ${value}` };
        },
      });
      const stale = await fetchBase(store1, objects);
      const staged = await stage(trees, stale, label('stale'), { objects, store: store1 });
      expect(staged.kind).toBe('changed');
      // Meanwhile another writer lands a commit.
      await setStatus(testContext(fleet.stores.build2!, 'build2'), { state: 'building', job: 'other' });
      if (staged.kind !== 'changed') return;
      const { commit } = await writeCommit(store1, trees, stale, staged.files, 'test.label stale\n', await committer(store1));
      expect(await pushCommit(store1, commit)).toEqual({ kind: 'rejected' });
      expect(JSON.parse(remoteFile(fleet, 'build2/status.json')).current_job).toBe('other');
      // The same intent on a fresh base lands, and keeps the other writer's commit.
      const fresh = await fetchBase(store1, objects);
      const again = await stage(trees, fresh, label('fresh'), { objects, store: store1 });
      if (again.kind !== 'changed') throw new Error('expected a change');
      expect(await pushCommit(store1, (await writeCommit(store1, trees, fresh, again.files, 'test.label fresh\n', await committer(store1))).commit)).toEqual({ kind: 'landed' });
      expect(JSON.parse(remoteFile(fleet, 'build2/status.json')).current_job).toBe('other');
      expect(JSON.parse(remoteFile(fleet, 'coordination/builders.json')).builders[0].labels).toEqual(['fresh']);
      // Nothing to change: stage says so, and nothing would be written.
      const same = await fetchBase(store1, objects);
      const unchanged = await stage(trees, same, { op: 'test.none', actor: 'build1', apply: async (read) => ({ result: 0, writes: [{ spec: docs.builders, value: (await read(docs.builders))! }], summary: 'test.none' }) }, { objects, store: store1 });
      expect(unchanged).toEqual({ kind: 'unchanged', result: 0 });
    } finally {
      objects.close();
    }
  });
});
