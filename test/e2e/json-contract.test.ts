// The one JSON contract (README, "Scripting with --json"), over every command that takes
// --json, run with the built CLI against a real fleet:
// - a mutation prints { "<noun>": ..., "changed": bool, "queued": bool, "commit": sha|null };
// - a read prints its documents under their noun(s);
// - an error prints { "error": { code, message, hint, details } } on stdout, with the exit
//   code the same command has without --json.
// The last test checks that every command whose --help offers --json was run here.
import { renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyFiles } from '../../src/store/sshsig.js';
import { CLI, gitSync, makeFleet, runCli, type Fleet } from '../helpers/fleet.js';

let fleet: Fleet;
let sm: string;
/** The words (not options) of every command line run with --json; 'sm' for the alias. */
const runs: string[][] = [];

const json = async (as: string | null, args: string[], options: { bin?: string; store?: string } = {}) => {
  const run = await runCli(['--store', options.store ?? fleet.stores.build1!, ...(as ? ['--as', as] : []), ...args, '--json'], options.bin ? { bin: options.bin } : {});
  runs.push(options.bin ? ['sm'] : args.filter((arg) => !arg.startsWith('-')));
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(run.stdout) as Record<string, unknown>;
  } catch {
    throw new Error(`${args.join(' ')}: stdout is not one JSON document (exit ${run.code}): ${run.stdout}${run.stderr}`);
  }
  return { code: run.code, body: parsed, stderr: run.stderr };
};

const SHA = /^[0-9a-f]{40}$/;

type Expected = { changed?: boolean; queued?: boolean; commit?: 'sha' | null };
type Ran = Awaited<ReturnType<typeof json>> & { args: string[] };

/** A mutation: exit 0 (or `code`), exactly the noun and the outcome (extra keys only where named). */
const mutation = async (as: string | null, args: string[], noun: string, expected: Expected = {}, options: { bin?: string; extra?: string[]; code?: number } = {}) =>
  mutationShape({ ...(await json(as, args, options)), args }, noun, expected, options);

const mutationShape = ({ code, body, stderr, args }: Ran, noun: string, expected: Expected = {}, options: { extra?: string[]; code?: number } = {}) => {
  expect(code, `${args.join(' ')}: ${stderr}`).toBe(options.code ?? 0);
  expect(Object.keys(body).sort(), args.join(' ')).toEqual([noun, 'changed', 'queued', 'commit', ...(options.extra ?? [])].sort());
  expect(typeof body.changed).toBe('boolean');
  expect(typeof body.queued).toBe('boolean');
  expect(body.commit === null || SHA.test(String(body.commit)), `commit of ${args.join(' ')}`).toBe(true);
  expect(body[noun]).not.toBeNull();
  if (expected.changed !== undefined) expect(body.changed).toBe(expected.changed);
  if (expected.queued !== undefined) expect(body.queued).toBe(expected.queued);
  if (expected.commit === 'sha') expect(body.commit).toMatch(SHA);
  if (expected.commit === null) expect(body.commit).toBeNull();
  return body[noun] as Record<string, unknown>;
};

/** A read: its exit code, exactly these nouns. */
const read = async (as: string | null, args: string[], nouns: string[], code = 0) => {
  const { code: exit, body, stderr } = await json(as, args);
  expect(exit, `${args.join(' ')}: ${stderr}`).toBe(code);
  expect(Object.keys(body).sort(), args.join(' ')).toEqual([...nouns].sort());
  return body;
};

/** An error: the same exit code as without --json, and the error document. */
const error = async (as: string | null, args: string[], code: number, errorCode: string) => {
  const plain = await runCli(['--store', fleet.stores.build1!, ...(as ? ['--as', as] : []), ...args]);
  expect(plain.code, plain.stderr).toBe(code);
  expect(plain.stderr).toMatch(/^buildctl: .+\nhint: .+\n$/);
  const { code: exit, body } = await json(as, args);
  expect(exit).toBe(code);
  expect(Object.keys(body)).toEqual(['error']);
  const e = body.error as Record<string, unknown>;
  expect(Object.keys(e)).toEqual(['code', 'message', 'hint', 'details']);
  expect([e.code, typeof e.message, typeof e.hint]).toEqual([errorCode, 'string', 'string']);
  expect(e.details === null || typeof e.details === 'object').toBe(true);
  expect(plain.stderr.split('\n')[0]).toBe(`buildctl: ${(body.error as { message: string }).message}`);
};

beforeAll(async () => {
  fleet = await makeFleet(['build1', 'build2']);
  sm = join(fleet.root, 'sm');
  symlinkSync(CLI, sm);
});
afterAll(() => fleet.cleanup());

