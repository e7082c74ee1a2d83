// What a view of the fleet reads and validates per builder: each heartbeat commit is read
// once (its signature is judged from the same bytes), and a builder's unchanged heartbeat
// and status.json are validated once by a clone, then only parsed (store/valid-cache.ts).
// What the cache remembers is schema validity only: a forged heartbeat stays forged.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mailboxCounts } from '../../src/domain/messages.js';
import { setBuilderState } from '../../src/domain/status.js';
import { heartbeat } from '../../src/ops/heartbeat.js';
import { initStore } from '../../src/ops/init.js';
import { readHeartbeat } from '../../src/ops/heartbeats-read.js';
import { validateSignatures } from '../../src/ops/signatures.js';
import { addKeyOp } from '../../src/ops/signers.js';
import { fleetStatus } from '../../src/ops/status.js';
import { judgeCommit, judgeHeartbeat, ledgerAt } from '../../src/ops/trust.js';
import { heartbeatDoc } from '../../src/schemas/heartbeat.js';
import { docs } from '../../src/schemas/layout.js';
import type { Message } from '../../src/schemas/messages.js';
import { statusDoc } from '../../src/schemas/status.js';
import { serializeDocument } from '../../src/store/documents.js';
import { publishHeartbeat } from '../../src/store/heartbeat-ref.js';
import { openSnapshot } from '../../src/store/snapshot.js';
import { fetchAll, ORIGIN_HEARTBEAT_PREFIX, ORIGIN_MAIN, storeAt } from '../../src/store/store.js';
import { transact } from '../../src/store/transaction.js';
import { writeBeats } from '../helpers/beats.js';
import { gitSync, makeFleet, pushHandEdit, tempDir, testContext, waitFor, type Fleet } from '../helpers/fleet.js';

let fleet: Fleet | undefined;
afterEach(() => {
  vi.restoreAllMocks();
  fleet?.cleanup();
});

