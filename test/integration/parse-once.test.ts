// What a transaction does with the documents it touches, counted with spies on JSON.parse
// and on the schemas: each document is parsed once per attempt (the loss guard and the
// serialisation reuse that parse), a blob this clone validated is not validated again, a
// write validates only the entries it changed, and a send (an append) parses none of the
// messages already there.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { housekeepingOp } from '../../src/ops/housekeeping.js';
import { claimJobOp, finishJobOp } from '../../src/ops/jobs.js';
import { addTargetOp } from '../../src/ops/notify.js';
import { sendMessageOp } from '../../src/ops/messages.js';
import { job, jobsDoc } from '../../src/schemas/jobs.js';
import { docs } from '../../src/schemas/layout.js';
import { message, messagesDoc } from '../../src/schemas/messages.js';
import { serializeDocument } from '../../src/store/documents.js';
import { storeAt } from '../../src/store/store.js';
import { transact } from '../../src/store/transaction.js';
import { gitSync, makeFleet, pushHandEdit, testContext, type Fleet } from '../helpers/fleet.js';

let fleet: Fleet | undefined;
afterEach(() => {
  vi.restoreAllMocks();
  fleet?.cleanup();
});

const ENTRIES = 300; // well over the size from which validated blobs are remembered

const seed = async (f: Fleet): Promise<void> => {
  const created = '2026-01-01T00:00:00.000Z';
  const jobs = Array.from({ length: ENTRIES }, (_, i) => ({ id: `job_${i}`, type: 'build', priority: 5, branch: 'main', description: `job ${i}`, status: 'queued', assigned_to: null, labels: [], attempts: 0, max_attempts: 3, created_at: created }));
  const messages = Array.from({ length: ENTRIES }, (_, i) => ({ id: `msg_${i}`, from: 'build1', to: ['build2'], type: 'info', subject: `subject ${i}`, body: `body ${i}`, created_at: created, ack_required: false, read_by: {}, acked_by: {} }));
  await transact(storeAt(f.stores.build1!), {
    op: 'test.seed',
    actor: 'test',
    apply: () => ({ result: null, writes: [{ spec: docs.jobs, value: { jobs } }, { spec: docs.messages, value: { messages } }], summary: 'test.seed' }),
  });
};

const onMain = (f: Fleet, path: string): string => gitSync(f.remote, ['show', `main:${path}`]);

/** Calls of a spy whose first argument is a document with more than one entry in `field`. */
const wholeDocuments = (spy: { mock: { calls: unknown[][] } }, field: string): number =>
  spy.mock.calls.filter(([value]) => Array.isArray((value as Record<string, unknown> | null)?.[field]) && ((value as Record<string, unknown[]>)[field]!.length > 1)).length;

