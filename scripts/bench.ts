// `npm run bench`: prints how fast buildctl is against its references (issue 2's speed
// targets). It measures, it asserts nothing: each row is the median of several runs, with
// its reference measured in the same run, interleaved, so machine drift hits both alike.
//
//   status      `buildctl status --no-fetch --json` on a store of 4 builders  vs  `node -e 0`
//   mutation    a whole `buildctl status set` process (commit + push)         vs  `node -e 0` + the
//               same fetch / reset / edit / commit / push done with plain git in a shell
//   in-process  one `setStatus` transaction in a warm process                 vs  that plain-git
//               cycle spawned from node, one git process after another
//
//   big-status  the same `status` on a store that has seen 5,000 jobs and 20,000 messages,
//               most of them archived                                        vs  `node -e 0`
//   big-msg-list `buildctl msg list --no-fetch` on that store                 vs  `node -e 0`
//   mcp-start   `buildctl mcp` from its start to its first answers: initialize and
//               tools/list (what an MCP client waits for)                       vs  `node -e 0`
//   mcp-status  one fleet_status call (fetch false) to a running `buildctl mcp`  vs  `node -e 0`
//   tick        `buildctl agent --once` wall time (a timing, no reference)
//   secrets     the credential check of a 10,000-character message body (a timing)
//   notify-tick `buildctl agent --once` with a webhook target and one event to send per
//               tick (a local receiver on loopback)                   vs  the same tick, no target
//   serve       `buildctl serve` with 10 open pages (event streams) on a 4-builder store for
//               a minute while the builders beat: its CPU and memory (a resource row)
//   claims      2, 4, 8 clones (--clones) claiming in-process (Promise.all) from 8 x 25 = 200 queued jobs
//   sends       2, 4, 8 clones sending 25 messages each, concurrently
//               both vs the same number of plain-git writers appending to one JSON file
//               (fetch, reset, append, commit, push; random backoff on a rejected push)
//   day         4 builders heartbeating every simulated minute for a day, with hourly
//               housekeeping and maintenance: commits added to main, .git sizes
//   signing     the cost of signed writes: signing a commit in-process (node:crypto's ed25519)
//               and with `ssh-keygen -Y sign` (a process), against one mutation (setStatus in a
//               warm process) on a clone with a key and one without, interleaved; verifying a
//               commit; `buildctl log` judging 300 commits with no cache, then with it.
//               Target: signing under 20% of a mutation
//
// Issue 16's rows (cost proportional to the change: vs-script, entries, beat, status-200,
// idle-tick, maintenance, procs, day200, table; the group `scale`) are described at the top
// of scripts/bench-scale.ts. `--cli PATH` measures another build's CLI on the same rows
// (main's, say), with the stores made by this bench's code.
//
// Every store lives in one temp dir against a local bare remote (the embedded default),
// made with the project's own `initStore` (through the test helpers' `makeFleet`), and is
// removed at the end. Options: --runs N (default 15), --contention-runs N (default 3),
// --clones N[,N] (clone counts for the contention rows, default 2,4,8), --day-minutes N
// (default 1440), --day-budget S (seconds of beating before the day stops early and says
// so; default 1200: a whole day takes about 12 minutes on 2 cores), --only NAME[,NAME]
// (names above; `contention` = claims + sends, `big` = both big-store rows, `mcp` = both
// MCP rows, `ratios` = every ratio row), --json (one JSON document on stdout instead of the table), --json-file
// PATH (the same document into a file, beside the table). Progress goes to stderr. New
// ratio benchmarks are entries in BENCHMARKS below.
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { vetCommitted } from '../src/domain/committed.js';
import { effectiveSettings } from '../src/domain/config.js';
import { metricsToText, rollMetrics } from '../src/domain/metrics.js';
import { isBuildctlError } from '../src/errors.js';
import { heartbeat } from '../src/ops/heartbeat.js';
import { housekeepingOp } from '../src/ops/housekeeping.js';
import { claimJobOp, finishJobOp } from '../src/ops/jobs.js';
import { sendMessageOp } from '../src/ops/messages.js';
import { initStore } from '../src/ops/init.js';
import { fleetStatus } from '../src/ops/status.js';
import { setStatus } from '../src/ops/status-set.js';
import type { HeartbeatDoc } from '../src/schemas/heartbeat.js';
import { docs, paths } from '../src/schemas/layout.js';
import type { MetricsLine } from '../src/schemas/metrics.js';
import { serializeDocument } from '../src/store/documents.js';
import { git } from '../src/store/git.js';
import { publishHeartbeat } from '../src/store/heartbeat-ref.js';
import { dropReplacedHeartbeats } from '../src/store/maintenance.js';
import { storeAt } from '../src/store/store.js';
import { transact, type Write } from '../src/store/transaction.js';
import { MAIN_REFSPEC, ORIGIN_MAIN } from '../src/store/store.js';
import { cliEnv, commitCount, makeFleet, runCli, testContext, type Fleet } from '../test/helpers/fleet.js';
import type { Context } from '../src/ops/context.js';
import { startServe } from '../test/helpers/dashboard.js';
import { startReceiver, webhookSecret } from '../test/helpers/receiver.js';
import { addTargetOp } from '../src/ops/notify.js';
import { get as httpGet } from 'node:http';
import { benchJob, dirBytes, mb, mean, median, percentile, progress, renderTable, round1, round2, timed } from './bench-lib.js';
import { hasJq, useCli, renderRatioRows, renderTableRows, runBeat, runBigFleet, runDay200, runEntries, runMaintenance, runProcs, runTable, runVsScript, type BeatCost, type Day200, type MaintenanceRow, type ProcsRow, type RatioRow, type TableRow } from './bench-scale.js';

// The spawned CLI and every git process (ours and the reference) see no host identity, no
// host store and no global git config: the clone's local config (set by init) is all there is.
for (const name of ['BUILD_SERVER_ID', 'BUILDCTL_STORE', 'BUILDCTL_ID_FILE', 'GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE']) delete process.env[name];
process.env.GIT_CONFIG_GLOBAL = '/dev/null';
process.env.GIT_CONFIG_NOSYSTEM = '1';

let cli = resolve(import.meta.dirname, '..', 'cli.js');

const RATIO_NAMES = ['status', 'mutation', 'in-process', 'big-status', 'big-msg-list', 'mcp-start', 'mcp-status'];
const SCALE_NAMES = ['vs-script', 'entries', 'beat', 'status-200', 'idle-tick', 'maintenance', 'procs', 'day200', 'table'];
const ALL_NAMES = new Set([...RATIO_NAMES, 'tick', 'secrets', 'notify-tick', 'serve', 'claims', 'sends', 'day', 'signing', ...SCALE_NAMES]);
const GROUPS: Record<string, string[]> = {
  scale: SCALE_NAMES,
  ratios: RATIO_NAMES,
  big: ['big-status', 'big-msg-list'],
  mcp: ['mcp-start', 'mcp-status'],
  contention: ['claims', 'sends'],
};

