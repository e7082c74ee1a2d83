// Issue 16's benchmarks: cost proportional to the change, not to the store.
//
//   vs-script    heartbeat, status set, msg send, job claim: a whole `buildctl` process
//                against the older scripts' way with plain git on the same remote (a shell
//                script: jq edits the whole file, git add, commit, pull --rebase, push), run
//                in a full clone of the same store, interleaved (each side's pull or fetch
//                finds the other's commit). Target: at most 0.8x.
//   entries      msg send and job claim on a store of 10,000 live messages and jobs against
//                the same on a store of 100, interleaved: at most 1.5x; memory (max RSS) at
//                most 2x `node -e 0`'s plus the document's size.
//   beat         `buildctl heartbeat` against `node -e 0` (at most 2.5x), and what a beat adds
//                to the clone and the remote: at most 2 objects, at most 4 KB.
//   status-200   `buildctl status --no-fetch --json` of a 200-builder fleet (1,000 live messages
//                and jobs) whose builders all beat, against `node -e 0`: at most 2.5x.
//   idle-tick    `buildctl agent --once` with nothing to do, on the big store (200 builders,
//                10,000 live messages and jobs): at most 400 ms.
//   maintenance  a maintenance pass on a store with 100 and with 10,000 commits of history and
//                100,000 archived messages: how long it takes, and how long a `msg send` started
//                during it takes against one started alone (at most 1 s more).
//   procs        8 builders as separate processes, each sending as fast as it can (one
//                `buildctl msg send` after another), against 8 plain-git writers doing the same
//                with a shell script each: throughput at least 1x, no operation retried more
//                than 10 times.
//   day200       a simulated day of a 200-builder fleet: one builder's clone runs its agent
//                tick every minute (heartbeat, housekeeping fetching every beat, maintenance)
//                while the other 199 beat into the remote: its .git stays under 50 MB.
//   table        the scaling table: builders 20/200, live messages and jobs 1k/10k, history
//                100/10k commits, archived 100k messages: time and max RSS of status, send,
//                claim, heartbeat and an agent tick.
//
// Every store is made in a temp dir against a local bare remote and removed at the end.
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setBuilderState } from '../src/domain/status.js';
import { heartbeat } from '../src/ops/heartbeat.js';
import { initStore } from '../src/ops/init.js';
import { tick } from '../src/ops/agent.js';
import { docs } from '../src/schemas/layout.js';
import type { MetricsLine } from '../src/schemas/metrics.js';
import { git } from '../src/store/git.js';
import { dropFromRepository, dropReplacedHeartbeats, REPLACED_GRACE_MS } from '../src/store/maintenance.js';
import { fetchAll, storeAt } from '../src/store/store.js';
import { transact, type Write } from '../src/store/transaction.js';
import { writeBeats, type SimulatedBeat } from '../test/helpers/beats.js';
import { runCli, runProcess, tempDir, testContext } from '../test/helpers/fleet.js';
import { SEND_MESSAGE_JQ } from '../test/helpers/old-scripts.js';
import { benchJob, dirBytes, mb, median, progress, renderTable, round1, round2 } from './bench-lib.js';

/** The CLI measured: this build's, or another's (`--cli`, to compare builds on the same rows). */
let cli = resolve(import.meta.dirname, '..', 'cli.js');
export const useCli = (path: string): void => {
  cli = resolve(path);
};
const load = (): string => loadavg().map((l) => l.toFixed(1)).join(' ');

// ---------------------------------------------------------------------------------------
// Stores of a given scale.

export interface Scale {
  builders: number;
  /** Live messages, and as many live jobs. */
  live: number;
  /** Commits of history on main before the documents. */
  history: number;
  /** Archived messages, in monthly archive files. */
  archived: number;
}

export interface ScaledFleet {
  scale: Scale;
  root: string;
  remote: string;
  /** build1's clone: the one every measured command runs in. */
  actor: string;
  ids: string[];
  /** Sizes of the documents the operations rewrite, in bytes. */
  bytes: { messages: number; jobs: number };
  cleanup: () => void;
}

const DAY = 86_400_000;

