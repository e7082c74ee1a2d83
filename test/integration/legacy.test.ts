// The upstream corpus (../shared/fixtures/upstream): every file read and classified, the
// legacy ones migrated without loss; a store assembled from them answering the views
// before migration and passing validate after it; the 102-to-1 wipe made impossible;
// the pre-commit hook refusing a hand commit of a conflicted file.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BuildctlError } from '../../src/errors.js';
import { classifyText, type FileStatus } from '../../src/domain/classify.js';
import { migrateStore } from '../../src/ops/migrate.js';
import { initStore } from '../../src/ops/init.js';
import { docs, kindOfPath } from '../../src/schemas/layout.js';
import { serializeDocument } from '../../src/store/documents.js';
import { storeAt } from '../../src/store/store.js';
import { transact } from '../../src/store/transaction.js';
import { commitCount, gitSync, makeFleet, runCli, SHARED, tempDir, testContext } from '../helpers/fleet.js';

const FIXTURES = join(SHARED, 'fixtures', 'upstream');
const present = existsSync(FIXTURES);
if (!present) console.warn(`legacy tests skipped: the fixture folder ${FIXTURES} is absent`);

/** `<sha>__coordination__messages.json` -> `coordination/messages.json` */
const storePath = (name: string): string => name.split('__').slice(1).join('/');
const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');
const FLEET = ['build1', 'build2', 'build3', 'build4'];

/** What each fixture is, by the fixture README. Other JSON files are "valid" when they parse. */
const EXPECTED: Record<string, FileStatus> = {
  '0692f2c5__coordination__messages.json': 'legacy',
  '3cdd91b6__code2__heartbeat.json': 'legacy',
  '473a7bd3__coordination__messages.json': 'legacy',
  '522c3acd__coordination__messages.json': 'legacy',
  '60745a74__docs__auto_reply_rules.json': 'valid',
  '63a3f9c4__build1__heartbeat.json': 'legacy',
  '63a3f9c4__build1__status.json': 'legacy',
  '63a3f9c4__coordination__locks.json': 'legacy',
  '63a3f9c4__coordination__messages.json': 'valid',
  '63a3f9c4__shared__build_config.json': 'valid',
  '63a3f9c4__shared__health_dashboard.json': 'legacy',
  '674624c0__coordination__messages.json': 'broken', // merge-conflict markers
  '6b2bd427__coordination__message_stats.json': 'broken', // unquoted values
  '6ee2f16e__shared__health_dashboard.json': 'legacy',
  '7c5d633e__coordination__messages.json': 'legacy',
  '7cd1935f__shared__file_registry.json': 'valid',
  '8187a52d__coordination__unread_messages_status.json': 'valid',
  '97a63f3f__build1__status.json': 'legacy',
  'a0d23792__coordination__message_stats.json': 'valid',
  'a55589c4__coordination__messages.json': 'legacy',
  'a7c95387__build1__heartbeat.json': 'legacy',
  'a7c95387__coordination__jobs.json': 'valid',
  'b57d861b__coordination__archives__messages_archive_20251113_111711.json': 'valid', // not a buildctl path: JSON only
  'b6e41b11__build2__heartbeat.json': 'legacy',
  'b6e41b11__build2__status.json': 'legacy',
  'bde9bcce__code2__status.json': 'legacy',
  'cc7e651d__coordination__jobs.json': 'valid',
  'e8fe6510__build2__heartbeat.json': 'broken', // 0 bytes
  'f7da8773__coordination__messages.json': 'legacy',
  'fb66748b__coordination__messages.json': 'legacy',
};

const BROKEN_REASONS: Record<string, RegExp> = {
  '674624c0__coordination__messages.json': /^git merge-conflict marker "<<<<<<<" at line 10206$/,
  '6b2bd427__coordination__message_stats.json': /^JSON syntax error at line 7:32 /,
  'e8fe6510__build2__heartbeat.json': /^the file is empty$/,
};

/** Fields a conversion replaces; every other field of an entry must come through unchanged. */
const CONVERTED_FIELDS = new Set(['messages', 'jobs', 'to', 'type', 'body', 'timestamp', 'read', 'read_by', 'acknowledged_by', 'acked_by', 'created_at', 'status', 'server', 'server_id', 'last_heartbeat', 'system', 'last_build', 'current_job', 'updated_at', 'locks', 'last_token', 'builders', 'counts', 'queue']);

type Json = Record<string, unknown>;

const expectUnknownFieldsKept = (before: Json, after: Json): void => {
  for (const [key, value] of Object.entries(before)) if (!CONVERTED_FIELDS.has(key)) expect(after[key], key).toEqual(value);
};

