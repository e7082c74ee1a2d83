// Fields buildctl does not know, in documents written by someone else (another tool, an
// older script, a person), are kept as they are on every rewrite: no silent data loss.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { gitSync, makeFleet, runCli, type Fleet } from '../helpers/fleet.js';

let fleet: Fleet | undefined;
afterEach(() => fleet?.cleanup());

const TICKET = { x_ticket: 'OPS-12', nested: { a: 1, list: [1, 'two', null], deeper: { ok: true } } };
const TEAM = { x_team: 'infra', x_meta: { owner: 'ops', since: 2019 } };

/** The text an extra field has in buildctl's 2-space layout, at `indent` spaces. */
const snippet = (key: string, value: unknown, indent: number): string =>
  `${' '.repeat(indent)}${JSON.stringify(key)}: ${JSON.stringify(value, null, 2).replace(/\n/g, `\n${' '.repeat(indent)}`)}`;

/** Top-level fields sit at 2 spaces; fields of an entry in the document's list at 6. */
const expectKept = (text: string, fields: Record<string, unknown>, indent: number, times = 1): void => {
  for (const [key, value] of Object.entries(fields)) {
    expect(text.split(snippet(key, value, indent)).length - 1, `${key} at indent ${indent} in\n${text}`).toBe(times);
  }
};

describe('unknown fields survive every rewrite', () => {
  it('in jobs, messages, locks, builders, status and config, at top level and inside entries', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const f = fleet;
    const as = (id: string, args: string[]) => runCli(['--store', f.stores[id]!, '--as', id, ...args]);
    const ok = async (id: string, args: string[]): Promise<string> => {
      const run = await as(id, args);
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(0);
      return run.stdout.trim();
    };
    const remote = (path: string): string => gitSync(f.remote, ['show', `main:${path}`]);

    // What the fleet has before someone else's tool touches it.
    const jobA = await ok('build1', ['job', 'add', '--type', 'build', '--target', 'build1']);
    const jobB = await ok('build1', ['job', 'add', '--type', 'test', '--target', 'build2']);
    const toRead = await ok('build2', ['msg', 'send', 'build1', 'please read']);
    const toAck = await ok('build2', ['msg', 'send', 'build1', 'please ack', '--ack-required']);
    await ok('build1', ['lock', 'acquire', 'mine', '--ttl', '1h']);
    await ok('build2', ['lock', 'acquire', 'theirs', '--ttl', '1h']);
    await ok('build1', ['status', 'set', 'idle']);
    await ok('build1', ['config', 'set', 'lock_ttl', '45s']);

    // Another tool adds its own fields everywhere, in its own key order, and pushes.
    const scratch = join(f.root, 'scratch');
    gitSync(f.root, ['clone', '-q', f.remote, scratch]);
    const edit = (path: string, change: (doc: any) => any): void => {
      const doc = JSON.parse(remote(path));
      writeFileSync(join(scratch, path), `${JSON.stringify(change(doc), null, 2)}\n`);
    };
    const withExtras = (entry: object) => ({ ...TICKET, ...entry }); // extras first: not buildctl's order
    edit('coordination/jobs.json', (d) => ({ ...TEAM, jobs: d.jobs.map(withExtras) }));
    edit('coordination/messages.json', (d) => ({ ...TEAM, messages: d.messages.map(withExtras) }));
    edit('coordination/locks.json', (d) => ({ ...TEAM, ...d, locks: d.locks.map(withExtras) }));
    edit('coordination/builders.json', (d) => ({ builders: d.builders.map(withExtras), ...TEAM }));
    edit('build1/status.json', (d) => ({ ...TEAM, ...d }));
    edit('coordination/config.json', (d) => ({ ...d, ...TEAM }));
    gitSync(scratch, ['commit', '-q', '-am', 'ops tool: tickets and team']);
    gitSync(scratch, ['push', '-q', 'origin', 'HEAD:main']);

    // Every mutation that rewrites those files.
    await ok('build1', ['job', 'add', '--type', 'package']);
    expect(await ok('build1', ['job', 'claim', '--type', 'build'])).toContain(jobA);
    const artifact = join(f.root, 'app.tar');
    writeFileSync(artifact, 'app');
    await ok('build1', ['job', 'complete', jobA, '--artifact', artifact]);
    await ok('build1', ['msg', 'send', 'build2', 'a new message']);
    await ok('build1', ['msg', 'read', toRead]);
    await ok('build1', ['msg', 'ack', toAck, '--note', 'done']);
    await ok('build1', ['lock', 'acquire', 'fresh']);
    await ok('build1', ['lock', 'release', 'mine']);
    await ok('build1', ['builder', 'add', 'build3']);
    await ok('build1', ['builder', 'add', 'build2', '--host', 'b2.example']);
    await ok('build1', ['status', 'set', 'building', '--job', 'by-hand']);
    await ok('build1', ['config', 'set', 'stale_after', '2m']);

    // The extras are all still there, byte for byte, on every entry that had them.
    const jobs = remote('coordination/jobs.json');
    expectKept(jobs, TEAM, 2);
    expectKept(jobs, TICKET, 6, 2); // jobA (claimed, completed) and jobB (untouched)
    expect(JSON.parse(jobs).jobs.find((j: { id: string }) => j.id === jobA)).toMatchObject({ ...TICKET, status: 'completed' });
    expect(JSON.parse(jobs).jobs.find((j: { id: string }) => j.id === jobB)).toMatchObject(TICKET);

    const messages = remote('coordination/messages.json');
    expectKept(messages, TEAM, 2);
    expectKept(messages, TICKET, 6, 2); // the read one and the acked one
    const byId = (id: string) => JSON.parse(messages).messages.find((m: { id: string }) => m.id === id);
    expect(byId(toRead)).toMatchObject({ ...TICKET, read_by: { build1: expect.any(String) } });
    expect(byId(toAck)).toMatchObject({ ...TICKET, acked_by: { build1: { note: 'done' } } });

    const locks = remote('coordination/locks.json');
    expectKept(locks, TEAM, 2);
    expectKept(locks, TICKET, 6, 1); // "theirs" keeps them; "mine" was released, "fresh" is new
    expect(JSON.parse(locks).locks.map((l: { name: string }) => l.name)).toEqual(['fresh', 'theirs']);

    const builders = remote('coordination/builders.json');
    expectKept(builders, TEAM, 2);
    expectKept(builders, TICKET, 6, 2); // build1, and build2 updated with a host; build3 is new
    expect(JSON.parse(builders).builders.find((b: { id: string }) => b.id === 'build2')).toMatchObject({ ...TICKET, host: 'b2.example' });

    const status = remote('build1/status.json');
    expectKept(status, TEAM, 2);
    expect(JSON.parse(status)).toMatchObject({ ...TEAM, state: 'building', current_job: 'by-hand' });

    const config = remote('coordination/config.json');
    expectKept(config, TEAM, 2);
    expect(JSON.parse(config)).toEqual({ lock_ttl: '45s', stale_after: '2m', ...TEAM });

    // And validate calls the store valid: extra fields are not problems.
    expect((await runCli(['--store', f.stores.build1!, 'validate'])).code).toBe(0);
  }, 60_000);
});