/** One-minute samples ending at `at`, as a beat carries them. */
const samples = (at: number, count = 60): MetricsLine[] =>
  Array.from({ length: count }, (_, i) => ({ kind: 'sample' as const, t: new Date(at - (count - 1 - i) * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z'), cpu: 40 + (i % 7), mem: 55.5, disk: 120.5, load: 1.2 }));

/** Every builder but build1 beats now (build1 beats for real, through its agent or `buildctl heartbeat`). */
export const beatOthers = (fleet: ScaledFleet, at: Date): Promise<Map<string, string>> =>
  writeBeats(fleet.remote, fleet.ids.slice(1).map((id): SimulatedBeat => ({ id, recent: samples(at.getTime()) })), at);

/** `count` commits on main, as a store that has seen that much history has: one git fast-import. */
const writeHistory = async (remote: string, count: number): Promise<void> => {
  if (count <= 0) return;
  const head = (await git(remote, ['rev-parse', 'main'])).stdout.trim();
  const start = Math.floor(Date.now() / 1000) - count * 60;
  const parts: string[] = [];
  for (let i = 0; i < count; i++) {
    const actor = `build${(i % 20) + 1}`;
    const message = `status.set ${actor} idle\n\nBuildctl-Op: status.set\nBuildctl-Actor: ${actor}\nBuildctl-Op-Id: ${randomUUID()}\n`;
    const content = `${i}\n`;
    parts.push('commit refs/heads/main', `committer bench <bench@bench.invalid> ${start + i * 60} +0000`, `data ${Buffer.byteLength(message)}`, message);
    if (i === 0) parts.push(`from ${head}`);
    parts.push('M 100644 inline bench/history.txt', `data ${Buffer.byteLength(content)}`, content);
  }
  parts.push('done', '');
  await git(remote, ['fast-import', '--quiet', '--done'], { input: parts.join('\n') });
};

const messageOf = (i: number, ids: readonly string[], createdAt: string, read: boolean): Record<string, unknown> => {
  const from = ids[i % ids.length]!;
  const to = i % 10 === 0 ? ['all'] : [ids[(i + 1) % ids.length]!];
  return {
    id: `msg_bench_${i}`,
    from,
    to,
    type: i % 13 === 0 ? 'warning' : 'info',
    subject: `build ${i} of main finished`,
    body: `build ${i} of main finished; artifacts uploaded, see the dashboard for details`,
    created_at: createdAt,
    ack_required: false,
    read_by: read ? Object.fromEntries((to[0] === 'all' ? ids.filter((id) => id !== from) : to).map((r) => [r, createdAt])) : {},
    acked_by: {},
  };
};

const jobOf = (i: number, ids: readonly string[], createdAt: string): Record<string, unknown> => {
  // Most are queued (claims have work), some finished within retention (nothing to archive).
  const status = i % 10 < 7 ? 'queued' : i % 10 < 9 ? 'completed' : 'failed';
  const finished = status !== 'queued';
  return benchJob(i, status, finished ? ids[i % ids.length]! : null, { created: createdAt, started: finished ? createdAt : null, completed: finished ? createdAt : null });
};

/** A store of the given scale: registry, history, live documents, archives, and every builder beating. */
export const makeScaledFleet = async (scale: Scale): Promise<ScaledFleet> => {
  const started = performance.now();
  const { dir: root, cleanup } = tempDir('buildctl-bench-');
  const ids = Array.from({ length: scale.builders }, (_, i) => `build${i + 1}`);
  const actor = join(root, 'build1', 'store');
  const { remote } = await initStore(testContext(actor), { builders: ids.map((id) => ({ id })) });
  await writeHistory(remote, scale.history);
  const now = Date.now();
  // Live entries from the last three days (within retention: an idle tick archives nothing).
  const recent = (i: number, n: number) => new Date(now - 3 * DAY + (i / Math.max(1, n)) * 3 * DAY - 60_000).toISOString();
  const messages = Array.from({ length: scale.live }, (_, i) => messageOf(i, ids, recent(i, scale.live), i % 3 !== 0));
  const jobs = Array.from({ length: scale.live }, (_, i) => jobOf(i, ids, recent(i, scale.live)));
  const archives = new Map<string, unknown[]>();
  for (let i = 0; i < scale.archived; i++) {
    const at = new Date(now - 40 * DAY - (i / Math.max(1, scale.archived)) * 300 * DAY);
    const month = at.toISOString().slice(0, 7);
    archives.set(month, [...(archives.get(month) ?? []), { ...messageOf(scale.live + i, ids, at.toISOString(), true), id: `msg_archived_${i}` }]);
  }
  const statuses = ids.map((id): Write => ({ spec: docs.status(id), value: setBuilderState(undefined, { id, state: 'idle', now: new Date(now) }) }));
  const writes: Write[] = [
    { spec: docs.messages, value: { messages } },
    { spec: docs.jobs, value: { jobs } },
    ...statuses,
    ...[...archives].map(([month, list]) => ({ spec: docs.messagesArchive(month), value: { messages: list } })),
  ];
  await transact(storeAt(actor), { op: 'bench.seed', actor: 'bench', apply: () => ({ result: null, writes, summary: `bench.seed ${scale.live} messages and jobs, ${scale.archived} archived` }) });
  const fleet: ScaledFleet = {
    scale,
    root,
    remote,
    actor,
    ids,
    bytes: {
      messages: Number((await git(remote, ['cat-file', '-s', 'main:coordination/messages.json'])).stdout.trim()),
      jobs: Number((await git(remote, ['cat-file', '-s', 'main:coordination/jobs.json'])).stdout.trim()),
    },
    cleanup,
  };
  await beatOthers(fleet, new Date());
  await heartbeat(testContext(actor, 'build1'));
  await fetchAll(storeAt(actor));
  progress(`  store of ${scale.builders} builders, ${scale.live.toLocaleString('en')} live messages and jobs, ${scale.history.toLocaleString('en')} commits of history, ${scale.archived.toLocaleString('en')} archived: made in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return fleet;
};

// ---------------------------------------------------------------------------------------
// Measuring a process: wall time and max RSS (a preload reports the process's own peak).

let preload: string | undefined;
const preloadFile = (): string => {
  if (preload) return preload;
  preload = join(tmpdir(), `buildctl-bench-max-rss-${process.pid}.cjs`);
  // VmHWM, the peak of this process's own memory map: getrusage's maxRSS can start from a
  // figure carried over from the process that spawned it (the table read 96 MB for every
  // operation and for node -e 0 alike), VmHWM begins at exec.
  writeFileSync(
    preload,
    "process.on('exit', () => { const f = process.env.BENCH_RSS_FILE; if (!f) return; const fs = require('fs'); const m = /VmHWM:\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8')); fs.writeFileSync(f, m ? m[1] : String(process.resourceUsage().maxRSS)); });\n",
  );
  process.on('exit', () => rmSync(preload!, { force: true }));
  return preload;
};

export interface Measured {
  ms: number;
  rssMb: number;
  code: number;
  stdout: string;
  stderr: string;
}

/** `node <args>` (the CLI, or `-e 0`) with the RSS preload, timed from spawn to exit. */
const measureNode = async (root: string, args: string[], env: Record<string, string> = {}): Promise<Measured> => {
  const rssFile = join(tmpdir(), `buildctl-bench-rss-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const start = performance.now();
  const run = await runCli(['-r', preloadFile(), ...args], { bin: '--no-warnings', cwd: root, env: { BENCH_RSS_FILE: rssFile, ...env } });
  const ms = performance.now() - start;
  const kb = Number(readFileSync(rssFile, 'utf8'));
  rmSync(rssFile, { force: true });
  return { ms, rssMb: round1(kb / 1024), ...run };
};

export const measureCli = async (fleet: { root: string; actor: string }, args: string[], as = 'build1'): Promise<Measured> => {
  const run = await measureNode(fleet.root, [cli, '--store', fleet.actor, '--as', as, ...args]);
  if (run.code !== 0) throw new Error(`buildctl ${args.join(' ')} exited ${run.code}: ${run.stderr.trim()}`);
  return run;
};

export const measureNodeStart = (root: string): Promise<Measured> => measureNode(root, ['-e', '0']);

// ---------------------------------------------------------------------------------------
// The older scripts' way with plain git, as a shell script on a clone of the same remote.

export const hasJq = spawnSync('jq', ['--version'], { encoding: 'utf8' }).status === 0;

const REFERENCE_SCRIPT = `#!/bin/sh
# The older scripts' way: edit the whole file with jq, git add, commit, pull --rebase, push.
# usage: reference.sh <clone> <status|send|claim|heartbeat> [value]
set -e
cd "$1"
now=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
case "$2" in
  status)
    file=reference/status.json
    jq --arg s "$3" --arg now "$now" '.state = $s | .updated_at = $now' "$file" > "$file.tmp" ;;
  send)
    file=reference/messages.json
    jq --arg id "msg_$(date +%s)_$$" --arg from reference --arg to build2 --arg type info --arg subject "$3" --arg body "$3" \\
      --arg ts "$(date -u '+%Y-%m-%d %H:%M')" --arg ack_required false "$SEND_MESSAGE_JQ" "$file" > "$file.tmp" ;;
  claim)
    file=reference/jobs.json
    jq --arg me reference --arg now "$now" '(.jobs | map(.status == "queued") | index(true)) as $i
      | if $i == null then error("nothing queued") else (.jobs[$i].status = "running" | .jobs[$i].assigned_to = $me | .jobs[$i].started_at = $now) end' "$file" > "$file.tmp" ;;
  heartbeat)
    file=reference/heartbeat.json
    load=$(cut -d' ' -f1 /proc/loadavg)
    up=$(cut -d. -f1 /proc/uptime)
    mem=$(free -m | awk '/^Mem:/ { print $3 }')
    disk=$(df -Pk . | awk 'NR == 2 { print int($4 / 1048576) }')
    jq -n --arg id reference --arg now "$now" --argjson load "$load" --argjson up "$up" --argjson mem "$mem" --argjson disk "$disk" \\
      '{server: $id, timestamp: $now, uptime_seconds: $up, healthy: true, system: {cpu_usage: $load, memory_used_gb: ($mem / 1024), disk_free_gb: $disk}}' > "$file.tmp" ;;
esac
mv "$file.tmp" "$file"
git add "$file"
git commit -q -m "$2 reference"
git pull -q --rebase
git push -q origin HEAD
`;

interface Reference {
  /** Runs one operation the older scripts' way; throws unless it succeeded. */
  run(kind: 'status' | 'send' | 'claim' | 'heartbeat', value: string): Promise<void>;
}

/**
 * Two full clones of the fleet's remote: one on main with its own copies of the documents
 * (reference/status.json, messages.json, jobs.json: the same sizes as the fleet's), one on
 * a heartbeat branch of the whole repository, as the older scripts kept.
 */
const makeReference = async (fleet: ScaledFleet): Promise<Reference> => {
  const script = join(fleet.root, 'reference.sh');
  writeFileSync(script, REFERENCE_SCRIPT, { mode: 0o755 });
  const main = join(fleet.root, 'reference', 'main');
  const beats = join(fleet.root, 'reference', 'heartbeat');
  for (const dir of [main, beats]) {
    await git(fleet.root, ['clone', '--quiet', '--no-tags', fleet.remote, dir]);
    await git(dir, ['config', 'user.name', 'reference']);
    await git(dir, ['config', 'user.email', 'reference@bench.invalid']);
  }
  mkdirSync(join(main, 'reference'), { recursive: true });
  writeFileSync(join(main, 'reference', 'status.json'), readFileSync(join(main, 'build1', 'status.json')));
  writeFileSync(join(main, 'reference', 'messages.json'), readFileSync(join(main, 'coordination', 'messages.json')));
  writeFileSync(join(main, 'reference', 'jobs.json'), readFileSync(join(main, 'coordination', 'jobs.json')));
  await git(main, ['add', 'reference']);
  await git(main, ['commit', '-q', '-m', 'reference documents']);
  await git(main, ['push', '-q', 'origin', 'HEAD']);
  await git(beats, ['checkout', '-q', '-b', 'reference-heartbeat']);
  mkdirSync(join(beats, 'reference'), { recursive: true });
  writeFileSync(join(beats, 'reference', 'heartbeat.json'), '{}\n');
  await git(beats, ['add', 'reference']);
  await git(beats, ['commit', '-q', '-m', 'reference heartbeat']);
  await git(beats, ['push', '-q', '-u', 'origin', 'reference-heartbeat']);
  return {
    run: async (kind, value) => {
      const run = await runProcess('sh', [script, kind === 'heartbeat' ? beats : main, kind, value], { cwd: fleet.root, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: fleet.root, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', SEND_MESSAGE_JQ } });
      if (run.code !== 0) throw new Error(`reference ${kind} exited ${run.code}: ${run.stderr.trim()} ${run.stdout.trim()}`);
    },
  };
};

// ---------------------------------------------------------------------------------------
// The rows.

export interface RatioRow {
  name: string;
  what: string;
  reference: string;
  measured_ms: number;
  reference_ms: number;
  ratio: number;
  target: number;
  pass: boolean;
  /** Max RSS of the measured runs, MB. */
  rss_mb?: number;
  /** The memory target, MB, when there is one. */
  rss_target_mb?: number;
  load: string;
  samples: { measured: number[]; reference: number[] };
}

const ratioRow = (name: string, what: string, reference: string, target: number, measured: number[], references: number[], extra: Partial<RatioRow> = {}): RatioRow => {
  const m = median(measured);
  const r = median(references);
  const rssOk = extra.rss_mb === undefined || extra.rss_target_mb === undefined || extra.rss_mb <= extra.rss_target_mb;
  return { name, what, reference, measured_ms: round1(m), reference_ms: round1(r), ratio: round2(m / r), target, pass: m / r <= target && rssOk, load: load(), samples: { measured: measured.map(round1), reference: references.map(round1) }, ...extra };
};

export interface ScaleOptions {
  runs: number;
  warmup: number;
  dayMinutes: number;
  sendsPerProcess: number;
}

/**
 * Who makes the n-th claim of a row: the fleet's builders in turn, since a builder builds
 * one job at a time and refuses a second claim (exit 3) until it finishes the first.
 */
const claimant = (fleet: ScaledFleet, n: number): string => fleet.ids[n % fleet.ids.length]!;

/** The four operations against the older scripts' way on the same remote, interleaved. */
export const runVsScript = async (options: ScaleOptions): Promise<RatioRow[]> => {
  if (!hasJq) {
    progress('vs-script: SKIPPED: jq is not installed (the reference script needs /usr/bin/jq; apt-get install jq)');
    return [];
  }
  const fleet = await makeScaledFleet({ builders: 20, live: 100, history: 100, archived: 0 });
  try {
    const reference = await makeReference(fleet);
    const ops: Array<{ name: string; kind: 'status' | 'send' | 'claim' | 'heartbeat'; args: (n: number) => string[]; what: string }> = [
      { name: 'heartbeat', kind: 'heartbeat', args: () => ['heartbeat'], what: 'buildctl heartbeat' },
      { name: 'status-set', kind: 'status', args: (n) => ['status', 'set', n % 2 === 0 ? 'building' : 'idle'], what: 'buildctl status set building|idle' },
      { name: 'send', kind: 'send', args: (n) => ['msg', 'send', 'build2', `bench message ${n}`], what: 'buildctl msg send build2 <text>' },
      { name: 'claim', kind: 'claim', args: () => ['job', 'claim'], what: 'buildctl job claim' },
    ];
    const rows: RatioRow[] = [];
    for (const op of ops) {
      progress(`vs-script ${op.name}: ${options.warmup} warm-up + ${options.runs} runs, interleaved with the reference script (load ${load()})`);
      const measured: number[] = [];
      const references: number[] = [];
      for (let n = 0; n < options.warmup + options.runs; n++) {
        const ours = async () => (await measureCli(fleet, op.args(n), op.kind === 'claim' ? claimant(fleet, n) : 'build1')).ms;
        const theirs = async () => {
          const start = performance.now();
          await reference.run(op.kind, op.kind === 'status' ? (n % 2 === 0 ? 'building' : 'idle') : `reference ${n}`);
          return performance.now() - start;
        };
        const [a, b] = n % 2 === 0 ? [await ours(), await theirs()] : [await theirs(), await ours()].reverse() as [number, number];
        if (n < options.warmup) continue;
        measured.push(a);
        references.push(b);
      }
      rows.push(ratioRow(`${op.name}-vs-script`, `${op.what} (20 builders, 100 messages and jobs)`, 'the older scripts\' way: jq, git add, commit, pull --rebase, push (sh)', 0.8, measured, references));
    }
    return rows;
  } finally {
    fleet.cleanup();
  }
};

/** Send and claim on 10,000 live entries against 100, interleaved; memory against node -e 0. */
export const runEntries = async (options: ScaleOptions): Promise<RatioRow[]> => {
  const small = await makeScaledFleet({ builders: 20, live: 100, history: 100, archived: 0 });
  const big = await makeScaledFleet({ builders: 20, live: 10_000, history: 100, archived: 0 });
  try {
    const rows: RatioRow[] = [];
    for (const op of [
      { name: 'send-10k', args: (n: number) => ['msg', 'send', 'build2', `bench message ${n}`], doc: 'messages' as const, what: 'buildctl msg send on 10,000 live messages' },
      { name: 'claim-10k', args: () => ['job', 'claim'], doc: 'jobs' as const, what: 'buildctl job claim on 10,000 live jobs' },
    ]) {
      progress(`entries ${op.name}: ${options.warmup} warm-up + ${options.runs} runs, 10,000 against 100 live entries, interleaved (load ${load()})`);
      const measured: number[] = [];
      const references: number[] = [];
      const rss: number[] = [];
      const nodeRss: number[] = [];
      for (let n = 0; n < options.warmup + options.runs; n++) {
        const first = n % 2 === 0 ? big : small;
        const second = first === big ? small : big;
        const as = (fleet: ScaledFleet) => (op.doc === 'jobs' ? claimant(fleet, n) : 'build1');
        const a = await measureCli(first, op.args(n), as(first));
        const b = await measureCli(second, op.args(n), as(second));
        const node = await measureNodeStart(big.root);
        if (n < options.warmup) continue;
        const [onBig, onSmall] = first === big ? [a, b] : [b, a];
        measured.push(onBig.ms);
        references.push(onSmall.ms);
        rss.push(onBig.rssMb);
        nodeRss.push(node.rssMb);
      }
      const docMb = round1(big.bytes[op.doc] / 2 ** 20);
      rows.push(ratioRow(op.name, `${op.what} (${docMb} MB)`, 'the same on 100 live entries', 1.5, measured, references, { rss_mb: Math.max(...rss), rss_target_mb: round1(2 * median(nodeRss) + docMb) }));
    }
    return rows;
  } finally {
    small.cleanup();
    big.cleanup();
  }
};

export interface BeatCost {
  row: RatioRow;
  objects_per_beat_max: number;
  bytes_per_beat_mean: number;
  remote_objects_per_beat_max: number;
  pass: boolean;
}

/** Loose object files of a repository, by path, with their sizes. */
const looseObjects = (objectsDir: string): Map<string, number> => {
  const run = spawnSync('find', [objectsDir, '-type', 'f', '-path', '*/objects/??/*', '-printf', '%P %s\\n'], { encoding: 'utf8' });
  return new Map(run.stdout.split('\n').filter(Boolean).map((line) => [line.split(' ')[0]!, Number(line.split(' ')[1])]));
};

/** `buildctl heartbeat` against node -e 0, and what each beat adds on disk. */
export const runBeat = async (options: ScaleOptions): Promise<BeatCost> => {
  const fleet = await makeScaledFleet({ builders: 20, live: 100, history: 100, archived: 0 });
  try {
    progress(`beat: ${options.warmup} warm-up + ${options.runs} runs against node -e 0 (load ${load()})`);
    const measured: number[] = [];
    const references: number[] = [];
    const objects: number[] = [];
    const remoteObjects: number[] = [];
    const bytes: number[] = [];
    for (let n = 0; n < options.warmup + options.runs; n++) {
      const before = looseObjects(join(fleet.actor, '.git', 'objects'));
      const remoteBefore = looseObjects(join(fleet.remote, 'objects'));
      const [beat, node] = n % 2 === 0 ? [await measureCli(fleet, ['heartbeat']), await measureNodeStart(fleet.root)] : [await measureNodeStart(fleet.root), await measureCli(fleet, ['heartbeat'])].reverse() as [Measured, Measured];
      const added = [...looseObjects(join(fleet.actor, '.git', 'objects'))].filter(([path]) => !before.has(path));
      if (n < options.warmup) continue;
      measured.push(beat.ms);
      references.push(node.ms);
      objects.push(added.length);
      bytes.push(added.reduce((sum, [, size]) => sum + size, 0));
      remoteObjects.push([...looseObjects(join(fleet.remote, 'objects')).keys()].filter((path) => !remoteBefore.has(path)).length);
    }
    const row = ratioRow('beat', 'buildctl heartbeat (a 20-builder store)', 'node -e 0', 2.5, measured, references);
    const result = { row, objects_per_beat_max: Math.max(...objects), bytes_per_beat_mean: Math.round(bytes.reduce((a, b) => a + b, 0) / bytes.length), remote_objects_per_beat_max: Math.max(...remoteObjects), pass: false };
    result.pass = row.pass && result.objects_per_beat_max <= 2 && result.remote_objects_per_beat_max <= 2 && result.bytes_per_beat_mean <= 4096;
    return result;
  } finally {
    fleet.cleanup();
  }
};

/** status of a 200-builder fleet against node -e 0; an idle agent tick on the big store. */
export const runBigFleet = async (options: ScaleOptions, what: Set<string>): Promise<{ status?: RatioRow; tick?: { median_ms: number; max_rss_mb: number; target_ms: number; pass: boolean; load: string; samples: number[] } }> => {
  const out: Awaited<ReturnType<typeof runBigFleet>> = {};
  // Each row on its own store: status of 200 builders with 1,000 live entries, the idle tick
  // on the big store (10,000), whichever rows run together.
  if (what.has('status-200')) {
    const fleet = await makeScaledFleet({ builders: 200, live: 1000, history: 100, archived: 0 });
    try {
      progress(`status-200: ${options.warmup} warm-up + ${options.runs} runs against node -e 0 (load ${load()})`);
      const measured: number[] = [];
      const references: number[] = [];
      for (let n = 0; n < options.warmup + options.runs; n++) {
        // Every builder beats between two views, as in a fleet: the view reads 200 new beats.
        await beatOthers(fleet, new Date());
        await git(fleet.actor, ['fetch', '--quiet', fleet.remote, '+refs/heads/heartbeat/*:refs/remotes/origin/heartbeat/*']);
        const [view, node] = n % 2 === 0 ? [await measureCli(fleet, ['status', '--no-fetch', '--json']), await measureNodeStart(fleet.root)] : [await measureNodeStart(fleet.root), await measureCli(fleet, ['status', '--no-fetch', '--json'])].reverse() as [Measured, Measured];
        if (n < options.warmup) continue;
        measured.push(view.ms);
        references.push(node.ms);
      }
      out.status = ratioRow('status-200', 'buildctl status --no-fetch --json, 200 builders all beating, 1,000 live messages and jobs', 'node -e 0', 2.5, measured, references);
    } finally {
      fleet.cleanup();
    }
  }
  if (what.has('idle-tick')) {
    const fleet = await makeScaledFleet({ builders: 200, live: 10_000, history: 100, archived: 0 });
    try {
      progress(`idle-tick: ${options.warmup} warm-up + ${options.runs} ticks with nothing to do, 200 builders, 10,000 live messages and jobs (load ${load()})`);
      const times: number[] = [];
      const rss: number[] = [];
      for (let n = 0; n < options.warmup + options.runs; n++) {
        await beatOthers(fleet, new Date());
        const run = await measureCli(fleet, ['agent', '--once']);
        const line = JSON.parse(run.stderr.trim().split('\n').at(-1) ?? '{}') as { housekeeping?: { changed?: boolean } };
        if (n >= options.warmup && line.housekeeping?.changed) progress('  idle-tick: housekeeping changed something: the tick was not idle');
        if (n < options.warmup) continue;
        times.push(run.ms);
        rss.push(run.rssMb);
      }
      out.tick = { median_ms: round1(median(times)), max_rss_mb: Math.max(...rss), target_ms: 400, pass: median(times) <= 400, load: load(), samples: times.map(round1) };
    } finally {
      fleet.cleanup();
    }
  }
  return out;
};

export interface MaintenanceRow {
  store: string;
  pass_ms: number;
  dropped: number;
  send_alone_ms: number;
  send_during_ms: number;
  delay_ms: number;
  pass: boolean;
  load: string;
}

/** A maintenance pass with a due journal, on a small store and on one with long history and archives. */
export const runMaintenance = async (options: ScaleOptions): Promise<MaintenanceRow[]> => {
  const rows: MaintenanceRow[] = [];
  for (const scale of [
    { builders: 20, live: 100, history: 100, archived: 0 },
    { builders: 20, live: 1000, history: 10_000, archived: 100_000 },
  ]) {
    const fleet = await makeScaledFleet(scale);
    try {
      const label = `${scale.history.toLocaleString('en')} commits, ${scale.archived.toLocaleString('en')} archived`;
      progress(`maintenance: ${label} (load ${load()})`);
      const passes: number[] = [];
      const dropped: number[] = [];
      const alone: number[] = [];
      const during: number[] = [];
      for (let n = 0; n < options.warmup + options.runs; n++) {
        // A minute of the fleet: every builder beats, the clone fetches (journaling 19 replaced
        // beats) and beats itself, its journal made due.
        await beatOthers(fleet, new Date());
        await fetchAll(storeAt(fleet.actor));
        await heartbeat(testContext(fleet.actor, 'build1'));
        const due = new Date(Date.now() + REPLACED_GRACE_MS + 60_000);
        const sendAlone = await measureCli(fleet, ['msg', 'send', 'build2', `alone ${n}`]);
        // The pass and a send started with it.
        const passStart = performance.now();
        const [report, send] = await Promise.all([dropReplacedHeartbeats(storeAt(fleet.actor), { now: due }), measureCli(fleet, ['msg', 'send', 'build2', `during ${n}`])]);
        const passMs = report.duration_ms || performance.now() - passStart;
        if (n < options.warmup) continue;
        passes.push(passMs);
        dropped.push(report.dropped);
        alone.push(sendAlone.ms);
        during.push(send.ms);
      }
      const delay = median(during) - median(alone);
      rows.push({ store: label, pass_ms: round1(median(passes)), dropped: Math.round(median(dropped)), send_alone_ms: round1(median(alone)), send_during_ms: round1(median(during)), delay_ms: round1(delay), pass: Math.max(...passes) <= 1000 && delay <= 1000, load: load() });
    } finally {
      fleet.cleanup();
    }
  }
  return rows;
};

export interface ProcsRow {
  processes: number;
  sends_each: number;
  ops_per_s: number;
  reference_ops_per_s: number;
  rate_ratio: number;
  retries_max: number;
  retries_mean: number;
  reference_retries_max: number;
  failed: number;
  reference_failed: number;
  lost: number;
  pass: boolean;
  load: string;
}

const SEND_LOOP = `#!/bin/sh
# One builder sending as fast as it can: one buildctl process after another.
# usage: send-loop.sh <node> <cli> <store> <id> <to> <count>
i=0
failed=0
while [ $i -lt "$6" ]; do
  "$1" "$2" --store "$3" --as "$4" msg send "$5" "procs $4 $i" > /dev/null 2>> "$3.errors" || failed=$((failed + 1))
  i=$((i + 1))
done
echo "$failed"
`;

const WRITER_LOOP = `#!/bin/sh
# One plain-git writer appending to one JSON file as fast as it can: fetch, reset, jq, add,
# commit, push; on a rejected push, a random backoff and again. Prints its retries per op.
# usage: writer-loop.sh <clone> <writer> <count>
cd "$1"
i=0
while [ $i -lt "$3" ]; do
  attempt=0
  while :; do
    attempt=$((attempt + 1))
    git fetch -q --no-tags origin +refs/heads/main:refs/remotes/origin/main
    git reset -q --hard origin/main
    [ -f bench/procs.json ] || { mkdir -p bench; echo '{"messages": []}' > bench/procs.json; }
    jq --arg w "$2" --arg n "$i" '.messages += [{writer: $w, n: $n}]' bench/procs.json > bench/procs.json.tmp
    mv bench/procs.json.tmp bench/procs.json
    git add bench/procs.json
    git commit -q -m "append $2 $i"
    if git push -q origin HEAD:main 2> /dev/null; then break; fi
    if [ $attempt -ge 25 ]; then echo failed; break; fi
    sleep "0.$(awk -v a=$attempt 'BEGIN { srand(); m = 20 * 2 ^ (a < 6 ? a - 1 : 5); printf "%03d", rand() * m }')"
  done
  echo "retries $((attempt - 1))"
  i=$((i + 1))
done
`;

/** 8 builders as separate processes sending as fast as they can, against 8 plain-git writers. */
export const runProcs = async (options: ScaleOptions): Promise<ProcsRow> => {
  const processes = 8;
  const count = options.sendsPerProcess;
  const fleet = await makeScaledFleet({ builders: processes, live: 100, history: 100, archived: 0 });
  try {
    const clones = [fleet.actor];
    for (let i = 2; i <= processes; i++) {
      const dir = join(fleet.root, `build${i}`, 'store');
      await initStore(testContext(dir), { remote: fleet.remote, builders: [] });
      clones.push(dir);
    }
    writeFileSync(join(fleet.root, 'send-loop.sh'), SEND_LOOP, { mode: 0o755 });
    writeFileSync(join(fleet.root, 'writer-loop.sh'), WRITER_LOOP, { mode: 0o755 });
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: fleet.root, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', BUILDCTL_ID_FILE: join(fleet.root, 'no-id') };
    const sh = (args: string[]) =>
      new Promise<string>((done, fail) => {
        const child = spawn('sh', args, { cwd: fleet.root, env, stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.on('error', fail);
        child.on('close', () => done(out));
      });
    // Writers of the plain-git reference: clones of a remote of their own.
    const refRemote = join(fleet.root, 'writers.git');
    await git(fleet.root, ['init', '-q', '--bare', '-b', 'main', refRemote]);
    const writers: string[] = [];
    for (let i = 0; i < processes; i++) {
      const dir = join(fleet.root, 'writers', `w${i}`);
      if (i === 0) {
        await git(fleet.root, ['clone', '-q', fleet.remote, dir]);
        await git(dir, ['push', '-q', refRemote, 'HEAD:main']);
        await git(dir, ['remote', 'set-url', 'origin', refRemote]);
      } else {
        await git(fleet.root, ['clone', '-q', refRemote, dir]);
      }
      await git(dir, ['config', 'user.name', `writer${i}`]);
      await git(dir, ['config', 'user.email', `writer${i}@bench.invalid`]);
      writers.push(dir);
    }
    progress(`procs: ${processes} builders x ${count} sends as separate processes, then ${processes} plain-git writers (load ${load()})`);
    const since = (await git(fleet.remote, ['rev-parse', 'main'])).stdout.trim();
    let start = performance.now();
    const failed = (await Promise.all(clones.map((store, i) => sh([join(fleet.root, 'send-loop.sh'), process.execPath, cli, store, `build${i + 1}`, `build${((i + 1) % processes) + 1}`, String(count)])))).reduce((sum, out) => sum + Number(out.trim() || 0), 0);
    const seconds = (performance.now() - start) / 1000;
    // Attempts per op: every attempt is a commit with the op id, left in the clone that made it.
    const { stdout: landedLog } = await git(fleet.remote, ['log', '--format=%(trailers:key=Buildctl-Op-Id,valueonly,separator=)', `${since}..main`]);
    const landed = new Set(landedLog.split('\n').map((l) => l.trim()).filter(Boolean));
    const attempts = new Map<string, number>();
    for (const dir of clones) {
      const objects = spawnSync('git', ['cat-file', '--batch-all-objects', '--batch-check=%(objectname) %(objecttype)'], { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 28 }).stdout;
      const commits = objects.split('\n').filter((l) => l.endsWith(' commit')).map((l) => l.split(' ')[0]!);
      const bodies = spawnSync('git', ['cat-file', '--batch'], { cwd: dir, input: `${commits.join('\n')}\n`, encoding: 'utf8', maxBuffer: 1 << 28 }).stdout;
      for (const match of bodies.matchAll(/Buildctl-Op: msg\.send\nBuildctl-Actor: \S+\nBuildctl-Op-Id: (\S+)/g)) {
        if (landed.has(match[1]!)) attempts.set(match[1]!, (attempts.get(match[1]!) ?? 0) + 1);
      }
    }
    const retries = [...attempts.values()].map((a) => a - 1);
    const messages = JSON.parse((await git(fleet.remote, ['show', 'main:coordination/messages.json'])).stdout) as { messages: Array<{ body: string }> };
    const bodies = new Set(messages.messages.map((m) => m.body));
    let lost = 0;
    for (let i = 1; i <= processes; i++) for (let j = 0; j < count; j++) if (!bodies.has(`procs build${i} ${j}`)) lost++;
    lost -= failed; // a send that failed (exit 3) was told so: not lost

    start = performance.now();
    const outs = await Promise.all(writers.map((dir, i) => sh([join(fleet.root, 'writer-loop.sh'), dir, `w${i}`, String(count)])));
    const refSeconds = (performance.now() - start) / 1000;
    const refRetries = outs.flatMap((out) => [...out.matchAll(/retries (\d+)/g)].map((m) => Number(m[1])));
    const refFailed = outs.reduce((sum, out) => sum + (out.match(/failed/g) ?? []).length, 0);
    const ops = processes * count - failed;
    const refOps = processes * count - refFailed;
    const row: ProcsRow = {
      processes,
      sends_each: count,
      ops_per_s: round2(ops / seconds),
      reference_ops_per_s: round2(refOps / refSeconds),
      rate_ratio: round2(ops / seconds / (refOps / refSeconds)),
      retries_max: Math.max(0, ...retries),
      retries_mean: round2(retries.reduce((a, b) => a + b, 0) / Math.max(1, retries.length)),
      reference_retries_max: Math.max(0, ...refRetries),
      failed,
      reference_failed: refFailed,
      lost,
      pass: false,
      load: load(),
    };
    row.pass = row.rate_ratio >= 1 && row.retries_max <= 10 && failed === 0 && lost === 0;
    return row;
  } finally {
    fleet.cleanup();
  }
};

export interface Day200 {
  builders: number;
  minutes: number;
  clone_mb_max: number;
  clone_mb_end: number;
  remote_mb_end: number;
  tick_ms_median: number;
  main_commits_added: number;
  target_mb: number;
  pass: boolean;
  load: string;
}

/** A simulated day of a 200-builder fleet, as seen from one builder's clone. */
export const runDay200 = async (options: ScaleOptions): Promise<Day200> => {
  const fleet = await makeScaledFleet({ builders: 200, live: 100, history: 100, archived: 0 });
  try {
    progress(`day200: ${options.dayMinutes} simulated minutes, 200 builders (load ${load()})`);
    let now = Date.now();
    const ctx = testContext(fleet.actor, 'build1', { now: () => new Date(now) });
    const mainBefore = Number((await git(fleet.remote, ['rev-list', '--count', 'main'])).stdout.trim());
    // The other builders' agents drop their own replaced beats from the (local) remote once
    // the grace period is over, as the clone's own maintenance does.
    const replaced: Array<{ at: number; shas: string[] }> = [];
    let cloneMax = 0;
    const ticks: number[] = [];
    for (let minute = 0; minute < options.dayMinutes; minute++) {
      now += 60_000;
      const before = await beatOthers(fleet, new Date(now));
      replaced.push({ at: now, shas: [...before.values()] });
      while (replaced.length > 0 && replaced[0]!.at <= now - REPLACED_GRACE_MS) await dropFromRepository(fleet.remote, replaced.shift()!.shas);
      const start = performance.now();
      await tick(ctx);
      ticks.push(performance.now() - start);
      if (minute % 30 === 0 || minute === options.dayMinutes - 1) cloneMax = Math.max(cloneMax, await dirBytes(join(fleet.actor, '.git')));
      if (minute % 120 === 0) progress(`  day200: minute ${minute}, clone .git ${mb(await dirBytes(join(fleet.actor, '.git')))} MB, median tick ${round1(median(ticks))} ms`);
    }
    const cloneEnd = await dirBytes(join(fleet.actor, '.git'));
    const result: Day200 = {
      builders: 200,
      minutes: options.dayMinutes,
      clone_mb_max: mb(Math.max(cloneMax, cloneEnd)),
      clone_mb_end: mb(cloneEnd),
      remote_mb_end: mb(await dirBytes(fleet.remote)),
      tick_ms_median: round1(median(ticks)),
      main_commits_added: Number((await git(fleet.remote, ['rev-list', '--count', 'main'])).stdout.trim()) - mainBefore,
      target_mb: 50,
      pass: false,
      load: load(),
    };
    result.pass = result.clone_mb_max < 50 && options.dayMinutes >= 1440;
    return result;
  } finally {
    fleet.cleanup();
  }
};

export interface TableRow {
  scale: Scale;
  ms: Record<string, number>;
  rss_mb: Record<string, number>;
  load: string;
}

export const TABLE_SCALES: Scale[] = [
  { builders: 20, live: 1000, history: 100, archived: 0 },
  { builders: 200, live: 1000, history: 100, archived: 0 },
  { builders: 20, live: 10_000, history: 100, archived: 0 },
  { builders: 20, live: 1000, history: 10_000, archived: 0 },
  { builders: 20, live: 1000, history: 100, archived: 100_000 },
  { builders: 200, live: 10_000, history: 10_000, archived: 100_000 },
];

/** The scaling table: each operation's median time and max RSS at each scale. */
export const runTable = async (options: ScaleOptions): Promise<TableRow[]> => {
  const rows: TableRow[] = [];
  for (const scale of TABLE_SCALES) {
    const fleet = await makeScaledFleet(scale);
    try {
      progress(`table: ${scale.builders} builders, ${scale.live} live, ${scale.history} history, ${scale.archived} archived (load ${load()})`);
      const ops: Array<[string, (n: number) => string[]]> = [
        ['status', () => ['status', '--json']],
        ['send', (n) => ['msg', 'send', 'build2', `table ${n}`]],
        ['claim', () => ['job', 'claim']],
        ['heartbeat', () => ['heartbeat']],
        ['tick', () => ['agent', '--once']],
      ];
      const ms: Record<string, number> = {};
      const rss: Record<string, number> = {};
      const node: number[] = [];
      const nodeRss: number[] = [];
      for (const [name, args] of ops) {
        const times: number[] = [];
        const peaks: number[] = [];
        for (let n = 0; n < options.warmup + options.runs; n++) {
          // A minute of the fleet between two runs: every builder has beaten again.
          await beatOthers(fleet, new Date());
          const run = await measureCli(fleet, args(n), name === 'claim' ? claimant(fleet, n) : 'build1');
          if (n < options.warmup) continue;
          times.push(run.ms);
          peaks.push(run.rssMb);
        }
        ms[name] = round1(median(times));
        rss[name] = Math.max(...peaks);
      }
      for (let n = 0; n < options.runs; n++) {
        const run = await measureNodeStart(fleet.root);
        node.push(run.ms);
        nodeRss.push(run.rssMb);
      }
      ms['node -e 0'] = round1(median(node));
      rss['node -e 0'] = Math.max(...nodeRss);
      rows.push({ scale, ms, rss_mb: rss, load: load() });
    } finally {
      fleet.cleanup();
    }
  }
  return rows;
};

export const renderRatioRows = (rows: readonly RatioRow[]): string =>
  renderTable(
    ['bench', 'measured ms', 'reference ms', 'ratio', 'target', 'max RSS MB', 'load', 'result'],
    rows.map((r) => [r.name, r.measured_ms.toFixed(1), r.reference_ms.toFixed(1), `${r.ratio.toFixed(2)}x`, `<= ${r.target}x`, r.rss_mb === undefined ? '' : `${r.rss_mb}${r.rss_target_mb === undefined ? '' : ` (<= ${r.rss_target_mb})`}`, r.load, r.pass ? 'PASS' : 'FAIL']),
  );

export const renderTableRows = (rows: readonly TableRow[]): string =>
  renderTable(
    ['builders', 'live', 'history', 'archived', 'status', 'send', 'claim', 'heartbeat', 'tick', 'node -e 0', 'load'],
    rows.map((r) => [
      String(r.scale.builders),
      r.scale.live.toLocaleString('en'),
      r.scale.history.toLocaleString('en'),
      r.scale.archived.toLocaleString('en'),
      ...['status', 'send', 'claim', 'heartbeat', 'tick', 'node -e 0'].map((op) => `${(r.ms[op] ?? NaN).toFixed(0)} ms / ${(r.rss_mb[op] ?? NaN).toFixed(0)} MB`),
      r.load,
    ]),
  );

