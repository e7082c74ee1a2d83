import { InvalidArgumentError, type Command } from 'commander';
import { formatAge, formatTime } from '../../domain/format.js';
import type { JobRunReport } from '../../ops/job-run.js';
import type { JobView } from '../../ops/jobs.js';
import type { Job } from '../../schemas/jobs.js';
import { jobChangeJson, jobsJson, jobViewJson, type Outcome } from '../output.js';
import { buildContext, collect, printJson, table, type Runtime } from '../runtime.js';

const jobLine = (job: Job): string =>
  `${job.id} ${job.status}${job.assigned_to ? ` on ${job.assigned_to}` : ''}: ${job.type}, priority ${job.priority}${job.description ? `, ${job.description}` : ''}`;

const took = (seconds: number): string => (seconds < 10 ? `${seconds.toFixed(1)}s` : formatAge(seconds * 1000));

const sizeOf = (bytes: number): string =>
  bytes < 1024 ? `${bytes} B` : bytes < 1024 ** 2 ? `${(bytes / 1024).toFixed(1)} KiB` : bytes < 1024 ** 3 ? `${(bytes / 1024 ** 2).toFixed(1)} MiB` : `${(bytes / 1024 ** 3).toFixed(2)} GiB`;

/** Fields shown by name in `job show`; anything else (a legacy field) is listed after them as it is. */
const SHOWN = new Set([
  'id', 'type', 'priority', 'status', 'assigned_to', 'branch', 'commit', 'description', 'target', 'labels', 'key', 'dependencies', 'blocked',
  'attempts', 'max_attempts', 'run_after', 'timeout', 'created_at', 'created_by', 'started_at', 'completed_at', 'result',
]);
const RESULT_SHOWN = new Set(['artifacts', 'duration_seconds', 'reason', 'outcome', 'exit_code', 'signal', 'log', 'log_tail']);

/** `job show` as a person reads it: what it is, where it stands, what it waits for, how it ended. */
export const renderJobView = (view: JobView): string => {
  const { job } = view;
  const lines: string[] = [];
  const field = (name: string, value: string | null | undefined) => {
    if (value !== null && value !== undefined && value !== '') lines.push(`${`${name}:`.padEnd(13)} ${value}`);
  };
  lines.push(`${job.id}  ${job.type}, priority ${job.priority}: ${job.status}${job.assigned_to ? ` on ${job.assigned_to}` : ''} (attempt ${job.attempts} of ${job.max_attempts})`);
  field('description', job.description);
  field('branch', job.branch);
  field('commit', job.commit);
  field('runs on', job.target ?? (job.labels.length > 0 ? `builders with ${job.labels.join(', ')}` : 'any builder'));
  field('after', job.dependencies?.join(', '));
  field('waits', view.waits);
  if (job.blocked) field('blocked since', formatTime(job.blocked.since));
  field('never runs', view.never_runs);
  field('key', job.key);
  field('run after', job.run_after ? formatTime(job.run_after) : null);
  field('timeout', job.timeout);
  field('created', `${formatTime(job.created_at)}${job.created_by ? ` by ${job.created_by}` : ''}`);
  field('started', job.started_at ? formatTime(job.started_at) : null);
  field('finished', job.completed_at ? formatTime(job.completed_at) : null);
  const result = job.result;
  if (result) {
    const how = [
      result.outcome,
      result.exit_code != null ? `exit code ${result.exit_code}` : undefined,
      result.signal ? `signal ${result.signal}` : undefined,
      result.duration_seconds !== undefined ? `after ${took(result.duration_seconds)}` : undefined,
    ].filter(Boolean);
    field('result', how.join(', '));
    field('reason', result.reason);
    for (const [key, value] of Object.entries(result)) if (!RESULT_SHOWN.has(key)) field(key.replace(/_/g, ' '), typeof value === 'string' ? value : JSON.stringify(value));
    field('log', result.log ? `${result.log}${job.assigned_to ? ` (on ${job.assigned_to})` : ''}` : undefined);
    if (result.artifacts?.length) {
      lines.push('artifacts:');
      for (const artifact of result.artifacts) {
        lines.push(typeof artifact === 'string' ? `  ${artifact}` : `  ${artifact.path}  ${sizeOf(artifact.size)}  sha256:${artifact.sha256}${artifact.url ? `  ${artifact.url}` : ''}`);
      }
    }
    if (result.log_tail?.length) {
      lines.push('last lines:');
      for (const line of result.log_tail) lines.push(`  | ${line}`);
    }
  }
  for (const [key, value] of Object.entries(job)) if (!SHOWN.has(key) && value !== null && value !== undefined) field(key, typeof value === 'string' ? value : JSON.stringify(value));
  field('archived in', view.archive);
  return lines.join('\n');
};