describe('documents in a transaction', () => {
  it('a claim parses the queue once, validates it once when it is new to the clone and not at all once validated, validates only the job it changed, and serialises only that job', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    await seed(fleet);
    const ctx = testContext(fleet.stores.build2!, 'build2');
    const parse = vi.spyOn(JSON, 'parse');
    const stringify = vi.spyOn(JSON, 'stringify');
    const wholeQueue = vi.spyOn(jobsDoc, 'safeParse');
    const oneJob = vi.spyOn(job, 'safeParse');

    // build2 has never seen this queue: read, parsed and validated once.
    let before = onMain(fleet, docs.jobs.path);
    await claimJobOp(ctx, {});
    expect(parse.mock.calls.filter(([text]) => text === before)).toHaveLength(1);
    expect(wholeDocuments(wholeQueue, 'jobs')).toBe(1);
    expect(oneJob).toHaveBeenCalledTimes(1); // the claimed job, on its way out

    // One job at a time: build2 finishes the first (another write of its own) before the next.
    await finishJobOp(ctx, 'complete', { id: 'job_0' });

    // Its own write is now known valid: the next claim only parses it, and writes the
    // claimed job's text in place of the old one (the queue is not serialised again).
    parse.mockClear();
    stringify.mockClear();
    wholeQueue.mockClear();
    oneJob.mockClear();
    before = onMain(fleet, docs.jobs.path);
    await claimJobOp(ctx, {});
    expect(parse.mock.calls.filter(([text]) => text === before)).toHaveLength(1);
    expect(wholeDocuments(wholeQueue, 'jobs')).toBe(0);
    expect(oneJob).toHaveBeenCalledTimes(1);
    expect(wholeDocuments(stringify, 'jobs')).toBe(0);
    // And what it wrote is the canonical text of the whole queue.
    const after = onMain(fleet, docs.jobs.path);
    expect(after).toBe(serializeDocument(docs.jobs.path, JSON.parse(after), jobsDoc));
    const statuses = (JSON.parse(after) as { jobs: Array<{ status: string }> }).jobs.map((j) => j.status);
    expect(statuses.filter((s) => s === 'running')).toHaveLength(1);
    expect(statuses.filter((s) => s === 'completed')).toHaveLength(1);
  });

  it('a claim on a queue written by hand (valid, not canonical) writes it whole and canonical, unknown fields and every other job kept', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const created = '2026-01-01T00:00:00.000Z';
    const jobs = ['a', 'b', 'c'].map((id, i) => ({ id: `job_${id}`, type: 'build', priority: 5 - i, status: 'queued', assigned_to: null, labels: [], created_at: created, custom: { kept: id } }));
    pushHandEdit(fleet, { [docs.jobs.path]: JSON.stringify({ jobs, owner: 'ops' }) });
    const claimed = await claimJobOp(testContext(fleet.stores.build2!, 'build2'), {});
    expect(claimed.job.id).toBe('job_c'); // priority 3 first
    const after = onMain(fleet, docs.jobs.path);
    expect(after).toBe(serializeDocument(docs.jobs.path, JSON.parse(after), jobsDoc));
    const written = JSON.parse(after) as { owner: string; jobs: Array<{ id: string; status: string; assigned_to: string | null; custom: { kept: string } }> };
    expect(written.owner).toBe('ops');
    expect(written.jobs.map((j) => [j.id, j.status, j.assigned_to, j.custom.kept])).toEqual([
      ['job_a', 'queued', null, 'a'],
      ['job_b', 'queued', null, 'b'],
      ['job_c', 'running', 'build2', 'c'],
    ]);
  });

  it('a send parses none of the messages already there, and validates only the new one', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    await seed(fleet);
    const ctx = testContext(fleet.stores.build1!, 'build1'); // the clone that validated (wrote) them
    const before = onMain(fleet, docs.messages.path);
    const parse = vi.spyOn(JSON, 'parse');
    const wholeMessages = vi.spyOn(messagesDoc, 'safeParse');
    const oneMessage = vi.spyOn(message, 'safeParse');
    const sent = await sendMessageOp(ctx, { to: ['build2'], body: 'hello' });
    expect(parse.mock.calls.filter(([text]) => typeof text === 'string' && text.length >= before.length)).toHaveLength(0);
    expect(wholeDocuments(wholeMessages, 'messages')).toBe(0);
    expect(oneMessage).toHaveBeenCalledTimes(1);
    // The text it wrote is the one serialising the whole document would give.
    const after = onMain(fleet, docs.messages.path);
    const parsed = JSON.parse(after) as { messages: Array<{ id: string }> };
    expect(after).toBe(serializeDocument(docs.messages.path, parsed, messagesDoc));
    expect(parsed.messages.map((m) => m.id)).toEqual([...Array.from({ length: ENTRIES }, (_, i) => `msg_${i}`), sent.message.id]);
    // A duplicate id is still refused from the ids read off the text.
    await expect(sendMessageOp(ctx, { to: ['build2'], body: 'again', replyTo: 'msg_999' })).rejects.toMatchObject({ code: 'unknown_reply_to' });
    expect((await sendMessageOp(ctx, { to: ['build2'], body: 'a reply', replyTo: 'msg_7' })).message.reply_to).toBe('msg_7');
  });
});

