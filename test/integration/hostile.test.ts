// Hostile content pushed by anyone with write access to the store: links out of the
// store, directories and submodules where documents belong, attributes that re-encode
// files, JSON built to crash parsers or to lose keys. Every command, `validate` included,
// refuses it the same way (exit 5, naming the path), reads nothing outside the store,
// writes nothing outside it, and loses nothing.
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { commitCount, gitSync, makeFleet, runCli, type CliRun, type Fleet } from '../helpers/fleet.js';

let fleet: Fleet | undefined;
afterEach(() => {
  fleet?.cleanup();
  fleet = undefined;
});

/** A clone of the remote that pushes whatever a test makes in it. */
const hostileClone = (f: Fleet): { dir: string; push: (message: string, paths?: string[]) => void } => {
  const dir = join(f.root, 'hostile');
  if (!existsSync(dir)) gitSync(f.root, ['clone', '-q', f.remote, dir]);
  gitSync(dir, ['pull', '-q', '--ff-only']);
  return {
    dir,
    push: (message, paths = ['-A']) => {
      gitSync(dir, ['add', ...paths]);
      gitSync(dir, ['commit', '-q', '-m', message]);
      gitSync(dir, ['push', '-q', 'origin', 'HEAD:main']);
    },
  };
};

const cli = (f: Fleet, id: string, args: string[]): Promise<CliRun> => runCli(['--store', f.stores[id]!, '--as', id, ...args]);

/** Every blob the remote holds, as text: what the fleet has been sent. */
const remoteBlobs = (f: Fleet): string =>
  gitSync(f.remote, ['cat-file', '--batch-all-objects', '--batch', '--unordered']);

/** Exit 5 naming the path and what is wrong (on stderr, or in validate's report on stdout). */
const expectInvalid = (run: CliRun, path: string, words: RegExp) => {
  const said = `${run.stdout}${run.stderr}`;
  expect(run.code, said).toBe(5);
  expect(said).toContain(path);
  expect(said).toMatch(words);
  expect(said).not.toMatch(/unexpected error|please report|EISDIR|Maximum call stack/);
};

