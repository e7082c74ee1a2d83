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
// Every store lives in one temp dir against a local bare remote (the embedded default),
// made with the project's own `initStore` (through the test helpers' `makeFleet`), and is
// removed at the end. Options: --runs N (default 15), --json (one JSON document on stdout).
// Progress goes to stderr. New benchmarks are new entries in BENCHMARKS below.
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { heartbeat } from '../src/ops/heartbeat.js';
import { initStore } from '../src/ops/init.js';
import { fleetStatus, setStatus } from '../src/ops/status.js';
import { docs } from '../src/schemas/layout.js';
import { git } from '../src/store/git.js';
import { storeAt } from '../src/store/store.js';
import { transact } from '../src/store/transaction.js';
import { MAIN_REFSPEC, ORIGIN_MAIN } from '../src/store/store.js';
import { makeFleet, runCli, testContext, type Fleet } from '../test/helpers/fleet.js';

// The spawned CLI and every git process (ours and the reference) see no host identity, no
// host store and no global git config: the clone's local config (set by init) is all there is.
for (const name of ['BUILD_SERVER_ID', 'BUILDCTL_STORE', 'BUILDCTL_ID_FILE', 'GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE']) delete process.env[name];
process.env.GIT_CONFIG_GLOBAL = '/dev/null';
process.env.GIT_CONFIG_NOSYSTEM = '1';

const cli = resolve(import.meta.dirname, '..', 'cli.js');

const { values: flags } = parseArgs({
  options: {
    runs: { type: 'string', default: '15' },
    warmup: { type: 'string', default: '2' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (flags.help) {
  process.stdout.write('usage: npm run bench -- [--runs N] [--warmup N] [--json]\n');
  process.exit(0);
}
const runs = Number(flags.runs);
const warmup = Number(flags.warmup);
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(warmup) || warmup < 0) {
  process.stderr.write('bench: --runs must be a positive integer and --warmup a non-negative one\n');
  process.exit(2);
}

const progress = (line: string): void => void process.stderr.write(`bench: ${line}\n`);

const median = (samples: readonly number[]): number => {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
};

const timed = async (fn: () => Promise<unknown>): Promise<number> => {
  const start = performance.now();
  await fn();
  return performance.now() - start;
};

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
      const run = () => buildctl(fleet, ['--store', store, '--as', 'build1', 'status', '--no-fetch', '--json']);
      // Alternate which goes first, so neither always runs on a cache the other warmed.
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
];

/** The fleet (4 builders, each with a status.json and a heartbeat) and the reference clone. */
const populate = async (fleet: Fleet): Promise<Setup> => {
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
    return {
      id: `job_bench_${i}`,
      type: i % 3 === 0 ? 'test' : 'build',
      priority: 1 + (i % 9),
      branch: 'main',
      description: `benchmark job ${i}`,
      status,
      assigned_to: status === 'queued' ? null : builder,
      labels: [],
      attempts: status === 'queued' ? 0 : 1,
      max_attempts: 3,
      created_at: at(600 - i),
      started_at: status === 'queued' ? null : at(300 - i),
      completed_at: status === 'completed' ? at(200 - i) : null,
    };
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

const runBenchmark = async (bench: Benchmark, setup: Setup): Promise<Row> => {
  await bench.prepare?.(setup);
  const measured: number[] = [];
  const parts: Record<string, number[]> = {};
  for (let n = 0; n < warmup + runs; n++) {
    const round = await bench.round(setup, n);
    if (n < warmup) continue;
    measured.push(round.measured);
    for (const [key, ms] of Object.entries(round.parts)) (parts[key] ??= []).push(ms);
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

const round1 = (ms: number): number => Math.round(ms * 10) / 10;

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

const renderTable = (header: string[], rows: string[][]): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
};

const main = async (): Promise<void> => {
  const info = machine();
  const startedAt = Date.now();
  progress('creating a fleet of 4 builders against a local bare remote');
  const fleet = await makeFleet(BUILDERS);
  const rows: Row[] = [];
  const timings: Timing[] = [];
  try {
    const setup = await populate(fleet);
    for (const bench of BENCHMARKS) {
      progress(`${bench.name}: ${warmup} warm-up + ${runs} runs`);
      rows.push(await runBenchmark(bench, setup));
    }
    progress(`tick: ${warmup} warm-up + ${runs} runs on a store of 200 jobs and 1,000 messages`);
    timings.push(await timeTicks(fleet));
  } finally {
    fleet.cleanup();
  }
  const seconds = Math.round((Date.now() - startedAt) / 100) / 10;
  const allPass = rows.every((row) => row.pass);

  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ machine: info, runs, warmup, seconds, pass: allPass, rows, timings }, null, 2)}\n`);
    return;
  }
  const out: string[] = [];
  out.push(`machine: ${info.cpu_count} x ${info.cpu_model}, ${info.memory_gb} GB, ${info.platform}; node ${info.node}, git ${info.git}`);
  out.push(`each figure: median of ${runs} runs (after ${warmup} warm-up), reference measured in the same runs, interleaved\n`);
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
    out.push(`${row.name.padEnd(10)}  ${row.what}\n${''.padEnd(10)}  vs ${row.reference}${sum}`);
  }
  for (const t of timings) out.push(`\n${t.name}: median ${t.median_ms.toFixed(1)} ms (min ${t.min_ms.toFixed(1)}, max ${t.max_ms.toFixed(1)}): ${t.what}`);
  out.push(`\n${allPass ? 'all targets met' : 'some targets missed'} (${seconds} s)`);
  process.stdout.write(`${out.join('\n')}\n`);
};

await main();