describe('--json: one contract', () => {
  it('setup and the registry: init, builder add / list / remove, config, hooks, agent install', async () => {
    const fresh = join(fleet.root, 'fresh', 'store');
    const store = await mutation(null, ['init', '--builder', 'build9'], 'store', { changed: true, commit: 'sha' }, {});
    expect(store).toMatchObject({ dir: fleet.stores.build1, embedded_remote: true });
    const created = await json(null, ['init', '--builder', 'solo'], { store: fresh });
    expect(created.body).toMatchObject({ store: { dir: fresh, embedded_remote: true }, changed: true, queued: false, commit: expect.stringMatching(SHA) });
    expect((await mutation(null, ['builder', 'add', 'build3', '--label', 'arm64'], 'builder', { changed: true, commit: 'sha' })).id).toBe('build3');
    await mutation(null, ['builder', 'add', 'build3', '--label', 'arm64'], 'builder', { changed: false, commit: null });
    expect(((await read(null, ['builder', 'list'], ['builders'])).builders as unknown[]).length).toBe(4);
    await mutation(null, ['builder', 'remove', 'build9'], 'builder', { changed: true, commit: 'sha' });
    expect((await read(null, ['config', 'show'], ['config'])).config).toMatchObject({ stale_after: '3m' });
    expect(await mutation(null, ['config', 'set', 'lock_ttl', '45s'], 'settings', { changed: true, commit: 'sha' })).toEqual([{ key: 'lock_ttl', value: '45s' }]);
    await mutation(null, ['hooks', 'install'], 'hook', { changed: true, commit: null });
    await mutation('build1', ['agent', 'install', '--cron', '--dry-run'], 'agent', { commit: null });
  });

  it('status, heartbeat, validate, migrate, check, metrics, log, guide, gc', async () => {
    await mutation('build1', ['heartbeat'], 'heartbeat', { changed: true, commit: 'sha' });
    expect((await read('build1', ['status'], ['fleet'])).fleet).toMatchObject({ me: 'build1' });
    expect((await mutation('build1', ['status', 'set', 'idle'], 'status', { changed: true, commit: 'sha' })).state).toBe('idle');
    expect((await read(null, ['validate'], ['validation'])).validation).toMatchObject({ valid: true });
    expect(await mutation(null, ['migrate'], 'migration', { changed: false, commit: null })).toMatchObject({ dry_run: false, files: [] });
    // build2 and build3 never beat: a warning, exit 1 in the monitoring convention.
    expect((await read(null, ['check'], ['check'], 1)).check).toMatchObject({ status: 'warning', exit_code: 1 });
    expect((await read(null, ['metrics', 'build1'], ['metrics'])).metrics).toMatchObject({ builder: 'build1' });
    expect(((await read(null, ['log'], ['events'])).events as unknown[]).length).toBeGreaterThan(3);
    expect((await read('build1', ['guide'], ['guide'])).guide).toMatchObject({ builder: 'build1' });
    const agentsMd = join(fleet.root, 'AGENTS.md');
    expect(await mutation('build1', ['guide', '--agents-md', agentsMd], 'agents_md', { changed: true, commit: null })).toEqual({ path: agentsMd, action: 'created' });
    await mutation('build1', ['guide', '--agents-md', agentsMd], 'agents_md', { changed: false, commit: null });
    // Garbage collection changes how the clone stores objects, never what main holds.
    expect(await mutation(null, ['gc'], 'gc', { commit: null })).toMatchObject({ clone_kb_after: expect.any(Number), remote_skipped: null });
  });

  it('locks: acquire, renew, list, release, break', async () => {
    expect((await mutation('build1', ['lock', 'acquire', 'deploy'], 'lock', { changed: true, commit: 'sha' })).token).toBe(1);
    await mutation('build1', ['lock', 'renew', 'deploy'], 'lock', { changed: true, commit: 'sha' });
    expect((await read(null, ['lock', 'list'], ['locks'])).locks).toEqual([expect.objectContaining({ name: 'deploy', owner: 'build1' })]);
    await mutation('build1', ['lock', 'release', 'deploy'], 'lock', { changed: true, commit: 'sha' });
    await mutation('build2', ['lock', 'acquire', 'deploy'], 'lock');
    expect((await mutation('build1', ['lock', 'break', 'deploy', '--reason', 'build2 reinstalled'], 'lock', { changed: true, commit: 'sha' })).owner).toBe('build2');
  });

  it('messages: send, sm, list, show, read, ack', async () => {
    const sent = await mutation('build1', ['msg', 'send', 'build2', '--ack', 'deploy window at 22:00'], 'message', { changed: true, queued: false, commit: 'sha' });
    await mutation('build1', ['2', 'and one from sm'], 'message', { changed: true, commit: 'sha' }, { bin: sm });
    expect(((await read('build2', ['msg', 'list'], ['messages'])).messages as unknown[]).length).toBe(2);
    expect(Object.keys(await read('build2', ['msg', 'show', String(sent.id)], ['message', 'ancestors', 'replies'])).length).toBe(3);
    expect(await mutation('build2', ['msg', 'read', String(sent.id)], 'messages', { changed: true, commit: 'sha' })).toEqual([expect.objectContaining({ id: sent.id })]);
    await mutation('build2', ['msg', 'read', String(sent.id)], 'messages', { changed: false, commit: null });
    expect((await mutation('build2', ['msg', 'ack', String(sent.id)], 'message', { changed: true, commit: 'sha' })).acked_by).toHaveProperty('build2');
  });

  it('notifications: add, list, test (an endpoint that refuses: exit 1), remove', async () => {
    const urlFile = join(fleet.root, 'slack-url');
    writeFileSync(urlFile, 'http://127.0.0.1:9/hooks/refused\n');
    const target = await mutation(null, ['notify', 'add', 'team', '--type', 'slack', '--url-file', urlFile, '--event', 'builder'], 'target', { changed: true, commit: 'sha' });
    expect(target).toEqual({ name: 'team', type: 'slack', url_file: urlFile, events: ['builder'] });
    expect((await read(null, ['notify', 'list'], ['targets', 'deliveries'])).targets).toEqual([target]);
    await error(null, ['notify', 'test', 'team'], 1, 'notify_failed');
    await error(null, ['notify', 'test', 'nobody'], 2, 'unknown_target');
    await mutation(null, ['notify', 'remove', 'team'], 'target', { changed: true, commit: 'sha' });
  });

  it('the outbox: a send queued while the remote is away; list, drop, flush', async () => {
    renameSync(fleet.remote, `${fleet.remote}.away`);
    try {
      await mutation('build1', ['msg', 'send', 'build2', 'queued one'], 'message', { changed: true, queued: true, commit: null });
      await mutation('build1', ['msg', 'send', 'build2', 'queued two'], 'message', { queued: true, commit: null });
      await error('build1', ['lock', 'acquire', 'deploy'], 4, 'remote_unreachable');
      // Nothing could be delivered: still queued, and exit 4 (remote unreachable) with the report.
      await mutation('build1', ['outbox', 'flush'], 'delivery', { changed: false, queued: true, commit: null }, { code: 4 });
    } finally {
      renameSync(`${fleet.remote}.away`, fleet.remote);
    }
    const queued = (await read('build1', ['outbox', 'list'], ['outbox'])).outbox as Array<{ op_id: string }>;
    expect(queued).toHaveLength(2);
    await mutation('build1', ['outbox', 'drop', queued[0]!.op_id], 'intent', { changed: true, commit: null });
    expect(await mutation('build1', ['outbox', 'flush'], 'delivery', { changed: true, queued: false, commit: null })).toMatchObject({ delivered: [queued[1]!.op_id], remaining: 0 });
  });

  // The job commands follow the same contract. Every command runs first (ids from the
  // store, not from the output), then the shapes are checked.
  it('jobs: add, list, show, claim, complete, fail, cancel, retry, run', async () => {
    const jobIds = (): string[] => (JSON.parse(gitSync(fleet.remote, ['show', 'main:coordination/jobs.json'])) as { jobs: Array<{ id: string }> }).jobs.map((j) => j.id);
    const ran = async (as: string | null, args: string[]): Promise<Ran> => ({ ...(await json(as, args)), args });
    const add = await ran(null, ['job', 'add', '--type', 'build', '--key', 'nightly']);
    const first = jobIds()[0]!;
    const again = await ran(null, ['job', 'add', '--type', 'build', '--key', 'nightly']);
    const list = await ran(null, ['job', 'list']);
    const show = await ran(null, ['job', 'show', first]);
    const claim = await ran('build1', ['job', 'claim']);
    const complete = await ran('build1', ['job', 'complete', first]);
    const add2 = await ran(null, ['job', 'add', '--type', 'test']);
    const second = jobIds()[1]!;
    const claim2 = await ran('build2', ['job', 'claim']);
    const fail = await ran('build2', ['job', 'fail', second, '--reason', 'flaky']);
    const retry = await ran(null, ['job', 'retry', second]);
    const cancel = await ran(null, ['job', 'cancel', second]);
    await ran(null, ['job', 'add', '--type', 'run']);
    // --json before "--": what follows belongs to the command (json() adds one more there, harmless to true).
    const run = await ran('build1', ['job', 'run', '--type', 'run', '--json', '--', 'true']);

    expect(mutationShape(add, 'job', { changed: true, queued: false, commit: 'sha' }).id).toBe(first);
    mutationShape(again, 'job', { changed: false, commit: null });
    expect([list.code, Object.keys(list.body)]).toEqual([0, ['jobs']]);
    expect([show.code, show.body.job]).toEqual([0, expect.objectContaining({ id: first })]);
    expect(mutationShape(claim, 'job', { changed: true, commit: 'sha' }).id).toBe(first);
    mutationShape(complete, 'job', { changed: true, commit: 'sha' });
    mutationShape(add2, 'job', { changed: true, commit: 'sha' });
    mutationShape(claim2, 'job', { changed: true, commit: 'sha' });
    mutationShape(fail, 'job', { changed: true, commit: 'sha' });
    mutationShape(retry, 'job', { changed: true, commit: 'sha' });
    expect(mutationShape(cancel, 'job', { changed: true, commit: 'sha' }).status).toBe('cancelled');
    expect(mutationShape(run, 'job', { changed: true, commit: 'sha' }, { extra: ['run'] }).status).toBe('completed');
    expect(run.body.run).toMatchObject({ outcome: 'completed', exit_code: 0 });
  });

  it('signed writes: builder key add / list / revoke, trust accept, validate --signatures', async () => {
    expect(await mutation('build1', ['builder', 'key', 'add', 'build1'], 'key', { changed: true, commit: 'sha' })).toMatchObject({ id: 'build1', operator: false });
    expect(await mutation('build1', ['builder', 'key', 'add', 'build1', '--operator'], 'key', { changed: true, commit: 'sha' })).toMatchObject({ operator: true });
    const second = join(fleet.root, 'second.pub');
    writeFileSync(second, generateKeyFiles('second').publicText);
    const added = await mutation('build1', ['builder', 'key', 'add', 'build1', '--key', second], 'key', { changed: true, commit: 'sha' });
    expect((await mutation('build1', ['builder', 'key', 'revoke', 'build1', '--key', String(added.fingerprint)], 'key', { changed: true, commit: 'sha' })).revoked_at).toEqual(expect.any(String));
    const keys = (await read(null, ['builder', 'key', 'list'], ['keys'])).keys as { keys: unknown[]; require_signed_writes: boolean };
    expect([keys.keys.length, keys.require_signed_writes]).toEqual([2, false]);
    const head = gitSync(fleet.remote, ['rev-parse', 'main']).trim();
    expect(await mutation('build1', ['trust', 'accept', head, '--reason', 'checked'], 'accepted', { changed: true, commit: 'sha' })).toMatchObject({ commit: head, by: 'build1' });
    const { code, body } = await json('build1', ['validate', '--signatures']);
    expect(Object.keys(body)).toEqual(['signatures']);
    expect(code).toBe((body.signatures as { valid: boolean }).valid ? 0 : 5);
    await error('build1', ['builder', 'key', 'revoke', 'build2'], 2, 'no_such_key');
  });

  it('errors: the same exit code, one document on stdout; commander errors included', async () => {
    await error(null, ['job', 'show', 'job_0_000000'], 2, 'unknown_job');
    await error('build1', ['lock', 'release', 'nothing-held'], 3, 'lock_not_held');
    await error(null, ['lock', 'break', 'deploy'], 2, 'missing_mandatory_option_value');
    await error(null, ['status', '--bogus'], 2, 'unknown_option');
    await error(null, ['metrics', 'build1', '--since', 'soon'], 2, 'invalid_since');
    await error('build1', ['msg', 'list', '--limit', '0'], 2, 'invalid_argument');
    const noStore = await runCli(['--store', join(fleet.root, 'nowhere'), 'status', '--json']);
    expect(noStore.code).toBe(2);
    expect(JSON.parse(noStore.stdout)).toMatchObject({ error: { code: 'no_store', hint: expect.stringContaining('buildctl init') } });
    expect(noStore.stderr).toBe('');
  });

  it('covers every command whose --help offers --json', async () => {
    const table = (await runCli(['completion', 'bash'])).stdout;
    const options = table.slice(table.indexOf('_buildctl_options()'), table.indexOf('_buildctl_choices()'));
    const rows = [...options.matchAll(/^ {4}'buildctl ?([^']*)'\) echo '([^']*)' ;;$/gm)].map((m) => ({ path: m[1]!, json: m[2]!.split(' ').includes('--json') }));
    const paths = new Set(rows.map((r) => r.path));
    // A run's command is the longest run of its first words that names a command.
    const commandOf = (words: string[]): string => {
      for (let n = words.length; n > 0; n--) if (paths.has(words.slice(0, n).join(' '))) return words.slice(0, n).join(' ');
      return '';
    };
    const covered = new Set(runs.map((words) => (words[0] === 'sm' ? 'sm' : commandOf(words))));
    const withJson = rows.filter((r) => r.json).map((r) => r.path);
    expect(withJson.length).toBeGreaterThan(30);
    expect(withJson.filter((path) => !covered.has(path))).toEqual([]);
    expect(covered.has('sm')).toBe(true);
  });
});
