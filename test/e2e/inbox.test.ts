// The inbox with the built CLI on a real fleet: bodies in the list, urgent first, --limit,
// --since, --sent with who still owes an ack, --unread --exit-code, and --archived reading
// what housekeeping moved to coordination/archive/.
import { afterEach, describe, expect, it } from 'vitest';
import { gitSync, makeFleet, pushHandEdit, runCli, type Fleet } from '../helpers/fleet.js';

let fleet: Fleet | undefined;
afterEach(() => fleet?.cleanup());

const DAY = 86_400_000;
const cliOf = (f: Fleet) => (as: string, args: string[]) => runCli(['--store', f.stores[as] ?? f.stores.build1!, '--as', as, ...args]);
const ids = (stdout: string): string[] => (JSON.parse(stdout) as { messages: Array<{ id: string }> }).messages.map((m) => m.id);

describe('msg list', () => {
  it('shows the first lines of each body, most urgent first, with --limit, --since and --sent', async () => {
    fleet = await makeFleet(['build1', 'build2', 'build3']);
    const cli = cliOf(fleet);
    const send = async (as: string, args: string[]) => JSON.parse((await cli(as, ['msg', 'send', ...args, '--json'])).stdout).message.id as string;
    const info = await send('build1', ['build2', 'nightly done\nall green']);
    const long = await send('build1', ['build2,build3', '--type', 'warning', '--ack', 'disk almost full\nline 2\nline 3\nline 4\nline 5']);
    // sm's flag names work in msg send, and the older --ack-required still does.
    const request = await send('build3', ['build2', '-t', 'request', '-s', 'need a reviewer', '--ack-required', 'for PR 42']);

    const list = await cli('build2', ['msg', 'list']);
    expect(list.code).toBe(0);
    const blocks = list.stdout.trim().split('\n\n');
    expect(blocks.map((b) => b.split('  ')[0])).toEqual([long, request, info]);
    expect(blocks[0]).toMatch(new RegExp(`^${long}  warning  \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ \\(\\d+s ago\\)  from build1 to build2,build3\n`));
    expect(blocks[0]).toContain('\n  disk almost full\n  | line 2\n  | line 3\n  | line 4\n  | ... 1 more line: buildctl msg show');
    expect(blocks[0]).toContain(`\n  ack required: buildctl msg ack ${long}`);
    expect(blocks[1]).toContain('\n  need a reviewer\n  | for PR 42\n');
    expect(blocks[2]).toContain('\n  nightly done\n  | all green');

    expect(ids((await cli('build2', ['msg', 'list', '--limit', '2', '--json'])).stdout)).toEqual([long, request]);
    const old = { id: 'msg-old', from: 'build3', to: ['build2'], type: 'error', subject: 'old', body: 'old', created_at: new Date(Date.now() - 3 * DAY).toISOString(), ack_required: false, reply_to: null, read_by: {}, acked_by: {} };
    const current = JSON.parse(gitSync(fleet.remote, ['show', 'main:coordination/messages.json']));
    pushHandEdit(fleet, { 'coordination/messages.json': `${JSON.stringify({ messages: [old, ...current.messages] }, null, 2)}\n` });
    expect(ids((await cli('build2', ['msg', 'list', '--json'])).stdout)).toEqual(['msg-old', long, request, info]);
    expect(ids((await cli('build2', ['msg', 'list', '--since', '1d', '--json'])).stdout)).toEqual([long, request, info]);

    // The sender sees whom it waits for; build3 acks, build2 still owes it.
    expect((await cli('build3', ['msg', 'ack', long])).code).toBe(0);
    const sent = await cli('build1', ['msg', 'list', '--sent']);
    expect(sent.stdout).toContain(`${long}  warning`);
    expect(sent.stdout).toContain('  awaiting ack from: build2');
    expect(sent.stdout).toContain(`${info}  info`);
    expect((await cli('build2', ['msg', 'ack', long])).code).toBe(0);
    expect((await cli('build1', ['msg', 'list', '--sent'])).stdout).toContain('  acked by every recipient');
  });

  it('--unread --exit-code exits 1 while there is unread mail, 0 once it is read', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const cli = cliOf(fleet);
    const empty = await cli('build2', ['msg', 'list', '--unread', '--exit-code']);
    expect([empty.code, empty.stdout.trim()]).toEqual([0, 'no unread messages for build2']);
    expect((await cli('build1', ['msg', 'send', 'build2', 'hello'])).code).toBe(0);
    const unread = await cli('build2', ['msg', 'list', '--unread', '--exit-code']);
    expect(unread.code).toBe(1);
    expect(unread.stdout).toContain('hello');
    expect((await cli('build2', ['msg', 'read', '--all'])).code).toBe(0);
    expect((await cli('build2', ['msg', 'list', '--unread', '--exit-code'])).code).toBe(0);
    const conflict = await cli('build2', ['msg', 'list', '--unread', '--read']);
    expect(conflict.code).toBe(2);
  });

  it('--archived lists what housekeeping archived, and msg show still finds it', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const cli = cliOf(fleet);
    const sentAt = new Date(Date.now() - 40 * DAY).toISOString();
    const settled = { id: 'msg-settled', from: 'build1', to: ['build2'], type: 'info', subject: 'old news', body: 'old news\nfrom last month', created_at: sentAt, ack_required: false, reply_to: null, read_by: { build2: sentAt }, acked_by: {} };
    pushHandEdit(fleet, { 'coordination/messages.json': `${JSON.stringify({ messages: [settled] }, null, 2)}\n` });
    expect((await cli('build1', ['agent', '--once'])).code).toBe(0);
    expect(gitSync(fleet.remote, ['ls-tree', '--name-only', 'main', 'coordination/archive/'])).toContain(`messages-${sentAt.slice(0, 7)}.json`);

    expect(ids((await cli('build2', ['msg', 'list', '--read', '--json'])).stdout)).toEqual([]);
    expect(ids((await cli('build2', ['msg', 'list', '--archived', '--json'])).stdout)).toEqual(['msg-settled']);
    expect(ids((await cli('build1', ['msg', 'list', '--all', '--archived', '--json'])).stdout)).toEqual(['msg-settled']);
    expect(ids((await cli('build2', ['msg', 'list', '--archived', '--since', '7d', '--json'])).stdout)).toEqual([]);
    const text = await cli('build2', ['msg', 'list', '--archived']);
    expect(text.stdout).toContain('msg-settled  info');
    const show = await cli('build2', ['msg', 'show', 'msg-settled']);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('from last month');
  });
});