const { values: flags } = parseArgs({
  options: {
    runs: { type: 'string', default: '15' },
    warmup: { type: 'string', default: '2' },
    'contention-runs': { type: 'string', default: '3' },
    clones: { type: 'string', default: '2,4,8' },
    'day-minutes': { type: 'string', default: '1440' },
    'day-budget': { type: 'string', default: '1200' },
    'day200-minutes': { type: 'string', default: '1440' },
    sends: { type: 'string', default: '10' },
    cli: { type: 'string' },
    only: { type: 'string' },
    json: { type: 'boolean', default: false },
    'json-file': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (flags.help) {
  process.stdout.write('usage: npm run bench -- [--runs N] [--warmup N] [--contention-runs N] [--clones N[,N]] [--day-minutes N] [--day-budget S] [--day200-minutes N] [--sends N] [--cli PATH] [--only NAME[,NAME]] [--json] [--json-file PATH]\n');
  process.stdout.write(`names: ${[...ALL_NAMES].join(', ')}; groups: ${Object.keys(GROUPS).join(', ')}\n`);
  process.exit(0);
}
if (flags.cli) {
  // Another build's CLI on the same rows (e.g. main's, to compare): the stores are made by this bench's code.
  cli = resolve(flags.cli);
  useCli(flags.cli);
}
const runs = Number(flags.runs);
const warmup = Number(flags.warmup);
const contentionRuns = Number(flags['contention-runs']);
const dayMinutes = Number(flags['day-minutes']);
const dayBudgetS = Number(flags['day-budget']);
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(warmup) || warmup < 0) {
  process.stderr.write('bench: --runs must be a positive integer and --warmup a non-negative one\n');
  process.exit(2);
}
if (!Number.isInteger(contentionRuns) || contentionRuns < 1 || !Number.isInteger(dayMinutes) || dayMinutes < 1 || !(dayBudgetS > 0)) {
  process.stderr.write('bench: --contention-runs and --day-minutes must be positive integers, --day-budget a positive number of seconds\n');
  process.exit(2);
}
const cloneCounts = (flags.clones ?? '').split(',').map((n) => Number(n.trim()));
if (cloneCounts.length === 0 || cloneCounts.some((n) => !Number.isInteger(n) || n < 1 || n > 16)) {
  process.stderr.write('bench: --clones takes clone counts from 1 to 16, separated by commas (default 2,4,8)\n');
  process.exit(2);
}
const selected = new Set<string>();
for (const name of (flags.only ?? [...ALL_NAMES].join(',')).split(',').map((n) => n.trim()).filter(Boolean)) {
  const group = GROUPS[name];
  if (group) for (const member of group) selected.add(member);
  else if (ALL_NAMES.has(name)) selected.add(name);
  else {
    process.stderr.write(`bench: unknown benchmark "${name}" for --only; names: ${[...ALL_NAMES].join(', ')}; groups: ${Object.keys(GROUPS).join(', ')}\n`);
    process.exit(2);
  }
}

/** A child process to its end; throws unless it exits 0. */
const runProcess = (command: string, args: string[], options: { cwd: string }): Promise<void> =>
  new Promise((done, fail) => {
    const child = spawn(command, args, { cwd: options.cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', fail);
    child.on('close', (code) => (code === 0 ? done() : fail(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr.trim()}`))));
  });

/** One CLI run as an operator would start it (scrubbed environment, explicit --store / --as). */
const buildctl = async (fleet: Fleet, args: string[]): Promise<string> => {
  const run = await runCli(args, { bin: cli, cwd: fleet.root });
  if (run.code !== 0) throw new Error(`buildctl ${args.join(' ')} exited ${run.code}: ${run.stderr.trim()}`);
  return run.stdout;
};

// `node -e 0` through the very same spawn and environment as the CLI (runCli runs
// `node <bin> ...args`): an inherited variable such as NODE_EXTRA_CA_CERTS costs tens of ms
// per node start, and must weigh on both sides or on neither.
const nodeStart = async (fleet: Fleet): Promise<void> => {
  const run = await runCli(['0'], { bin: '-e', cwd: fleet.root });
  if (run.code !== 0) throw new Error(`node -e 0 exited ${run.code}: ${run.stderr.trim()}`);
};

/** One round of a CLI run against `node -e 0`, alternating which goes first. */
const nodeVersus = async (fleet: Fleet, run: () => Promise<unknown>, n: number): Promise<{ measured: number; parts: Record<string, number> }> => {
  let measured = 0;
  let node = 0;
  if (n % 2 === 0) {
    measured = await timed(run);
    node = await timed(() => nodeStart(fleet));
  } else {
    node = await timed(() => nodeStart(fleet));
    measured = await timed(run);
  }
  return { measured, parts: { 'node -e 0': node } };
};

// The floor for one mutation: the cycle of DESIGN.md with plain git, on a clone of its own.
const REFERENCE_FILE = 'bench/reference.json';
const referenceDoc = (n: number): string =>
  `${JSON.stringify({ id: 'reference', state: n % 2 === 0 ? 'building' : 'idle', current_job: null, last_build: null, updated_at: new Date().toISOString() }, null, 2)}\n`;
const REFERENCE_GIT: string[][] = [
  ['fetch', '--quiet', '--no-tags', 'origin', MAIN_REFSPEC],
  ['checkout', '-q', '-f', '-B', 'main', ORIGIN_MAIN],
  // (the edit goes here)
  ['commit', '-q', '-m', 'reference edit', '--', REFERENCE_FILE],
  ['push', '-q', 'origin', 'HEAD:refs/heads/main'],
];
const shellQuote = (arg: string): string => `'${arg.replaceAll("'", "'\\''")}'`;

/** The plain-git cycle as one shell script: the git processes, and the edit by the shell's printf. */
const referenceInShell = (dir: string, n: number): Promise<void> => {
  const line = (args: string[]) => `git ${args.map(shellQuote).join(' ')}`;
  const [fetch, checkout, commit, push] = REFERENCE_GIT as [string[], string[], string[], string[]];
  const edit = `printf '%s' ${shellQuote(referenceDoc(n))} > ${shellQuote(REFERENCE_FILE)}`;
  const script = ['set -e', line(fetch), line(checkout), edit, line(commit), line(push)].join('\n');
  return runProcess('sh', ['-c', script], { cwd: dir });
};

/** The same plain-git cycle spawned from node, one git process after another (through the
 * store's own thin spawn wrapper, so the comparison isolates what a transaction adds). */
const referenceFromNode = async (dir: string, n: number): Promise<void> => {
  const [fetch, checkout, commit, push] = REFERENCE_GIT as [string[], string[], string[], string[]];
  await git(dir, fetch);
  await git(dir, checkout);
  await writeFile(join(dir, REFERENCE_FILE), referenceDoc(n));
  await git(dir, commit);
  await git(dir, push);
};

/**
 * `buildctl mcp` driven as an MCP client drives it: JSON-RPC lines on its stdin, answers on
 * its stdout (no SDK client in between, so only the server is measured).
 */
interface McpSession {
  request: (method: string, params?: Record<string, unknown>) => Promise<unknown>;
  /** initialize, then the initialized notification. */
  initialize: () => Promise<void>;
  /** Ends its stdin and waits for it to exit. */
  close: () => Promise<void>;
}

const startMcp = (fleet: Fleet, args: string[]): McpSession => {
  const child = spawn(process.execPath, [cli, ...args, 'mcp'], { cwd: fleet.root, env: cliEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
  const waiting = new Map<number, { resolve: (result: unknown) => void; reject: (error: Error) => void }>();
  let buffer = '';
  let stderr = '';
  let nextId = 1;
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    for (let end = buffer.indexOf('\n'); end >= 0; end = buffer.indexOf('\n')) {
      const message = JSON.parse(buffer.slice(0, end)) as { id?: number; result?: unknown; error?: { message: string } };
      buffer = buffer.slice(end + 1);
      const waiter = message.id === undefined ? undefined : waiting.get(message.id);
      if (!waiter || message.id === undefined) continue;
      waiting.delete(message.id);
      if (message.error) waiter.reject(new Error(`buildctl mcp: ${message.error.message}`));
      else waiter.resolve(message.result);
    }
  });
  const exited = new Promise<void>((resolve) =>
    child.on('close', (code) => {
      for (const waiter of waiting.values()) waiter.reject(new Error(`buildctl mcp exited ${code}: ${stderr.trim()}`));
      resolve();
    }),
  );
  const send = (message: Record<string, unknown>) => child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`);
  const request = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, { resolve, reject });
      send({ id, method, params });
    });
  return {
    request,
    initialize: async () => {
      await request('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } });
      send({ method: 'notifications/initialized' });
    },
    close: async () => {
      child.stdin.end();
      await exited;
    },
  };
};

const fleetStatusCall = async (session: McpSession): Promise<void> => {
  const result = (await session.request('tools/call', { name: 'fleet_status', arguments: { fetch: false } })) as { isError?: boolean; structuredContent?: { fleet?: unknown } };
  if (result.isError || !result.structuredContent?.fleet) throw new Error(`fleet_status failed: ${JSON.stringify(result)}`);
};

/** One server, started by prepare and stopped by finish, answering a fleet_status call per round. */
const mcpStatusBenchmark = (): Benchmark => {
  let server: McpSession | undefined;
  return {
    name: 'mcp-status',
    what: 'one fleet_status call (fetch false) to a running buildctl mcp (4 builders)',
    reference: 'node -e 0',
    target: 1,
    prepare: async ({ fleet }) => {
      server = startMcp(fleet, ['--store', fleet.stores.build1 as string, '--as', 'build1']);
      await server.initialize();
    },
    round: async ({ fleet }, n) => {
      const session = server;
      if (!session) throw new Error('mcp-status: the server did not start');
      return nodeVersus(fleet, () => fleetStatusCall(session), n);
    },
    finish: async () => {
      await server?.close();
      server = undefined;
    },
  };
};

interface Row {
  name: string;
  what: string;
  reference: string;
  measured_ms: number;
  reference_ms: number;
  /** Named parts of the reference (when it is a sum), by median. */
  reference_parts: Record<string, number>;
  ratio: number;
  target: number;
  pass: boolean;
  samples: { measured: number[]; reference: number[] };
}

interface Setup {
  fleet: Fleet;
  /** A plain clone (no buildctl) for the plain-git reference. */
  referenceClone: string;
  /** The big store (5,000 jobs, 20,000 messages seen), made on first use. */
  big: () => Promise<Fleet>;
}

interface Benchmark {
  name: string;
  what: string;
  reference: string;
  target: number;
  /** One interleaved round: returns the measured time and the reference's parts, in ms. */
  round: (setup: Setup, n: number) => Promise<{ measured: number; parts: Record<string, number> }>;
  /** Run once before the rounds (warm caches, warm the process). */
  prepare?: (setup: Setup) => Promise<void>;
  /** Run once after the rounds (stop what prepare started). */
  finish?: () => Promise<void>;
}

const BUILDERS = ['build1', 'build2', 'build3', 'build4'];

const BENCHMARKS: Benchmark[] = [
  {
    name: 'status',
    what: 'buildctl status --no-fetch --json (4 builders)',
    reference: 'node -e 0',
    target: 2.5,
    round: async ({ fleet }, n) => {
      const store = fleet.stores.build1 as string;
      // nodeVersus alternates which goes first, so neither always runs on a cache the other warmed.
      return nodeVersus(fleet, () => buildctl(fleet, ['--store', store, '--as', 'build1', 'status', '--no-fetch', '--json']), n);
    },
  },
  {
    name: 'mutation',
    what: 'buildctl status set building|idle (process, commit + push)',
    reference: 'node -e 0 + plain-git cycle in sh',
    target: 2,
    round: async ({ fleet, referenceClone }, n) => {
      const store = fleet.stores.build2 as string;
      const state = n % 2 === 0 ? 'building' : 'idle';
      let said = '';
      const steps = [
        async () => ({ key: 'measured', ms: await timed(async () => (said = await buildctl(fleet, ['--store', store, '--as', 'build2', 'status', 'set', state]))) }),
        async () => ({ key: 'node -e 0', ms: await timed(() => nodeStart(fleet)) }),
        async () => ({ key: 'plain git (sh)', ms: await timed(() => referenceInShell(referenceClone, n)) }),
      ];
      const order = n % 3 === 0 ? [0, 1, 2] : n % 3 === 1 ? [1, 2, 0] : [2, 0, 1];
      const out: Record<string, number> = {};
      for (const i of order) {
        const { key, ms } = await (steps[i] as () => Promise<{ key: string; ms: number }>)();
        out[key] = ms;
      }
      if (said.includes('nothing changed')) throw new Error('status set changed nothing: the benchmark needs a commit every run');
      const { measured, ...parts } = out;
      return { measured: measured ?? NaN, parts };
    },
  },
  {
    name: 'in-process',
    what: 'setStatus() transaction in a warm process',
    reference: 'plain-git cycle spawned from node',
    target: 1.3,
    prepare: async ({ fleet }) => {
      const ctx = testContext(fleet.stores.build3 as string, 'build3');
      for (let i = 0; i < 3; i++) await setStatus(ctx, { state: i % 2 === 0 ? 'building' : 'idle' });
    },
    round: async ({ fleet, referenceClone }, n) => {
      const ctx = testContext(fleet.stores.build3 as string, 'build3');
      const run = async () => {
        const outcome = await setStatus(ctx, { state: n % 2 === 0 ? 'idle' : 'building' });
        if (!outcome.changed) throw new Error('setStatus changed nothing: the benchmark needs a commit every run');
      };
      let measured = 0;
      let reference = 0;
      if (n % 2 === 0) {
        measured = await timed(run);
        reference = await timed(() => referenceFromNode(referenceClone, n));
      } else {
        reference = await timed(() => referenceFromNode(referenceClone, n));
        measured = await timed(run);
      }
      return { measured, parts: { 'plain git (node)': reference } };
    },
  },
  {
    name: 'big-status',
    what: 'buildctl status --no-fetch --json, store that has seen 5,000 jobs / 20,000 messages',
    reference: 'node -e 0',
    target: 3,
    prepare: async ({ big }) => void (await big()),
    round: async ({ big }, n) => {
      const fleet = await big();
      const run = () => buildctl(fleet, ['--store', fleet.stores.build1 as string, '--as', 'build1', 'status', '--no-fetch', '--json']);
      return nodeVersus(fleet, run, n);
    },
  },
  {
    name: 'mcp-start',
    what: 'buildctl mcp, from its start to the answers to initialize and tools/list',
    reference: 'node -e 0',
    // Paid once per agent session, not every cron minute; most of it is the SDK's own load.
    target: 5,
    round: async ({ fleet }, n) => {
      let session: McpSession | undefined;
      const round = await nodeVersus(
        fleet,
        async () => {
          session = startMcp(fleet, ['--store', fleet.stores.build1 as string, '--as', 'build1']);
          await session.initialize();
          await session.request('tools/list');
        },
        n,
      );
      await session?.close();
      return round;
    },
  },
  mcpStatusBenchmark(),
  {
    name: 'big-msg-list',
    what: 'buildctl msg list --no-fetch, store that has seen 5,000 jobs / 20,000 messages',
    reference: 'node -e 0',
    target: 3,
    prepare: async ({ big }) => void (await big()),
    round: async ({ big }, n) => {
      const fleet = await big();
      const run = () => buildctl(fleet, ['--store', fleet.stores.build1 as string, '--as', 'build1', 'msg', 'list', '--no-fetch']);
      return nodeVersus(fleet, run, n);
    },
  },
];

/** The fleet (4 builders, each with a status.json and a heartbeat) and the reference clone. */
const populate = async (fleet: Fleet): Promise<Omit<Setup, 'big'>> => {
  for (const id of BUILDERS) {
    const ctx = testContext(fleet.stores[id] as string, id);
    await setStatus(ctx, { state: 'idle' });
    await heartbeat(ctx);
  }
  // build1 runs the --no-fetch status: a fetching status gives its clone every builder's state.
  await fleetStatus(testContext(fleet.stores.build1 as string, 'build1'), { fetch: true });

  // The plain-git writer: a clone made by init (so it has a local identity), plus its file.
  const referenceClone = join(fleet.root, 'reference', 'store');
  await initStore(testContext(referenceClone), { remote: fleet.remote, builders: [] });
  await mkdir(join(referenceClone, dirname(REFERENCE_FILE)), { recursive: true });
  await writeFile(join(referenceClone, REFERENCE_FILE), referenceDoc(1));
  await git(referenceClone, ['add', '--', REFERENCE_FILE]);
  await git(referenceClone, ['commit', '-q', '-m', 'bench: reference file', '--', REFERENCE_FILE]);
  await git(referenceClone, ['push', '-q', 'origin', 'HEAD:refs/heads/main']);
  return { fleet, referenceClone };
};

/** A busy queue for the tick timing: 200 jobs and 1,000 messages, written in one transaction. */
const seedBusyStore = async (fleet: Fleet): Promise<void> => {
  const now = Date.now();
  const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000).toISOString();
  const jobs = Array.from({ length: 200 }, (_, i) => {
    const builder = BUILDERS[i % BUILDERS.length] as string;
    const status = i < 150 ? 'queued' : i < 180 ? 'completed' : 'running';
    return benchJob(i, status, status === 'queued' ? null : builder, {
      created: at(600 - i),
      started: status === 'queued' ? null : at(300 - i),
      completed: status === 'completed' ? at(200 - i) : null,
    });
  });
  const messages = Array.from({ length: 1000 }, (_, i) => {
    const from = BUILDERS[i % BUILDERS.length] as string;
    const to = i % 10 === 0 ? ['all'] : [BUILDERS[(i + 1) % BUILDERS.length] as string];
    return {
      id: `msg_bench_${i}`,
      from,
      to,
      type: 'info',
      subject: `benchmark message ${i}`,
      body: `benchmark message ${i}\nwith a second line of text to give it some weight`,
      created_at: at(1000 - i),
      ack_required: i % 7 === 0,
      read_by: {},
      acked_by: {},
    };
  });
  await transact(storeAt(fleet.stores.build4 as string), {
    op: 'bench.seed',
    actor: 'bench',
    apply: async () => ({
      result: null,
      writes: [
        { spec: docs.jobs, value: { jobs } },
        { spec: docs.messages, value: { messages } },
      ],
      summary: 'bench.seed 200 jobs, 1000 messages',
    }),
  });
};

interface Timing {
  name: string;
  what: string;
  median_ms: number;
  min_ms: number;
  max_ms: number;
  samples: number[];
}

/** The agent tick's wall time: a whole `buildctl agent --once` process, as cron runs it. */
const timeTicks = async (fleet: Fleet): Promise<Timing> => {
  await seedBusyStore(fleet);
  const store = fleet.stores.build1 as string;
  const samples: number[] = [];
  for (let n = 0; n < warmup + runs; n++) {
    const ms = await timed(() => buildctl(fleet, ['--store', store, '--as', 'build1', 'agent', '--once']));
    if (n >= warmup) samples.push(round1(ms));
  }
  return {
    name: 'tick',
    what: 'buildctl agent --once (heartbeat + housekeeping), 4 builders, 200 jobs, 1,000 messages',
    median_ms: round1(median(samples)),
    min_ms: Math.min(...samples),
    max_ms: Math.max(...samples),
    samples,
  };
};

/**
 * The credential check every mutation runs on its input (domain/committed.ts), on a
 * message of 10,000 characters (the largest body): build logs, prose about passwords and
 * tokens, JSON, and shapes made to provoke backtracking. One sample: all of them once.
 */
const timeCredentialCheck = (): Timing => {
  const fit = (text: string) => text.repeat(Math.ceil(10_000 / text.length)).slice(0, 10_000);
  const bodies = [
    fit('[12:01:07] npm WARN deprecated pkg@1.2.0: token: regenerated, password: changed at https://registry.example.com/a/b\n'),
    fit('The password file on each builder moved; the token expired and the API key rotation is planned for next week. '),
    fit('{"id":"job_1762289120_ab12","key":"k1","branch":"main","token":"none","password":"<see vault>"},'),
    fit('mysql -u root '), fit('password for x '), fit('password:\n'), fit('https://a:b@'), fit('curl -u '), fit('-'),
  ];
  const samples: number[] = [];
  for (let n = 0; n < warmup + runs; n++) {
    const started = performance.now();
    for (const body of bodies) vetCommitted('msg.send', { id: 'msg_1_ab', from: 'build1', to: ['build2'], body, now: '2026-01-01T00:00:00.000Z' }, true);
    if (n >= warmup) samples.push(round1((performance.now() - started) / bodies.length));
  }
  return {
    name: 'secrets',
    what: `the credential check of one 10,000-character message body (mean of ${bodies.length} kinds: logs, prose, JSON, hostile shapes)`,
    median_ms: round1(median(samples)),
    min_ms: Math.min(...samples),
    max_ms: Math.max(...samples),
    samples,
  };
};

/**
 * The agent tick with notifications: a 4-builder fleet with a webhook target (a receiver on
 * loopback that answers 200) and a request message sent before every tick, so each tick
 * records one event and delivers it; interleaved with the same tick on a fleet without a
 * target (the message is sent there too, and recorded by no one).
 */
const timeNotifyTicks = async (): Promise<Timing[]> => {
  const receiver = await startReceiver({ secret: webhookSecret });
  const plain = await makeFleet(BUILDERS);
  const notified = await makeFleet(BUILDERS);
  try {
    await addTargetOp(testContext(notified.stores.build1 as string, 'build1'), { name: 'ops', type: 'webhook', url: receiver.url, secret_env: 'BENCH_HOOK_SECRET' });
    const fleets = [plain, notified];
    for (const f of fleets) for (const id of BUILDERS) await heartbeat(testContext(f.stores[id] as string, id));
    const samples: number[][] = [[], []];
    const tickOf = async (f: Fleet, n: number) => {
      await sendMessageOp(testContext(f.stores.build2 as string, 'build2'), { to: ['build1'], type: 'request', body: `bench request ${n}` });
      const run = await runCli(['--store', f.stores.build1 as string, '--as', 'build1', 'agent', '--once'], { bin: cli, cwd: f.root, env: { BENCH_HOOK_SECRET: webhookSecret } });
      if (run.code !== 0) throw new Error(`agent --once exited ${run.code}: ${run.stderr}`);
    };
    for (let n = 0; n < warmup + runs; n++) {
      const order = n % 2 === 0 ? [0, 1] : [1, 0];
      for (const i of order) {
        const ms = await timed(() => tickOf(fleets[i] as Fleet, n));
        if (n >= warmup) samples[i]!.push(round1(ms));
      }
    }
    const delivered = receiver.received.filter((r) => r.verified).length;
    if (delivered < runs) throw new Error(`the receiver got ${delivered} signed deliveries for ${warmup + runs} ticks`);
    const row = (name: string, what: string, list: number[]): Timing => ({ name, what, median_ms: round1(median(list)), min_ms: Math.min(...list), max_ms: Math.max(...list), samples: list });
    return [
      row('notify-tick', `buildctl agent --once, 4 builders, a webhook target, one event recorded and delivered per tick (${delivered} signed deliveries received)`, samples[1]!),
      row('notify-tick-reference', 'the same tick on a fleet without a target (the same message sent, no event recorded)', samples[0]!),
    ];
  } finally {
    await receiver.close();
    plain.cleanup();
    notified.cleanup();
  }
};

interface SigningResult {
  /** In-process signature of a commit as transactions sign it, median (µs). */
  sign_us: number;
  /** `ssh-keygen -Y sign -n git` of the same payload, a process each, median (ms). */
  keygen_sign_ms: number;
  /** In-process check of one commit's signature, median (µs). */
  verify_us: number;
  /** One setStatus transaction in a warm process: a clone with a key, and one without (interleaved), medians (ms). */
  mutation_signed_ms: number;
  mutation_unsigned_ms: number;
  /** Signing's share of a signed mutation. */
  sign_share: number;
  /** A clone with a key against one without: signing and loading the key (both judge history). */
  added_share: number;
  /** Advancing the trust ledger by one new commit (what a mutation adds to judge the commit before its base), median (ms). */
  ledger_step_ms: number;
  /** `auditLog` of the whole history (commits judged), with no cache, then with it (ms). */
  log_commits: number;
  log_cold_ms: number;
  log_warm_ms: number;
  target: number;
  pass: boolean;
}

/** Signed writes' cost (issue 18): see the header. */
const measureSigning = async (): Promise<SigningResult> => {
  const { signMessage, verifyMessage, parsePrivateKey } = await import('../src/store/sshsig.js');
  const { addKeyOp } = await import('../src/ops/signers.js');
  const { auditLog } = await import('../src/ops/log.js');
  const signed = await makeFleet(['build1']);
  const unsigned = await makeFleet(['build1']);
  try {
    const ctxSigned = testContext(signed.stores.build1 as string, 'build1');
    const ctxUnsigned = testContext(unsigned.stores.build1 as string, 'build1');
    await addKeyOp(ctxSigned, { id: 'build1' });
    const keyPath = join(signed.stores.build1 as string, '.git', 'buildctl', 'signing-key');
    await rm(join(unsigned.stores.build1 as string, '.git', 'buildctl', 'signing-key'));
    const key = parsePrivateKey(await readFile(keyPath, 'utf8'));
    // A commit as a transaction writes it: headers, summary, trailers.
    const payload = Buffer.from(`tree ${'a'.repeat(40)}\nparent ${'b'.repeat(40)}\nauthor buildctl build1 <build1@buildctl.invalid> 1790000000 +0000\ncommitter buildctl build1 <build1@buildctl.invalid> 1790000000 +0000\n\nstatus.set build1 building\n\nBuildctl-Op: status.set\nBuildctl-Actor: build1\nBuildctl-Op-Id: 6f1c2c1e-0f7a-4a53-9d59-1d7b8c2f8e11\n`);
    const payloadFile = join(signed.root, 'payload');
    await writeFile(payloadFile, payload);
    const signUs: number[] = [];
    const verifyUs: number[] = [];
    const keygenMs: number[] = [];
    const signedMs: number[] = [];
    const unsignedMs: number[] = [];
    let signature = '';
    for (let n = 0; n < warmup + runs; n++) {
      const s0 = performance.now();
      for (let i = 0; i < 100; i++) signature = signMessage(key, payload);
      const s1 = performance.now();
      for (let i = 0; i < 100; i++) verifyMessage(signature, payload);
      const s2 = performance.now();
      const keygen = await timed(() => runProcess('ssh-keygen', ['-q', '-Y', 'sign', '-f', keyPath, '-n', 'git', payloadFile], { cwd: signed.root }));
      await rm(`${payloadFile}.sig`, { force: true });
      // Alternating which goes first, so neither always runs on caches the other warmed.
      const state = n % 2 === 0 ? 'building' : 'idle';
      const took = new Map<Context, number>();
      for (const ctx of n % 2 === 0 ? [ctxSigned, ctxUnsigned] : [ctxUnsigned, ctxSigned]) took.set(ctx, await timed(() => setStatus(ctx, { state })));
      if (n < warmup) continue;
      signUs.push(((s1 - s0) / 100) * 1000);
      verifyUs.push(((s2 - s1) / 100) * 1000);
      keygenMs.push(keygen);
      signedMs.push(took.get(ctxSigned)!);
      unsignedMs.push(took.get(ctxUnsigned)!);
    }
    // The ledger's step: one new commit (made without the ledger) judged from the cached ledger.
    const store = storeAt(signed.stores.build1 as string);
    const { ledgerAt } = await import('../src/ops/trust.js');
    const { openObjectReader } = await import('../src/store/git.js');
    const stepMs: number[] = [];
    for (let n = 0; n < warmup + runs; n++) {
      await transact(store, { op: 'status.set', actor: 'build1', apply: async (read) => ({ result: null, writes: [{ spec: docs.status('build1'), value: { ...(await read(docs.status('build1')))!, state: n % 2 === 0 ? 'idle' : 'building' } }], summary: 'bench' }) });
      const objects = openObjectReader(store.dir);
      try {
        const tip = (await objects.readObject('refs/remotes/origin/main'))?.sha;
        const ms = await timed(() => ledgerAt(store, objects, tip));
        if (n >= warmup) stepMs.push(ms);
      } finally {
        objects.close();
      }
    }
    // A history of 300 commits (besides the ones above), judged by `log` with no cache, then with it.
    for (let i = 0; i < 300 - 2 * (warmup + runs); i++) await setStatus(ctxSigned, { state: i % 2 === 0 ? 'building' : 'idle' });
    await rm(join(store.stateDir, 'trust'), { recursive: true, force: true });
    const cold = await timed(() => auditLog(ctxSigned, { fetch: false, limit: undefined }));
    const warm = await timed(() => auditLog(ctxSigned, { fetch: false, limit: undefined }));
    const commits = commitCount(signed.remote);
    const sign = median(signUs);
    const mutation = median(signedMs);
    const share = sign / 1000 / mutation;
    return {
      sign_us: round1(sign),
      keygen_sign_ms: round1(median(keygenMs)),
      verify_us: round1(median(verifyUs)),
      mutation_signed_ms: round1(mutation),
      mutation_unsigned_ms: round1(median(unsignedMs)),
      sign_share: Math.round(share * 10_000) / 10_000,
      added_share: Math.round(((mutation - median(unsignedMs)) / median(unsignedMs)) * 1000) / 1000,
      ledger_step_ms: Math.round(median(stepMs) * 100) / 100,
      log_commits: commits,
      log_cold_ms: round1(cold),
      log_warm_ms: round1(warm),
      target: 0.2,
      pass: share <= 0.2,
    };
  } finally {
    signed.cleanup();
    unsigned.cleanup();
  }
};

interface ServeResult {
  pages: number;
  seconds: number;
  interval: string;
  cpu_seconds: number;
  cpu_pct: number;
  /** With the git processes it ran (fetches, reads). */
  cpu_seconds_with_git: number;
  cpu_pct_with_git: number;
  rss_mb_start: number;
  rss_mb_max: number;
  rss_mb_end: number;
  events_per_page: number;
  heartbeats: number;
}

const procStat = async (pid: number): Promise<{ cpuTicks: number; childTicks: number; rssMb: number }> => {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  // utime and stime are fields 14 and 15 of /proc/PID/stat; after the name in parentheses the list starts at field 3.
  // cutime and cstime (16, 17): the git processes it ran and waited for.
  return { cpuTicks: Number(fields[11]) + Number(fields[12]), childTicks: Number(fields[13]) + Number(fields[14]), rssMb: Math.round((rssKb / 1024) * 10) / 10 };
};

/** `buildctl serve` (default interval) with 10 event streams open for a minute, the 4 builders beating every 10 s. */
const measureServe = async (): Promise<ServeResult> => {
  const fleet = await makeFleet(BUILDERS);
  const PAGES = 10;
  const SECONDS = 60;
  const streams: Array<{ destroy: () => void }> = [];
  let served: Awaited<ReturnType<typeof startServe>> | undefined;
  try {
    for (const id of BUILDERS) await heartbeat(testContext(fleet.stores[id] as string, id));
    const dash = join(fleet.root, 'dashboard', 'store');
    await initStore(testContext(dash), { remote: fleet.remote, builders: [] });
    served = await startServe(dash, ['--interval', '10s']);
    const pid = served.process.pid as number;
    const events: number[] = Array.from({ length: PAGES }, () => 0);
    for (let i = 0; i < PAGES; i++) {
      await new Promise<void>((resolve, reject) => {
        const req = httpGet(`${served!.url}events`, (res) => {
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (events[i]! += (chunk.match(/^event: /gm) ?? []).length));
          resolve();
        });
        req.on('error', reject);
        streams.push(req);
      });
    }
    const start = await procStat(pid);
    const started = performance.now();
    let rssMax = start.rssMb;
    let beats = 0;
    let nextBeat = 0;
    while (performance.now() - started < SECONDS * 1000) {
      if (performance.now() - started >= nextBeat) {
        for (const id of BUILDERS) await heartbeat(testContext(fleet.stores[id] as string, id));
        beats += BUILDERS.length;
        nextBeat += 10_000;
      }
      rssMax = Math.max(rssMax, (await procStat(pid)).rssMb);
      await new Promise((r) => setTimeout(r, 1000));
    }
    const end = await procStat(pid);
    const elapsed = (performance.now() - started) / 1000;
    const cpuSeconds = (end.cpuTicks - start.cpuTicks) / 100;
    const withGit = cpuSeconds + (end.childTicks - start.childTicks) / 100;
    return {
      pages: PAGES,
      seconds: Math.round(elapsed),
      interval: '10s',
      cpu_seconds: Math.round(cpuSeconds * 100) / 100,
      cpu_pct: Math.round((cpuSeconds / elapsed) * 1000) / 10,
      cpu_seconds_with_git: Math.round(withGit * 100) / 100,
      cpu_pct_with_git: Math.round((withGit / elapsed) * 1000) / 10,
      rss_mb_start: start.rssMb,
      rss_mb_max: Math.max(rssMax, end.rssMb),
      rss_mb_end: end.rssMb,
      events_per_page: Math.round(events.reduce((a, b) => a + b, 0) / PAGES),
      heartbeats: beats,
    };
  } finally {
    for (const s of streams) s.destroy();
    await served?.stop();
    fleet.cleanup();
  }
};

// ---------------------------------------------------------------------------------------
// Big store: 5,000 jobs and 20,000 messages seen, most of them archived by month.

const BIG_JOBS = 5000;
const BIG_MESSAGES = 20000;
const BIG_HOT_JOBS = 300;
const BIG_HOT_MESSAGES = 1000;

const monthOf = (iso: string): string => iso.slice(0, 7);

/** Writes the hot documents and the monthly archives through one transaction, as housekeeping would have left them. */
const seedBigStore = async (fleet: Fleet): Promise<void> => {
  const now = Date.now();
  const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000).toISOString();
  // Archived entries span about six months; hot ones the last days.
  const archivedJobs = new Map<string, unknown[]>();
  const hotJobs: unknown[] = [];
  for (let i = 0; i < BIG_JOBS; i++) {
    const builder = BUILDERS[i % BUILDERS.length] as string;
    const hot = i >= BIG_JOBS - BIG_HOT_JOBS;
    const ageMin = hot ? (BIG_JOBS - i) * 10 : 260_000 - i * 50;
    const status = hot ? (i % 3 === 0 ? 'queued' : i % 3 === 1 ? 'completed' : 'failed') : i % 10 === 0 ? 'failed' : 'completed';
    const finished = status !== 'queued';
    const job = {
      ...benchJob(i, status, finished ? builder : null, { created: at(ageMin + 30), started: finished ? at(ageMin + 20) : null, completed: finished ? at(ageMin) : null }),
      id: `job_big_${i}`,
    };
    if (hot) hotJobs.push(job);
    else {
      const month = monthOf(at(ageMin));
      archivedJobs.set(month, [...(archivedJobs.get(month) ?? []), job]);
    }
  }
  const archivedMessages = new Map<string, unknown[]>();
  const hotMessages: unknown[] = [];
  for (let i = 0; i < BIG_MESSAGES; i++) {
    const from = BUILDERS[i % BUILDERS.length] as string;
    const recipient = BUILDERS[(i + 1) % BUILDERS.length] as string;
    const hot = i >= BIG_MESSAGES - BIG_HOT_MESSAGES;
    const ageMin = hot ? (BIG_MESSAGES - i) * 5 : 260_000 - i * 12;
    const to = i % 10 === 0 ? ['all'] : [recipient];
    const readers = to[0] === 'all' ? BUILDERS.filter((b) => b !== from) : [recipient];
    const read = !hot || i % 2 === 0;
    const message = {
      id: `msg_big_${i}`,
      from,
      to,
      type: i % 13 === 0 ? 'warning' : 'info',
      subject: `benchmark message ${i}`,
      body: `benchmark message ${i}\nbuild ${i} of main finished; artifacts uploaded, see the dashboard for details`,
      created_at: at(ageMin),
      ack_required: false,
      read_by: read ? Object.fromEntries(readers.map((r) => [r, at(ageMin - 1)])) : {},
      acked_by: {},
    };
    if (hot) hotMessages.push(message);
    else {
      const month = monthOf(at(ageMin));
      archivedMessages.set(month, [...(archivedMessages.get(month) ?? []), message]);
    }
  }
  const writes: Write[] = [
    { spec: docs.jobs, value: { jobs: hotJobs } },
    { spec: docs.messages, value: { messages: hotMessages } },
    ...[...archivedJobs].map(([month, jobs]) => ({ spec: docs.jobsArchive(month), value: { jobs } })),
    ...[...archivedMessages].map(([month, messages]) => ({ spec: docs.messagesArchive(month), value: { messages } })),
  ];
  await transact(storeAt(fleet.stores.build4 as string), {
    op: 'bench.seed',
    actor: 'bench',
    apply: async () => ({ result: null, writes, summary: `bench.seed ${BIG_JOBS} jobs, ${BIG_MESSAGES} messages (most archived)` }),
  });
};

const makeBigFleet = async (): Promise<Fleet> => {
  progress(`big store: seeding ${BIG_JOBS.toLocaleString('en')} jobs and ${BIG_MESSAGES.toLocaleString('en')} messages (${BIG_HOT_JOBS} / ${BIG_HOT_MESSAGES} not archived)`);
  const fleet = await makeFleet(BUILDERS);
  await seedBigStore(fleet);
  for (const id of BUILDERS) {
    const ctx = testContext(fleet.stores[id] as string, id);
    await setStatus(ctx, { state: 'idle' });
    await heartbeat(ctx);
  }
  await fleetStatus(testContext(fleet.stores.build1 as string, 'build1'), { fetch: true });
  return fleet;
};

// ---------------------------------------------------------------------------------------
// Contention: N clones of one process racing on main, against N plain-git writers.

const CLONE_COUNTS = cloneCounts;
const CONTENTION_BUILDERS = Array.from({ length: Math.max(...cloneCounts) }, (_, i) => `build${i + 1}`);
const QUEUE_JOBS = 8 * 25; // the issue's queue, whatever the clone counts
const SENDS_PER_CLONE = 25;
const RETRY_LIMIT = 20;


interface RunStats {
  ops: number;
  seconds: number;
  ops_per_s: number;
  retries: number[];
  latencies: number[];
  lost: number;
  duplicated: number;
  failed: number;
}

/**
 * Attempts per op id: every attempt of a transaction is a commit carrying its
 * `Buildctl-Op-Id`, made in the clone and left there (replaced attempts stay as unreachable
 * objects until gc, which the bench never runs meanwhile). The union over the clones of
 * distinct commits per op id is the number of attempts; retries are attempts - 1.
 */
const attemptsByOp = async (clones: string[], op: string, opIds: Set<string>): Promise<Map<string, number>> => {
  const commits = new Map<string, string>();
  for (const dir of clones) {
    const { stdout } = await git(dir, ['cat-file', '--batch-all-objects', '--batch-check=%(objectname) %(objecttype)']);
    const ids = stdout.split('\n').filter((l) => l.endsWith(' commit')).map((l) => l.split(' ')[0] as string);
    if (ids.length === 0) continue;
    const { stdout: bodies } = await git(dir, ['cat-file', '--batch'], { input: `${ids.join('\n')}\n` });
    let rest = bodies;
    while (rest.length > 0) {
      const nl = rest.indexOf('\n');
      if (nl < 0) break;
      const [hash, , size] = rest.slice(0, nl).split(' ');
      const length = Number(size);
      const body = rest.slice(nl + 1, nl + 1 + length);
      rest = rest.slice(nl + 1 + length + 1);
      if (!body.includes(`Buildctl-Op: ${op}\n`)) continue;
      const opId = /Buildctl-Op-Id: (\S+)/.exec(body)?.[1];
      if (opId && opIds.has(opId) && hash) commits.set(hash, opId);
    }
  }
  const attempts = new Map<string, number>();
  for (const opId of commits.values()) attempts.set(opId, (attempts.get(opId) ?? 0) + 1);
  return attempts;
};

/** The op ids of the commits that landed on the remote's main since `since`. */
const landedOpIds = async (remote: string, since: string, op: string): Promise<string[]> => {
  const { stdout } = await git(remote, ['log', '--format=%(trailers:key=Buildctl-Op,valueonly,separator=)|%(trailers:key=Buildctl-Op-Id,valueonly,separator=)', `${since}..main`]);
  return stdout
    .split('\n')
    .map((line) => line.trim().split('|'))
    .filter(([name, id]) => name === op && id)
    .map(([, id]) => id as string);
};

const remoteFile = async (remote: string, path: string): Promise<string> => (await git(remote, ['show', `main:${path}`])).stdout;

const errorCode = (error: unknown): string => (isBuildctlError(error) ? error.code : error instanceof Error ? error.message : String(error));

/** Gives main a fresh queue of 8 x 25 jobs (or an empty message list), removing the last run's. */
const resetMain = async (fleet: Fleet, kind: 'claims' | 'sends', run: string): Promise<void> => {
  const store = storeAt(fleet.stores.build1 as string);
  await transact(store, {
    op: 'bench.reset',
    actor: 'bench',
    apply: async (read) => {
      const created = new Date().toISOString();
      if (kind === 'claims') {
        const before = (await read(docs.jobs))?.jobs ?? [];
        const jobs = Array.from({ length: QUEUE_JOBS }, (_, i) => ({
          id: `job_${run}_${i}`,
          type: 'build',
          priority: 5,
          branch: 'main',
          description: `contention job ${i}`,
          status: 'queued',
          assigned_to: null,
          labels: [],
          attempts: 0,
          max_attempts: 3,
          created_at: created,
        }));
        // Every builder idle again: a builder builds one job at a time, and the old jobs are gone.
        const idle = CONTENTION_BUILDERS.map((id) => ({ spec: docs.status(id), value: { id, state: 'idle', current_job: null, last_build: null, updated_at: created } }));
        return { result: null, writes: [{ spec: docs.jobs, value: { jobs }, removes: before.map((j) => j.id) }, ...idle], summary: `bench.reset ${run}` };
      }
      const before = (await read(docs.messages))?.messages ?? [];
      return { result: null, writes: [{ spec: docs.messages, value: { messages: [] }, removes: before.map((m) => m.id) }], summary: `bench.reset ${run}` };
    },
  });
};

/** buildctl: `clones` clones claiming until nothing is left, or sending 25 messages each. */
const buildctlContention = async (fleet: Fleet, kind: 'claims' | 'sends', clones: number, run: string): Promise<RunStats> => {
  await resetMain(fleet, kind, run);
  const since = (await git(fleet.remote, ['rev-parse', 'main'])).stdout.trim();
  const ids = CONTENTION_BUILDERS.slice(0, clones);
  const latencies: number[] = [];
  const claimed = new Map<string, string[]>(); // job id -> claimers
  const exhausted: number[] = [];
  const sent = new Set<string>();
  let failed = 0;
  const started = performance.now();
  await Promise.all(
    ids.map(async (id, c) => {
      const ctx = testContext(fleet.stores[id] as string, id);
      for (let j = 0; kind === 'claims' || j < SENDS_PER_CLONE; j++) {
        const t0 = performance.now();
        try {
          if (kind === 'claims') {
            const { job } = await claimJobOp(ctx, {});
            claimed.set(job.id, [...(claimed.get(job.id) ?? []), id]);
            // One job at a time: the builder finishes it before its next claim (two commits a job).
            latencies.push(performance.now() - t0);
            const t1 = performance.now();
            await finishJobOp(ctx, 'complete', { id: job.id });
            latencies.push(performance.now() - t1);
            continue;
          } else {
            const to = [ids[(c + 1) % ids.length] as string];
            await sendMessageOp(ctx, { to, body: `contention ${run} ${id} ${j}` });
            sent.add(`contention ${run} ${id} ${j}`);
          }
          latencies.push(performance.now() - t0);
        } catch (error) {
          if (errorCode(error) === 'nothing_to_claim') break;
          failed++;
          // An operation that gave up still counts in the retries it took.
          const given = isBuildctlError(error) ? Number(error.details?.retries) : NaN;
          if (Number.isFinite(given)) exhausted.push(given);
          progress(`  ${id}: ${errorCode(error)}`);
          if (kind === 'claims' && failed > 50) break;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;

  // What the remote holds decides lost and duplicated, not what the clones believe.
  let lost = 0;
  let duplicated = 0;
  if (kind === 'claims') {
    const jobs = (JSON.parse(await remoteFile(fleet.remote, docs.jobs.path)) as { jobs: Array<{ id: string; status: string; assigned_to: string | null }> }).jobs;
    const byId = new Map(jobs.map((j) => [j.id, j]));
    for (const [jobId, claimers] of claimed) {
      duplicated += claimers.length - 1;
      const job = byId.get(jobId);
      if (!job || job.status !== 'completed' || job.assigned_to !== claimers[0]) lost++;
    }
    // A job taken on the remote that no claimer was told about is lost too.
    lost += jobs.filter((j) => j.status !== 'queued' && !claimed.has(j.id)).length;
  } else {
    const messages = (JSON.parse(await remoteFile(fleet.remote, docs.messages.path)) as { messages: Array<{ body: string }> }).messages;
    const seen = new Map<string, number>();
    for (const m of messages) seen.set(m.body, (seen.get(m.body) ?? 0) + 1);
    for (const id of ids) {
      for (let j = 0; j < SENDS_PER_CLONE; j++) {
        const body = `contention ${run} ${id} ${j}`;
        const n = seen.get(body) ?? 0;
        // Lost: the sender was told it was sent, and it is not there. A send that failed
        // (exit 3, the caller knows) and is not there is counted under failed, not lost;
        // one that failed yet landed would be sent twice by a caller who retries it.
        if (sent.has(body) && n === 0) lost++;
        duplicated += Math.max(0, n - 1) + (!sent.has(body) && n > 0 ? 1 : 0);
      }
    }
  }
  const op = kind === 'claims' ? 'job.claim' : 'msg.send';
  const landed = await landedOpIds(fleet.remote, since, op);
  const attempts = await attemptsByOp(ids.map((id) => fleet.stores[id] as string), op, new Set(landed));
  const retries = [...landed.map((opId) => Math.max(0, (attempts.get(opId) ?? 1) - 1)), ...exhausted];
  return { ops: latencies.length, seconds, ops_per_s: latencies.length / seconds, retries, latencies, lost, duplicated, failed };
};

/** The reference: plain-git writers appending one entry each time to one JSON file, random backoff as transact's. */
const referenceContention = async (clonesDirs: string[], writers: number, perWriter: number, file: string): Promise<RunStats> => {
  const latencies: number[] = [];
  const retries: number[] = [];
  let failed = 0;
  const started = performance.now();
  await Promise.all(
    clonesDirs.slice(0, writers).map(async (dir, w) => {
      for (let j = 0; j < perWriter; j++) {
        const t0 = performance.now();
        let attempt = 0;
        for (;;) {
          attempt++;
          await git(dir, ['fetch', '--quiet', '--no-tags', 'origin', MAIN_REFSPEC]);
          await git(dir, ['checkout', '-q', '-f', '-B', 'main', ORIGIN_MAIN]);
          const path = join(dir, file);
          const entries = JSON.parse(await readFile(path, 'utf8').catch(() => '[]')) as unknown[];
          entries.push({ writer: w, n: j, at: new Date().toISOString() });
          await mkdir(dirname(path), { recursive: true });
          await writeFile(path, `${JSON.stringify(entries, null, 2)}\n`);
          await git(dir, ['add', '--', file]);
          await git(dir, ['commit', '-q', '--no-verify', '-m', `append ${w} ${j}`, '--', file]);
          const push = await git(dir, ['push', '--porcelain', 'origin', 'HEAD:refs/heads/main'], { allowFail: true });
          if (push.code === 0) break;
          if (!/\[rejected\]|\[remote rejected\]/.test(`${push.stdout}${push.stderr}`) || attempt >= 25) {
            failed++;
            break;
          }
          await sleep(Math.random() * Math.min(1000, 20 * 2 ** Math.min(attempt - 1, 16)));
        }
        retries.push(attempt - 1);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const entries = JSON.parse(await remoteFile(join(clonesDirs[0] as string, '..', '..', 'remote.git'), file)) as Array<{ writer: number; n: number }>;
  const seen = new Map<string, number>();
  for (const e of entries) seen.set(`${e.writer}/${e.n}`, (seen.get(`${e.writer}/${e.n}`) ?? 0) + 1);
  let lost = 0;
  let duplicated = 0;
  for (let w = 0; w < writers; w++) {
    for (let j = 0; j < perWriter; j++) {
      const n = seen.get(`${w}/${j}`) ?? 0;
      if (n === 0) lost++;
      duplicated += Math.max(0, n - 1);
    }
  }
  return { ops: latencies.length - failed, seconds, ops_per_s: (latencies.length - failed) / seconds, retries, latencies, lost, duplicated, failed };
};

/** N plain clones of a bare remote of their own (with a local identity), for the reference writers. */
const makeReferenceWriters = async (root: string, count: number): Promise<string[]> => {
  const remote = join(root, 'remote.git');
  await git(root, ['init', '--quiet', '--bare', '--initial-branch', 'main', remote]);
  const seed = join(root, 'seed');
  await git(root, ['clone', '--quiet', remote, seed]);
  await git(seed, ['config', 'user.name', 'reference']);
  await git(seed, ['config', 'user.email', 'reference@bench.invalid']);
  await writeFile(join(seed, 'README'), 'reference writers\n');
  await git(seed, ['add', 'README']);
  await git(seed, ['commit', '-q', '-m', 'seed']);
  await git(seed, ['push', '-q', 'origin', 'HEAD:refs/heads/main']);
  const dirs: string[] = [];
  for (let i = 0; i < count; i++) {
    const dir = join(root, 'writers', `w${i}`);
    await git(root, ['clone', '--quiet', '--no-tags', remote, dir]);
    await git(dir, ['config', 'user.name', `writer${i}`]);
    await git(dir, ['config', 'user.email', `writer${i}@bench.invalid`]);
    dirs.push(dir);
  }
  return dirs;
};

interface ContentionRow {
  name: 'claims' | 'sends';
  clones: number;
  runs: number;
  ops_per_run: number;
  ops_per_s: number;
  reference_ops_per_s: number;
  rate_ratio: number;
  retries_mean: number;
  retries_max: number;
  reference_retries_mean: number;
  reference_retries_max: number;
  p50_ms: number;
  p95_ms: number;
  reference_p50_ms: number;
  reference_p95_ms: number;
  lost: number;
  duplicated: number;
  failed: number;
  reference_lost: number;
  reference_duplicated: number;
  reference_failed: number;
  targets: string;
  pass: boolean;
  samples: { ops_per_s: number[]; reference_ops_per_s: number[] };
}


const runContention = async (kinds: Array<'claims' | 'sends'>): Promise<ContentionRow[]> => {
  progress(`contention: creating ${CONTENTION_BUILDERS.length} clones and as many plain-git writers`);
  const fleet = await makeFleet(CONTENTION_BUILDERS);
  const writers = await makeReferenceWriters(fleet.root, CONTENTION_BUILDERS.length);
  const rows: ContentionRow[] = [];
  try {
    // Warm the process and every clone (first claims load modules and fill caches).
    await resetMain(fleet, 'claims', 'warm');
    await Promise.all(CONTENTION_BUILDERS.map((id) => claimJobOp(testContext(fleet.stores[id] as string, id), {})));
    // One reference run per clone count and run serves both rows: the plain-git workload is
    // the same (N writers appending 25 entries each); rates are compared, not totals.
    const results = new Map<string, { ours: RunStats[]; theirs: RunStats[] }>();
    for (const clones of CLONE_COUNTS) {
      for (let r = 0; r < contentionRuns; r++) {
        const steps: Array<() => Promise<void>> = [
          async () => {
            const stats = await referenceContention(writers, clones, SENDS_PER_CLONE, `bench/x${clones}r${r}.json`);
            for (const kind of kinds) {
              const entry = results.get(`${kind}/${clones}`) ?? { ours: [], theirs: [] };
              entry.theirs.push(stats);
              results.set(`${kind}/${clones}`, entry);
            }
            progress(`  x${clones} run ${r + 1}: plain git ${stats.ops} ops ${stats.ops_per_s.toFixed(1)}/s (max retries ${Math.max(0, ...stats.retries)})`);
          },
          ...kinds.map((kind) => async () => {
            const stats = await buildctlContention(fleet, kind, clones, `${kind === 'claims' ? 'c' : 's'}${clones}r${r}`);
            const entry = results.get(`${kind}/${clones}`) ?? { ours: [], theirs: [] };
            entry.ours.push(stats);
            results.set(`${kind}/${clones}`, entry);
            progress(`  x${clones} run ${r + 1}: ${kind} ${stats.ops} ops ${stats.ops_per_s.toFixed(1)}/s (max retries ${Math.max(0, ...stats.retries)}, failed ${stats.failed})`);
          }),
        ];
        // Rotate the order, so no side always runs on a machine another one warmed.
        for (let i = 0; i < steps.length; i++) await (steps[(i + r) % steps.length] as () => Promise<void>)();
      }
    }
    for (const kind of kinds) {
      for (const clones of CLONE_COUNTS) {
        const { ours, theirs } = results.get(`${kind}/${clones}`) ?? { ours: [], theirs: [] };
        const opsPerS = median(ours.map((s) => s.ops_per_s));
        const refPerS = median(theirs.map((s) => s.ops_per_s));
        const retriesMax = Math.max(0, ...ours.flatMap((s) => s.retries));
        const lost = ours.reduce((n, s) => n + s.lost, 0);
        const duplicated = ours.reduce((n, s) => n + s.duplicated, 0);
        const failed = ours.reduce((n, s) => n + s.failed, 0);
        const rateTarget = clones === 8;
        const pass = lost === 0 && duplicated === 0 && failed === 0 && retriesMax <= RETRY_LIMIT && (!rateTarget || opsPerS >= 0.5 * refPerS);
        rows.push({
          name: kind,
          clones,
          runs: contentionRuns,
          ops_per_run: median(ours.map((s) => s.ops)),
          ops_per_s: round2(opsPerS),
          reference_ops_per_s: round2(refPerS),
          rate_ratio: round2(opsPerS / refPerS),
          retries_mean: round2(median(ours.map((s) => mean(s.retries)))),
          retries_max: retriesMax,
          reference_retries_mean: round2(median(theirs.map((s) => mean(s.retries)))),
          reference_retries_max: Math.max(0, ...theirs.flatMap((s) => s.retries)),
          p50_ms: round1(median(ours.map((s) => percentile(s.latencies, 50)))),
          p95_ms: round1(median(ours.map((s) => percentile(s.latencies, 95)))),
          reference_p50_ms: round1(median(theirs.map((s) => percentile(s.latencies, 50)))),
          reference_p95_ms: round1(median(theirs.map((s) => percentile(s.latencies, 95)))),
          lost,
          duplicated,
          failed,
          reference_lost: theirs.reduce((n, s) => n + s.lost, 0),
          reference_duplicated: theirs.reduce((n, s) => n + s.duplicated, 0),
          reference_failed: theirs.reduce((n, s) => n + s.failed, 0),
          targets: `0 lost/dup, max retries <= ${RETRY_LIMIT}${rateTarget ? ', rate >= 0.5x' : ''}`,
          pass,
          samples: { ops_per_s: ours.map((s) => round2(s.ops_per_s)), reference_ops_per_s: theirs.map((s) => round2(s.ops_per_s)) },
        });
      }
    }
  } finally {
    fleet.cleanup();
  }
  return rows;
};

// ---------------------------------------------------------------------------------------
// A simulated day: 4 builders beat every minute; hourly housekeeping and pruning.

interface DayResult {
  builders: number;
  minutes_planned: number;
  minutes_simulated: number;
  beats: number;
  complete: boolean;
  seconds_beating: number;
  ms_per_minute_of_4_beats: number;
  metrics_bytes: number;
  main_commits_added: number;
  remote_mb_before_last_prune: number;
  remote_mb: number;
  clone_mb_before_last_prune: number;
  clone_mb: number;
  prunes: number;
  target_mb: number;
  pass: boolean;
  note: string;
}

const runDay = async (): Promise<DayResult> => {
  const fleet = await makeFleet(BUILDERS);
  try {
    const start = Date.now();
    let now = start;
    const ctxAt = (id: string) => testContext(fleet.stores[id] as string, id, { now: () => new Date(now) });
    const metrics = new Map<string, MetricsLine[]>(BUILDERS.map((id) => [id, []]));
    const settings = effectiveSettings(undefined);
    let metricsBytes = 0;
    const beat = async (id: string, minute: number) => {
      const t = new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z');
      const wave = Math.sin((minute / 1440) * 2 * Math.PI);
      const rolled = rollMetrics(
        metrics.get(id) ?? [],
        { kind: 'sample', t, cpu: Math.round((50 + 40 * wave + (minute % 7)) * 10) / 10, mem: Math.round((60 + 20 * wave) * 10) / 10, disk: 120.5 - minute / 1000, load: Math.round((1 + wave) * 100) / 100 },
        new Date(now),
        settings.metricsWindowMs,
      );
      metrics.set(id, rolled);
      const text = metricsToText(rolled);
      metricsBytes = Math.max(metricsBytes, Buffer.byteLength(text));
      const beatDoc: HeartbeatDoc = {
        id,
        timestamp: new Date(now).toISOString(),
        host: `${id}.bench.invalid`,
        pid: process.pid,
        version: 'bench',
        uptime_seconds: 86_400 + minute * 60,
        system: { cpu_pct: 50, memory_used_mb: 6000, memory_total_mb: 16000, disk_free_gb: 120.5, disk_total_gb: 500, load_avg: [1, 1, 1], uptime_seconds: 86_400 + minute * 60 },
      };
      await publishHeartbeat(storeAt(fleet.stores[id] as string), {
        builder: id,
        now: new Date(now),
        files: { [paths.heartbeat(id)]: serializeDocument(paths.heartbeat(id), beatDoc, docs.heartbeat(id).schema), [paths.metrics(id)]: text },
      });
    };
    // Minute 0: every builder beats and housekeeping writes the first dashboard (all healthy).
    await Promise.all(BUILDERS.map((id) => beat(id, 0)));
    await housekeepingOp(ctxAt('build1'), storeAt(fleet.stores.build1 as string), 'build1');
    // The agents' first prune stamps: the day's prunes then come hourly.
    for (const id of BUILDERS) await dropReplacedHeartbeats(storeAt(fleet.stores[id] as string), { now: new Date(now) });
    const mainBefore = commitCount(fleet.remote);

    const budgetEnd = performance.now() + dayBudgetS * 1000;
    const beatStart = performance.now();
    let minute = 0;
    let prunes = 0;
    let remoteBeforePrune = 0;
    let cloneBeforePrune = 0;
    while (minute < dayMinutes && performance.now() < budgetEnd) {
      minute++;
      now = start + minute * 60_000;
      await Promise.all(BUILDERS.map((id) => beat(id, minute)));
      if (minute % 60 === 0 || minute === dayMinutes) {
        // The hourly part of the builders' ticks, one after another as separate hosts would.
        await housekeepingOp(ctxAt('build1'), storeAt(fleet.stores.build1 as string), 'build1');
        remoteBeforePrune = await dirBytes(fleet.remote);
        cloneBeforePrune = await dirBytes(join(fleet.stores.build2 as string, '.git'));
        for (const id of BUILDERS) {
          const report = await dropReplacedHeartbeats(storeAt(fleet.stores[id] as string), { now: new Date(now) });
          if (report.dropped > 0) prunes++;
        }
      }
      if (minute % 120 === 0) progress(`  day: minute ${minute} (${Math.round((performance.now() - beatStart) / 1000)} s)`);
    }
    const secondsBeating = (performance.now() - beatStart) / 1000;
    // End of day (or of the time budget): the last housekeeping and prune.
    await housekeepingOp(ctxAt('build1'), storeAt(fleet.stores.build1 as string), 'build1');
    if (minute % 60 !== 0) {
      remoteBeforePrune = await dirBytes(fleet.remote);
      cloneBeforePrune = await dirBytes(join(fleet.stores.build2 as string, '.git'));
      for (const id of BUILDERS) {
        const report = await dropReplacedHeartbeats(storeAt(fleet.stores[id] as string), { now: new Date(now + 3_600_000) });
        if (report.dropped > 0) prunes++;
      }
    }
    const remote = await dirBytes(fleet.remote);
    const clone = await dirBytes(join(fleet.stores.build2 as string, '.git'));
    const added = commitCount(fleet.remote) - mainBefore;
    const complete = minute >= dayMinutes;
    const targetMb = 10;
    const notes = [
      complete ? `${dayMinutes} simulated minutes` : `STOPPED EARLY: ${minute} of ${dayMinutes} simulated minutes fit in the ${dayBudgetS} s budget (--day-budget); sizes are after those minutes, not a whole day`,
      'pruning runs with the simulated clock, so it drops every replaced beat; a real agent also keeps the last hour of them (the "before last prune" figure is about that much)',
    ];
    return {
      builders: BUILDERS.length,
      minutes_planned: dayMinutes,
      minutes_simulated: minute,
      beats: minute * BUILDERS.length,
      complete,
      seconds_beating: round1(secondsBeating),
      ms_per_minute_of_4_beats: round1((secondsBeating * 1000) / Math.max(1, minute)),
      metrics_bytes: metricsBytes,
      main_commits_added: added,
      remote_mb_before_last_prune: mb(remoteBeforePrune),
      remote_mb: mb(remote),
      clone_mb_before_last_prune: mb(cloneBeforePrune),
      clone_mb: mb(clone),
      prunes,
      target_mb: targetMb,
      pass: complete && added === 0 && mb(remote) < targetMb && mb(clone) < targetMb,
      note: notes.join('; '),
    };
  } finally {
    fleet.cleanup();
  }
};

const runBenchmark = async (bench: Benchmark, setup: Setup): Promise<Row> => {
  const measured: number[] = [];
  const parts: Record<string, number[]> = {};
  try {
    await bench.prepare?.(setup);
    for (let n = 0; n < warmup + runs; n++) {
      const round = await bench.round(setup, n);
      if (n < warmup) continue;
      measured.push(round.measured);
      for (const [key, ms] of Object.entries(round.parts)) (parts[key] ??= []).push(ms);
    }
  } finally {
    await bench.finish?.();
  }
  const partMedians = Object.fromEntries(Object.entries(parts).map(([key, samples]) => [key, median(samples)]));
  const referenceSamples = measured.map((_, i) => Object.values(parts).reduce((sum, samples) => sum + (samples[i] ?? 0), 0));
  // The reference is the sum of its parts' medians (each part measured in every round).
  const referenceMs = Object.values(partMedians).reduce((a, b) => a + b, 0);
  const measuredMs = median(measured);
  const ratio = measuredMs / referenceMs;
  return {
    name: bench.name,
    what: bench.what,
    reference: bench.reference,
    measured_ms: round1(measuredMs),
    reference_ms: round1(referenceMs),
    reference_parts: Object.fromEntries(Object.entries(partMedians).map(([k, v]) => [k, round1(v)])),
    ratio: Math.round(ratio * 100) / 100,
    target: bench.target,
    pass: ratio <= bench.target,
    samples: { measured: measured.map(round1), reference: referenceSamples.map(round1) },
  };
};


const machine = () => {
  const list = cpus();
  const gitVersion = spawnSync('git', ['--version'], { encoding: 'utf8' }).stdout.trim().replace(/^git version /, '');
  return {
    cpu_model: list[0]?.model ?? 'unknown',
    cpu_count: list.length,
    memory_gb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    platform: `${process.platform} ${release()}`,
    node: process.version,
    git: gitVersion,
    load_avg_at_start: loadavg().map((l) => Math.round(l * 100) / 100),
  };
};

const main = async (): Promise<void> => {
  const info = machine();
  const startedAt = Date.now();
  const rows: Row[] = [];
  const timings: Timing[] = [];
  let contention: ContentionRow[] = [];
  let day: DayResult | undefined;
  let serve: ServeResult | undefined;
  let signing: SigningResult | undefined;
  const ratioBenches = BENCHMARKS.filter((bench) => selected.has(bench.name));
  const cleanups: Array<() => void> = [];
  const scale: {
    ratios: RatioRow[];
    beat?: BeatCost;
    tick?: Awaited<ReturnType<typeof runBigFleet>>['tick'];
    maintenance?: MaintenanceRow[];
    procs?: ProcsRow;
    day200?: Day200;
    table?: TableRow[];
  } = { ratios: [] };
  try {
    if (ratioBenches.length > 0 || selected.has('tick')) {
      progress('creating a fleet of 4 builders against a local bare remote');
      const fleet = await makeFleet(BUILDERS);
      cleanups.push(fleet.cleanup);
      let bigFleet: Promise<Fleet> | undefined;
      const big = () =>
        (bigFleet ??= makeBigFleet().then((f) => {
          cleanups.push(f.cleanup);
          return f;
        }));
      const setup = { ...(await populate(fleet)), big };
      for (const bench of ratioBenches) {
        progress(`${bench.name}: ${warmup} warm-up + ${runs} runs`);
        rows.push(await runBenchmark(bench, setup));
      }
      if (selected.has('tick')) {
        progress(`tick: ${warmup} warm-up + ${runs} runs on a store of 200 jobs and 1,000 messages`);
        timings.push(await timeTicks(fleet));
      }
    }
    if (selected.has('secrets')) {
      progress(`secrets: ${warmup} warm-up + ${runs} runs`);
      timings.push(timeCredentialCheck());
    }
    if (selected.has('notify-tick')) {
      progress(`notify-tick: ${warmup} warm-up + ${runs} runs, with and without a webhook target, interleaved`);
      timings.push(...(await timeNotifyTicks()));
    }
    if (selected.has('serve')) {
      progress('serve: buildctl serve with 10 open pages for a minute, 4 builders beating');
      serve = await measureServe();
    }
    const kinds = (['claims', 'sends'] as const).filter((k) => selected.has(k));
    if (kinds.length > 0) {
      progress(`contention (${kinds.join(', ')}): ${CLONE_COUNTS.join(', ')} clones, ${contentionRuns} runs each, against plain-git writers`);
      contention = await runContention([...kinds]);
    }
    if (selected.has('day')) {
      progress(`day: 4 builders x ${dayMinutes} simulated minutes (budget ${dayBudgetS} s of beating)`);
      day = await runDay();
    }
    if (selected.has('signing')) {
      progress(`signing: ${warmup} warm-up + ${runs} runs, then log over 300 commits`);
      signing = await measureSigning();
    }
    const scaleOptions = { runs, warmup, dayMinutes: Number(flags['day200-minutes']), sendsPerProcess: Number(flags.sends) };
    if (selected.has('vs-script')) scale.ratios.push(...(await runVsScript(scaleOptions)));
    if (selected.has('entries')) scale.ratios.push(...(await runEntries(scaleOptions)));
    if (selected.has('beat')) scale.beat = await runBeat(scaleOptions);
    if (selected.has('status-200') || selected.has('idle-tick')) {
      const big = await runBigFleet(scaleOptions, selected);
      if (big.status) scale.ratios.push(big.status);
      scale.tick = big.tick;
    }
    if (selected.has('maintenance')) scale.maintenance = await runMaintenance(scaleOptions);
    if (selected.has('procs')) scale.procs = await runProcs(scaleOptions);
    if (selected.has('day200')) scale.day200 = await runDay200(scaleOptions);
    if (selected.has('table')) scale.table = await runTable(scaleOptions);
  } finally {
    for (const cleanup of cleanups) cleanup();
  }
  const seconds = Math.round((Date.now() - startedAt) / 100) / 10;
  const loadAtEnd = loadavg().map((l) => Math.round(l * 100) / 100);
  const scalePass =
    scale.ratios.every((row) => row.pass) && (scale.beat?.pass ?? true) && (scale.tick?.pass ?? true) && (scale.maintenance ?? []).every((row) => row.pass) && (scale.procs?.pass ?? true) && (scale.day200?.pass ?? true);
  const allPass = rows.every((row) => row.pass) && contention.every((row) => row.pass) && (day?.pass ?? true) && (signing?.pass ?? true) && scalePass;

  const document = `${JSON.stringify({ machine: { ...info, load_avg_at_end: loadAtEnd }, selected: [...selected], runs, warmup, contention_runs: contentionRuns, seconds, pass: allPass, rows, timings, contention, day, serve, signing, scale }, null, 2)}\n`;
  if (flags['json-file']) await writeFile(flags['json-file'], document);
  if (flags.json) {
    process.stdout.write(document);
    return;
  }
  const out: string[] = [];
  out.push(`machine: ${info.cpu_count} x ${info.cpu_model}, ${info.memory_gb} GB, ${info.platform}; node ${info.node}, git ${info.git}`);
  out.push(`load average (1, 5, 15 min): ${info.load_avg_at_start.join(', ')} at start, ${loadAtEnd.join(', ')} at end`);
  if (rows.length > 0) {
    out.push(`\nratios: median of ${runs} runs (after ${warmup} warm-up), reference measured in the same runs, interleaved\n`);
    out.push(
      renderTable(
        ['bench', 'measured ms', 'reference ms', 'ratio', 'target', 'result'],
        rows.map((row) => [
          row.name,
          row.measured_ms.toFixed(1),
          row.reference_ms.toFixed(1),
          `${row.ratio.toFixed(2)}x`,
          `<= ${row.target}x`,
          row.pass ? 'PASS' : 'FAIL',
        ]),
      ),
    );
    out.push('');
    for (const row of rows) {
      const parts = Object.entries(row.reference_parts);
      const sum = parts.length > 1 ? `: ${parts.map(([k, v]) => `${k} ${v.toFixed(1)}`).join(' + ')} ms` : '';
      out.push(`${row.name.padEnd(12)}  ${row.what}\n${''.padEnd(12)}  vs ${row.reference}${sum}`);
    }
  }
  if (serve) {
    out.push(`\nserve: ${serve.pages} open pages (event streams) for ${serve.seconds} s, refresh every ${serve.interval}, 4 builders beating (${serve.heartbeats} heartbeats), ${serve.events_per_page} events per page`);
    out.push(`serve: CPU ${serve.cpu_seconds} s (${serve.cpu_pct} % of one core), ${serve.cpu_seconds_with_git} s (${serve.cpu_pct_with_git} %) with the git processes it ran; memory (RSS) ${serve.rss_mb_start} MB at start, ${serve.rss_mb_max} MB at most, ${serve.rss_mb_end} MB at the end`);
  }
  for (const t of timings) out.push(`\n${t.name}: median ${t.median_ms.toFixed(1)} ms (min ${t.min_ms.toFixed(1)}, max ${t.max_ms.toFixed(1)}): ${t.what}`);
  if (contention.length > 0) {
    out.push(`\ncontention: median of ${contentionRuns} runs per row (max retries: the worst of all runs; lost/dup/failed: summed), in one node process`);
    out.push(`claims: 200 queued jobs claimed until none is left; sends: 25 messages per clone; reference: as many plain-git writers appending to one JSON file\n`);
    out.push(
      renderTable(
        ['bench', 'clones', 'ops', 'ops/s', 'git ops/s', 'rate', 'retries mean/max', 'git retries', 'p50 ms', 'p95 ms', 'git p50/p95', 'lost', 'dup', 'failed', 'result'],
        contention.map((row) => [
          row.name,
          String(row.clones),
          String(row.ops_per_run),
          row.ops_per_s.toFixed(1),
          row.reference_ops_per_s.toFixed(1),
          `${row.rate_ratio.toFixed(2)}x`,
          `${row.retries_mean.toFixed(2)} / ${row.retries_max}`,
          `${row.reference_retries_mean.toFixed(2)} / ${row.reference_retries_max}`,
          row.p50_ms.toFixed(0),
          row.p95_ms.toFixed(0),
          `${row.reference_p50_ms.toFixed(0)} / ${row.reference_p95_ms.toFixed(0)}`,
          String(row.lost),
          String(row.duplicated),
          String(row.failed),
          row.pass ? 'PASS' : 'FAIL',
        ]),
      ),
    );
    out.push(`targets: 0 lost, 0 duplicated, 0 failed, no operation retried more than ${RETRY_LIMIT} times; at 8 clones a rate at least 0.5x the plain-git writers'`);
  }
  if (day) {
    out.push(`\nday: ${day.builders} builders x ${day.minutes_simulated} simulated minutes = ${day.beats.toLocaleString('en')} heartbeats with metrics (${day.seconds_beating} s, ${day.ms_per_minute_of_4_beats} ms per minute of ${day.builders} beats); housekeeping and pruning hourly (${day.prunes} prunes)\n`);
    out.push(
      renderTable(
        ['day', 'measured', 'target', 'result'],
        [
          ['commits added to main', String(day.main_commits_added), '0', day.main_commits_added === 0 ? 'PASS' : 'FAIL'],
          ['remote .git MB (after pruning)', day.remote_mb.toFixed(2), `< ${day.target_mb}`, day.remote_mb < day.target_mb ? 'PASS' : 'FAIL'],
          ['build2 .git MB (after pruning)', day.clone_mb.toFixed(2), `< ${day.target_mb}`, day.clone_mb < day.target_mb ? 'PASS' : 'FAIL'],
          ['remote .git MB (before last prune)', day.remote_mb_before_last_prune.toFixed(2), '', ''],
          ['build2 .git MB (before last prune)', day.clone_mb_before_last_prune.toFixed(2), '', ''],
          ['largest metrics.jsonl bytes', String(day.metrics_bytes), '< 32768', day.metrics_bytes < 32768 ? 'PASS' : 'FAIL'],
          ['simulated minutes', String(day.minutes_simulated), String(day.minutes_planned), day.complete ? 'PASS' : 'INCOMPLETE'],
        ],
      ),
    );
    out.push(`note: ${day.note}`);
  }
  if (signing) {
    const g = signing;
    out.push(`\nsigning: median of ${runs} runs (after ${warmup} warm-up); mutations interleaved, a clone with a key and one without\n`);
    out.push(
      renderTable(
        ['signing', 'measured', 'note'],
        [
          ['sign a commit in-process', `${g.sign_us.toFixed(1)} us`, 'node:crypto ed25519 + SSHSIG armor'],
          ['ssh-keygen -Y sign (a process)', `${g.keygen_sign_ms.toFixed(1)} ms`, 'what git commit -S would spend'],
          ['verify a commit in-process', `${g.verify_us.toFixed(1)} us`, ''],
          ['mutation, signed', `${g.mutation_signed_ms.toFixed(1)} ms`, 'setStatus in a warm process'],
          ['mutation, no key', `${g.mutation_unsigned_ms.toFixed(1)} ms`, ''],
          ['signing / mutation', `${(g.sign_share * 100).toFixed(2)} %`, `target < ${g.target * 100} %: ${g.pass ? 'PASS' : 'FAIL'}`],
          ['with a key / without, in all', `${(g.added_share * 100).toFixed(1)} %`, 'signing and loading the key (both judge history)'],
          ['judging one new commit', `${g.ledger_step_ms.toFixed(2)} ms`, 'the trust ledger\'s step, before each commit'],
          [`log, ${g.log_commits} commits, no cache`, `${g.log_cold_ms.toFixed(1)} ms`, 'every commit judged'],
          [`log, ${g.log_commits} commits, cached`, `${g.log_warm_ms.toFixed(1)} ms`, ''],
        ],
      ),
    );
  }
  if (scale.ratios.length > 0) {
    out.push('\nissue 16 ratios: median of the runs, reference measured in the same runs, interleaved; load average at the end of each row\n');
    out.push(renderRatioRows(scale.ratios));
    for (const row of scale.ratios) out.push(`${row.name.padEnd(16)}  ${row.what}\n${''.padEnd(16)}  vs ${row.reference}`);
  }
  if (selected.has('vs-script') && !hasJq) out.push('\nvs-script: NOT RUN: jq is not installed; the reference script (the older scripts\' way) needs it (apt-get install jq)');
  if (scale.beat) {
    const b = scale.beat;
    out.push(`\nbeat: ${b.row.measured_ms.toFixed(1)} ms against node -e 0 ${b.row.reference_ms.toFixed(1)} ms = ${b.row.ratio.toFixed(2)}x (<= 2.5x); objects a beat: at most ${b.objects_per_beat_max} in the clone, ${b.remote_objects_per_beat_max} in the remote (<= 2); ${b.bytes_per_beat_mean} bytes a beat on average (<= 4096); load ${b.row.load}: ${b.pass ? 'PASS' : 'FAIL'}`);
  }
  if (scale.tick) out.push(`\nidle-tick: median ${scale.tick.median_ms} ms (<= ${scale.tick.target_ms}), max RSS ${scale.tick.max_rss_mb} MB: agent --once with nothing to do, 200 builders, 10,000 live messages and jobs; load ${scale.tick.load}: ${scale.tick.pass ? 'PASS' : 'FAIL'}`);
  if (scale.maintenance) {
    out.push('\nmaintenance: a pass with a due journal, and a msg send started with it against one started alone (medians)\n');
    out.push(renderTable(['store', 'pass ms', 'dropped', 'send alone ms', 'send during ms', 'delay ms', 'load', 'result'], scale.maintenance.map((m) => [m.store, m.pass_ms.toFixed(1), String(m.dropped), m.send_alone_ms.toFixed(1), m.send_during_ms.toFixed(1), m.delay_ms.toFixed(1), m.load, m.pass ? 'PASS' : 'FAIL'])));
    out.push('targets: a pass under 1 s that takes no lock; a command delayed by at most 1 s; the pass does not grow with history or archives');
  }
  if (scale.procs) {
    const p = scale.procs;
    out.push(`\nprocs: ${p.processes} builders x ${p.sends_each} sends as separate processes: ${p.ops_per_s} ops/s against ${p.reference_ops_per_s} for as many plain-git writers = ${p.rate_ratio.toFixed(2)}x (>= 1x); retries max ${p.retries_max} (<= 10), mean ${p.retries_mean}; plain git's max ${p.reference_retries_max}; failed ${p.failed} (plain git ${p.reference_failed}), lost ${p.lost}; load ${p.load}: ${p.pass ? 'PASS' : 'FAIL'}`);
  }
  if (scale.day200) {
    const d = scale.day200;
    out.push(`\nday200: ${d.builders} builders x ${d.minutes} simulated minutes: build1's .git at most ${d.clone_mb_max} MB (< ${d.target_mb}), ${d.clone_mb_end} MB at the end; the remote ${d.remote_mb_end} MB; median tick ${d.tick_ms_median} ms; ${d.main_commits_added} commits on main; load ${d.load}: ${d.pass ? 'PASS' : d.minutes < 1440 ? 'INCOMPLETE' : 'FAIL'}`);
  }
  if (scale.table) {
    out.push('\ntable: median time and max RSS of each operation (a whole process), every builder beating between runs\n');
    out.push(renderTableRows(scale.table));
  }
  out.push(`\n${allPass ? 'all targets met' : 'some targets missed'} (${seconds} s)`);
  process.stdout.write(`${out.join('\n')}\n`);
};

await main();