describe('links, directories and submodules where documents belong', () => {
  it('a symbolic link at coordination/config.json: nothing reads its target, nothing of it is pushed, every command says so', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const f = fleet;
    // A file outside the store, as ~/.docker/config.json would be.
    const secretFile = join(f.root, 'docker-config.json');
    const secret = '{"auths": {"registry.example": {"auth": "c2VjcmV0LXJlZ2lzdHJ5LXRva2Vu"}}}\n';
    writeFileSync(secretFile, secret);
    const hostile = hostileClone(f);
    const config = join(hostile.dir, 'coordination', 'config.json');
    const { rmSync } = await import('node:fs');
    rmSync(config);
    symlinkSync(secretFile, config);
    hostile.push('config as a link');
    const commits = commitCount(f.remote);

    expectInvalid(await cli(f, 'build1', ['config', 'set', 'lock_ttl', '60s']), 'coordination/config.json', /symbolic link, not a regular file/);
    expectInvalid(await cli(f, 'build1', ['config', 'show']), 'coordination/config.json', /symbolic link/);
    expectInvalid(await cli(f, 'build1', ['validate']), 'coordination/config.json', /symbolic link/);
    expect(commitCount(f.remote)).toBe(commits);
    expect(remoteBlobs(f)).not.toContain('c2VjcmV0LXJlZ2lzdHJ5LXRva2Vu');
    expect(readFileSync(secretFile, 'utf8')).toBe(secret);
  });

  it.each([
    ['build1', ['status', 'set', 'building', '--job', 'j1'], 'build1/status.json', 'status.json'],
    ['coordination', ['config', 'set', 'lock_ttl', '60s'], 'coordination/config.json', 'config.json'],
  ])('a symbolic link to a directory outside at %s: exit 5, nothing is written there', async (linked, args, path, file) => {
    fleet = await makeFleet(['build1', 'build2']);
    const f = fleet;
    const target = join(f.root, 'outside');
    mkdirSync(target);
    writeFileSync(join(target, 'keep.txt'), 'not the store\n');
    // The clone's view has a real directory there first: the refresh must replace it by the link, not write through it.
    if (linked === 'build1') expect((await cli(f, 'build1', ['status', 'set', 'idle'])).code).toBe(0);
    const hostile = hostileClone(f);
    const { rmSync } = await import('node:fs');
    if (existsSync(join(hostile.dir, linked))) {
      gitSync(hostile.dir, ['rm', '-q', '-r', linked]);
      rmSync(join(hostile.dir, linked), { recursive: true, force: true });
    }
    symlinkSync(target, join(hostile.dir, linked));
    hostile.push(`${linked} as a link`);
    const commits = commitCount(f.remote);

    expectInvalid(await cli(f, 'build1', args), path, new RegExp(`${linked} is a symbolic link, not a directory`));
    expect(readdirSync(target)).toEqual(['keep.txt']);
    expect(existsSync(join(target, file))).toBe(false);
    expect(commitCount(f.remote)).toBe(commits);
    expectInvalid(await cli(f, 'build1', ['validate']), linked, /symbolic link, not a directory/);
    // A mutation elsewhere still lands, and refreshing the view puts the link in the work
    // tree as a link: nothing is written through it.
    if (linked !== 'coordination') {
      const sent = await cli(f, 'build2', ['msg', 'send', 'build1', 'still working']);
      expect(sent.code, sent.stderr).toBe(0);
      const again = await cli(f, 'build1', ['msg', 'send', 'build2', 'me too']);
      expect(again.code, again.stderr).toBe(0);
      expect(lstatSync(join(f.stores.build1!, linked)).isSymbolicLink()).toBe(true);
    }
    expect(readdirSync(target)).toEqual(['keep.txt']);
  });

  it('a directory at coordination/jobs.json and a submodule at coordination/locks.json: exit 5 naming the kind, not EISDIR', async () => {
    fleet = await makeFleet(['build1']);
    const f = fleet;
    const hostile = hostileClone(f);
    const { rmSync } = await import('node:fs');
    rmSync(join(hostile.dir, 'coordination', 'jobs.json'));
    mkdirSync(join(hostile.dir, 'coordination', 'jobs.json'));
    writeFileSync(join(hostile.dir, 'coordination', 'jobs.json', 'inside.txt'), 'a directory\n');
    gitSync(hostile.dir, ['rm', '-q', 'coordination/locks.json']);
    gitSync(hostile.dir, ['add', '-A']);
    const head = gitSync(hostile.dir, ['rev-parse', 'HEAD']).trim();
    gitSync(hostile.dir, ['update-index', '--add', '--cacheinfo', `160000,${head},coordination/locks.json`]);
    hostile.push('a directory and a submodule', ['coordination/jobs.json']);
    const commits = commitCount(f.remote);

    expectInvalid(await cli(f, 'build1', ['job', 'add', '--type', 'build']), 'coordination/jobs.json', /is a directory, not a regular file/);
    expectInvalid(await cli(f, 'build1', ['lock', 'acquire', 'deploy']), 'coordination/locks.json', /is a submodule \(gitlink\), not a regular file/);
    const validate = await cli(f, 'build1', ['validate', '--json']);
    expect(validate.code).toBe(5);
    const files = (JSON.parse(validate.stdout) as { validation: { files: Array<{ file: string; status: string }> } }).validation.files.filter((entry) => entry.status !== 'valid');
    expect(files.map((entry) => entry.file).sort()).toEqual(['coordination/jobs.json', 'coordination/locks.json']);
    expect(commitCount(f.remote)).toBe(commits);
  });
});

