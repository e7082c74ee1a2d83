// Credentials never reach the shared repository (issue 13). For every value that is
// committed, the built CLI refuses a credential there with exit 2, names the field and
// what was recognised, never echoes the value, and nothing reaches the remote: no ref
// moves and no object holding the value exists there. A coverage check makes every
// option of every command either a row here or an exemption with its reason, so a new
// option cannot be forgotten.
import { readdirSync, renameSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/cli/runtime.js';
import { CLI, gitSync, makeFleet, runCli, testContext, type Fleet } from '../helpers/fleet.js';

let fleet: Fleet;
let smBin: string;
const ids: Record<string, string> = {};

// Every secret is built at run time and distinct, so the final scan of the remote's
// objects proves that none of them got there by any path.
const alnum = (seed: string, n: number) => Array.from({ length: n }, (_, i) => 'aB3dE6gH9jK2mN5pQ8sT1vW4yZ7cF0hL'[(i * 7 + seed.charCodeAt(i % seed.length)) % 32]).join('');
const gh = (seed: string) => `ghp_${alnum(seed, 36)}`;
const lower = (seed: string, n: number) => alnum(seed, n).toLowerCase();
const jwt = `eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJidWlsZDEiLCJyb2xlIjoib3BzIn0.${alnum('jwt', 43)}`;

interface Row {
  /** Which CLI input this row covers, in the coverage check's notation. */
  covers: string;
  /** Arguments after `--store <store> --as build1` (or sm's arguments). */
  args: string[];
  /** The part of the value that must never be echoed or reach the remote. */
  secret: string;
  /** How the refusal names the field and what it recognised. */
  said: string;
  sm?: boolean;
  as?: string;
}

const ROWS: Row[] = [
  { covers: 'msg send <body...>', args: ['msg', 'send', 'build2', 'db migrated\npassword: Hunt3r-body'], secret: 'Hunt3r-body', said: 'a value assigned to password in the body, line 2' },
  { covers: 'msg send --subject', args: ['msg', 'send', 'build2', 'deploy notes', '--subject', `deploy with ${gh('subject')}`], secret: gh('subject'), said: 'a GitHub token in the subject' },
  { covers: 'msg ack --note', args: ['msg', 'ack', '{toMe}', '--note', 'done, token: 7fK2pQ9xL1note'], secret: '7fK2pQ9xL1note', said: 'a value assigned to token in the note' },
  { covers: 'sm <body...>', sm: true, args: ['2', 'cache', 'is', 'redis://:Pw-sm-b0dy@cache:6379'], secret: 'Pw-sm-b0dy', said: 'a password in a URL in the body' },
  { covers: 'sm --subject', sm: true, args: ['2', '-s', 'mysql -pSmSubj3ct', 'see', 'subject'], secret: 'SmSubj3ct', said: 'a password on a mysql command line in the subject' },
  { covers: 'job add --type', args: ['job', 'add', '--type', `glpat-${lower('type', 20)}`], secret: `glpat-${lower('type', 20)}`, said: 'a GitLab token in the type' },
  { covers: 'job add --branch', args: ['job', 'add', '--type', 'build', '--branch', gh('branch')], secret: gh('branch'), said: 'a GitHub token in the branch' },
  { covers: 'job add --commit', args: ['job', 'add', '--type', 'build', '--commit', 'AKIAZ7Q2WXYV3KLMN4PR'], secret: 'AKIAZ7Q2WXYV3KLMN4PR', said: 'an AWS access key id in the commit' },
  { covers: 'job add --description', args: ['job', 'add', '--type', 'build', '--description', 'deploy with DB_PASS=D3scr1pt!on'], secret: 'D3scr1pt!on', said: 'a value assigned to DB_PASS in the description' },
  { covers: 'job add --key', args: ['job', 'add', '--type', 'build', '--key', `npm_${alnum('key', 36)}`], secret: `npm_${alnum('key', 36)}`, said: 'an npm token in the key' },
  { covers: 'job add --label', args: ['job', 'add', '--type', 'build', '--label', 'x86', '--label', `xoxb-1234567890-${lower('label', 12)}`], secret: `xoxb-1234567890-${lower('label', 12)}`, said: 'a Slack token in the label 2' },
  { covers: 'job complete --artifact', args: ['job', 'complete', '{running}', '--artifact', 'https://ci:Art1factPw@files.example.com/a.tgz'], secret: 'Art1factPw', said: 'a password in a URL in the artifact' },
  { covers: 'job complete --artifact-url', args: ['job', 'complete', '{running}', '--artifact', '/etc/hostname', '--artifact-url', 'https://ci:Art1factUrlPw@files.example.com/a.tgz'], secret: 'Art1factUrlPw', said: 'a password in a URL in the artifact-url' },
  { covers: 'job fail --artifact', args: ['job', 'fail', '{running}', '--reason', 'tests failed', '--artifact', 'https://ci:F4ilArtPw@files.example.com/core'], secret: 'F4ilArtPw', said: 'a password in a URL in the artifact' },
  { covers: 'job fail --artifact-url', args: ['job', 'fail', '{running}', '--reason', 'tests failed', '--artifact', '/etc/hostname', '--artifact-url', 'https://ci:F4ilUrlPw@files.example.com/core'], secret: 'F4ilUrlPw', said: 'a password in a URL in the artifact-url' },
  { covers: 'job add --after', args: ['job', 'add', '--type', 'build', '--after', gh('after')], secret: gh('after'), said: 'a GitHub token in the after' },
  { covers: 'job run --artifact', args: ['job', 'run', '--artifact', 'https://ci:RunArtPw1@files.example.com/a.tgz', '--', 'true'], secret: 'RunArtPw1', said: 'a password in a URL in the artifact' },
  { covers: 'job run --artifact-url', args: ['job', 'run', '--artifact', 'a.tgz', '--artifact-url', 'https://ci:RunUrlPw1@files.example.com/a.tgz', '--', 'true'], secret: 'RunUrlPw1', said: 'a password in a URL in the artifact-url' },
  { covers: 'job run --log-dir', args: ['job', 'run', '--log-dir', '/var/log/password=L0gD1r-Pw', '--', 'true'], secret: 'L0gD1r-Pw', said: 'a value assigned to password in the log-dir' },
  { covers: 'job fail --reason', args: ['job', 'fail', '{running}', '--reason', `push failed: Authorization: Bearer ${alnum('fail', 24)}`], secret: alnum('fail', 24), said: 'a bearer token in the reason' },
  { covers: 'job cancel --reason', args: ['job', 'cancel', '{queued}', '--reason', 'the root password is C4ncel-Pw'], secret: 'C4ncel-Pw', said: 'a value assigned to password in the reason' },
  { covers: 'lock acquire <name>', args: ['lock', 'acquire', gh('lock')], secret: gh('lock'), said: 'a GitHub token in the lock name' },
  { covers: 'lock run <name>', args: ['lock', 'run', gh('run'), '--', 'true'], secret: gh('run'), said: 'a GitHub token in the lock name' },
  { covers: 'lock break --reason', args: ['lock', 'break', 'deploy', '--reason', 'freed it with sshpass -p Br3ak-Pw ssh build2'], secret: 'Br3ak-Pw', said: 'a password on a command line in the reason' },
  { covers: 'builder add --host', args: ['builder', 'add', 'build3', '--host', 'https://admin:H0st@Pw@db.example.com'], secret: 'H0st@Pw', said: 'a password in a URL in the host' },
  { covers: 'builder add --ip', args: ['builder', 'add', 'build3', '--ip', 'pwd=1p-Addr3ss'], secret: '1p-Addr3ss', said: 'a value assigned to pwd in the ip' },
  { covers: 'builder add --manager', args: ['builder', 'add', 'build3', '--manager', jwt], secret: jwt, said: 'a JSON Web Token in the manager' },
  { covers: 'builder add --label', args: ['builder', 'add', 'build3', '--label', `glpat-${lower('blabel', 20)}`], secret: `glpat-${lower('blabel', 20)}`, said: 'a GitLab token in the label' },
  { covers: 'status set --job', args: ['status', 'set', 'building', '--job', gh('status')], secret: gh('status'), said: 'a GitHub token in the job' },
  // Input also wrong in itself (a state no builder has, a lock name with "="): still refused as a credential, never quoted back.
  { covers: 'status set <state>', args: ['status', 'set', 'password=St4te-Pw'], secret: 'St4te-Pw', said: 'a value assigned to password in the state' },
  { covers: 'lock release <name>', args: ['lock', 'release', 'password=L0ck-Pw'], secret: 'L0ck-Pw', said: 'a value assigned to password in the lock name' },
  { covers: 'notify add --url', args: ['notify', 'add', 'ops', '--type', 'webhook', '--url', 'https://ci:Wh00k-Pw@hooks.example.com/buildctl', '--secret-env', 'OPS_SECRET'], secret: 'Wh00k-Pw', said: 'a password in a URL in the url' },
  { covers: 'config set <value>', args: ['config', 'set', 'schedule', 'password=C0nfig-Pw!'], secret: 'C0nfig-Pw!', said: 'a value assigned to password in the value' },
  { covers: 'config set [more...]', args: ['config', 'set', 'lock_ttl', '45s', 'schedule', 'password=M0re-Pw!'], secret: 'M0re-Pw!', said: 'a value assigned to password in the value' },
  { covers: 'builder key revoke --reason', args: ['builder', 'key', 'revoke', 'build1', '--reason', 'leaked with password=Rev0ke-Pw!'], secret: 'Rev0ke-Pw!', said: 'a value assigned to password in the reason' },
  { covers: 'trust accept --reason', args: ['trust', 'accept', '{head}', '--reason', `checked, token: ${alnum('accept', 20)}`], secret: alnum('accept', 20), said: 'a value assigned to token in the reason' },
];

/**
 * Inputs that are not checked by a row above, each with the reason. Everything a command
 * takes is either a row or here: the coverage test fails on anything new.
 */
const EXEMPT: Record<string, string> = {
  'init --remote': 'kept in the clone\'s git config, never committed (and redacted wherever it is printed)',
  'init --builder': 'a builder id: strict format, checked by the walker on purpose as skipped (domain/committed.ts)',
  'builder add <id>': 'a builder id (strict format)',
  'builder remove <id>': 'an existing builder id, looked up',
  'job add --priority': 'a whole number',
  'job add --max-attempts': 'a whole number',
  'job add --run-after': 'an ISO time, normalised before it is stored',
  'job add --timeout': 'a duration (90s, 5m, ...)',
  'job add --target': 'a registered builder id',
  'job list --status': 'read only',
  'job show <id>': 'read only',
  'job claim --type': 'a filter; nothing typed is stored',
  'job claim --wait': 'a duration, not stored',
  'job run --type': 'a filter; nothing typed is stored',
  'job run --wait': 'a duration, not stored',
  'job run <command...>': 'the command to run; kept in the local log file only, never committed',
  'job complete <id>': 'an existing job id, looked up (checked by the walker anyway)',
  'job fail <id>': 'an existing job id, looked up',
  'job cancel <id>': 'an existing job id, looked up',
  'job retry <id>': 'an existing job id, looked up',
  'lock acquire --ttl': 'a duration', 'lock acquire --wait': 'a duration, not stored',
  'lock renew <name>': 'an existing lock, looked up (checked by the walker anyway)', 'lock renew --ttl': 'a duration',
  'lock release <name>': 'an existing lock, removed',
  'lock break <name>': 'an existing lock, removed',
  'lock run <command...>': 'the command to run; never stored',
  'lock run --ttl': 'a duration', 'lock run --wait': 'a duration, not stored',
  'msg send <to>': 'builder ids or all', 'msg send --type': 'one of four types', 'msg send --reply-to': 'an existing message id',
  'msg list --from': 'read only', 'msg list --type': 'read only',
  'msg read [ids...]': 'existing message ids', 'msg ack <id>': 'an existing message id', 'msg show <id>': 'read only',
  'sm <targets>': 'digits or builder ids', 'sm --type': 'one of four types', 'sm --reply-to': 'an existing message id',
  'sm --store': 'a local path', 'sm --as': 'a builder id',
  'config set <key>': 'one of the setting names',
  'status set <state>': 'one of four states',
  'agent --schedule': 'local to this agent, not stored', 'agent --log-file': 'a local path',
  'agent install --unit-dir': 'a local path', 'agent install --log-file': 'a local path',
  'outbox drop <id>': 'local to this clone',
  'msg list --since': 'read only', 'msg list --limit': 'read only',
  'status --interval': 'read only (a duration)',
  'metrics <id>': 'read only', 'metrics --since': 'read only',
  'log --builder': 'read only', 'log --op': 'read only', 'log --since': 'read only', 'log --limit': 'read only',
  'completion <shell>': 'one of three shells; prints a script',
  'notify add <name>': 'a target name (strict format)', 'notify add --type': 'one of three types', 'notify add --event': 'event types (an enum)',
  'notify add --url-env': 'an environment variable name (strict format): the URL itself stays on each builder',
  'notify add --secret-env': 'an environment variable name (strict format): the secret itself stays on each builder',
  'notify add --url-file': 'a local path (the URL itself stays in that file on each builder); checked by the walker anyway',
  'notify add --secret-file': 'a local path (the secret itself stays in that file on each builder); checked by the walker anyway',
  'notify remove <name>': 'an existing target, removed', 'notify test <name>': 'an existing target; nothing is stored',
  'serve --port': 'read only (a server)', 'serve --host': 'read only (a server)', 'serve --interval': 'read only (a duration)',
  'serve --token': 'the dashboard\'s own token: kept in memory, never stored', 'serve --token-file': 'a local path, never stored',
  'guide --agents-md': 'a local path; nothing is committed',
  'init --signing-key': 'a local path: the key stays on the builder, outside the store',
  'builder key add <id>': 'a builder id (strict format)',
  'builder key add --key': 'a public key, or the path of one: parsed, and only the public key is committed (anything else is refused without echo)',
  'builder key revoke <id>': 'a builder id (strict format)', 'builder key revoke --key': 'a fingerprint, looked up',
  'trust accept <commit>': 'a commit of main, resolved before anything is written',
  'validate --since': 'read only (a commit)',
};

/** Every input of every command (arguments and options that take a value), e.g. `job add --branch`. */
const cliInputs = async (): Promise<string[]> => {
  const runtime: Runtime = { env: {}, exitCode: 0, out: () => undefined, err: () => undefined };
  const program = new Command('buildctl');
  const dir = join(import.meta.dirname, '../../src/cli/commands');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const module = (await import(join(dir, file))) as Record<string, unknown>;
    for (const [name, register] of Object.entries(module)) if (name.startsWith('register') && typeof register === 'function') register(program, runtime);
  }
  const { buildSmProgram } = await import('../../src/cli/sm.js');
  const inputs: string[] = [];
  const walk = (command: Command, path: string[]): void => {
    if (command.commands.length > 0 && command.registeredArguments.length === 0) {
      for (const sub of command.commands) walk(sub, [...path, sub.name()]);
      if (command.options.length === 0) return;
    }
    const at = path.join(' ');
    for (const argument of command.registeredArguments) {
      const shown = argument.required ? `<${argument.name()}${argument.variadic ? '...' : ''}>` : `[${argument.name()}${argument.variadic ? '...' : ''}]`;
      inputs.push(`${at} ${shown}`);
    }
    for (const option of command.options) if ((option.required || option.optional) && option.long) inputs.push(`${at} ${option.long}`);
  };
  for (const command of program.commands) walk(command, [command.name()]);
  walk(buildSmProgram(runtime, 'sm', '0'), ['sm']);
  return inputs;
};

