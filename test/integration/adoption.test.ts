// A real fleet adopts buildctl (issue 12): its whole coordination repository, as the older
// scripts left it (test/helpers/legacy-repo.ts), read, migrated and used through the built
// CLI with real git; and a fleet that moves builder by builder, with a clone running the
// old scripts (test/helpers/old-scripts.ts, real jq when installed) beside buildctl clones.
import { readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, gitSync, heartbeatFiles, makeFleet, runCli, tempDir } from '../helpers/fleet.js';
import { assembleLegacyRepository, FIXTURES, fixture, fixturesPresent, PASTED_TOKEN } from '../helpers/legacy-repo.js';
import { hasJq, oldScriptsBuilder, oldUnreadSelection } from '../helpers/old-scripts.js';

let cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups) cleanup();
  cleanups = [];
});

const FLEET = ['build1', 'build2', 'build3', 'build4', 'code1', 'code2'];
const FOUND_NOTE = 'buildctl: 6 builders found by their folders and not registered yet (build1, build2, build3, build4, code1, code2): "buildctl migrate" registers them';
const LEGACY_NOTE = 'buildctl: this store has legacy documents; "buildctl migrate" converts them';
/** The coordination documents of the assembled repository, by the store layout; every other file is not one. */
const DOCUMENTS = [
  'build1/heartbeat.json', 'build1/status.json', 'build2/heartbeat.json', 'build2/status.json', 'build3/heartbeat.json', 'build3/status.json',
  'build4/status.json', 'code1/status.json', 'code2/heartbeat.json', 'code2/status.json',
  'coordination/jobs.json', 'coordination/locks.json', 'coordination/messages.json', 'shared/health_dashboard.json',
];

type Msg = Record<string, unknown>;
/** `msg list --json` (a list, or the list under its noun) and `msg send|show --json` (the message, or under its noun). */
const messagesOf = (stdout: string): Msg[] => {
  const out = JSON.parse(stdout) as Msg[] | { messages: Msg[] };
  return Array.isArray(out) ? out : out.messages;
};
const messageOf = (stdout: string): Msg => {
  const out = JSON.parse(stdout) as Msg & { message?: Msg };
  return out.message ?? out;
};
const count = (text: string, line: string): number => text.split('\n').filter((l) => l === line).length;
const refsOf = (remote: string): string => gitSync(remote, ['for-each-ref', '--format=%(refname) %(objectname)']);
/** path -> blob id of every file on the remote's main. */
const blobsOf = (remote: string): Map<string, string> =>
  new Map(
    gitSync(remote, ['ls-tree', '-r', 'main'])
      .split('\n')
      .filter(Boolean)
      .map((line) => [line.split('\t')[1]!, line.split(' ')[2]!]),
  );
const onMain = (remote: string, path: string) => JSON.parse(gitSync(remote, ['show', `main:${path}`])) as Record<string, unknown>;
const lastCommitMessage = (remote: string) => gitSync(remote, ['log', '-1', '--format=%B', 'main']);

const adoptedRepository = () => {
  const { dir, cleanup } = tempDir('buildctl-adopt-');
  cleanups.push(cleanup);
  const repo = assembleLegacyRepository(dir);
  const cli = (store: string, ...args: string[]) => runCli(['--store', store, ...args]);
  return { dir, repo, cli };
};

