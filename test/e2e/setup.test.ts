// Setting up a builder: scripts/setup_builder.sh run twice in a sandbox (temporary HOME,
// store, prefix, id file, a fake `crontab` recording into a file), and `buildctl agent
// install` for cron and systemd. Real git, real files, nothing mocked but crontab itself.
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitCount, gitSync, makeFleet, REPO_ROOT, runCli, runProcess, tempDir, type CliRun, type Fleet } from '../helpers/fleet.js';
import { asCronRunsIt } from '../helpers/cron.js';

let root: { dir: string; cleanup: () => void };
/** A copy of the tool as an operator would have it: scripts, lock file, node_modules, dist. */
let repo: string;
let fakeBin: string;
let crontabFile: string;

/** A crontab that keeps the table in `file`: `-l` prints it (or says there is none), `-` replaces it. */
const writeFakeCrontab = (dir: string, file: string): void => {
  mkdirSync(dir, { recursive: true });
  const script = [
    '#!/bin/sh',
    `file='${file}'`,
    'case "$1" in',
    '  -l) if [ -f "$file" ]; then cat "$file"; else echo "no crontab for ${USER:-root}" >&2; exit 1; fi ;;',
    '  -) cat >"$file.tmp" && mv "$file.tmp" "$file" ;;',
    '  *) echo "fake crontab: unsupported: $*" >&2; exit 2 ;;',
    'esac',
    '',
  ].join('\n');
  writeFileSync(join(dir, 'crontab'), script);
  chmodSync(join(dir, 'crontab'), 0o755);
};

beforeAll(() => {
  root = tempDir('buildctl-setup-');
  repo = join(root.dir, 'tool');
  mkdirSync(join(repo, 'scripts'), { recursive: true });
  for (const name of ['setup_builder.sh', 'setup_build1.sh', 'setup_build2.sh']) {
    copyFileSync(join(REPO_ROOT, 'scripts', name), join(repo, 'scripts', name));
    chmodSync(join(repo, 'scripts', name), 0o755);
  }
  copyFileSync(join(REPO_ROOT, 'package.json'), join(repo, 'package.json'));
  copyFileSync(join(REPO_ROOT, 'package-lock.json'), join(repo, 'package-lock.json'));
  // The lock must be older than the installed tree (node_modules/.package-lock.json), or
  // the script would run npm ci: the copy just made is newer, so date it back.
  const old = new Date('2000-01-01T00:00:00Z');
  utimesSync(join(repo, 'package-lock.json'), old, old);
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(repo, 'node_modules'));
  // A copy of the build: a rebuild of the project meanwhile cannot pull it from under us,
  // and without src/ the script has nothing to rebuild.
  cpSync(join(REPO_ROOT, 'dist'), join(repo, 'dist'), { recursive: true });
  fakeBin = join(root.dir, 'fakebin');
  crontabFile = join(root.dir, 'crontab.txt');
  writeFakeCrontab(fakeBin, crontabFile);
});
afterAll(() => root?.cleanup());

/** The environment of a fresh login on a builder: scrubbed like runCli's, with the fake crontab first on PATH. */
const sandboxEnv = (home: string, extra: Record<string, string> = {}): Record<string, string> => ({
  PATH: `${fakeBin}:${dirname(process.execPath)}:/usr/bin:/bin`,
  HOME: home,
  USER: 'tester',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  BUILDCTL_ID_FILE: join(home, 'build_server_id'),
  ...extra,
});

const run = (file: string, args: string[], env: Record<string, string>): Promise<CliRun> => runProcess(file, args, { cwd: root.dir, env });

const ours = (crontab: string, store: string): string[] => crontab.split('\n').filter((line) => line.endsWith(`# buildctl-agent ${store}`));

const snapshot = (files: string[]): Array<[string, string, number]> =>
  files.map((file) => [file, readFileSync(file, 'utf8'), statSync(file).mtimeMs]);