/** STATUS column of `job list`: a blocked job says so (`job show` says why). */
const statusCell = (job: Job): string => (job.blocked ? `${job.status}, blocked` : job.status);

const integer = (what: string) => (text: string): number => {
  if (!/^-?\d+$/.test(text.trim())) throw new InvalidArgumentError(`${what} must be a whole number`);
  return Number(text);
};

/** `--after a --after b` and the older scripts' `--after a,b` alike. */
const collectIds = (value: string, previous: string[] = []): string[] => [...previous, ...value.split(',').map((id) => id.trim()).filter((id) => id !== '')];

const printMutation = (runtime: Runtime, json: boolean | undefined, job: Job, outcome: Outcome): void =>
  json ? printJson(runtime, jobChangeJson({ job, ...outcome })) : runtime.out(jobLine(job));

/** Stderr line after job run: how the command ended, what the job became, where the log is. */
const runSummary = (report: JobRunReport): string => {
  const { run, job } = report;
  const ended =
    run.outcome === 'completed' ? 'completed'
    : run.outcome === 'lost_lease' ? `stopped: ${run.reason ?? 'lost its lease'}`
    : `${run.outcome}: ${run.reason ?? ''}`;
  return `buildctl: job ${job.id} ${ended}; job is ${job.status}${report.outcome.queued ? ' (queued in the outbox)' : ''}; exit ${report.exitCode}; log: ${run.log}`;
};

const RUN_HELP = `
The command runs with the job in its environment: BUILDCTL_JOB_ID, BUILDCTL_JOB_TYPE,
BUILDCTL_JOB_BRANCH, BUILDCTL_JOB_COMMIT, BUILDCTL_JOB_DESCRIPTION (empty when unset),
BUILDCTL_JOB_ATTEMPT and BUILDCTL_JOB_LOG. Its output is echoed and appended to
<store>.logs/jobs/<job id>.log; the last lines and the log's path go into the job's result.
While it runs, job run heartbeats for this builder (no agent needed) and looks at the job:
if the job is cancelled, failed or requeued by someone else, or the heartbeat cannot be
confirmed for dead_after minus a margin, the command is stopped (SIGTERM, then SIGKILL).
At the job's --timeout it is stopped too and the job fails as timed out.

Exit codes: before the command starts, buildctl's own (2 bad usage, 3 nothing to claim,
4 remote unreachable, ...). After: the command's code (the job completed on 0, failed
otherwise); 128 + N when signal N killed it (the job fails); 124 when it was stopped at
the job's timeout; 199 when job run lost the job's lease and stopped it (the job is
requeued, or left to whoever took it).

Example:
  buildctl job run --type build --wait 10m -- ./build.sh --release`;