/** Waits (with a deadline) until a view's cache append has reached the file: views write it as they close. */
const cacheHolds = async (store: string, count: number): Promise<void> => {
  const file = join(store, '.git', 'buildctl', 'valid-builder-docs');
  const deadline = Date.now() + 20_000;
  while (!(existsSync(file) && readFileSync(file, 'utf8').split('\n').filter((l) => l.includes(' ')).length >= count)) {
    if (Date.now() > deadline) throw new Error(`${file} never held ${count} entries`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

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

  it('reads the trust ledger it needs from the cache, validating that one alone, and ignores a garbled one', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    await addKeyOp(testContext(fleet.stores.build1!, 'build1'), { id: 'build1' });
    const store = storeAt(fleet.stores.build1!);
    await fetchAll(store);
    const tips = gitSync(fleet.remote, ['rev-list', '--first-parent', 'main']).trim().split('\n');
    const snapshot = openSnapshot(store);
    try {
      // Ledgers cached at the tip and at its parent (the order commands may work at them).
      const atParent = await ledgerAt(store, snapshot.objects, tips[1]);
      const atTip = await ledgerAt(store, snapshot.objects, tips[0]);
      const file = join(fleet.stores.build1!, '.git', 'buildctl', 'trust', 'ledger.json');
      const kept = JSON.parse(readFileSync(file, 'utf8')) as { ledgers: Array<{ tip: string }> };
      expect(kept.ledgers.map((l) => l.tip)).toEqual(expect.arrayContaining([tips[0], tips[1]]));
      // The parent's ledger garbled: the tip's is still served from the cache (each kept
      // ledger is validated when asked for, not all of them at every read), so nothing is
      // worked out again and the file is left as it is.
      const garbled = JSON.stringify({ ledgers: kept.ledgers.map((l) => (l.tip === tips[1] ? { ...l, state: 'garbled' } : l)) });
      writeFileSync(file, garbled);
      expect(await ledgerAt(store, snapshot.objects, tips[0])).toEqual(atTip);
      expect(readFileSync(file, 'utf8')).toBe(garbled);
      // Asked for the garbled one: worked out again from history, the same as before.
      expect(await ledgerAt(store, snapshot.objects, tips[1])).toEqual(atParent);
      expect((JSON.parse(readFileSync(file, 'utf8')) as { ledgers: Array<{ tip: string; state: unknown }> }).ledgers[0]).toEqual(atParent);
      expect(await ledgerAt(store, snapshot.objects, tips[0], { rebuild: true })).toEqual(atTip);
    } finally {
      snapshot.close();
    }
  });

  it('validates each unchanged heartbeat and status.json once across two views; a new beat is validated again', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `build${i + 1}`);
    const { dir, cleanup } = tempDir();
    const store = join(dir, 'build1', 'store');
    const { remote } = await initStore(testContext(store), { builders: ids.map((id) => ({ id })) });
    fleet = { root: dir, remote, stores: { build1: store }, cleanup };
    // Statuses another clone wrote: new to this one.
    pushHandEdit(fleet, Object.fromEntries(ids.map((id) => [docs.status(id).path, serializeDocument(docs.status(id).path, setBuilderState(undefined, { id, state: 'idle', now: new Date() }), statusDoc)])));
    await writeBeats(fleet.remote, ids.map((id) => ({ id, recent: [] })), new Date());
    await fetchAll(storeAt(store));
    const beats = vi.spyOn(heartbeatDoc, 'safeParse');
    const statuses = vi.spyOn(statusDoc, 'safeParse');
    const ctx = testContext(store, 'build1');

    const first = await fleetStatus(ctx, { fetch: false });
    expect(first.builders.map((b) => b.health)).toEqual(ids.map(() => 'healthy'));
    expect(beats).toHaveBeenCalledTimes(20);
    expect(statuses).toHaveBeenCalledTimes(20);
    await cacheHolds(store, 40);

    beats.mockClear();
    statuses.mockClear();
    const second = await fleetStatus(ctx, { fetch: false });
    expect(second.builders).toEqual(first.builders.map((b) => ({ ...b, heartbeat_age_seconds: expect.any(Number) })));
    expect(beats).not.toHaveBeenCalled();
    expect(statuses).not.toHaveBeenCalled();

    // build7 beats again: its new beat, and only that, is validated.
    await writeBeats(fleet.remote, [{ id: 'build7', recent: [] }], new Date(Date.now() + 1000));
    await fetchAll(storeAt(store));
    beats.mockClear();
    const third = await fleetStatus(ctx, { fetch: false });
    expect(beats).toHaveBeenCalledTimes(1);
    expect(beats.mock.calls[0]?.[0]).toMatchObject({ id: 'build7' });
    expect(statuses).not.toHaveBeenCalled();
    expect(third.builders.find((b) => b.id === 'build7')?.heartbeat_at).not.toBe(first.builders.find((b) => b.id === 'build7')?.heartbeat_at);
  });

  it('a forged heartbeat is shown forged on every view, also once the cache knows it is valid', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    for (const id of ['build1', 'build2']) await addKeyOp(testContext(fleet.stores[id]!, id), { id });
    const now = new Date();
    // build1's clone beats for build2, signed with build1's key.
    await publishHeartbeat(storeAt(fleet.stores.build1!), {
      builder: 'build2',
      now,
      force: true,
      files: { 'build2/heartbeat.json': `${JSON.stringify({ id: 'build2', timestamp: now.toISOString(), host: 'forged', pid: 1, version: '0.1.0' }, null, 2)}\n`, 'build2/metrics.jsonl': '' },
    });
    const store = fleet.stores.build2!;
    await fetchAll(storeAt(store));
    const beats = vi.spyOn(heartbeatDoc, 'safeParse');
    const ctx = testContext(store, 'build2');
    const first = await fleetStatus(ctx, { fetch: false });
    expect(first.signatures.build2?.heartbeat).toMatchObject({ verdict: 'forged', signer: 'build1' });
    expect(beats).toHaveBeenCalledTimes(1);
    await cacheHolds(store, 1);
    beats.mockClear();
    const second = await fleetStatus(ctx, { fetch: false });
    expect(beats).not.toHaveBeenCalled(); // valid, as remembered
    expect(second.signatures.build2?.heartbeat).toMatchObject({ verdict: 'forged', signer: 'build1' });
  });

  it('checks each heartbeat\'s signature once, and judges what it found against the keys as they are at each view', async () => {
    fleet = await makeFleet(['build1', 'build2', 'build3']);
    for (const id of ['build1', 'build2']) await addKeyOp(testContext(fleet.stores[id]!, id), { id });
    for (const id of ['build1', 'build2', 'build3']) await heartbeat(testContext(fleet.stores[id]!, id));
    const store = fleet.stores.build1!;
    await fetchAll(storeAt(store));
    const ctx = testContext(store, 'build1');
    const verdicts = async () => Object.fromEntries(Object.entries((await fleetStatus(ctx, { fetch: false })).signatures).map(([id, s]) => [id, s.heartbeat?.verdict]));
    expect(await verdicts()).toEqual({ build1: 'verified', build2: 'verified', build3: 'unverified' });
    const memo = join(store, '.git', 'buildctl', 'heartbeat-signatures');
    await waitFor(() => existsSync(memo) && readFileSync(memo, 'utf8').trim().split('\n').length === 4, 'the signature memo written');
    // What the memo says of a commit is what the next view goes by (shown here by making it
    // say a good signature was bad: the view did not check the signature again)...
    const lines = readFileSync(memo, 'utf8').split('\n');
    writeFileSync(memo, lines.map((line) => (line.includes(' build2 ') ? line.replace(/ \{.*$/, ' {"kind":"bad","reason":"as remembered"}') : line)).join('\n'));
    expect((await fleetStatus(ctx, { fetch: false })).signatures.build2?.heartbeat).toMatchObject({ verdict: 'unverified', reason: 'a bad signature: as remembered' });
    // The audit checks every signature again.
    expect((await validateSignatures(ctx, { fetch: false })).heartbeats.find((h) => h.builder === 'build2')).toMatchObject({ verdict: 'verified' });
    // ...while who may sign is judged at each view: build3 registers its key, and the beat it
    // signed before (remembered as a good signature by an unregistered key) is now verified.
    await addKeyOp(testContext(fleet.stores.build3!, 'build3'), { id: 'build3' });
    await fetchAll(storeAt(store));
    expect(await verdicts()).toMatchObject({ build1: 'verified', build3: 'verified' });
    // A new beat is checked afresh.
    await heartbeat(testContext(fleet.stores.build2!, 'build2'));
    await fetchAll(storeAt(store));
    expect(await verdicts()).toMatchObject({ build2: 'verified' });
  });

  it('counts its mail parsing only the messages it has not read or acknowledged, with the counts the whole file gives', async () => {
    fleet = await makeFleet(['build1', 'build2', 'build3']);
    const at = '2026-11-01T00:00:00.000Z';
    const ids = ['build1', 'build2', 'build3'];
    const messages = Array.from({ length: 300 }, (_, i) => ({
      id: `msg_${i}`,
      from: ids[i % 3]!,
      to: i % 4 === 0 ? ['all'] : [ids[(i + 1) % 3]!],
      type: 'info',
      subject: `subject ${i} "build1"`,
      body: `body ${i}`,
      created_at: at,
      ack_required: i % 5 === 0,
      read_by: Object.fromEntries(ids.filter((_, j) => (i >> j) % 2 === 1).map((id) => [id, at])),
      acked_by: i % 10 === 0 ? { build2: { at, note: 'ok' } } : {},
    }));
    await transact(storeAt(fleet.stores.build1!), { op: 'test.seed', actor: 'test', apply: () => ({ result: null, writes: [{ spec: docs.messages, value: { messages } }], summary: 'test.seed' }) });
    const text = gitSync(fleet.remote, ['show', `main:${docs.messages.path}`]);
    const all = (JSON.parse(text) as { messages: Message[] }).messages;
    const parse = vi.spyOn(JSON, 'parse');
    const wholeText = () => parse.mock.calls.filter(([arg]) => arg === text).length;

    // build1's clone wrote (validated) the file: no view parses it whole, whoever it is for.
    for (const id of ids) {
      const view = await fleetStatus(testContext(fleet.stores.build1!, id), { fetch: false });
      expect(view.mail).toEqual({ builder: id, ...mailboxCounts(all, id) });
    }
    expect(wholeText()).toBe(0);
    expect(mailboxCounts(all, 'build2').unread).toBeGreaterThan(0);

    // build3's clone has not validated it yet: its first view reads it whole, then by entries.
    await fetchAll(storeAt(fleet.stores.build3!));
    expect((await fleetStatus(testContext(fleet.stores.build3!, 'build3'), { fetch: false })).mail).toEqual({ builder: 'build3', ...mailboxCounts(all, 'build3') });
    expect(wholeText()).toBe(1);
    const file = join(fleet.stores.build3!, '.git', 'buildctl', 'valid-blobs');
    const deadline = Date.now() + 20_000;
    while (!(existsSync(file) && readFileSync(file, 'utf8').includes(docs.messages.path))) {
      if (Date.now() > deadline) throw new Error('build3 never remembered messages.json');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect((await fleetStatus(testContext(fleet.stores.build3!, 'build3'), { fetch: false })).mail).toEqual({ builder: 'build3', ...mailboxCounts(all, 'build3') });
    expect(wholeText()).toBe(1);
  });

  it.each([
    ['only jobs any builder can run', false, {}],
    ['a job with labels no builder has', true, { labels: ['gpu'] }],
    ['a job waiting for another', true, { dependencies: ['job_1'] }],
  ] as const)('counts the queue of %s off its text, parsing it: %s', async (_label, parses, extra) => {
    fleet = await makeFleet(['build1', 'build2']);
    const at = new Date().toISOString();
    const jobs = Array.from({ length: 300 }, (_, i) => ({ id: `job_${i}`, type: 'build', priority: 5, branch: 'main', description: `job ${i}`, status: i % 3 === 0 ? 'completed' : 'queued', assigned_to: null, labels: [], attempts: 0, max_attempts: 3, created_at: at, ...(i === 7 ? extra : {}) }));
    await transact(storeAt(fleet.stores.build1!), { op: 'test.seed', actor: 'test', apply: () => ({ result: null, writes: [{ spec: docs.jobs, value: { jobs } }], summary: 'test.seed' }) });
    const text = gitSync(fleet.remote, ['show', `main:${docs.jobs.path}`]);
    const parse = vi.spyOn(JSON, 'parse');
    const view = await fleetStatus(testContext(fleet.stores.build1!, 'build1'), { fetch: false });
    expect(parse.mock.calls.filter(([arg]) => arg === text)).toHaveLength(parses ? 1 : 0);
    expect(view.queue).toMatchObject({ queued: 200, completed: 100, running: 0 });
    expect(view.queue_waits.jobs.map((w) => w.id)).toEqual(parses ? ['job_7'] : []);
  });

  it('keeps what it worked out of the queue and the mail for the same blobs, and works it out again when one changes', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const one = fleet.stores.build1!;
    const at = new Date().toISOString();
    const jobs = Array.from({ length: 300 }, (_, i) => ({ id: `job_${i}`, type: 'build', priority: 5, branch: 'main', description: `job ${i}`, status: i % 3 === 0 ? 'completed' : 'queued', assigned_to: null, labels: [], attempts: 0, max_attempts: 3, created_at: at }));
    const messages = Array.from({ length: 200 }, (_, i) => ({ id: `msg_${i}`, from: i % 2 === 0 ? 'build2' : 'build1', to: [i % 2 === 0 ? 'build1' : 'build2'], type: 'info', subject: `subject ${i}`, body: `body ${i}`, created_at: at, ack_required: false, read_by: {}, acked_by: {} }));
    await transact(storeAt(one), { op: 'test.seed', actor: 'test', apply: () => ({ result: null, writes: [{ spec: docs.jobs, value: { jobs } }, { spec: docs.messages, value: { messages } }], summary: 'test.seed' }) });
    const view = () => fleetStatus(testContext(one, 'build1'), { fetch: false });
    const memoFile = join(one, '.git', 'buildctl', 'view-memo.json');

    const first = await view();
    expect(first.queue).toMatchObject({ queued: 200, completed: 100 });
    expect(first.mail).toMatchObject({ unread: 100 });
    const memo = JSON.parse(readFileSync(memoFile, 'utf8')) as { slots: Record<string, { key: string; value: unknown }> };
    expect(Object.keys(memo.slots).sort()).toEqual(['status-mail', 'status-queue']);

    // Believed for the same blobs: a memo that says otherwise is what the next view shows.
    const parse = vi.spyOn(JSON, 'parse');
    const text = gitSync(fleet.remote, ['show', `main:${docs.jobs.path}`]);
    memo.slots['status-queue']!.value = { ...(memo.slots['status-queue']!.value as object), queued: 7 };
    memo.slots['status-mail']!.value = (memo.slots['status-mail']!.value as unknown[]).slice(0, 3);
    writeFileSync(memoFile, JSON.stringify(memo));
    const kept = await view();
    expect(kept.queue).toMatchObject({ queued: 7, completed: 100 });
    expect(kept.mail).toMatchObject({ unread: 3 });
    expect(parse.mock.calls.filter(([arg]) => arg === text)).toHaveLength(0);

    // A new job changes the queue's blob: worked out again; the mail's blob did not change.
    await transact(storeAt(one), { op: 'test.add', actor: 'test', apply: () => ({ result: null, writes: [{ spec: docs.jobs, value: { jobs: [...jobs, { ...jobs[1]!, id: 'job_new' }] } }], summary: 'test.add' }) });
    const changed = await view();
    expect(changed.queue).toMatchObject({ queued: 201, completed: 100 });
    expect(changed.mail).toMatchObject({ unread: 3 });
    // Another builder's mail is its own (the slot then holds that one).
    expect((await fleetStatus(testContext(one, 'build2'), { fetch: false })).mail).toMatchObject({ unread: 100 });

    // A garbled memo is no memo.
    writeFileSync(memoFile, '{"print": 1, "slots": ');
    expect((await view()).mail).toMatchObject({ unread: 100 });
  });
});