describe('scripts/setup_builder.sh', () => {
  it('sets up a builder joining a remote, and a second run changes nothing and says so', async () => {
    const home = join(root.dir, 'home1');
    mkdirSync(home);
    const env = sandboxEnv(home);
    const remote = join(root.dir, 'fleet.git');
    gitSync(root.dir, ['init', '--bare', '--initial-branch=main', remote]);
    const store = join(root.dir, 'srv', 'store');
    const prefix = join(root.dir, 'prefix1');
    const unrelated = '17 3 * * * /usr/local/bin/backup --nightly # not ours';
    writeFileSync(crontabFile, `${unrelated}\n`);
    const args = ['build1', '--remote', remote, '--store', store, '--prefix', prefix];

    const first = await run(join(repo, 'scripts', 'setup_builder.sh'), args, env);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('[2/7] dependencies and build: ok, unchanged'); // npm ci skipped: the tree is newer than the lock
    expect(first.stdout).toContain(`[4/7] builder id: wrote build1 to ${join(home, 'build_server_id')}`);
    expect(first.stdout).toContain('added builder build1');
    // The clone's signing key: made by init, kept in the clone's git dir (0600), registered for build1.
    expect(first.stdout).toMatch(/added: key SHA256:\S+ for build1/);
    expect(statSync(join(store, '.git', 'buildctl', 'signing-key')).mode & 0o777).toBe(0o600);
    const signers = JSON.parse(gitSync(remote, ['show', 'main:coordination/signers.json'])) as { signers: Array<{ id: string; keys: unknown[] }> };
    expect(signers.signers.map((e) => [e.id, e.keys.length])).toEqual([['build1', 1]]);
    expect(first.stdout).toContain(`wrote ${join(prefix, 'bin', 'sm')}`);
    expect(first.stdout).toContain('added the line to the crontab');
    expect(first.stdout).toContain('buildctl status');

    const launchers = ['buildctl', 'sm', 'sendmessages'].map((name) => join(prefix, 'bin', name));
    const before = { commits: commitCount(remote), refs: gitSync(remote, ['for-each-ref']), files: snapshot([...launchers, crontabFile]) };

    const second = await run(join(repo, 'scripts', 'setup_builder.sh'), args, env);
    expect(second.code).toBe(0);
    expect(second.stderr).toBe('');
    const steps = second.stdout.split('\n').filter((line) => /^\[\d\/7\]/.test(line));
    expect(steps).toHaveLength(7);
    for (const line of steps.slice(1)) expect(line).toMatch(/ok, unchanged$/);
    expect(commitCount(remote)).toBe(before.commits);
    expect(gitSync(remote, ['for-each-ref'])).toBe(before.refs);
    expect(snapshot([...launchers, crontabFile])).toEqual(before.files);

    // The crontab: the unrelated line kept, exactly one of ours, with absolute paths.
    const crontab = readFileSync(crontabFile, 'utf8');
    expect(crontab.split('\n')[0]).toBe(unrelated);
    expect(ours(crontab, store)).toHaveLength(1);
    expect(ours(crontab, store)[0]).toMatch(new RegExp(`^\\* \\* \\* \\* \\* .*'${process.execPath}' '${repo}/dist/cli.js' --store '${store}' agent --once`));
    expect(crontab.split('\n').filter(Boolean)).toHaveLength(2);

    expect(readFileSync(join(home, 'build_server_id'), 'utf8')).toBe('build1\n');
    expect(gitSync(store, ['config', '--local', 'user.name']).trim()).toBe('buildctl build1');
    expect(gitSync(store, ['config', '--local', 'user.email']).trim()).toBe('build1@buildctl.invalid');

    // The launchers work from any directory, with the store baked in.
    const status = await run(launchers[0]!, ['--as', 'build1', 'status', '--json'], env);
    expect(status.code).toBe(0);
    const view = (JSON.parse(status.stdout) as { fleet: { store: string; builders: Array<{ id: string; host: string }> } }).fleet;
    expect(view.store).toBe(store);
    expect(view.builders.map((b) => b.id)).toEqual(['build1']);
    expect((await run(launchers[0]!, ['builder', 'add', 'build2'], env)).code).toBe(0);
    const sent = await run(launchers[1]!, ['2', 'hello', 'from', 'setup'], env);
    expect(sent.stderr).toBe('');
    expect(sent.code).toBe(0);
    expect(sent.stdout).toMatch(/^sent msg_\d+_[0-9a-f]{6} to build2$/m);
    const sentLong = await run(launchers[2]!, ['build2', '-t', 'warning', 'disk almost full'], env);
    expect(sentLong.code).toBe(0);
    const mail = await run(launchers[0]!, ['--as', 'build2', 'msg', 'list', '--json'], env);
    expect((JSON.parse(mail.stdout) as { messages: Array<{ from: string; subject: string }> }).messages.map((m) => [m.from, m.subject])).toEqual([
      // The warning first: the inbox shows the most urgent type first.
      ['build1', 'disk almost full'],
      ['build1', 'hello from setup'],
    ]);
  });

  it('a store path with }, % and \\%: launchers and the cron line work; both carry BUILDCTL_ID_FILE; setup ends with the mail', async () => {
    const home = join(root.dir, 'home-odd');
    mkdirSync(home);
    const env = sandboxEnv(home);
    const store = join(root.dir, 'odd}50%x\\%y', 'store');
    const prefix = join(root.dir, 'prefix-odd');
    writeFileSync(crontabFile, '');
    const setup = await run(join(repo, 'scripts', 'setup_builder.sh'), ['build1', '--store', store, '--prefix', prefix], env);
    expect(setup.stderr).toBe('');
    expect(setup.code).toBe(0);
    expect(setup.stdout).toMatch(/Unread mail for build1:\n {2}\S/);
    expect(setup.stdout).toContain(`tail ${store}.agent.log`);

    // The launcher, from a shell that knows neither the store nor the id file, is build1 on that store.
    const { BUILDCTL_ID_FILE: _idFile, ...bare } = env;
    const status = await run(join(prefix, 'bin', 'buildctl'), ['status', '--json'], bare);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout).fleet).toMatchObject({ store, me: 'build1' });

    // The crontab line, run as cron runs it (cron's own environment: no id file, minimal PATH):
    // one tick of build1, logged to the store's own log.
    const line = readFileSync(crontabFile, 'utf8').split('\n').find((l) => l.includes('# buildctl-agent'));
    expect(line).toBeDefined();
    const tick = await runProcess('/bin/sh', ['-c', asCronRunsIt(line ?? '')], { cwd: home, env: { PATH: '/usr/bin:/bin', HOME: home, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' } });
    expect(tick.code, tick.stderr).toBe(0);
    const logged = readFileSync(`${store}.agent.log`, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { msg: string; builder?: string });
    expect(logged.at(-1)).toMatchObject({ msg: 'tick', builder: 'build1' });
    expect(gitSync(store, ['ls-remote', 'origin', 'refs/heads/heartbeat/build1']).trim()).toMatch(/^[0-9a-f]{40}\s/);
  });

  it('setup_build1.sh wraps it: embedded default store, --no-cron', async () => {
    const home = join(root.dir, 'home2');
    mkdirSync(home);
    const env = sandboxEnv(home);
    const cronBefore = existsSync(crontabFile) ? readFileSync(crontabFile, 'utf8') : undefined;
    const prefix = join(root.dir, 'prefix2');
    const setup = await run(join(repo, 'scripts', 'setup_build1.sh'), ['--no-cron', '--prefix', prefix], env);
    expect(setup.stderr).toBe('');
    expect(setup.code).toBe(0);
    expect(setup.stdout).toContain('skipped (--no-cron)');
    const store = join(home, '.buildctl', 'store');
    expect(setup.stdout).toContain(`remote ${store}.git (embedded)`);
    expect(readFileSync(join(home, 'build_server_id'), 'utf8')).toBe('build1\n');
    // The default store follows HOME, so the launcher does not pin it.
    expect(readFileSync(join(prefix, 'bin', 'buildctl'), 'utf8')).not.toContain('BUILDCTL_STORE');
    expect(existsSync(crontabFile) ? readFileSync(crontabFile, 'utf8') : undefined).toBe(cronBefore);
    const list = await run(join(prefix, 'bin', 'buildctl'), ['builder', 'list', '--json'], env);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toMatchObject({ builders: [{ id: 'build1' }] });
  });

  it('--agents-md writes the session checklist into the workspace\'s AGENTS.md, keeping the rest; a second run changes nothing', async () => {
    const home = join(root.dir, 'home4');
    const workspace = join(home, 'work');
    mkdirSync(workspace, { recursive: true });
    const agentsMd = join(workspace, 'AGENTS.md');
    writeFileSync(agentsMd, '# Repository rules\n\nNever push to main.\n');
    const env = sandboxEnv(home);
    const store = join(home, 'store');
    const args = ['build5', '--store', store, '--prefix', join(root.dir, 'prefix4'), '--no-cron', '--agents-md', workspace];

    const first = await run(join(repo, 'scripts', 'setup_builder.sh'), args, env);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`[AGENTS.md] updated ${agentsMd}: the checklist block for build5`);
    expect(first.stdout).toContain('buildctl guide');
    const written = readFileSync(agentsMd, 'utf8');
    expect(written.startsWith('# Repository rules\n\nNever push to main.\n\n<!-- buildctl guide: begin')).toBe(true);
    // The store is not the default one, so the commands name it; the id is in the host-wide file, so they need no --as.
    expect(written).toContain(`\`buildctl --store ${store} status\``);
    expect(written).not.toContain('--as');

    const second = await run(join(repo, 'scripts', 'setup_builder.sh'), args, env);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`[AGENTS.md] ${agentsMd}: the checklist block is up to date`);
    expect(readFileSync(agentsMd, 'utf8')).toBe(written);
  });

  it('refuses to turn a host that is another builder into this one', async () => {
    const home = join(root.dir, 'home3');
    mkdirSync(home);
    writeFileSync(join(home, 'build_server_id'), 'build2\n');
    const setup = await run(join(repo, 'scripts', 'setup_build1.sh'), ['--no-cron', '--prefix', join(root.dir, 'prefix3')], sandboxEnv(home));
    expect(setup.code).toBe(1);
    expect(setup.stderr).toContain('this host is already builder "build2"');
    expect(readFileSync(join(home, 'build_server_id'), 'utf8')).toBe('build2\n');
    expect(existsSync(join(root.dir, 'prefix3'))).toBe(false);
  });

  it.each([
    [[], /missing the builder id/],
    [['build1', '--bogus'], /unknown option: --bogus/],
    [['Build1'], /invalid builder id "Build1"/],
    [['build1', 'build2'], /unexpected argument: build2/],
    [['build1', '--store'], /--store needs a value/],
  ])('bad usage %j: usage on stderr, exit 2', async (args, message) => {
    const setup = await run(join(repo, 'scripts', 'setup_builder.sh'), args, sandboxEnv(root.dir));
    expect(setup.code).toBe(2);
    expect(setup.stderr).toMatch(message);
    expect(setup.stderr).toContain('usage: setup_builder.sh <id>');
    expect(setup.stdout).toBe('');
  });

  it('the scripts are executable in git', () => {
    // (a copy of the project without .git checks only the file modes)
    const modes = !existsSync(join(REPO_ROOT, '.git')) ? '' : gitSync(REPO_ROOT, ['ls-files', '-s', '--', 'scripts/setup_builder.sh', 'scripts/setup_build1.sh', 'scripts/setup_build2.sh']);
    for (const line of modes.trim().split('\n').filter(Boolean)) expect(line).toMatch(/^100755 /);
    for (const name of ['setup_builder.sh', 'setup_build1.sh', 'setup_build2.sh']) {
      expect(statSync(join(REPO_ROOT, 'scripts', name)).mode & 0o111).toBe(0o111);
    }
    expect(readFileSync(join(REPO_ROOT, 'scripts', 'setup_build2.sh'), 'utf8')).toContain('setup_builder.sh" build2 "$@"');
  });
});

