// What every command shares: the context built from global options, output helpers, and the
// exit code a command asks for. Only main.ts ends the process.
import { hostname, homedir } from 'node:os';
import { join } from 'node:path';
import { CommanderError, InvalidArgumentError, Option, type Command } from 'commander';
import { parseDuration } from '../domain/durations.js';
import { usageError } from '../errors.js';
import type { Context } from '../ops/context.js';
import { redactCredentials } from '../redact.js';

export interface GlobalOptions {
  store?: string;
  as?: string;
  debug?: boolean;
  allowSecretLike?: boolean;
}

/** The global option every command has (main.ts and sm.ts register it; the Context carries it). */
export const ALLOW_SECRET_LIKE = ['--allow-secret-like', 'commit a value that looks like a credential but is not (a false alarm); the commit records that it was allowed'] as const;

export interface Runtime {
  env: NodeJS.ProcessEnv;
  /** The exit code the command asks for when it returns normally (e.g. 5 from validate). */
  exitCode: number;
  out: (text: string) => void;
  err: (text: string) => void;
}

/**
 * The output boundary: everything a command prints passes here, and a URL's password or
 * token never does (`https://user:***@host`), whether it comes from the store, an option
 * or git's own error text.
 */
export const createRuntime = (env: NodeJS.ProcessEnv): Runtime => {
  const line = (text: string): string => {
    const safe = redactCredentials(text);
    return safe.endsWith('\n') ? safe : `${safe}\n`;
  };
  return {
    env,
    exitCode: 0,
    out: (text) => process.stdout.write(line(text)),
    err: (text) => process.stderr.write(line(text)),
  };
};

/** Where the store is when neither --store nor BUILDCTL_STORE names one. */
export const builtInStoreDir = (): string => join(homedir(), '.buildctl', 'store');

export const defaultStoreDir = (env: NodeJS.ProcessEnv): string => env.BUILDCTL_STORE || builtInStoreDir();

/**
 * TEST ONLY: BUILDCTL_TEST_CLOCK_OFFSET ("+1h", "-10m", "90s") shifts this process's clock,
 * the `now()` every operation uses, so a real-git test can run builders whose clocks are
 * wrong (test/integration/clocks.test.ts). Unset in every real run. git's own commit times
 * and the store's private stamps (last fetch, last prune) keep the real clock.
 */
export const testClockOffsetMs = (env: NodeJS.ProcessEnv): number => {
  const text = env.BUILDCTL_TEST_CLOCK_OFFSET?.trim();
  if (!text) return 0;
  const match = /^([+-]?)(.+)$/.exec(text);
  const sign = match?.[1] === '-' ? -1 : 1;
  try {
    return sign * parseDuration(match?.[2] ?? '', 'BUILDCTL_TEST_CLOCK_OFFSET');
  } catch {
    throw usageError(`invalid BUILDCTL_TEST_CLOCK_OFFSET "${text}"`, { code: 'invalid_test_clock', hint: 'a test-only setting: a signed duration such as +1h or -10m; unset it' });
  }
};

export const buildContext = (runtime: Runtime, command: Command): Context => {
  const options = command.optsWithGlobals<GlobalOptions>();
  const env = runtime.env;
  const offsetMs = testClockOffsetMs(env);
  return {
    storeDir: options.store ?? defaultStoreDir(env),
    asFlag: options.as,
    envBuilderId: env.BUILD_SERVER_ID || undefined,
    // BUILDCTL_ID_FILE lets tests and sandboxes point away from the host-wide file.
    etcIdFile: env.BUILDCTL_ID_FILE || '/etc/build_server_id',
    hostname: hostname(),
    now: offsetMs === 0 ? () => new Date() : () => new Date(Date.now() + offsetMs),
    monotonic: () => performance.now(),
    warn: (line) => runtime.err(`buildctl: ${line}`),
    allowSecretLike: options.allowSecretLike === true,
    env,
  };
};

export const printJson = (runtime: Runtime, data: unknown): void => runtime.out(JSON.stringify(data, null, 2));

/** Renders rows as aligned columns with a header. */
export const table = (header: readonly string[], rows: ReadonlyArray<readonly string[]>): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
};

/** `-v` and `--version` print the version; `-V` (commander's default spelling) still does, unlisted. */
export const addVersion = (program: Command, version: string): Command => {
  program.version(version, '-v, --version', 'print the version');
  program.addOption(new Option('-V').hideHelp());
  program.on('option:V', () => {
    program.configureOutput().writeOut?.(`${version}\n`);
    throw new CommanderError(0, 'commander.version', version);
  });
  return program;
};

/** A parser for an option that takes a whole number of 1 or more; commander reports a bad one (exit 2). */
export const positiveInteger = (what: string) => (text: string): number => {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1) throw new InvalidArgumentError(`${what} must be a whole number of 1 or more`);
  return Number(text);
};

/** Collects a repeatable option's values (`--label a --label b`). */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