describe.skipIf(!fixturesPresent)('adopting buildctl in an existing coordination repository', () => {
  it('init, status, validate, migrate --dry-run, migrate, a heartbeat per builder, validate 0, sm across clones, nothing lost', async () => {
    const { dir, repo, cli } = adoptedRepository();
    const storeA = join(dir, 'build1-store');
    const storeB = join(dir, 'build2-store');
    const nonDocuments = repo.paths.filter((p) => !DOCUMENTS.includes(p));
    expect(nonDocuments.length).toBeGreaterThan(250);
    expect(DOCUMENTS.every((p) => repo.paths.includes(p))).toBe(true);
    const blobsBefore = blobsOf(repo.remote);

    for (const store of [storeA, storeB]) expect((await cli(store, 'init', '--remote', repo.remote)).code).toBe(0);

    // status: every builder, found by its folder; the older documents read as they are.
    const status = await cli(storeA, '--as', 'build1', 'status', '--json');
    expect(status.code, status.stderr).toBe(0);
    expect([count(status.stderr, FOUND_NOTE), count(status.stderr, LEGACY_NOTE)]).toEqual([1, 1]);
    const view = JSON.parse(status.stdout).fleet;
    expect(view.builders.map((b: { id: string }) => b.id)).toEqual(FLEET);
    expect(view.builders.find((b: { id: string }) => b.id === 'code1')).toMatchObject({ host: 'LL-Code-01', state: 'idle' });
    expect(view.builders.find((b: { id: string }) => b.id === 'build1').heartbeat_at).toBe('2025-11-04T00:06:54Z');
    expect(view.problems).toEqual([]);
    expect(view.queue).toMatchObject({ queued: 1, completed: 2 });

    // validate: documents only, legacy and nothing broken; the rest skipped; builders to register; a credential to rotate.
    const validate = await cli(storeA, 'validate', '--json');
    expect(validate.code).toBe(5);
    const report = JSON.parse(validate.stdout).validation;
    expect(report.counts).toMatchObject({ broken: 0, invalid: 0 });
    expect(report.files.map((f: { file: string }) => f.file).filter((f: string) => !f.startsWith('heartbeat/')).sort()).toEqual([...DOCUMENTS].sort());
    expect(report.files.filter((f: { status: string }) => f.status === 'legacy').map((f: { file: string }) => f.file)).toEqual(
      expect.arrayContaining(['coordination/messages.json', 'code1/status.json', 'heartbeat/build1:build1/heartbeat.json', 'heartbeat/build1:build1/metrics.jsonl', 'heartbeat/build2:build2/heartbeat.json']),
    );
    expect(report.skipped).toBe(nonDocuments.length);
    expect(report.unregistered_builders).toEqual(FLEET);
    expect(report.credentials).toContainEqual({ file: 'coordination/messages.json', entry: 'message', id: 'msg_1763700200_1003', found: [expect.stringMatching(/GitHub token in the body, line 1$/)] });
    const validateText = await cli(storeA, 'validate', '--verbose');
    expect(validateText.stdout).toMatch(/^CREDENTIAL\? message msg_1763700200_1003 \(coordination\/messages\.json\): .*GitHub token in the body, line 1$/m);
    expect(validateText.stdout).toMatch(/rotate (it|them); git history keeps what was committed/);
    expect(validateText.stdout).toMatch(/^skipped {2}scripts\/servers\/servers\.json$/m);
    expect(validateText.stdout).toMatch(/^legacy {3}heartbeat\/build1:build1\/heartbeat\.json: older layout/m);
    expect(validateText.stdout + validateText.stderr).not.toContain(PASTED_TOKEN);

    // migrate --dry-run writes nothing and says what migrate will do.
    const refsBefore = refsOf(repo.remote);
    const dry = await cli(storeA, 'migrate', '--dry-run', '--json');
    expect(dry.code, dry.stderr).toBe(0);
    expect(refsOf(repo.remote)).toBe(refsBefore);
    const dryJson = JSON.parse(dry.stdout);
    expect(dryJson).toMatchObject({ changed: false, queued: false, commit: null });
    const plan = dryJson.migration;
    expect(plan).toMatchObject({ dry_run: true, invalid: [], skipped: nonDocuments.length });
    expect(plan.registered.map((b: { id: string }) => b.id)).toEqual(FLEET);
    expect(plan.heartbeat_refs.map((r: { ref: string; kept_as: null }) => [r.ref, r.kept_as])).toEqual([['heartbeat/build1', null], ['heartbeat/build2', null]]);
    expect(plan.credentials.map((c: { id: string }) => c.id)).toContain('msg_1763700200_1003');
    const messagesBefore = (onMain(repo.remote, 'coordination/messages.json').messages as unknown[]).length;
    expect(plan.counts.before).toEqual({ messages: messagesBefore, jobs: 3, locks: 0, builders: 0 }); // the legacy lock map holds no lock

    // migrate: one commit on main, the builders registered, the older heartbeat branches replaced.
    const migrated = await cli(storeA, 'migrate', '--json');
    expect(migrated.code, migrated.stderr).toBe(0);
    const migratedJson = JSON.parse(migrated.stdout);
    expect(migratedJson).toMatchObject({ changed: true, queued: false, commit: gitSync(repo.remote, ['rev-parse', 'main']).trim() });
    const result = migratedJson.migration;
    expect(result).toMatchObject({ dry_run: false, invalid: [] });
    expect(result.counts).toEqual({ before: plan.counts.before, after: { messages: messagesBefore, jobs: 3, locks: 0, builders: 6 } });
    expect(result.files.find((f: { file: string }) => f.file === 'coordination/messages.json')).toMatchObject({ entries_before: messagesBefore, entries_after: messagesBefore });
    expect(result.files.find((f: { file: string }) => f.file === 'coordination/locks.json')).toMatchObject({ entries_before: 0, entries_after: 0 });
    expect(lastCommitMessage(repo.remote)).toContain('Buildctl-Op: store.migrate');
    const registry = onMain(repo.remote, 'coordination/builders.json').builders as Array<Record<string, unknown>>;
    expect(registry.map((b) => b.id)).toEqual(FLEET);
    expect(registry.find((b) => b.id === 'build1')).toMatchObject({ ip: '10.1.3.175', manager: 'Codex', capabilities: { cores: 32, memory_gb: 128 } });
    expect(registry.find((b) => b.id === 'code2')).toMatchObject({ host: 'LL-Code-02', ip: '10.1.3.76' });
    // Read flags went to the registered builders: a broadcast read under the old scripts is read by each.
    const messages = onMain(repo.remote, 'coordination/messages.json').messages as Array<Record<string, unknown>>;
    expect(Object.keys(messages.find((m) => m.id === 'msg_1763700100_1002')!.read_by as object).sort()).toEqual(FLEET.filter((id) => id !== 'code1'));
    expect(messages.find((m) => m.id === 'msg_1763700000_1001')).toMatchObject({ from: 'windows', to: ['build1'] });
    expect(gitSync(repo.remote, ['show', 'main:code1/status.json']).charCodeAt(0)).toBe('{'.charCodeAt(0)); // the BOM is gone
    for (const [branch, tip] of Object.entries(repo.heartbeatBranches)) {
      const id = branch.split('/')[1]!;
      expect(result.heartbeat_refs.find((r: { ref: string }) => r.ref === branch)).toMatchObject({ kept_as: `legacy/${branch}` });
      expect(gitSync(repo.remote, ['rev-parse', `legacy/${branch}`]).trim()).toBe(tip);
      expect(gitSync(repo.remote, ['rev-list', '--count', branch]).trim()).toBe('1');
      expect(Object.keys(await heartbeatFiles(repo.remote, id)).sort()).toEqual([`${id}/heartbeat.json`, `${id}/metrics.jsonl`]);
    }
    // Nothing but documents changed: every other file has the very same blob.
    const blobsAfter = blobsOf(repo.remote);
    for (const path of nonDocuments) expect(blobsAfter.get(path), path).toBe(blobsBefore.get(path));
    expect(blobsAfter.get('coordination/jobs.json')).toBe(blobsBefore.get('coordination/jobs.json')); // current already

    // One heartbeat per builder, then every document on main and every heartbeat ref is valid.
    for (const id of FLEET) {
      const beat = await cli(storeA, '--as', id, 'heartbeat');
      expect(beat.code, `${id}: ${beat.stderr}`).toBe(0);
      expect(beat.stderr).not.toContain('older scripts');
    }
    const after = await cli(storeA, 'validate');
    expect(after.code, after.stdout).toBe(0);
    expect(after.stdout).toMatch(/^all \d+ documents are valid$/m);
    expect((await cli(storeA, 'migrate')).stdout.split('\n')[0]).toBe('nothing to migrate: no legacy documents');

    // sm 2 from build1's clone, seen by build2 on its own clone.
    const smBin = join(dir, 'sm');
    symlinkSync(CLI, smBin);
    const sent = await runCli(['--store', storeA, '2', 'migrated', 'and', 'heartbeating'], { bin: smBin, env: { BUILD_SERVER_ID: 'build1' } });
    expect(sent.code, sent.stderr).toBe(0);
    const inbox = await cli(storeB, '--as', 'build2', 'msg', 'list', '--json');
    expect(inbox.code).toBe(0);
    expect(messagesOf(inbox.stdout)).toContainEqual(expect.objectContaining({ from: 'build1', to: ['build2'], body: 'migrated and heartbeating' }));
    // Counts unchanged: every message and job still there, one message more.
    expect((onMain(repo.remote, 'coordination/messages.json').messages as unknown[]).length).toBe(messagesBefore + 1);
    expect((onMain(repo.remote, 'coordination/jobs.json').jobs as unknown[]).length).toBe(3);
  });

  it('before migration, the builders found by their folders work: heartbeat takes an older branch over, saying so; writes convert what they rewrite', async () => {
    const { dir, repo, cli } = adoptedRepository();
    const store = join(dir, 'store');
    expect((await cli(store, 'init', '--remote', repo.remote)).code).toBe(0);

    const beat = await cli(store, '--as', 'build1', 'heartbeat', '--json');
    expect(beat.code, beat.stderr).toBe(0);
    expect(count(beat.stderr, FOUND_NOTE)).toBe(1);
    const tip = repo.heartbeatBranches['heartbeat/build1']!;
    expect(beat.stderr).toContain(`buildctl: heartbeat/build1 was the older scripts' heartbeat branch (3 commits): replaced by this heartbeat; its tip ${tip.slice(0, 12)} is kept as legacy/heartbeat/build1`);
    expect(JSON.parse(beat.stdout).heartbeat).toMatchObject({ id: 'build1', took_over: true, replaced_legacy_branch: 'legacy/heartbeat/build1' });
    expect(gitSync(repo.remote, ['rev-parse', 'legacy/heartbeat/build1']).trim()).toBe(tip);
    expect(gitSync(repo.remote, ['rev-list', '--count', 'heartbeat/build1']).trim()).toBe('1');
    // The next beat is an ordinary one.
    const next = await cli(store, '--as', 'build1', 'heartbeat');
    expect([next.code, next.stderr.includes('older scripts')]).toEqual([0, false]);

    const before = (onMain(repo.remote, 'coordination/messages.json').messages as unknown[]).length;
    const send = await cli(store, '--as', 'build1', 'msg', 'send', 'build2', 'hello before migrating');
    expect(send.code, send.stderr).toBe(0);
    expect(count(send.stderr, `buildctl: converted coordination/messages.json (${before} entries) from the older scripts' layout in this commit ("buildctl migrate" converts the whole store)`)).toBe(1);
    expect(count(send.stderr, FOUND_NOTE)).toBe(1);
    expect(lastCommitMessage(repo.remote)).toContain(`Buildctl-Legacy-Converted: coordination/messages.json (${before} entries)`);
    const messages = onMain(repo.remote, 'coordination/messages.json').messages as Array<Record<string, unknown>>;
    expect(messages).toHaveLength(before + 1);
    // A broadcast's read flag went to the builders found by their folders.
    expect(Object.keys(messages.find((m) => m.id === 'msg_1763700100_1002')!.read_by as object).sort()).toEqual(FLEET.filter((id) => id !== 'code1'));

    // build3 claims the queued job: its status of the older layout is converted in the same commit.
    const claim = await cli(store, '--as', 'build3', 'job', 'claim', '--json');
    expect(claim.code, claim.stderr).toBe(0);
    expect(lastCommitMessage(repo.remote)).toMatch(/Buildctl-Legacy-Converted: build3\/status\.json\n/);
    expect(onMain(repo.remote, 'build3/status.json')).toMatchObject({ id: 'build3', state: 'building', ip: '10.1.3.178' });
    // The legacy lock map: its free entries are dropped on purpose, the loss guard told so.
    const lock = await cli(store, '--as', 'build2', 'lock', 'acquire', 'deploy');
    expect(lock.code, lock.stderr).toBe(0);
    expect(lastCommitMessage(repo.remote)).toContain('Buildctl-Legacy-Converted: coordination/locks.json (3 entries)');
    expect((onMain(repo.remote, 'coordination/locks.json').locks as Array<{ name: string }>).map((l) => l.name)).toEqual(['deploy']);
    // Nothing registered them: that is migrate's.
    expect(gitSync(repo.remote, ['ls-tree', '--name-only', 'main', 'coordination/']).includes('builders.json')).toBe(false);
    // Registering one more builder creates the registry: with every builder found so far, not without them.
    const add = await cli(store, 'builder', 'add', 'build5', '--host', 'build5.example');
    expect(add.code, add.stderr).toBe(0);
    expect(add.stderr).toContain('buildctl: coordination/builders.json created with the builders found by their folders: build1, build2, build3, build4, code1, code2');
    const registry = onMain(repo.remote, 'coordination/builders.json').builders as Array<Record<string, unknown>>;
    expect(registry.map((b) => b.id)).toEqual([...FLEET, 'build5'].sort());
    expect(registry.find((b) => b.id === 'build3')).toMatchObject({ ip: '10.1.3.178', manager: 'Codex' });
  });
});