describe.skipIf(!present)('the upstream corpus', () => {
  it('holds exactly the files this test knows', () => {
    expect(readdirSync(FIXTURES).filter((n) => n.endsWith('.json')).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.entries(EXPECTED))('%s is %s', (name, expected) => {
    const text = fixture(name);
    const path = storePath(name);
    const classified = classifyText(path, text, { fleet: FLEET });
    expect(classified.status).toBe(expected);
    if (expected === 'broken') {
      expect(classified.problems[0]?.reason).toMatch(BROKEN_REASONS[name]!);
      return;
    }
    if (expected !== 'legacy') return;
    expect(classified.changes.length).toBeGreaterThan(0);
    // Migrated: valid as written, and the same entries with every unknown field intact.
    const spec = kindOfPath(path)!;
    const written = serializeDocument(path, classified.value, spec.schema);
    expect(classifyText(path, written, { fleet: FLEET }).status).toBe('valid');
    const before = JSON.parse(text) as Json;
    const after = JSON.parse(written) as Json;
    expectUnknownFieldsKept(before, after);
    for (const field of ['messages', 'jobs'] as const) {
      if (!Array.isArray(before[field])) continue;
      const was = before[field] as Json[];
      const now = after[field] as Json[];
      expect(now.map((e) => e.id)).toEqual(was.map((e) => e.id));
      was.forEach((entry, i) => expectUnknownFieldsKept(entry, now[i]!));
      if (field === 'messages') {
        expect(now.map((m) => m.from)).toEqual(was.map((m) => m.from));
        expect(now.map((m) => m.to)).toEqual(was.map((m) => (typeof m.to === 'string' ? [m.to] : m.to)));
      }
    }
    if (spec.name === 'locks') {
      const held = Object.values(before.locks as Record<string, Json>).filter((l) => l.locked_by !== null);
      expect((after.locks as unknown[]).length).toBe(held.length);
    }
  });
});

// ---- stores assembled from the corpus ------------------------------------------------------

let cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups) cleanup();
  cleanups = [];
});

const BUILDERS = `${JSON.stringify({ builders: [{ id: 'build1' }, { id: 'build2' }] }, null, 2)}\n`;

/** A remote holding these files, committed with plain git as the older scripts did, and a buildctl clone of it. */
const legacyStore = async (files: Record<string, string>): Promise<{ store: string; remote: string }> => {
  const { dir, cleanup } = tempDir('buildctl-legacy-');
  cleanups.push(cleanup);
  const remote = join(dir, 'remote.git');
  const scratch = join(dir, 'scratch');
  gitSync(dir, ['init', '-q', '--bare', '-b', 'main', remote]);
  gitSync(dir, ['init', '-q', '-b', 'main', scratch]);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(scratch, path, '..'), { recursive: true });
    writeFileSync(join(scratch, path), content);
  }
  gitSync(scratch, ['add', '-A']);
  gitSync(scratch, ['commit', '-q', '-m', 'the coordination repository, as the scripts left it']);
  gitSync(scratch, ['push', '-q', remote, 'main']);
  const store = join(dir, 'store');
  await initStore(testContext(store), { remote, builders: [] });
  return { store, remote };
};

const CORPUS_STORE = (): Record<string, string> => ({
  'coordination/builders.json': BUILDERS,
  'coordination/jobs.json': fixture('a7c95387__coordination__jobs.json'),
  'coordination/locks.json': fixture('63a3f9c4__coordination__locks.json'),
  'coordination/messages.json': fixture('f7da8773__coordination__messages.json'),
  'coordination/message_stats.json': fixture('a0d23792__coordination__message_stats.json'),
  'build1/status.json': fixture('97a63f3f__build1__status.json'),
  'build1/heartbeat.json': fixture('a7c95387__build1__heartbeat.json'),
  'build2/status.json': fixture('b6e41b11__build2__status.json'),
  'build2/heartbeat.json': fixture('b6e41b11__build2__heartbeat.json'),
  'code2/status.json': fixture('bde9bcce__code2__status.json'),
  'code2/heartbeat.json': fixture('3cdd91b6__code2__heartbeat.json'),
  'shared/health_dashboard.json': fixture('6ee2f16e__shared__health_dashboard.json'),
});

const LEGACY_NOTE = 'buildctl: this store has legacy documents; "buildctl migrate" converts them';
const noteCount = (stderr: string): number => stderr.split('\n').filter((line) => line === LEGACY_NOTE).length;