const remoteRefs = () => gitSync(fleet.remote, ['for-each-ref', '--format=%(refname) %(objectname)']);
/** Every object the remote holds, reachable or not, as text. */
const remoteObjects = () => gitSync(fleet.remote, ['cat-file', '--batch-all-objects', '--batch']);
const fill = (arg: string) => arg.replace(/\{(\w+)\}/g, (_, key: string) => ids[key] ?? `{${key}}`);
const as = (who: string, args: string[], options: { sm?: boolean } = {}) =>
  runCli(['--store', fleet.stores[who]!, '--as', who, ...args], options.sm ? { bin: smBin } : {});

beforeAll(async () => {
  fleet = await makeFleet(['build1', 'build2']);
  smBin = join(fleet.root, 'sm');
  symlinkSync(CLI, smBin);
  const { addJobOp, claimJobOp } = await import('../../src/ops/jobs.js');
  const { acquireLockOp } = await import('../../src/ops/locks.js');
  const { sendMessageOp } = await import('../../src/ops/messages.js');
  const as1 = testContext(fleet.stores.build1!, 'build1');
  const as2 = testContext(fleet.stores.build2!, 'build2');
  // Each row would succeed without the check: build1 runs a job, another waits, build2
  // holds a lock, build1 has mail to acknowledge.
  ids.running = (await addJobOp(as1, { type: 'build', priority: 1, target: 'build1' })).job.id;
  await claimJobOp(as1, {});
  ids.queued = (await addJobOp(as1, { type: 'package', priority: 100, target: 'build2' })).job.id;
  await acquireLockOp(as2, { name: 'deploy', ttl: '1h' });
  ids.toMe = (await sendMessageOp(as2, { to: ['build1'], body: 'for build1' })).message.id;
  ids.head = gitSync(fleet.remote, ['rev-parse', 'main']).trim();
}, 60_000);
afterAll(() => fleet?.cleanup());

