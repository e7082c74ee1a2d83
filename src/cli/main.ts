// The entry point of `buildctl`, `sm` and `sendmessages` (run by src/cli/boot.ts). It registers the commands (each
// loads its code only when run), and it is the only place that ends the process: known
// errors print one line and a hint, anything unexpected a stack and a request to report it.
import { basename } from 'node:path';
import { Command } from 'commander';
import { VERSION } from '../version.js';
import { commandPath, errorReport, printError, wantsJson } from './output.js';
import { addVersion, ALLOW_SECRET_LIKE, createRuntime, type Runtime } from './runtime.js';
import { commandWord } from './command-word.js';

const EXIT_CODES_HELP = `
Exit codes: 0 done; 1 failed; 2 bad usage or bad input; 3 not now (lock held, nothing to
claim, push contention exhausted); 4 remote unreachable; 5 store data invalid.

(buildctl check uses the monitoring convention instead: 0 ok, 1 warning, 2 critical.)

Quick messages: sm <targets> <body...> (also installed as sendmessages), e.g.
"sm 2 build done" to build2, "sm all --ack maintenance at 22:00"; see sm --help.
Shell completion: buildctl completion bash|zsh|fish (see its --help).
AI coding agents: buildctl guide (the session checklist), buildctl mcp (an MCP server).

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
  check: async () => (await import('./commands/check.js')).registerCheck,
  metrics: async () => (await import('./commands/metrics.js')).registerMetrics,
  log: async () => (await import('./commands/log.js')).registerLog,
  trust: async () => (await import('./commands/trust.js')).registerTrust,
  gc: async () => (await import('./commands/gc.js')).registerGc,
  notify: async () => (await import('./commands/notify.js')).registerNotify,
  serve: async () => (await import('./commands/serve.js')).registerServe,
  guide: async () => (await import('./commands/guide.js')).registerGuide,
  mcp: async () => (await import('./commands/mcp.js')).registerMcp,
  completion: async () => (await import('./commands/completion.js')).registerCompletion,
};

const buildProgram = async (runtime: Runtime, argv: readonly string[]): Promise<Command> => {
  const program = addVersion(new Command('buildctl'), VERSION)
    .description('coordinate a fleet of build servers through one shared git repository')
    .option('--store <dir>', 'the store clone (default: $BUILDCTL_STORE or ~/.buildctl/store)')
    .option('--as <id>', 'act as this builder (default: $BUILD_SERVER_ID, /etc/build_server_id, ...)')
    .option('--debug', 'show stack traces of errors')
    .option(...ALLOW_SECRET_LIKE)
    // Errors are printed by main() in buildctl's own format (and as JSON with --json).
    .configureOutput({ outputError: () => undefined })
    .exitOverride()
    .addHelpText('after', EXIT_CODES_HELP);
  // Help, a bare `buildctl`, unknown commands and completion need every command; anything else only its own.
  const word = commandWord(argv.slice(2));
  const names = word !== undefined && word in COMMANDS && word !== 'completion' ? [word] : Object.keys(COMMANDS);
  for (const register of await Promise.all(names.map((name) => COMMANDS[name]!()))) register(program, runtime);
  return program;
};

const main = async (argv: string[]): Promise<number> => {
  const runtime = createRuntime(process.env);
  const invokedAs = basename(argv[1] ?? 'buildctl').replace(/\.(c|m)?js$/, '');
  const sm = invokedAs === 'sm' || invokedAs === 'sendmessages';
  let program: Command | undefined;
  try {
    program = sm ? (await import('./sm.js')).buildSmProgram(runtime, invokedAs, VERSION) : await buildProgram(runtime, argv);
    await program.parseAsync(argv);
    return runtime.exitCode;
  } catch (error) {
    const report = errorReport(error, program ? commandPath(program, argv.slice(2)) : invokedAs);
    if (report) printError(runtime, report, { json: wantsJson(argv), debug: argv.includes('--debug') });
    return report?.exitCode ?? 0;
  }
};

// A reader that stops early (`buildctl status | head`) is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

// No top-level await: the bundle is a CommonJS script (src/cli/boot.ts runs it with a code cache).
void main(process.argv).then((code) => {
  process.exitCode = code;
});