describe.skipIf(!present)('a store of the older layout', () => {
  it('answers the views before migration, migrates in one commit, then validates', async () => {
    const { store, remote } = await legacyStore(CORPUS_STORE());
    const cli = (...args: string[]) => runCli(['--store', store, ...args]);

    const status = await cli('--as', 'build1', 'status', '--json');
    expect(status.code).toBe(0);
    expect(noteCount(status.stderr)).toBe(1);
    const view = JSON.parse(status.stdout).fleet;
    expect(view.problems).toEqual([]);
    expect(view.builders.map((b: { id: string; state: string }) => [b.id, b.state])).toEqual([['build1', 'idle'], ['build2', 'idle']]);
    expect(view.builders[0].heartbeat_at).toBe('2025-11-04T00:06:54Z');
    expect(view.queue).toMatchObject({ queued: 1, completed: 2 });
    expect(view.locks).toEqual([]);
    expect(view.mail.unread).toBeGreaterThan(0);

    const jobs = await cli('job', 'list', '--json');
    expect([jobs.code, noteCount(jobs.stderr)]).toEqual([0, 0]); // jobs.json is current already
    expect(JSON.parse(jobs.stdout).jobs).toHaveLength(3);
    const messages = await cli('msg', 'list', '--all', '--json');
    expect([messages.code, noteCount(messages.stderr)]).toEqual([0, 1]);
    expect(JSON.parse(messages.stdout).messages).toHaveLength(59);
    const locks = await cli('lock', 'list', '--json');
    expect([locks.code, noteCount(locks.stderr), JSON.parse(locks.stdout)]).toEqual([0, 1, { locks: [] }]);

    const before = await cli('validate');
    expect(before.code).toBe(5);
    expect(before.stdout).toContain('legacy   coordination/messages.json: older layout, "buildctl migrate" converts it:');
    expect(before.stdout).toContain('46 timestamps to ISO-8601 UTC');
    expect(before.stdout).toMatch(/9 of 11 documents are not valid: 9 legacy \(run "buildctl migrate"\), 0 broken, 0 invalid/);
    // message_stats.json is the older scripts' own bookkeeping, not a document: never judged.
    expect(before.stdout).toContain('1 other file is not a document of the store layout: not checked (--verbose lists them)');
    // code2's folder holds documents of the older layout, and the registry lacks it.
    expect(before.stdout).toContain('builders found by their folders, not registered: code2 ("buildctl migrate" registers them)');
    const report = JSON.parse((await cli('validate', '--json')).stdout).validation;
    expect(report.files.find((f: { file: string }) => f.file === 'coordination/messages.json')).toMatchObject({ valid: false, status: 'legacy' });

    const commits = commitCount(remote);
    const dry = await cli('migrate', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^coordination\/locks\.json\s+0 -> 0\s+1 lock map turned into the lock list$/m);
    expect(dry.stdout).toContain('would convert 9 legacy documents, would register 1 builder (dry run: nothing written)');
    expect(commitCount(remote)).toBe(commits);

    const migrated = await cli('migrate', '--json');
    expect(migrated.code).toBe(0);
    const json = JSON.parse(migrated.stdout);
    expect(json).toMatchObject({ migration: { dry_run: false, invalid: [] }, changed: true, queued: false, commit: gitSync(remote, ['rev-parse', 'main']).trim() });
    const result = json.migration;
    expect(result.files.map((f: { file: string }) => f.file).sort()).toEqual(
      ['build1/heartbeat.json', 'build1/status.json', 'build2/heartbeat.json', 'build2/status.json', 'code2/heartbeat.json', 'code2/status.json', 'coordination/builders.json', 'coordination/locks.json', 'coordination/messages.json', 'shared/health_dashboard.json'],
    );
    expect(result.registered.map((b: { id: string }) => b.id)).toEqual(['code2']);
    expect(result.counts).toEqual({ before: { messages: 59, jobs: 3, locks: 0, builders: 2 }, after: { messages: 59, jobs: 3, locks: 0, builders: 3 } });
    expect(commitCount(remote)).toBe(commits + 1);
    expect(gitSync(remote, ['log', '-1', '--format=%B', 'main'])).toContain('Buildctl-Op: store.migrate');

    const after = await cli('validate');
    expect(after.code).toBe(0);
    expect(after.stdout).toMatch(/^all 11 documents are valid$/m);
    const statusAfter = await cli('--as', 'build1', 'status', '--json');
    expect([statusAfter.code, noteCount(statusAfter.stderr)]).toEqual([0, 0]);
    expect(JSON.parse(statusAfter.stdout).fleet.queue).toEqual(view.queue);
    const messagesAfter = JSON.parse((await cli('msg', 'list', '--all', '--json')).stdout).messages;
    expect(messagesAfter).toHaveLength(59);
    expect((await cli('--as', 'build1', 'msg', 'send', 'build2', 'hello')).code).toBe(0);
    const again = await cli('migrate');
    expect([again.code, again.stdout.split('\n')[0]]).toEqual([0, 'nothing to migrate: no legacy documents']);
  });

  it('migrate refuses while a file is broken, naming it, and writes nothing', async () => {
    const { store, remote } = await legacyStore({
      'coordination/builders.json': BUILDERS,
      'coordination/messages.json': fixture('0692f2c5__coordination__messages.json'),
      'build2/heartbeat.json': fixture('e8fe6510__build2__heartbeat.json'),
    });
    const commits = commitCount(remote);
    const run = await runCli(['--store', store, 'migrate']);
    expect(run.code).toBe(5);
    expect(run.stderr).toContain('cannot migrate while 1 document is broken: build2/heartbeat.json (the file is empty)');
    expect(commitCount(remote)).toBe(commits);
    const validate = await runCli(['--store', store, 'validate']);
    expect(validate.code).toBe(5);
    expect(validate.stdout).toContain('broken   build2/heartbeat.json: the file is empty');
  });

  // How long it takes is the bench's to say (no wall time in the suite): here, that it lands whole.
  it('migrates the 1,401-message storm in one commit', async () => {
    const { store, remote } = await legacyStore({ 'coordination/builders.json': BUILDERS, 'coordination/messages.json': fixture('522c3acd__coordination__messages.json') });
    const commits = commitCount(remote);
    const report = await migrateStore(testContext(store), { dryRun: false });
    expect(report.files).toHaveLength(1);
    expect(commitCount(remote)).toBe(commits + 1);
    const written = JSON.parse(gitSync(remote, ['show', 'main:coordination/messages.json']));
    expect(written.messages).toHaveLength(1401);
  });
});