describe('attributes and filters do not apply to what buildctl reads or writes', () => {
  it('a pushed .gitattributes re-encoding *.json as UTF-16: mutations and validate agree and work, before and after it is removed', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const f = fleet;
    const ok = async (id: string, args: string[]) => {
      const run = await cli(f, id, args);
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(0);
      return run;
    };
    await ok('build1', ['job', 'add', '--type', 'build']);
    const hostile = hostileClone(f);
    writeFileSync(join(hostile.dir, '.gitattributes'), '*.json working-tree-encoding=UTF-16LE-BOM\n');
    hostile.push('re-encode every json file', ['.gitattributes']);
    const utf8Json = (path: string) => JSON.parse(gitSync(f.remote, ['show', `main:${path}`]));

    await ok('build1', ['msg', 'send', 'build2', 'after the attribute']);
    await ok('build2', ['job', 'add', '--type', 'test']);
    await ok('build1', ['status', 'set', 'idle']);
    await ok('build1', ['validate']);
    expect(utf8Json('coordination/jobs.json').jobs).toHaveLength(2);
    expect(utf8Json('coordination/messages.json').messages).toHaveLength(1);

    gitSync(hostile.dir, ['fetch', '-q', 'origin']);
    gitSync(hostile.dir, ['reset', '-q', '--mixed', 'origin/main']); // the index as main has it: only the attribute goes
    gitSync(hostile.dir, ['rm', '-q', '--cached', '.gitattributes']);
    gitSync(hostile.dir, ['commit', '-q', '-m', 'remove the attribute']);
    gitSync(hostile.dir, ['push', '-q', 'origin', 'HEAD:main']);
    await ok('build1', ['job', 'add', '--type', 'deploy']);
    await ok('build2', ['msg', 'send', 'build1', 'after the removal']);
    await ok('build1', ['validate']);
    expect(utf8Json('coordination/jobs.json').jobs).toHaveLength(3);
    expect(utf8Json('coordination/messages.json').messages).toHaveLength(2);
    // The view the clone keeps for people is plain UTF-8 JSON again once something changes.
    await ok('build1', ['msg', 'send', 'build2', 'one more']);
    expect(JSON.parse(readFileSync(join(f.stores.build1!, 'coordination', 'messages.json'), 'utf8')).messages).toHaveLength(3);
  });
});

describe('a pushed identity file', () => {
  it('.build_server_id committed to main is never checked out over a builder\'s own: it keeps acting as itself', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const f = fleet;
    const store = f.stores.build1!;
    // build1 knows who it is from the store's own (untracked, excluded) identity file.
    writeFileSync(join(store, '.build_server_id'), 'build1\n');
    const plain = (args: string[]) => runCli(['--store', store, ...args]);
    const first = await plain(['status', 'set', 'idle', '--json']);
    expect(first.code, first.stderr).toBe(0);
    const clean = await plain(['status', '--no-fetch', '--json']);
    expect((JSON.parse(clean.stdout) as { fleet: { identity_file_on_main: boolean } }).fleet.identity_file_on_main).toBe(false);

    const hostile = hostileClone(f);
    writeFileSync(join(hostile.dir, '.build_server_id'), 'build2\n');
    hostile.push('make every builder build2', ['-f', '.build_server_id']);
    expect(gitSync(f.remote, ['show', 'main:.build_server_id']).trim()).toBe('build2');

    // Two mutations: the first lands on the hostile commit and refreshes the view, the second acts as whoever the file then says.
    for (const state of ['building', 'idle']) {
      const run = await plain(['status', 'set', state, '--json']);
      expect(run.code, run.stderr).toBe(0);
    }
    expect(readFileSync(join(store, '.build_server_id'), 'utf8').trim()).toBe('build1');
    // validate says what was pushed and what to do, in words and in JSON.
    const validate = await plain(['validate']);
    expect(validate.stdout).toMatch(/HOSTILE\? \.build_server_id is committed to main.*git rm --cached \.build_server_id/);
    expect((JSON.parse((await plain(['validate', '--json'])).stdout) as { validation: { identity_file_on_main: boolean } }).validation.identity_file_on_main).toBe(true);
    const check = await plain(['check']);
    expect([check.code, check.stdout]).toEqual([1, expect.stringContaining('.build_server_id is committed to main')]);
    const said = JSON.parse((await plain(['status', '--no-fetch', '--json'])).stdout) as { fleet: { me: string | null; identity_file_on_main: boolean } };
    expect(said.fleet).toMatchObject({ me: 'build1', identity_file_on_main: true });
    // status says it where operators look, as a warning: the exit code stays 0.
    const status = await plain(['status', '--no-fetch']);
    expect([status.code, status.stdout]).toEqual([0, expect.stringMatching(/^WARNING \.build_server_id is committed to main.*git rm --cached \.build_server_id/m)]);
    // Every change was build1's: build2 never had a status written for it.
    expect(gitSync(f.remote, ['ls-tree', '-r', '--name-only', 'main'])).not.toContain('build2/status.json');
    expect((JSON.parse(gitSync(f.remote, ['show', 'main:build1/status.json'])) as { state: string }).state).toBe('idle');
  });
});