describe('a credential in any committed field is refused, and nothing reaches the remote', () => {
  it.each(ROWS.map((row) => [row.covers, row] as const))('%s', async (_covers, row) => {
    const before = remoteRefs();
    const run = await as(row.as ?? 'build1', row.args.map(fill), { sm: row.sm ?? false });
    const said = `exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`;
    expect(run.code, said).toBe(2);
    expect(run.stderr, said).toContain(`refused: this looks like it holds a credential (${row.said})`);
    expect(run.stderr, said).toContain('hint: git history keeps what is committed forever');
    expect(`${run.stdout}${run.stderr}`, 'the value is never echoed').not.toContain(row.secret);
    expect(remoteRefs(), 'no ref of the remote moved').toBe(before);
  });

  it('left no object holding any of the values on the remote, and nothing queued', () => {
    const objects = remoteObjects();
    for (const row of ROWS) expect(objects.includes(row.secret), row.covers).toBe(false);
    for (const who of ['build1', 'build2']) {
      const outbox = join(fleet.stores[who]!, '.git', 'buildctl', 'outbox');
      expect(readdirSafe(outbox)).toEqual([]);
    }
  });

  it('checks every input of every command, or says why not', async () => {
    const inputs = await cliInputs();
    const covered = new Set(ROWS.map((r) => r.covers));
    const unclassified = inputs.filter((input) => !covered.has(input) && !(input in EXEMPT));
    expect(unclassified, 'add a row for each (or an exemption with its reason)').toEqual([]);
    const stale = [...covered, ...Object.keys(EXEMPT)].filter((key) => !inputs.includes(key));
    expect(stale, 'rows and exemptions name real inputs').toEqual([]);
  });

  it('still lets operators talk about passwords and tokens', async () => {
    for (const args of [
      ['msg', 'send', 'build2', 'Password: changed; token: regenerated; secret: santa gift exchange'],
      ['job', 'add', '--type', 'build', '--description', 'Error: invalid token: signature mismatch'],
      ['job', 'add', '--type', 'build', '--branch', 'fix/login-failed-password-incorrect'],
    ]) {
      const run = await as('build1', args);
      expect(run.code, run.stderr).toBe(0);
    }
  });
});

