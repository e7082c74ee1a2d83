// What a view of the fleet reads per builder: each heartbeat commit is read once (its
// signature is judged from the same bytes).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { heartbeat } from '../../src/ops/heartbeat.js';
import { readHeartbeat } from '../../src/ops/heartbeats-read.js';
import { addKeyOp } from '../../src/ops/signers.js';
import { judgeCommit, judgeHeartbeat, ledgerAt } from '../../src/ops/trust.js';
import { openSnapshot } from '../../src/store/snapshot.js';
import { fetchAll, ORIGIN_HEARTBEAT_PREFIX, ORIGIN_MAIN, storeAt } from '../../src/store/store.js';
import { makeFleet, testContext, type Fleet } from '../helpers/fleet.js';

let fleet: Fleet | undefined;
afterEach(() => {
  vi.restoreAllMocks();
  fleet?.cleanup();
});

describe('a view of the fleet', () => {
  it('reads each heartbeat commit once, and judges its signature from the bytes it read', async () => {
    fleet = await makeFleet(['build1', 'build2', 'build3']);
    // build1 and build2 register their keys; build3 signs with a key nobody registered.
    for (const id of ['build1', 'build2']) await addKeyOp(testContext(fleet.stores[id]!, id), { id });
    for (const id of ['build1', 'build2', 'build3']) await heartbeat(testContext(fleet.stores[id]!, id));
    const store = storeAt(fleet.stores.build1!);
    await fetchAll(store);
    const snapshot = openSnapshot(store);
    try {
      const ledger = await ledgerAt(store, snapshot.objects, await snapshot.resolve(ORIGIN_MAIN));
      const reads = vi.spyOn(snapshot.objects, 'readObject');
      const judged = [];
      for (const id of ['build1', 'build2', 'build3']) {
        expect((await readHeartbeat(snapshot, id)).status).toBe('ok');
        judged.push(await judgeHeartbeat(snapshot, id, ledger.state));
      }
      expect(reads.mock.calls.filter(([spec]) => spec.includes('heartbeat/'))).toHaveLength(3);
      expect(reads).toHaveBeenCalledTimes(3);
      expect(judged.map((j) => j?.verdict)).toEqual(['verified', 'verified', 'unverified']);
      // The same verdicts as reading each ref's commit anew.
      for (const [i, id] of ['build1', 'build2', 'build3'].entries()) {
        expect(await judgeCommit(snapshot.objects, `${ORIGIN_HEARTBEAT_PREFIX}${id}`, id, ledger.state)).toEqual(judged[i]);
      }
    } finally {
      snapshot.close();
    }
  });
});