describe('a pushed identity file on a new builder', () => {
  it('init of a new clone neither checks out a .build_server_id on main nor acts, commits or registers its key as the id it names', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const f = fleet;
    const hostile = hostileClone(f);
    writeFileSync(join(hostile.dir, '.build_server_id'), 'build2\n');
    hostile.push('make every new builder build2', ['-f', '.build_server_id']);

    const dir = join(f.root, 'newcomer', 'store');
    const init = await runCli(['--store', dir, 'init', '--remote', f.remote, '--json']);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stderr).toContain('.build_server_id');
    expect(existsSync(join(dir, '.build_server_id'))).toBe(false);
    // The view is there all the same: main's documents, checked out.
    expect(existsSync(join(dir, 'coordination', 'jobs.json'))).toBe(true);
    const report = JSON.parse(init.stdout) as { store: { signing_key: { registered_for: string | null } } };
    expect(report.store.signing_key.registered_for).not.toBe('build2');
    const signers = gitSync(f.remote, ['show', 'main:coordination/signers.json']);
    const build2Keys = (JSON.parse(signers) as { signers: Array<{ id: string; keys: unknown[] }> }).signers.find((s) => s.id === 'build2')?.keys ?? [];
    expect(build2Keys).toHaveLength(0);
  });
});

describe('hostile JSON', () => {
  const pushMessages = (f: Fleet, text: string) => {
    const hostile = hostileClone(f);
    writeFileSync(join(hostile.dir, 'coordination', 'messages.json'), text);
    hostile.push('hostile messages.json');
  };
  const message = (extra: Record<string, unknown> = {}) => ({
    id: 'msg_1700000000_abcdef',
    from: 'build2',
    to: ['build1'],
    type: 'info',
    subject: 'hello',
    body: 'hello',
    created_at: '2026-01-01T00:00:00Z',
    ack_required: false,
    reply_to: null,
    read_by: {},
    acked_by: {},
    ...extra,
  });

  it('an unknown field nested 200,000 levels deep: exit 5 with the reason from status, msg send, the agent and validate; no stack overflow', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const f = fleet;
    const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    pushMessages(f, `{"messages": [${JSON.stringify(message()).replace(/}$/, `, "x_deep": ${deep}}`)}]}\n`);
    const commits = commitCount(f.remote);
    for (const args of [['status'], ['msg', 'send', 'build2', 'hi'], ['msg', 'list'], ['validate'], ['agent', '--once']]) {
      const run = await cli(f, 'build1', args);
      expect(run.stderr, args.join(' ')).not.toMatch(/Maximum call stack|unexpected error|please report/);
      if (args[0] === 'agent') {
        expect(run.code, run.stderr).toBe(5);
        continue;
      }
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(5);
      expect(`${run.stdout}${run.stderr}`).toMatch(/nested deeper than 1000 levels/);
    }
    expect(commitCount(f.remote)).toBe(commits);
  });

  it('duplicate keys: refused as invalid (a rewrite would keep only the last), never silently dropped', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const f = fleet;
    const first = JSON.stringify([message()]);
    const second = JSON.stringify([message({ id: 'msg_1700000001_abcdef' })]);
    pushMessages(f, `{"messages": ${first}, "messages": ${second}}\n`);
    const commits = commitCount(f.remote);
    const sent = await cli(f, 'build1', ['msg', 'send', 'build2', 'hi']);
    expectInvalid(sent, 'coordination/messages.json', /duplicate key "messages"/);
    expectInvalid(await cli(f, 'build1', ['validate']), 'coordination/messages.json', /duplicate key/);
    expect(commitCount(f.remote)).toBe(commits);
  });

  it('own __proto__ keys are kept on rewrite, as data, never as a prototype', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const f = fleet;
    pushMessages(f, `{"__proto__": {"x_polluted": true}, "messages": [${JSON.stringify(message()).replace(/}$/, ', "__proto__": {"x_note": "kept"}}')}]}\n`);
    const read = await cli(f, 'build1', ['msg', 'read', 'msg_1700000000_abcdef']);
    expect(read.code, read.stderr).toBe(0);
    const sent = await cli(f, 'build1', ['msg', 'send', 'build2', 'a rewrite of messages.json']);
    expect(sent.code, sent.stderr).toBe(0);
    const text = gitSync(f.remote, ['show', 'main:coordination/messages.json']);
    expect(text).toContain('"__proto__": {\n    "x_polluted": true\n  }');
    expect(text).toContain('"__proto__": {\n        "x_note": "kept"\n      }');
    const doc = JSON.parse(text);
    expect(doc.messages).toHaveLength(2);
    expect(doc.messages[0].read_by).toHaveProperty('build1');
    expect(({} as Record<string, unknown>).x_polluted).toBeUndefined();
  });

  it('a builder named "constructor" has unread mail, reads it and acks it', async () => {
    fleet = await makeFleet(['build1', 'constructor']);
    const f = fleet;
    const sent = await cli(f, 'build1', ['msg', 'send', 'constructor', 'please ack', '--ack-required']);
    expect(sent.code, sent.stderr).toBe(0);
    const id = sent.stdout.trim();
    const unread = await cli(f, 'constructor', ['msg', 'list', '--json']);
    expect(unread.code, unread.stderr).toBe(0);
    expect(JSON.stringify(JSON.parse(unread.stdout))).toContain(id);
    const acked = await cli(f, 'constructor', ['msg', 'ack', id, '--json']);
    expect(acked.code, acked.stderr).toBe(0);
    expect(acked.stdout).not.toMatch(/already/);
    const stored = JSON.parse(gitSync(f.remote, ['show', 'main:coordination/messages.json'])).messages[0];
    expect(Object.keys(stored.acked_by)).toEqual(['constructor']);
    expect(Object.keys(stored.read_by)).toEqual(['constructor']);
    const after = await cli(f, 'constructor', ['msg', 'list', '--json']);
    expect(JSON.stringify(JSON.parse(after.stdout))).not.toContain(id);
  });

  it('a document over the size limit is invalid by its size alone', async () => {
    fleet = await makeFleet(['build1', 'build2']);
    const f = fleet;
    const big = `{"messages": [], "x_pad": "${'x'.repeat(33 * 1024 * 1024)}"}\n`;
    pushMessages(f, big);
    const sent = await cli(f, 'build1', ['msg', 'send', 'build2', 'hi']);
    expectInvalid(sent, 'coordination/messages.json', /over the limit of 32 MiB/);
    expectInvalid(await cli(f, 'build1', ['validate']), 'coordination/messages.json', /over the limit/);
    expect(statSync(f.stores.build1!).isDirectory()).toBe(true);
  });
});