describe.skipIf(!fixturesPresent)('adopting while some builders keep the old scripts', () => {
  it('with legacy_readers set before migrating, an old reader sees the same unread mail after the migration as before', async () => {
    const { dir, repo, cli } = adoptedRepository();
    const old = join(dir, 'old-build3');
    gitSync(dir, ['clone', '-q', repo.remote, old]);
    const build3 = oldScriptsBuilder(old, 'build3');
    const before = build3.unread().map((m) => m.id).sort();
    expect(before.length).toBeGreaterThan(0);
    const store = join(dir, 'store');
    expect((await cli(store, 'init', '--remote', repo.remote)).code).toBe(0);
    expect((await cli(store, 'config', 'set', 'legacy_readers', 'build3')).code).toBe(0);
    const migrated = await cli(store, 'migrate');
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(build3.unread().map((m) => m.id).sort()).toEqual(before);
    // Kept in their form, messages.json is valid while build3 is listed; their read marks still work.
    const validation = JSON.parse((await cli(store, 'validate', '--json')).stdout).validation;
    expect(validation.files.find((f: { file: string }) => f.file === 'coordination/messages.json')).toMatchObject({ status: 'valid' });
    build3.markAllRead();
    expect(build3.unread()).toEqual([]);
    const inbox = await cli(store, '--as', 'build1', 'msg', 'send', 'build3', 'welcome to the migrated store');
    expect(inbox.code, inbox.stderr).toBe(0);
    expect(build3.unread().map((m) => m.body)).toEqual(['welcome to the migrated store']);
  });
});

