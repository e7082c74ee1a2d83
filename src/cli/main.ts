#!/usr/bin/env node
// The entry point of `buildctl`, `sm` and `sendmessages`. It registers the commands (each
// loads its code only when run), and it is the only place that ends the process: known
// errors print one line and a hint, anything unexpected a stack and a request to report it.
import { basename } from 'node:path';
import { Command, CommanderError } from 'commander';
import { isBuildctlError } from '../errors.js';
import { VERSION } from '../version.js';
import { ALLOW_SECRET_LIKE, createRuntime, type Runtime } from './runtime.js';

const EXIT_CODES_HELP = `
Exit codes: 0 done; 1 failed; 2 bad usage or bad input; 3 not now (lock held, nothing to
claim, push contention exhausted); 4 remote unreachable; 5 store data invalid.

Environment: BUILDCTL_STORE (store directory, default ~/.buildctl/store),
BUILD_SERVER_ID (this builder's id; else /etc/build_server_id, .build_server_id in the
store, or a hostname match in coordination/builders.json).`;

type Register = (program: Command, runtime: Runtime) => void;

/** Each command's definition loads on demand: a cron run pays only for the command it runs. */
const COMMANDS: Record<string, () => Promise<Register>> = {
  init: async () => (await import('./commands/init.js')).registerInit,
  builder: async () => (await import('./commands/builder.js')).registerBuilder,
  status: async () => (await import('./commands/status.js')).registerStatus,
  heartbeat: async () => (await import('./commands/heartbeat.js')).registerHeartbeat,
  job: async () => (await import('./commands/job.js')).registerJob,
  lock: async () => (await import('./commands/lock.js')).registerLock,
  msg: async () => (await import('./commands/msg.js')).registerMsg,
  config: async () => (await import('./commands/config.js')).registerConfig,
  validate: async () => (await import('./commands/validate.js')).registerValidate,
  migrate: async () => (await import('./commands/migrate.js')).registerMigrate,
  hooks: async () => (await import('./commands/hooks.js')).registerHooks,
  agent: async () => (await import('./commands/agent.js')).registerAgent,
  outbox: async () => (await import('./commands/outbox.js')).registerOutbox,
};

const GLOBAL_OPTIONS_WITH_VALUE = new Set(['--store', '--as']);

/** The command word of `buildctl [global options] <command> ...`, if any. */
const commandWord = (args: readonly string[]): string | undefined => {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--') return undefined;
    if (GLOBAL_OPTIONS_WITH_VALUE.has(arg)) i++;
    else if (!arg.startsWith('-')) return arg;
  }
  return undefined;
};

const buildProgram = async (runtime: Runtime, argv: readonly string[]): Promise<Command> => {
  const program = new Command('buildctl')
    .description('coordinate a fleet of build servers through one shared git repository')
    .version(VERSION, '-V, --version')
    .option('--store <dir>', 'the store clone (default: $BUILDCTL_STORE or ~/.buildctl/store)')
    .option('--as <id>', 'act as this builder (default: $BUILD_SERVER_ID, /etc/build_server_id, ...)')
    .option('--debug', 'show stack traces of errors')
    .option(...ALLOW_SECRET_LIKE)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .addHelpText('after', EXIT_CODES_HELP);
  // Help, a bare `buildctl` and unknown commands need every command; anything else only its own.
  const word = commandWord(argv.slice(2));
  const names = word !== undefined && word in COMMANDS ? [word] : Object.keys(COMMANDS);
  for (const register of await Promise.all(names.map((name) => COMMANDS[name]!()))) register(program, runtime);
  return program;
};

const main = async (argv: string[]): Promise<number> => {
  const runtime = createRuntime(process.env);
  const invokedAs = basename(argv[1] ?? 'buildctl').replace(/\.(c|m)?js$/, '');
  const debug = argv.includes('--debug');
  try {
    const program =
      invokedAs === 'sm' || invokedAs === 'sendmessages'
        ? (await import('./sm.js')).buildSmProgram(runtime, invokedAs, VERSION)
        : await buildProgram(runtime, argv);
    await program.parseAsync(argv);
    return runtime.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version end with code 0; everything else commander rejects is bad usage.
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0 ? 0 : 2;
    }
    if (isBuildctlError(error)) {
      runtime.err(`buildctl: ${error.message}`);
      if (error.hint) runtime.err(`hint: ${error.hint}`);
      if (debug && error.stack) runtime.err(error.stack);
      return error.exitCode;
    }
    const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
    runtime.err(`buildctl: unexpected error: ${error instanceof Error ? error.message : String(error)}`);
    runtime.err(debug ? stack : 'hint: run again with --debug for the stack trace, and please report it with that output');
    return 1;
  }
};

// A reader that stops early (`buildctl status | head`) is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

process.exitCode = await main(process.argv);
