// `buildctl mcp` (issue 17): the built CLI started as a child process, talked to with the MCP
// SDK's own client over stdio, against a real fleet (a bare remote, one clone per builder).
// Every tool's result is compared with the CLI's --json for the same operation; refusals
// come back as tool errors carrying the CLI's error document, with nothing written (the
// remote's refs unmoved); two servers on two clones coordinate through the store.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toolInputSchemas } from '../../src/cli/mcp/tool-schemas.js';
import { CLI, cliEnv, gitSync, makeFleet, REPO_ROOT, runCli, type Fleet } from '../helpers/fleet.js';

let fleet: Fleet;
const servers: Array<{ client: Client; stderr: () => string }> = [];

const READ_TOOLS = ['fleet_status', 'inbox', 'message_show', 'job_list', 'job_show', 'lock_list', 'check', 'audit_log', 'builder_metrics'];
const WRITE_TOOLS = ['msg_send', 'msg_read', 'msg_ack', 'status_set', 'job_claim', 'job_complete', 'job_fail', 'lock_acquire', 'lock_renew', 'lock_release'];

/** `buildctl [--store S] [--as ID] mcp [args]` as an MCP client starts it, connected. */
const startServer = async (options: { store: string; as?: string; args?: string[] }): Promise<Client> => {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, '--store', options.store, ...(options.as ? ['--as', options.as] : []), 'mcp', ...(options.args ?? [])],
    env: cliEnv(),
    cwd: REPO_ROOT,
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const client = new Client({ name: 'buildctl-test', version: '1.0.0' });
  await client.connect(transport);
  servers.push({ client, stderr: () => stderr });
  return client;
};

interface ToolOutcome {
  isError: boolean;
  document: Record<string, unknown>;
  text: string;
}

const call = async (client: Client, name: string, args: Record<string, unknown> = {}): Promise<ToolOutcome> => {
  const result = await client.callTool({ name, arguments: args });
  const content = result.content as Array<{ type: string; text: string }>;
  const document = result.structuredContent as Record<string, unknown>;
  // The text is the same document, for clients that read only text.
  expect(JSON.parse(content[0]!.text)).toEqual(document);
  return { isError: result.isError === true, document, text: content[0]!.text };
};

/** A tool that must succeed: its document. */
const ok = async (client: Client, name: string, args: Record<string, unknown> = {}): Promise<Record<string, unknown>> => {
  const outcome = await call(client, name, args);
  expect(outcome.isError, `${name}: ${outcome.text}`).toBe(false);
  return outcome.document;
};

/** The CLI's --json for the same operation. */
const cliJson = async (as: string | null, store: string, args: string[]): Promise<{ code: number; body: Record<string, unknown> }> => {
  const run = await runCli(['--store', store, ...(as ? ['--as', as] : []), ...args, '--json']);
  return { code: run.code, body: JSON.parse(run.stdout) as Record<string, unknown> };
};

// Values that change between two reads a moment apart: when they were made, ages and time left.
const VOLATILE = new Set(['generated_at', 'last_fetch_at', 'heartbeat_age_seconds', 'seconds_left', 'since', 'heartbeats_fetched_at', 'fetch_age_seconds', 'silent_seconds', 'clock_offset_seconds']);
const stable = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(stable);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, VOLATILE.has(k) ? '(volatile)' : stable(v)]));
  return value;
};

/** The key structure of a document: what the contract fixes, whatever the values. */
const shape = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.length > 0 ? [shape(value[0])] : [];
  if (value && typeof value === 'object') return Object.fromEntries(Object.keys(value).sort().map((k) => [k, shape((value as Record<string, unknown>)[k])]));
  return value === null ? null : typeof value;
};

const refs = () => gitSync(fleet.remote, ['for-each-ref', '--format=%(refname) %(objectname)']);
const remoteMain = () => gitSync(fleet.remote, ['rev-parse', 'main']).trim();
const lastTrailers = () => gitSync(fleet.remote, ['log', '-1', '--format=%(trailers:key=Buildctl-Op,valueonly,separator=)|%(trailers:key=Buildctl-Actor,valueonly,separator=)', 'main']).trim();
const remoteJson = (path: string) => JSON.parse(gitSync(fleet.remote, ['show', `main:${path}`])) as Record<string, unknown>;

let b1: Client; // build1, read and write tools
let b2: Client; // build2, read and write tools, on its own clone
let readOnly: Client; // build1, read tools only