describe('a fleet moving builder by builder: old scripts and buildctl on one store', () => {
  it('one message appended by the old send script refuses no buildctl write (without legacy_readers too)', async () => {
    const fleet = await makeFleet(['build1', 'build2', 'build3']);
    cleanups.push(fleet.cleanup);
    const old = join(fleet.root, 'old-build3');
    gitSync(fleet.root, ['clone', '-q', fleet.remote, old]);
    const oldId = oldScriptsBuilder(old, 'build3').send('build1', 'from the old scripts', 'still on bash');
    const as = (id: string, ...args: string[]) => runCli(['--store', fleet.stores[id]!, '--as', id, ...args]);

    const send = await as('build1', 'msg', 'send', 'build2', 'hello');
    expect(send.code, send.stderr).toBe(0);
    expect(count(send.stderr, 'buildctl: converted coordination/messages.json (1 entry) from the older scripts\' layout in this commit ("buildctl migrate" converts the whole store)')).toBe(1);
    expect(lastCommitMessage(fleet.remote)).toContain('Buildctl-Legacy-Converted: coordination/messages.json (1 entry)');
    const read = await as('build1', 'msg', 'read', oldId);
    expect(read.code, read.stderr).toBe(0);
    expect(read.stderr).not.toContain('converted'); // converted already
    expect((await as('build1', 'job', 'add', '--type', 'build')).code).toBe(0);
    const stored = (onMain(fleet.remote, 'coordination/messages.json').messages as Array<Record<string, unknown>>).find((m) => m.id === oldId)!;
    expect(stored).toMatchObject({ from: 'build3', to: ['build1'], read_by: { build1: expect.any(String) } });
    expect(stored.read).toBeUndefined();
    expect((await as('build1', 'validate')).code).toBe(0);
  });

  it('with legacy_readers, messages flow both ways between the old scripts and buildctl, and no command is refused', async () => {
    const fleet = await makeFleet(['build1', 'build2', 'build3']);
    cleanups.push(fleet.cleanup);
    const as = async (id: string, ...args: string[]) => {
      const run = await runCli(['--store', fleet.stores[id]!, '--as', id, ...args]);
      expect(run.code, `${id} ${args.join(' ')}: ${run.stderr}`).toBe(0);
      return run;
    };
    await as('build1', 'config', 'set', 'legacy_readers', 'build3');
    const old = join(fleet.root, 'old-build3');
    gitSync(fleet.root, ['clone', '-q', fleet.remote, old]);
    const build3 = oldScriptsBuilder(old, 'build3');
    const mine = async (id: string) => messagesOf((await as(id, 'msg', 'list', '--json')).stdout);

    // old -> buildctl
    const fromOld = build3.send('build1', 'status', 'build3 still runs the bash scripts');
    expect((await mine('build1')).map((m) => m.id)).toEqual([fromOld]);
    // buildctl -> old: to one, to all, and to several (one of them on the old scripts)
    await as('build1', 'msg', 'send', 'build3', 'please move to buildctl');
    const broadcastId = messageOf((await as('build2', 'msg', 'send', 'all', 'maintenance at 22:00', '--json')).stdout).id as string;
    await as('build2', 'msg', 'send', 'build1,build3', 'both of you');
    const unread = build3.unread();
    expect(unread.map((m) => m.body)).toEqual(['please move to buildctl', 'maintenance at 22:00', 'both of you']);
    expect(unread.map((m) => m.from)).toEqual(['build1', 'build2', 'build2']);

    // buildctl's own readers keep their own read state; the old reader's flag is untouched by them.
    await as('build1', 'msg', 'read', '--all');
    expect(build3.unread()).toHaveLength(3);
    expect(await mine('build1')).toEqual([]);
    expect((await mine('build2')).map((m) => m.body)).toEqual([]); // build2 sent them; nothing for build2

    // The old reader marks everything read; buildctl turns that into build3's reads.
    build3.markAllRead();
    expect(build3.unread()).toEqual([]);
    const broadcast = messageOf((await as('build2', 'msg', 'show', broadcastId, '--json')).stdout);
    expect(Object.keys(broadcast.read_by as object).sort()).toEqual(['build1', 'build3']);

    // More traffic both ways after the marks: nothing refused, nothing lost.
    const second = build3.send('all', 'update', 'build3 upgraded maven');
    expect((await mine('build1')).map((m) => m.id)).toEqual([second]);
    expect((await mine('build2')).map((m) => m.id)).toEqual([second]);
    await as('build2', 'msg', 'read', second);
    await as('build1', 'msg', 'send', 'build3', 'thanks');
    expect(build3.unread().map((m) => m.body)).toEqual(['thanks']);
    expect((await mine('build1')).map((m) => m.id)).toEqual([second]); // still unread for build1: reads are per recipient
    expect(messagesOf((await as('build1', 'msg', 'list', '--all', '--json')).stdout)).toHaveLength(6);
    expect((await as('build1', 'validate')).stdout).toMatch(/^all \d+ documents are valid$/m);

    // The rollout is over: the setting off, migrate brings every message to the current layout.
    await as('build1', 'config', 'set', 'legacy_readers', 'none');
    const validate = await runCli(['--store', fleet.stores.build1!, 'validate']);
    expect(validate.code).toBe(5);
    await as('build1', 'migrate');
    expect((await runCli(['--store', fleet.stores.build1!, 'validate'])).code).toBe(0);
    const final = onMain(fleet.remote, 'coordination/messages.json').messages as Array<Record<string, unknown>>;
    expect(final).toHaveLength(6);
    for (const m of final) expect([Array.isArray(m.to), m.read, m.timestamp]).toEqual([true, undefined, undefined]);
  });
});

describe.skipIf(!fixturesPresent || !hasJq)('the old scripts\' selection, as the tests mirror it', () => {
  it('is the same with and without jq on the upstream messages', () => {
    const text = fixture('f7da8773__coordination__messages.json');
    for (const id of ['build1', 'build2', 'build3', 'build4']) {
      expect(oldUnreadSelection(text, id, { useJq: false }), id).toEqual(oldUnreadSelection(text, id, { useJq: true }));
    }
    expect(readFileSync(join(FIXTURES, 'f7da8773__coordination__messages.json'), 'utf8')).toBe(text);
  });
});
