// Real git fleets for tests: a temporary bare remote and clones acting as builders.
// Every helper makes its own unique temp dir, so test files can run in parallel.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Context } from '../../src/ops/context.js';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
export const CLI = join(REPO_ROOT, 'dist', 'cli.js');
export const SHARED = resolve(REPO_ROOT, '..', 'shared');

/** A unique temp dir removed by the returned cleanup. */
export const tempDir = (prefix = 'buildctl-test-'): { dir: string; cleanup: () => void } => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
};

/** Plain git, for arranging and inspecting repositories the way another tool would. */
export const gitSync = (cwd: string, args: string[], input?: string): string => {
  const run = spawnSync('git', args, {
    cwd,
    input,
    encoding: 'utf8',
    // Store documents can pass the 1 MiB default (the upstream storm file is 1 MB).
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, GIT_AUTHOR_NAME: 'test', GIT_AUTHOR_EMAIL: 'test@example.invalid', GIT_COMMITTER_NAME: 'test', GIT_COMMITTER_EMAIL: 'test@example.invalid' },
  });
  if (run.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${run.stderr || run.error?.message || `exit ${run.status}`}`);
  return run.stdout;
};

export const commitCount = (repo: string, ref = 'main'): number => Number(gitSync(repo, ['rev-list', '--count', ref]).trim());

/** A context for calling operations in-process, as the CLI would build it. */
export const testContext = (storeDir: string, as?: string, overrides: Partial<Context> = {}): Context => ({
  storeDir,
  asFlag: as,
  envBuilderId: undefined,
  etcIdFile: join(storeDir, '..', 'no-etc-build-server-id'),
  hostname: 'test-host',
  now: () => new Date(),
  monotonic: () => performance.now(),
  warn: () => undefined,
  ...overrides,
});

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program to completion, collecting its output (no shell, no inherited stdio). */
export const runProcess = (file: string, args: readonly string[], options: { cwd: string; env: Record<string, string>; input?: string | Buffer }): Promise<CliRun> =>
  new Promise((resolvePromise, reject) => {
    const child = spawn(file, args, { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'pipe'] });
    // Standard input is `input` (e.g. a body read with "-"), else empty; a child that exits unread is fine.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code: code ?? -1, stdout, stderr }));
  });

/**
 * The environment the built CLI runs in, in tests and the bench: scrubbed (no
 * BUILD_SERVER_ID, no BUILDCTL_STORE from the host, no global git identity), as a builder
 * or operator would have it in a shell.
 */
export const cliEnv = (extra: Record<string, string> = {}): Record<string, string> => {
  const home = extra.HOME ?? tmpdir();
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    BUILDCTL_ID_FILE: join(home, 'no-such-build-server-id'),
    // Under the test runner the CLI freezes what it reads too (store/test-seam.ts freezeReads).
    ...(process.env.VITEST !== undefined ? { BUILDCTL_TEST_FREEZE: '1' } : {}),
    ...extra,
  };
};

/** Runs the built CLI to completion in cliEnv's environment. */
export const runCli = (args: string[], options: { env?: Record<string, string>; cwd?: string; bin?: string; input?: string | Buffer } = {}): Promise<CliRun> =>
  runProcess(process.execPath, [options.bin ?? CLI, ...args], { cwd: options.cwd ?? REPO_ROOT, env: cliEnv(options.env), ...(options.input === undefined ? {} : { input: options.input }) });

export interface Fleet {
  root: string;
  remote: string;
  /** store dir of each builder clone, by builder id */
  stores: Record<string, string>;
  cleanup: () => void;
}

/**
 * A fleet: the first builder runs `init` with the embedded remote (registering every
 * builder), the others clone it with `init --remote`. Uses the in-process operation so
 * setup stays fast; tests of the CLI itself go through runCli.
 */
export const makeFleet = async (builders: string[] = ['build1', 'build2']): Promise<Fleet> => {
  const { initStore } = await import('../../src/ops/init.js');
  const { dir, cleanup } = tempDir();
  const stores: Record<string, string> = {};
  const [first, ...rest] = builders;
  if (!first) throw new Error('a fleet needs a builder');
  stores[first] = join(dir, first, 'store');
  const report = await initStore(testContext(stores[first]), { builders: builders.map((id) => ({ id })) });
  for (const id of rest) {
    stores[id] = join(dir, id, 'store');
    await initStore(testContext(stores[id]), { remote: report.remote, builders: [] });
  }
  return { root: dir, remote: report.remote, stores, cleanup };
};

/** Pushes files to the remote's main the way another tool (or a person) would: a plain commit from a scratch clone. */
export const pushHandEdit = (f: Fleet, files: Record<string, string>, message = 'hand edit'): void => {
  const scratch = join(f.root, `scratch-${Date.now()}-${Math.random().toString(16).slice(2)}`);
  gitSync(f.root, ['clone', '-q', f.remote, scratch]);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(scratch, path)), { recursive: true });
    writeFileSync(join(scratch, path), content);
  }
  gitSync(scratch, ['add', '--', ...Object.keys(files)]);
  gitSync(scratch, ['commit', '-q', '-m', message]);
  gitSync(scratch, ['push', '-q', 'origin', 'main']);
  rmSync(scratch, { recursive: true, force: true });
};

/**
 * Replaces builder `id`'s heartbeat ref on the remote with one parentless commit holding
 * these files, as its agent would (used to give a builder an old or future heartbeat).
 */
export const pushHeartbeatRef = (f: Fleet, id: string, files: { heartbeat: unknown; metrics: string }): void => {
  const blob = (content: string) => gitSync(f.remote, ['hash-object', '-w', '--stdin'], content).trim();
  const dir = gitSync(
    f.remote,
    ['mktree'],
    `100644 blob ${blob(`${JSON.stringify(files.heartbeat, null, 2)}\n`)}\theartbeat.json\n100644 blob ${blob(files.metrics)}\tmetrics.jsonl\n`,
  ).trim();
  const tree = gitSync(f.remote, ['mktree'], `040000 tree ${dir}\t${id}\n`).trim();
  const commit = gitSync(f.remote, ['commit-tree', tree, '-m', `heartbeat ${id}`]).trim();
  gitSync(f.remote, ['update-ref', `refs/heads/heartbeat/${id}`, commit]);
};

/**
 * The files of a heartbeat ref as buildctl reads them (in the beat's message, or in its
 * tree for earlier forms): path -> text, for the given paths that it has.
 */
export const heartbeatFiles = async (repo: string, id: string, paths: string[] = [`${id}/heartbeat.json`, `${id}/metrics.jsonl`]): Promise<Record<string, string>> => {
  const { openObjectReader } = await import('../../src/store/git.js');
  const { treeReader } = await import('../../src/store/objects.js');
  const { readHeartbeatCommit } = await import('../../src/store/heartbeat-ref.js');
  const objects = openObjectReader(repo);
  try {
    const beat = await readHeartbeatCommit(objects, treeReader(objects), `refs/heads/heartbeat/${id}`);
    const files: Record<string, string> = {};
    for (const path of paths) {
      const read = await beat?.file(path);
      if (read?.kind === 'text') files[path] = read.text;
    }
    return files;
  } finally {
    objects.close();
  }
};

/**
 * Polls `check` until it returns something truthy, and returns that; fails naming `what`
 * after `deadlineMs`. For waiting on a condition in tests: never a fixed sleep.
 */
export const waitFor = async <T>(check: () => T | Promise<T>, what: string, deadlineMs = 45_000): Promise<NonNullable<T>> => {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

/** The built CLI as builder `id`, on that builder's own clone of the fleet. */
export const cliAs = (fleet: Fleet, id: string, args: string[]): Promise<CliRun> => runCli(['--store', fleet.stores[id]!, '--as', id, ...args]);

/** The same, expecting exit 0 (the failure names the command and its stderr); returns stdout, trimmed. */
export const okAs = async (fleet: Fleet, id: string, args: string[]): Promise<string> => {
  const run = await cliAs(fleet, id, args);
  if (run.code !== 0) throw new Error(`${args.join(' ')} exited ${run.code}: ${run.stderr}`);
  return run.stdout.trim();
};