describe('buildctl agent install', () => {
  let fleet: Fleet;
  let store: string;
  let cron: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    fleet = await makeFleet(['build1', 'build2']);
    store = fleet.stores.build1!;
    const bin = join(fleet.root, 'bin');
    cron = join(fleet.root, 'crontab.txt');
    writeFakeCrontab(bin, cron);
    env = { HOME: fleet.root, PATH: `${bin}:/usr/bin:/bin` };
  });
  afterAll(() => fleet?.cleanup());

  const install = (args: string[], extra: Record<string, string> = {}) =>
    runCli(['--store', store, '--as', 'build1', 'agent', 'install', ...args], { env: { ...env, ...extra } });

  it('--cron --dry-run prints the line and changes nothing', async () => {
    writeFileSync(cron, 'MAILTO=ops@example.invalid\n');
    const dry = await install(['--cron', '--dry-run']);
    expect(dry.code).toBe(0);
    const [line] = dry.stdout.split('\n');
    expect(line).toBe(
      `* * * * * BUILDCTL_ID_FILE='${join(fleet.root, 'no-such-build-server-id')}' '${process.execPath}' '${join(REPO_ROOT, 'dist', 'cli.js')}' --store '${store}' --as 'build1' agent --once --if-scheduled` +
        ` --log-file '${store}.agent.log' >>'${store}.agent.log' 2>&1 # buildctl-agent ${store}`,
    );
    expect(dry.stdout).toContain('dry run: would add the line');
    expect(readFileSync(cron, 'utf8')).toBe('MAILTO=ops@example.invalid\n');
  });

  it('--log-file given after install is the line\'s log file (not taken by agent\'s own option)', async () => {
    const file = join(fleet.root, 'logs', 'mine.log');
    const dry = await install(['--cron', '--dry-run', '--log-file', file]);
    expect(dry.code).toBe(0);
    expect(dry.stdout.split('\n')[0]).toContain(`--log-file '${file}' >>'${file}' 2>&1`);
  });

  it('--cron twice: one line, replacing an earlier one of ours for this store and keeping another store\'s', async () => {
    const otherStore = '* * * * * /usr/bin/node /opt/buildctl/dist/cli.js --store /srv/other agent --once # buildctl-agent /srv/other';
    writeFileSync(cron, `MAILTO=""\n* * * * * /old/node /old/cli.js agent --once # buildctl-agent ${store}\n${otherStore}\n`);
    const first = await install(['--cron', '--json']);
    expect(first.code).toBe(0);
    const json = JSON.parse(first.stdout) as { agent: { mode: string; text: string; actions: string[] }; changed: boolean };
    expect(json).toMatchObject({ agent: { mode: 'cron' }, changed: true, queued: false, commit: null });
    const result = json.agent;
    expect(result.actions[0]).toContain('replaced the earlier crontab line for this store');
    expect(readFileSync(cron, 'utf8')).toBe(`MAILTO=""\n${result.text}\n${otherStore}\n`);
    const mtime = statSync(cron).mtimeMs;

    const second = await install(['--cron']);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('crontab already has the line: nothing changed');
    expect(readFileSync(cron, 'utf8')).toBe(`MAILTO=""\n${result.text}\n${otherStore}\n`);
    expect(statSync(cron).mtimeMs).toBe(mtime);
  });

  it('--cron with no crontab yet starts one', async () => {
    const fresh = join(fleet.root, 'fresh-bin');
    const freshCron = join(fleet.root, 'fresh-crontab.txt');
    writeFakeCrontab(fresh, freshCron);
    const run1 = await install(['--cron'], { PATH: `${fresh}:/usr/bin:/bin` });
    expect(run1.code).toBe(0);
    expect(ours(readFileSync(freshCron, 'utf8'), store)).toHaveLength(1);
    expect(readFileSync(freshCron, 'utf8').split('\n').filter(Boolean)).toHaveLength(1);
  });

  it('--cron without a crontab command: exit 2 with a hint', async () => {
    const empty = join(fleet.root, 'empty-bin');
    mkdirSync(empty, { recursive: true });
    const run1 = await install(['--cron'], { PATH: empty });
    expect(run1.code).toBe(2);
    expect(run1.stderr).toContain('no "crontab" command on PATH');
    expect(run1.stderr).toMatch(/hint: install cron .*--systemd/);
  });

  it('--systemd --unit-dir twice: the unit is written once, the second run changes nothing', async () => {
    const unitDir = join(fleet.root, 'units');
    const dry = await install(['--systemd', '--unit-dir', unitDir, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(existsSync(unitDir)).toBe(false);

    const first = await install(['--systemd', '--unit-dir', unitDir, '--json']);
    expect(first.code).toBe(0);
    const json = JSON.parse(first.stdout) as { agent: { text: string; path: string; actions: string[] }; changed: boolean };
    expect(json.changed).toBe(true);
    const result = json.agent;
    expect(result.path).toMatch(new RegExp(`^${unitDir}/buildctl-agent-[0-9a-f]{8}\\.service$`));
    expect(readFileSync(result.path, 'utf8')).toBe(result.text);
    expect(result.text).toContain(`ExecStart="${process.execPath}" "${join(REPO_ROOT, 'dist', 'cli.js')}" "--store" "${store}" "--as" "build1" "agent" "--log-file"`);
    expect(result.text).toContain('Restart=on-failure');
    expect(result.actions.join('\n')).toContain(`systemctl daemon-reload && systemctl enable --now ${result.path.split('/').pop()}`);
    expect(dry.stdout.split('\n- ')[0]?.trim()).toBe(result.text.trim());
    const mtime = statSync(result.path).mtimeMs;

    const second = await install(['--systemd', '--unit-dir', unitDir, '--json']);
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ agent: { path: result.path, text: result.text }, changed: false });
    expect(statSync(result.path).mtimeMs).toBe(mtime);

    // Another store on the same host gets its own unit.
    const other = await runCli(['--store', fleet.stores.build2!, '--as', 'build2', 'agent', 'install', '--systemd', '--unit-dir', unitDir, '--json'], { env });
    expect(other.code).toBe(0);
    expect((JSON.parse(other.stdout) as { agent: { path: string } }).agent.path).not.toBe(result.path);
  });

  it('refuses to install for a store that does not exist', async () => {
    const run1 = await runCli(['--store', join(fleet.root, 'nowhere'), '--as', 'build1', 'agent', 'install', '--cron'], { env });
    expect(run1.code).toBe(2);
    expect(run1.stderr).toContain('no buildctl store at');
  });
});