beforeAll(async () => {
  fleet = await makeFleet(['build1', 'build2']);
  for (const id of ['build1', 'build2']) expect((await runCli(['--store', fleet.stores[id]!, '--as', id, 'heartbeat'])).code).toBe(0);
  [b1, b2, readOnly] = await Promise.all([
    startServer({ store: fleet.stores.build1!, as: 'build1', args: ['--allow-writes'] }),
    startServer({ store: fleet.stores.build2!, as: 'build2', args: ['--allow-writes'] }),
    startServer({ store: fleet.stores.build1!, as: 'build1' }),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all(servers.map(({ client }) => client.close().catch(() => undefined)));
  fleet?.cleanup();
});

describe('buildctl mcp: the tools offered', () => {
  it('offers read tools only by default, and the write tools with --allow-writes; never an operator\'s command', async () => {
    const names = async (client: Client) => (await client.listTools()).tools.map((t) => t.name).sort();
    expect(await names(readOnly)).toEqual([...READ_TOOLS].sort());
    expect(await names(b1)).toEqual([...READ_TOOLS, ...WRITE_TOOLS].sort());
    for (const name of await names(b1)) expect(name).not.toMatch(/break|remove|config|migrate|cancel|retry|add/);
  });

  it('describes each tool for a model and gives its input schema, generated from the zod schemas', async () => {
    const { tools } = await b1.listTools();
    const generated = toolInputSchemas();
    for (const tool of tools) {
      expect(tool.inputSchema, `${tool.name}: schemas/mcp_tools.json is out of date (npm run schemas)`).toEqual(generated[tool.name]);
      expect(tool.inputSchema.type).toBe('object');
      expect(tool.description!.length, tool.name).toBeGreaterThan(120);
      expect(tool.annotations?.readOnlyHint, tool.name).toBe(READ_TOOLS.includes(tool.name));
    }
    const send = tools.find((t) => t.name === 'msg_send')!;
    expect(send.inputSchema.required).toEqual(['to', 'body']);
    expect((send.inputSchema.properties as Record<string, { enum?: string[] }>).type?.enum).toEqual(['info', 'warning', 'error', 'request']);
  });

  it('tells the client who it acts as, what it may do and the session checklist', async () => {
    expect(b1.getInstructions()).toContain(`acts as builder build1 on the store ${fleet.stores.build1}`);
    expect(b1.getInstructions()).toContain('Read and write tools are offered');
    expect(readOnly.getInstructions()).toContain('Only read tools are offered');
    expect(readOnly.getInstructions()).toContain('At the end of a session:');
    expect(b1.getServerVersion()?.name).toBe('buildctl');
  });
});

describe('buildctl mcp: results are the CLI\'s --json', () => {
  let sent: Record<string, unknown>;
  let reply: Record<string, unknown>;
  let jobId: string;

  beforeAll(async () => {
    // Something to read: a thread of two messages, a running job, a held lock.
    const s1 = fleet.stores.build1!;
    sent = (await cliJson('build1', s1, ['msg', 'send', 'build2', '--ack', 'deploy window at 22:00\nsee the runbook'])).body.message as Record<string, unknown>;
    reply = (await cliJson('build2', fleet.stores.build2!, ['msg', 'send', 'build1', '--reply-to', String(sent.id), 'ok for 22:00'])).body.message as Record<string, unknown>;
    await cliJson(null, s1, ['job', 'add', '--type', 'build', '--target', 'build1', '--branch', 'main']);
    jobId = ((await cliJson('build1', s1, ['job', 'claim'])).body.job as { id: string }).id;
    await cliJson('build1', s1, ['lock', 'acquire', 'cache', '--ttl', '10m']);
  }, 60_000);

  it.each([
    ['fleet_status', {}, ['status'], 'build1'],
    ['inbox', {}, ['msg', 'list'], 'build1'],
    ['lock_list', {}, ['lock', 'list'], 'build1'],
    ['check', {}, ['check'], 'build1'],
    ['audit_log', { limit: 5 }, ['log', '--limit', '5'], 'build1'],
    ['builder_metrics', { builder: 'build1' }, ['metrics', 'build1'], 'build1'],
  ] as const)('%s', async (tool, args, command, as) => {
    const viaMcp = await ok(readOnly, tool, args);
    const viaCli = await cliJson(as, fleet.stores.build1!, [...command]);
    expect(stable(viaMcp)).toEqual(stable(viaCli.body));
  });

  it('message_show: the message with its thread', async () => {
    const viaMcp = await ok(readOnly, 'message_show', { id: reply.id });
    expect(viaMcp).toEqual((await cliJson('build1', fleet.stores.build1!, ['msg', 'show', String(reply.id)])).body);
    expect((viaMcp.ancestors as Array<{ id: string }>).map((m) => m.id)).toEqual([sent.id]);
  });

  it('job_list and job_show', async () => {
    expect(jobId).toMatch(/^job_/);
    const list = await ok(readOnly, 'job_list', { status: 'running' });
    expect(list).toEqual((await cliJson(null, fleet.stores.build1!, ['job', 'list', '--status', 'running'])).body);
    expect(list.jobs).toEqual([expect.objectContaining({ id: jobId, assigned_to: 'build1' })]);
    const show = await ok(readOnly, 'job_show', { id: jobId });
    expect(show).toEqual((await cliJson(null, fleet.stores.build1!, ['job', 'show', jobId])).body);
    expect(show).toMatchObject({ job: { id: jobId }, archive: null });
  });

  it('the resources: the fleet status and my inbox, as the tools return them', async () => {
    const { resources } = await readOnly.listResources();
    expect(resources.map((r) => r.uri).sort()).toEqual(['buildctl://fleet/status', 'buildctl://inbox']);
    const read = async (uri: string) => JSON.parse(((await readOnly.readResource({ uri })).contents[0] as { text: string }).text) as unknown;
    expect(stable(await read('buildctl://fleet/status'))).toEqual(stable(await ok(readOnly, 'fleet_status')));
    expect(await read('buildctl://inbox')).toEqual(await ok(readOnly, 'inbox'));
    expect((await read('buildctl://inbox')) as { messages: Array<{ body: string }> }).toMatchObject({ messages: [{ body: 'ok for 22:00' }] });
  });
});

describe('buildctl mcp: write tools change the store as the CLI does', () => {
  /** A change: the noun and the outcome, landed as the remote's main, with the CLI's trailers. */
  const landed = (document: Record<string, unknown>, noun: string, op: string, actor: string) => {
    expect(Object.keys(document).sort()).toEqual([noun, 'changed', 'commit', 'queued'].sort());
    expect(document).toMatchObject({ changed: true, queued: false });
    expect(document.commit).toBe(remoteMain());
    expect(lastTrailers()).toBe(`${op}|${actor}`);
    return document[noun] as Record<string, unknown>;
  };

  it('messages: send, read, ack', async () => {
    const viaMcp = await ok(b1, 'msg_send', { to: ['build2'], body: 'rollout at 22:00\nstep 1: drain', type: 'request', ack: true });
    const message = landed(viaMcp, 'message', 'msg.send', 'build1');
    expect(message).toMatchObject({ from: 'build1', to: ['build2'], type: 'request', subject: 'rollout at 22:00', ack_required: true });
    const viaCli = await cliJson('build1', fleet.stores.build1!, ['msg', 'send', 'build2', '-t', 'request', '--ack', 'a second one']);
    expect(shape(viaMcp)).toEqual(shape(viaCli.body));

    const inbox = (await ok(b2, 'inbox')).messages as Array<{ id: string; body: string }>;
    expect(inbox.find((m) => m.id === message.id)?.body).toBe('rollout at 22:00\nstep 1: drain');
    const marked = landed(await ok(b2, 'msg_read', { ids: [message.id] }), 'messages', 'msg.read', 'build2') as unknown as Array<{ id: string; read_by: object }>;
    expect(marked.map((m) => m.id)).toEqual([message.id]);
    expect(marked[0]!.read_by).toHaveProperty('build2');
    expect(await ok(b2, 'msg_read', { ids: [message.id] })).toMatchObject({ messages: [], changed: false, commit: null });
    const acked = landed(await ok(b2, 'msg_ack', { id: message.id, note: 'drained' }), 'message', 'msg.ack', 'build2');
    expect(acked.acked_by).toMatchObject({ build2: { note: 'drained' } });
  });

  it('status set, job claim / complete / fail', async () => {
    expect(landed(await ok(b2, 'status_set', { state: 'building' }), 'status', 'status.set', 'build2')).toMatchObject({ id: 'build2', state: 'building' });
    expect(landed(await ok(b2, 'status_set', { state: 'idle' }), 'status', 'status.set', 'build2')).toMatchObject({ state: 'idle', current_job: null });

    await cliJson(null, fleet.stores.build2!, ['job', 'add', '--type', 'package', '--target', 'build2']);
    const claimed = landed(await ok(b2, 'job_claim', { type: 'package' }), 'job', 'job.claim', 'build2');
    expect(claimed).toMatchObject({ type: 'package', status: 'running', assigned_to: 'build2' });
    expect(remoteJson('build2/status.json')).toMatchObject({ state: 'building', current_job: claimed.id });
    const artifact = join(fleet.root, 'app.tgz');
    writeFileSync(artifact, 'the package');
    const completed = landed(await ok(b2, 'job_complete', { id: claimed.id, artifacts: [artifact], artifact_urls: ['https://files.example/app.tgz'] }), 'job', 'job.complete', 'build2');
    expect(completed).toMatchObject({ status: 'completed', result: { artifacts: [{ path: artifact, size: 11, url: 'https://files.example/app.tgz', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }] } });

    await cliJson(null, fleet.stores.build2!, ['job', 'add', '--type', 'test', '--target', 'build2']);
    const second = landed(await ok(b2, 'job_claim'), 'job', 'job.claim', 'build2');
    const failed = landed(await ok(b2, 'job_fail', { id: second.id, reason: 'flaky network test' }), 'job', 'job.fail', 'build2');
    expect(failed).toMatchObject({ status: 'failed', result: { reason: 'flaky network test' } });
    expect(remoteJson('build2/status.json')).toMatchObject({ state: 'failed', last_build: { job: second.id, status: 'failed' } });
  });

  it('locks: acquire, renew, release', async () => {
    const acquired = landed(await ok(b2, 'lock_acquire', { name: 'release', ttl: '2m' }), 'lock', 'lock.acquire', 'build2');
    expect(acquired).toMatchObject({ name: 'release', owner: 'build2' });
    const viaCli = await cliJson('build2', fleet.stores.build2!, ['lock', 'acquire', 'other', '--ttl', '2m']);
    expect(shape(await ok(b2, 'lock_renew', { name: 'release', ttl: '3m' }))).toEqual(shape(viaCli.body));
    expect(lastTrailers()).toBe('lock.renew|build2');
    expect(landed(await ok(b2, 'lock_release', { name: 'release' }), 'lock', 'lock.release', 'build2')).toMatchObject({ name: 'release', token: acquired.token });
    expect((remoteJson('coordination/locks.json').locks as Array<{ name: string }>).map((l) => l.name)).not.toContain('release');
  });
});

describe('buildctl mcp: refusals are tool errors with the CLI\'s error, and nothing is written', () => {
  /** The tool's error document equals the CLI's --json error for the same operation; no ref moved. */
  const refusedLikeCli = async (client: Client, tool: string, args: Record<string, unknown>, cli: { as: string | null; store: string; args: string[] }, code: string) => {
    const before = refs();
    const viaMcp = await call(client, tool, args);
    expect(viaMcp.isError, viaMcp.text).toBe(true);
    const viaCli = await cliJson(cli.as, cli.store, cli.args);
    expect(viaCli.code).toBeGreaterThan(0);
    expect((viaCli.body.error as { code: string }).code).toBe(code);
    expect(viaMcp.document).toEqual(viaCli.body);
    expect(refs(), 'no ref of the remote moved').toBe(before);
    return viaMcp.document.error as { code: string; message: string; hint: string };
  };

  it('a value that looks like a credential', async () => {
    const s1 = fleet.stores.build1!;
    const body = 'db migrated\npassword: Hunt3r-mcp';
    const error = await refusedLikeCli(b1, 'msg_send', { to: ['build2'], body }, { as: 'build1', store: s1, args: ['msg', 'send', 'build2', body] }, 'credential_in_message');
    expect(error.hint).toContain('git history keeps what is committed forever');
    expect(JSON.stringify(error)).not.toContain('Hunt3r-mcp');
    const token = `ghp_${'aB3dE6gH9jK2mN5pQ8sT1vW4yZ7cF0hL1234'}`;
    await refusedLikeCli(b1, 'lock_acquire', { name: token }, { as: 'build1', store: s1, args: ['lock', 'acquire', token] }, 'credential_in_text');
    expect(gitSync(fleet.remote, ['cat-file', '--batch-all-objects', '--batch'])).not.toContain('Hunt3r-mcp');
  });

  it('an unknown builder: as the server\'s identity, as a recipient, as a metrics subject', async () => {
    const ghost = await startServer({ store: fleet.stores.build1!, as: 'ghost', args: ['--allow-writes'] });
    const s1 = fleet.stores.build1!;
    const sent = await refusedLikeCli(ghost, 'msg_send', { to: ['build1'], body: 'hello' }, { as: 'ghost', store: s1, args: ['msg', 'send', 'build1', 'hello'] }, 'unknown_builder');
    expect(sent.message).toContain('ghost');
    await refusedLikeCli(ghost, 'job_claim', {}, { as: 'ghost', store: s1, args: ['job', 'claim'] }, 'unknown_builder');
    await refusedLikeCli(ghost, 'lock_acquire', { name: 'deploy' }, { as: 'ghost', store: s1, args: ['lock', 'acquire', 'deploy'] }, 'unknown_builder');
    await refusedLikeCli(b1, 'msg_send', { to: ['build9'], body: 'hi' }, { as: 'build1', store: s1, args: ['msg', 'send', 'build9', 'hi'] }, 'unknown_recipient');
    await refusedLikeCli(readOnly, 'builder_metrics', { builder: 'build9' }, { as: 'build1', store: s1, args: ['metrics', 'build9'] }, 'unknown_builder');
  });

  it('no identity at all: the server starts, says so, and tools acting as this builder fail with the CLI\'s hint', async () => {
    const nobody = await startServer({ store: fleet.stores.build1!, args: ['--allow-writes'] });
    expect(nobody.getInstructions()).toContain('could not tell which builder it is');
    const s1 = fleet.stores.build1!;
    await refusedLikeCli(nobody, 'inbox', {}, { as: null, store: s1, args: ['msg', 'list'] }, 'unknown_identity');
    await refusedLikeCli(nobody, 'status_set', { state: 'idle' }, { as: null, store: s1, args: ['status', 'set', 'idle'] }, 'unknown_identity');
    expect((await ok(nobody, 'fleet_status')).fleet).toMatchObject({ me: null });
  });

  it('arguments that do not match the input schema: refused before anything runs', async () => {
    const before = refs();
    const bad = await call(b1, 'msg_send', { to: 'build2', body: 'hi', colour: 'red' });
    expect(bad.isError).toBe(true);
    expect(bad.document).toMatchObject({ error: { code: 'invalid_arguments', hint: expect.stringContaining('msg_send') } });
    expect((bad.document.error as { message: string }).message).toBe('invalid arguments for msg_send: to: expected array, got string; unknown keys: colour');
    const wait = await call(b1, 'lock_acquire', { name: 'deploy', wait: '5m' });
    expect(wait.document).toMatchObject({ error: { code: 'wait_too_long' } });
    expect((await call(b1, 'job_claim', { wait: '10m' })).document).toMatchObject({ error: { code: 'wait_too_long', hint: expect.stringContaining('buildctl job claim --wait') } });
    expect(refs()).toBe(before);
  });

  it('a write tool on a read-only server is not offered, and nothing is written', async () => {
    const before = refs();
    await expect(readOnly.callTool({ name: 'msg_send', arguments: { to: ['build2'], body: 'hi' } })).rejects.toThrow(/buildctl mcp --allow-writes/);
    await expect(readOnly.callTool({ name: 'lock_break', arguments: { name: 'cache' } })).rejects.toThrow(/unknown tool "lock_break"/);
    expect(refs()).toBe(before);
  });

  it('--allow-secret-like is refused: every value a tool commits is checked', async () => {
    const run = await runCli(['--store', fleet.stores.build1!, '--as', 'build1', '--allow-secret-like', 'mcp']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('buildctl mcp does not take --allow-secret-like');
  });
});

describe('buildctl mcp: two servers on two clones coordinate through the store', () => {
  it('a claim by one is seen by the other, which cannot claim it too; a lock held by one is refused to the other', async () => {
    // One job at a time: build1 finishes the job it has been running before both race for the next.
    const busy = (await cliJson(null, fleet.stores.build1!, ['job', 'list', '--status', 'running'])).body.jobs as Array<{ id: string; assigned_to: string }>;
    for (const mine of busy.filter((j) => j.assigned_to === 'build1')) await cliJson('build1', fleet.stores.build1!, ['job', 'complete', mine.id]);
    await cliJson(null, fleet.stores.build1!, ['job', 'add', '--type', 'deploy', '--key', 'deploy-22']);
    const [first, second] = await Promise.all([call(b1, 'job_claim', { type: 'deploy' }), call(b2, 'job_claim', { type: 'deploy' })]);
    // Exactly one wins; the other is told there is nothing to claim (not now).
    const winner = first.isError ? second : first;
    const loser = first.isError ? first : second;
    expect(winner.isError, winner.text).toBe(false);
    expect(loser.document).toMatchObject({ error: { code: 'nothing_to_claim' } });
    const job = winner.document.job as { id: string; assigned_to: string };
    const other = job.assigned_to === 'build1' ? b2 : b1;
    expect((await ok(other, 'job_show', { id: job.id })).job).toMatchObject({ status: 'running', assigned_to: job.assigned_to });
    const running = (await ok(other, 'fleet_status')).fleet as { builders: Array<{ id: string; current_job: string | null }> };
    expect(running.builders.find((b) => b.id === job.assigned_to)?.current_job).toBe(job.id);

    expect((await ok(b1, 'lock_acquire', { name: 'deploy', ttl: '5m' })).lock).toMatchObject({ owner: 'build1' });
    const held = await call(b2, 'lock_acquire', { name: 'deploy' });
    expect(held.document).toMatchObject({ error: { code: 'lock_held', details: { owner: 'build1' } } });
    expect((await ok(b2, 'lock_list')).locks).toContainEqual(expect.objectContaining({ name: 'deploy', owner: 'build1' }));
    const release = await call(b2, 'lock_release', { name: 'deploy' });
    expect(release.document).toMatchObject({ error: { code: 'not_lock_owner' } });
    await ok(b1, 'lock_release', { name: 'deploy' });
  });
});

describe('buildctl mcp: an unreachable remote, and credentials in the store', () => {
  it('a send while the remote cannot be reached is queued, and the warning comes with the result', async () => {
    const store = join(fleet.root, 'offline', 'store');
    expect((await runCli(['--store', store, 'init', '--remote', fleet.remote])).code).toBe(0);
    // Nothing listens on port 9 of the loopback.
    gitSync(store, ['remote', 'set-url', 'origin', 'http://127.0.0.1:9/fleet.git']);
    const offline = await startServer({ store, as: 'build1', args: ['--allow-writes'] });
    expect((await ok(offline, 'fleet_status')).fleet).toMatchObject({ fetched: false, fetch_error: expect.stringContaining('cannot reach') });
    const before = refs();
    const result = await offline.callTool({ name: 'msg_send', arguments: { to: ['build2'], body: 'kept for later' } });
    expect(result.structuredContent).toMatchObject({ changed: true, queued: true, commit: null });
    expect((result.content as Array<{ text: string }>)[1]?.text).toMatch(/^queued: cannot reach the store's remote/);
    expect(refs()).toBe(before);
  });

  it('a URL with a password in a stored message comes back redacted, as the CLI prints it', async () => {
    const TOKEN = 'S3cr3tT0kenForMcp';
    const sent = await runCli(['--store', fleet.stores.build2!, '--as', 'build2', '--allow-secret-like', 'msg', 'send', 'build1', `mirror at https://ci:${TOKEN}@mirror.example/fleet.git`]);
    expect(sent.code, sent.stderr).toBe(0);
    const inbox = await call(readOnly, 'inbox');
    expect(inbox.text).toContain('https://ci:***@mirror.example/fleet.git');
    expect(JSON.stringify(inbox.document)).not.toContain(TOKEN);
    expect(inbox.document).toEqual((await cliJson('build1', fleet.stores.build1!, ['msg', 'list'])).body);
  });
});

describe('buildctl mcp: the end of a session', () => {
  it('a client that closes stdin with a call running still gets the change made, and the server exits 0', async () => {
    const child = spawn(process.execPath, [CLI, '--store', fleet.stores.build1!, '--as', 'build1', 'mcp', '--allow-writes'], { env: cliEnv(), cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const line = (message: unknown) => `${JSON.stringify({ jsonrpc: '2.0', ...(message as object) })}\n`;
    child.stdin.end(
      line({ id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }) +
        line({ method: 'notifications/initialized' }) +
        line({ id: 2, method: 'tools/call', params: { name: 'msg_send', arguments: { to: ['build2'], body: 'sent as the client left' } } }),
    );
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    const answers = stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: number; result?: { structuredContent?: { commit?: string } } });
    const sent = answers.find((a) => a.id === 2);
    expect(sent?.result?.structuredContent?.commit).toBe(remoteMain());
    expect(JSON.stringify(remoteJson('coordination/messages.json'))).toContain('sent as the client left');
  });
});