describe('housekeeping', () => {
  const recentMessages = (count: number, at: string) =>
    Array.from({ length: count }, (_, i) => ({ id: `msg_${i}`, from: 'build1', to: ['build2'], type: 'info', subject: `subject ${i}`, body: `body ${i}`, created_at: at, ack_required: false, read_by: { build2: at }, acked_by: {} }));
  const writeMessages = (f: Fleet, messages: unknown[]) =>
    transact(storeAt(f.stores.build1!), { op: 'test.seed', actor: 'test', apply: () => ({ result: null, writes: [{ spec: docs.messages, value: { messages } }], summary: 'test.seed' }) });

  it('parses no message while none is old enough to archive, reading their dates off the text; one that is due is archived', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const recent = new Date(Date.now() - 3_600_000).toISOString();
    await writeMessages(fleet, recentMessages(ENTRIES, recent));
    const store = fleet.stores.build1!; // the clone that validated (wrote) them
    const ctx = testContext(store, 'build1');
    let text = onMain(fleet, docs.messages.path);
    const parse = vi.spyOn(JSON, 'parse');
    const wholeMessages = vi.spyOn(messagesDoc, 'safeParse');
    const idle = await housekeepingOp(ctx, storeAt(store), 'build1');
    expect(idle.archived_messages).toEqual([]);
    expect(parse.mock.calls.filter(([arg]) => typeof arg === 'string' && arg.length >= text.length)).toHaveLength(0);
    expect(wholeDocuments(wholeMessages, 'messages')).toBe(0);
    expect(onMain(fleet, docs.messages.path)).toBe(text);

    // One message 40 days old, read by its recipient: due, so the file is read and it leaves.
    const old = { ...recentMessages(1, new Date(Date.now() - 40 * 86_400_000).toISOString())[0]!, id: 'msg_old' };
    await writeMessages(fleet, [old, ...recentMessages(ENTRIES, recent)]);
    text = onMain(fleet, docs.messages.path);
    parse.mockClear();
    const due = await housekeepingOp(ctx, storeAt(store), 'build1');
    expect(due.archived_messages).toEqual(['msg_old']);
    expect(parse.mock.calls.filter(([arg]) => arg === text)).toHaveLength(1);
    expect((JSON.parse(onMain(fleet, docs.messages.path)) as { messages: unknown[] }).messages).toHaveLength(ENTRIES);
  });

  it('reads the messages whole where notifications are configured (events look at them)', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const recent = new Date(Date.now() - 3_600_000).toISOString();
    await writeMessages(fleet, recentMessages(ENTRIES, recent));
    const store = fleet.stores.build1!;
    const ctx = testContext(store, 'build1');
    await addTargetOp(ctx, { name: 'ops', type: 'webhook', url: 'http://127.0.0.1:9/hook', secret_env: 'BUILDCTL_TEST_SECRET' });
    const text = onMain(fleet, docs.messages.path);
    const parse = vi.spyOn(JSON, 'parse');
    await housekeepingOp(ctx, storeAt(store), 'build1');
    expect(parse.mock.calls.filter(([arg]) => arg === text)).toHaveLength(1);
  });

  const queuedJobs = (count: number) =>
    Array.from({ length: count }, (_, i) => ({ id: `job_${i}`, type: 'build', priority: 5, branch: 'main', description: `job ${i}`, status: 'queued', assigned_to: null, labels: [], attempts: 0, max_attempts: 3, created_at: new Date(Date.now() - 3_600_000).toISOString() }));
  const old = new Date(Date.now() - 30 * 86_400_000).toISOString();
  it.each([
    ['only queued jobs', false, undefined],
    ['a running job', true, { status: 'running', assigned_to: 'build2', started_at: old, attempts: 1 }],
    ['a job with dependencies', true, { dependencies: ['job_1'] }],
    ['a job with a block cleared', true, { blocked: null }],
    ['a job finished past job_retention', true, { status: 'completed', assigned_to: 'build2', completed_at: old, attempts: 1 }],
    ['a job finished lately', false, { status: 'failed', assigned_to: 'build2', completed_at: new Date().toISOString(), attempts: 1, result: { reason: 'tests failed' } }],
  ] as const)('with %s, a pass parses the queue: %s', async (_label, parses, extra) => {
    fleet = await makeFleet(['build1', 'build2']);
    const jobs = [...queuedJobs(ENTRIES), ...(extra ? [{ ...queuedJobs(1)[0]!, id: 'job_x', ...extra }] : [])];
    await transact(storeAt(fleet.stores.build1!), { op: 'test.seed', actor: 'test', apply: () => ({ result: null, writes: [{ spec: docs.jobs, value: { jobs } }], summary: 'test.seed' }) });
    const text = onMain(fleet, docs.jobs.path);
    const parse = vi.spyOn(JSON, 'parse');
    const outcome = await housekeepingOp(testContext(fleet.stores.build1!, 'build1'), storeAt(fleet.stores.build1!), 'build1');
    expect(parse.mock.calls.filter(([arg]) => arg === text)).toHaveLength(parses ? 1 : 0);
    // Either way the dashboard counts the whole queue.
    const dashboard = JSON.parse(onMain(fleet, docs.dashboard.path)) as { queue: Record<string, number> };
    const expected = { queued: 0, running: 0, completed: 0, failed: 0, cancelled: 0, dead: 0 };
    for (const job of jobs) expected[job.status as keyof typeof expected]++;
    for (const id of outcome.archived_jobs) expected[jobs.find((j) => j.id === id)!.status as keyof typeof expected]--;
    expect(dashboard.queue).toEqual(expected);
    if (extra && 'completed_at' in extra && extra.completed_at === old) expect(outcome.archived_jobs).toEqual(['job_x']);
  });
});