const readdirSafe = (dir: string): string[] => {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
};

describe('--allow-secret-like: the way out of a false alarm', () => {
  it('commits the value and records the override in the commit, before or after the command', async () => {
    const value = `fix/${gh('allowed')}`;
    const run = await as('build1', ['--allow-secret-like', 'job', 'add', '--type', 'build', '--branch', value]);
    expect(run.code, run.stderr).toBe(0);
    expect(gitSync(fleet.remote, ['log', '-1', '--format=%(trailers:key=Buildctl-Allowed-Secret-Like,valueonly)', 'main']).trim()).toBe('a GitHub token in the branch');
    expect(gitSync(fleet.remote, ['show', 'main:coordination/jobs.json'])).toContain(value);
    const after = await as('build1', ['status', 'set', 'building', '--job', gh('allowed2'), '--allow-secret-like']);
    expect(after.code, after.stderr).toBe(0);
    expect(gitSync(fleet.remote, ['log', '-1', '--format=%(trailers:key=Buildctl-Allowed-Secret-Like,valueonly)', 'main']).trim()).toBe('a GitHub token in the job');
  });

  it('leaves no trailer where nothing needed it', async () => {
    const run = await as('build1', ['--allow-secret-like', 'msg', 'send', 'build2', 'nothing secret here']);
    expect(run.code, run.stderr).toBe(0);
    expect(gitSync(fleet.remote, ['log', '-1', '--format=%B', 'main'])).not.toContain('Buildctl-Allowed-Secret-Like');
  });

  it('offline: refuses before queueing, and an allowed send keeps its override until delivery', async () => {
    renameSync(fleet.remote, `${fleet.remote}.away`);
    try {
      const refused = await as('build1', ['msg', 'send', 'build2', 'token: 9Xq2LmZp4Kw8offline']);
      expect(refused.code, refused.stderr).toBe(2);
      expect((await as('build1', ['outbox', 'list'])).stdout).toContain('the outbox is empty');
      const queued = await as('build1', ['--allow-secret-like', 'msg', 'send', 'build2', 'token: 9Xq2LmZp4Kw8allowed']);
      expect(queued.code, queued.stderr).toBe(0);
      expect(queued.stderr).toContain('queued');
    } finally {
      renameSync(`${fleet.remote}.away`, fleet.remote);
    }
    const flush = await as('build1', ['outbox', 'flush']);
    expect(flush.code, flush.stderr).toBe(0);
    expect(gitSync(fleet.remote, ['log', '-1', '--format=%(trailers:key=Buildctl-Allowed-Secret-Like,valueonly)', 'main']).trim()).toBe('a value assigned to token in the body');
    expect(remoteObjects()).not.toContain('9Xq2LmZp4Kw8offline');
  });
});