export const registerJob = (program: Command, runtime: Runtime): void => {
  const job = program.command('job').description('the job queue (coordination/jobs.json)');

  job
    .command('add')
    .description('queue a job; prints its id (a live job with the same --key is returned instead)')
    .requiredOption('--type <type>', 'what to do, e.g. build, package, test')
    .option('--priority <n>', '1 (most urgent) to 100; default 5', integer('priority'))
    .option('--branch <branch>', 'branch to build')
    .option('--commit <sha>', 'commit to build')
    .option('--description <text>', 'what it is for')
    .option('--target <id>', 'only this builder may claim it')
    .option('--label <label>', 'only builders with this label may claim it (repeatable)', collect)
    .option('--after <id>', 'claim it only once this job is completed (repeatable, or comma-separated)', collectIds)
    .option('--key <key>', 'dedupe key: while a job with this key is queued or running, add returns it')
    .option('--max-attempts <n>', 'how often it may be requeued after its builder died (default: job_max_attempts)', integer('max attempts'))
    .option('--run-after <time>', 'not before this ISO time (e.g. 2026-11-27T22:00:00Z)')
    .option('--timeout <duration>', 'fail it when running longer than this, e.g. 2h')
    .option('--json', 'print { job, changed, queued, commit }')
    .action(async (options: Record<string, unknown> & { json?: boolean }, command: Command) => {
      const { addJobOp } = await import('../../ops/jobs.js');
      const result = await addJobOp(buildContext(runtime, command), {
        type: options.type as string,
        priority: options.priority as number | undefined,
        branch: options.branch as string | undefined,
        commit: options.commit as string | undefined,
        description: options.description as string | undefined,
        target: options.target as string | undefined,
        labels: options.label as string[] | undefined,
        after: options.after as string[] | undefined,
        key: options.key as string | undefined,
        maxAttempts: options.maxAttempts as number | undefined,
        runAfter: options.runAfter as string | undefined,
        timeout: options.timeout as string | undefined,
      });
      if (result.outcome === 'existing') runtime.err(`buildctl: a live job with key ${result.job.key} exists: ${jobLine(result.job)}`);
      if (options.json) return printJson(runtime, jobChangeJson(result));
      runtime.out(result.job.id);
    });

  job
    .command('list')
    .description('list jobs, in the order they were added (--archived: the archived ones)')
    .option('--status <status>', 'only queued, running, completed, failed, cancelled or dead')
    .option('--archived', 'list the jobs housekeeping archived (coordination/archive/jobs-YYYY-MM.json) instead')
    .option('--no-fetch', 'use the last fetched state')
    .option('--json', 'print { jobs: [...] }')
    .action(async (options: { status?: string; archived?: boolean; fetch: boolean; json?: boolean }, command: Command) => {
      const { listJobsOp } = await import('../../ops/jobs.js');
      const jobs = await listJobsOp(buildContext(runtime, command), options);
      if (options.json) return printJson(runtime, jobsJson(jobs));
      const what = `${options.status ? `${options.status} ` : ''}${options.archived ? 'archived ' : ''}jobs`;
      if (jobs.length === 0) return runtime.out(`no ${what}`);
      runtime.out(
        table(
          ['ID', 'TYPE', 'PRI', 'STATUS', 'ON', 'FOR', options.archived ? 'FINISHED' : 'CREATED'],
          jobs.map((j) => [
            j.id,
            j.type,
            String(j.priority),
            statusCell(j),
            j.assigned_to ?? '-',
            j.target ?? (j.labels.join(',') || 'any'),
            formatTime((options.archived ? j.completed_at : undefined) ?? j.created_at),
          ]),
        ),
      );
    });

  job
    .command('show')
    .description('one job in full: what it waits for, how it ended, its artifacts and log (archived jobs too)')
    .argument('<id>', 'job id')
    .option('--no-fetch', 'use the last fetched state')
    .option('--json', 'print { job, archive, waits, never_runs }')
    .action(async (id: string, options: { fetch: boolean; json?: boolean }, command: Command) => {
      const { showJobOp } = await import('../../ops/jobs.js');
      const view = await showJobOp(buildContext(runtime, command), id, options);
      if (options.json) return printJson(runtime, jobViewJson(view));
      runtime.out(renderJobView(view));
    });

  job
    .command('claim')
    .description('take the most urgent job this builder may run (exit 3 when there is none, after --wait)')
    .option('--type <type>', 'only jobs of this type')
    .option('--wait <duration>', 'keep looking this long (e.g. 10m) while nothing is eligible; a fetch per look, no commit')
    .option('--json', 'print { job, changed, queued, commit }')
    .addHelpText('after', `
Refused (exit 3, not retried by --wait) while this builder is already building a job
(already_building: finish it with job complete / job fail, or "status set idle" if it no
longer runs) and while it is disabled in the registry (builder_disabled). A job is not
eligible while its --after dependencies have not completed, when it targets another
builder, or when it needs labels this builder lacks.

Examples:
  buildctl job claim --type build --wait 10m
  id=$(buildctl job claim --json | jq -r .job.id)`)
    .action(async (options: { type?: string; wait?: string; json?: boolean }, command: Command) => {
      const { claimJobOp } = await import('../../ops/jobs.js');
      const claimed = await claimJobOp(buildContext(runtime, command), { type: options.type, wait: options.wait });
      printMutation(runtime, options.json, claimed.job, claimed);
    });

  job
    .command('run')
    .description('claim a job and run a command for it: the job in its environment, its output logged, its lease kept, completed or failed by the exit code')
    .argument('<command...>', 'the command and its arguments, after --')
    .option('--type <type>', 'only jobs of this type')
    .option('--wait <duration>', 'keep looking this long (e.g. 10m) while nothing is eligible')
    .option('--artifact <path>', 'a file the command must leave, described (size, sha256) when it exits 0 (repeatable)', collect)
    .option('--artifact-url <url>', 'where the n-th --artifact is published (repeatable)', collect)
    .option('--log-dir <dir>', 'where job logs go (default: <store>.logs/jobs beside the store)')
    .option('--json', "print { job, changed, queued, commit, run } (the command's output then goes to stderr)")
    .addHelpText('after', RUN_HELP)
    .action(async (commandLine: string[], options: { type?: string; wait?: string; artifact?: string[]; artifactUrl?: string[]; logDir?: string; json?: boolean }, command: Command) => {
      const { jobRun } = await import('../../ops/job-run.js');
      const [program_, ...args] = commandLine;
      const report = await jobRun(buildContext(runtime, command), {
        type: options.type,
        wait: options.wait,
        command: program_ ?? '',
        args,
        artifacts: options.artifact,
        artifactUrls: options.artifactUrl,
        logDir: options.logDir,
        env: runtime.env,
        stdout: options.json ? process.stderr : process.stdout,
        stderr: process.stderr,
      });
      runtime.err(runSummary(report));
      if (options.json) printJson(runtime, { ...jobChangeJson({ job: report.job, ...report.outcome }), run: report.run });
      runtime.exitCode = report.exitCode;
    });

  const finish = (name: 'complete' | 'fail' | 'cancel' | 'retry', description: string) =>
    job.command(name).description(description).argument('<id>', 'job id').option('--json', 'print { job, changed, queued, commit }');

  finish('complete', 'mark a running job completed (its assignee, or anyone with --force)')
    .option('--artifact <path>', 'a file it produced: its size and sha256 are recorded, never the file (repeatable)', collect)
    .option('--artifact-url <url>', 'where the n-th --artifact is published (repeatable)', collect)
    .option('--force', 'finish a job assigned to another builder (operators)')
    .action(async (id: string, options: { artifact?: string[]; artifactUrl?: string[]; force?: boolean; json?: boolean }, command: Command) => {
      const { finishJobOp } = await import('../../ops/jobs.js');
      const result = await finishJobOp(buildContext(runtime, command), 'complete', { id, artifacts: options.artifact, artifactUrls: options.artifactUrl, force: options.force });
      printMutation(runtime, options.json, result.job, result);
    });

  finish('fail', 'mark a running job failed; --reason is required')
    .requiredOption('--reason <text>', 'why it failed (required)')
    .option('--artifact <path>', 'a file it left (logs, core dump): described, never stored (repeatable)', collect)
    .option('--artifact-url <url>', 'where the n-th --artifact is published (repeatable)', collect)
    .option('--force', 'fail a job assigned to another builder (operators)')
    .action(async (id: string, options: { reason: string; artifact?: string[]; artifactUrl?: string[]; force?: boolean; json?: boolean }, command: Command) => {
      const { finishJobOp } = await import('../../ops/jobs.js');
      const result = await finishJobOp(buildContext(runtime, command), 'fail', { id, reason: options.reason, artifacts: options.artifact, artifactUrls: options.artifactUrl, force: options.force });
      printMutation(runtime, options.json, result.job, result);
    });

  finish('cancel', 'withdraw a queued or running job (a job run running it stops its command)')
    .option('--reason <text>', 'why')
    .action(async (id: string, options: { reason?: string; json?: boolean }, command: Command) => {
      const { finishJobOp } = await import('../../ops/jobs.js');
      const result = await finishJobOp(buildContext(runtime, command), 'cancel', { id, reason: options.reason });
      printMutation(runtime, options.json, result.job, result);
    });

  finish('retry', 'queue a failed, cancelled or dead job again (jobs it blocked wait for it again)')
    .action(async (id: string, options: { json?: boolean }, command: Command) => {
      const { finishJobOp } = await import('../../ops/jobs.js');
      const result = await finishJobOp(buildContext(runtime, command), 'retry', { id });
      printMutation(runtime, options.json, result.job, result);
    });
};