describe.skipIf(!present)('no silent loss', () => {
  it('the 102-to-1 wipe cannot be written through buildctl: exit 1, nothing pushed', async () => {
    const { store, remote } = await legacyStore({ 'coordination/builders.json': BUILDERS, 'coordination/messages.json': fixture('7c5d633e__coordination__messages.json') });
    await migrateStore(testContext(store), { dryRun: false });
    const commits = commitCount(remote);
    // The agent's rewrite of November 4th, in the current layout: one message left of 102.
    const wiped = classifyText('coordination/messages.json', fixture('fb66748b__coordination__messages.json'), { fleet: FLEET }).value;
    const attempt = transact(storeAt(store), { op: 'test.rewrite', actor: 'build2', apply: () => ({ result: null, writes: [{ spec: docs.messages, value: wiped }], summary: 'rewrite messages' }) });
    const error = await attempt.then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(BuildctlError);
    expect((error as BuildctlError).code).toBe('would_lose_data');
    expect((error as BuildctlError).exitCode).toBe(1);
    expect((error as BuildctlError).message).toMatch(/would lose 102 messages entries the operation did not ask to remove \(msg_\d+_\d+, /);
    expect(commitCount(remote)).toBe(commits);
    expect(JSON.parse(gitSync(remote, ['show', 'main:coordination/messages.json'])).messages).toHaveLength(102);
  });
});

describe('buildctl hooks install', () => {
  it('refuses a hand commit with conflict markers or an empty file, lets a valid one through, chains an earlier hook, and installs once', async () => {
    const fleet = await makeFleet(['build1']);
    cleanups.push(fleet.cleanup);
    const store = fleet.stores.build1!;
    const hook = join(store, '.git', 'hooks', 'pre-commit');
    writeFileSync(hook, '#!/bin/sh\necho ran > "$(git rev-parse --git-dir)/earlier-hook-ran"\n', { mode: 0o755 });

    const first = await runCli(['--store', store, 'hooks', 'install', '--json']);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ hook: { outcome: 'chained' }, changed: true, queued: false, commit: null });
    const second = await runCli(['--store', store, 'hooks', 'install']);
    expect(second.stdout).toContain('already installed: nothing changed');
    expect(readFileSync(hook, 'utf8').split('>>> buildctl').length - 1).toBe(1);

    const commit = (path: string, content: string) => {
      writeFileSync(join(store, path), content);
      gitSync(store, ['add', path]);
      try {
        gitSync(store, ['commit', '-q', '-m', `hand edit ${path}`]);
        return 'committed';
      } catch (error) {
        gitSync(store, ['reset', '-q', '--hard']);
        return String(error);
      }
    };
    const jobs = readFileSync(join(store, 'coordination/jobs.json'), 'utf8');
    expect(commit('coordination/jobs.json', `<<<<<<< HEAD\n${jobs}=======\n${jobs}>>>>>>> theirs\n`)).toMatch(/broken\s+:coordination\/jobs\.json: git merge-conflict marker "<<<<<<<" at line 1/);
    expect(commit('coordination/locks.json', '')).toMatch(/the file is empty/);
    expect(commit('coordination/jobs.json', jobs.replace('"jobs": []', '"jobs": [], "note": "hand edit"'))).toBe('committed');
    expect(existsSync(join(store, '.git', 'earlier-hook-ran'))).toBe(true);
  });
});
