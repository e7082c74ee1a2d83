import { InvalidArgumentError, type Command } from 'commander';
import type { Job } from '../../schemas/jobs.js';
import { buildContext, collect, printJson, table, type Runtime } from '../runtime.js';

const jobLine = (job: Job): string =>
  `${job.id} ${job.status}${job.assigned_to ? ` on ${job.assigned_to}` : ''}: ${job.type}, priority ${job.priority}${job.description ? `, ${job.description}` : ''}`;

const renderJob = (job: Job): string =>
  Object.entries(job)
    .filter(([, value]) => value !== null && value !== undefined && !(Array.isArray(value) && value.length === 0))
    .map(([key, value]) => `${`${key}:`.padEnd(14)}${typeof value === 'object' ? JSON.stringify(value) : String(value)}`)
    .join('\n');

const integer = (what: string) => (text: string): number => {
  if (!/^-?\d+$/.test(text.trim())) throw new InvalidArgumentError(`${what} must be a whole number`);
  return Number(text);
};

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
    .option('--key <key>', 'dedupe key: while a job with this key is queued or running, add returns it')
    .option('--max-attempts <n>', 'how often it may be requeued after its builder died (default: job_max_attempts)', integer('max attempts'))
    .option('--run-after <time>', 'not before this ISO time (e.g. 2026-11-27T22:00:00Z)')
    .option('--timeout <duration>', 'fail it when running longer than this, e.g. 2h')
    .option('--json', 'print the whole job as JSON')
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
        key: options.key as string | undefined,
        maxAttempts: options.maxAttempts as number | undefined,
        runAfter: options.runAfter as string | undefined,
        timeout: options.timeout as string | undefined,
      });
      if (options.json) return printJson(runtime, { ...result.job, queued: result.queued });
      runtime.out(result.job.id);
      if (result.outcome === 'existing') runtime.err(`buildctl: a live job with key ${result.job.key} exists: ${jobLine(result.job)}`);
    });

  job
    .command('list')
    .description('list jobs, in the order they were added')
    .option('--status <status>', 'only queued, running, completed, failed, cancelled or dead')
    .option('--no-fetch', 'use the last fetched state')
    .option('--json', 'print as JSON')
    .action(async (options: { status?: string; fetch: boolean; json?: boolean }, command: Command) => {
      const { listJobsOp } = await import('../../ops/jobs.js');
      const jobs = await listJobsOp(buildContext(runtime, command), options);
      if (options.json) return printJson(runtime, jobs);
      if (jobs.length === 0) return runtime.out(options.status ? `no ${options.status} jobs` : 'no jobs');
      runtime.out(
        table(
          ['ID', 'TYPE', 'PRI', 'STATUS', 'ON', 'FOR', 'CREATED'],
          jobs.map((j) => [j.id, j.type, String(j.priority), j.status, j.assigned_to ?? '-', j.target ?? (j.labels.join(',') || 'any'), j.created_at]),
        ),
      );
    });

  job
    .command('show')
    .description('one job in full')
    .argument('<id>', 'job id')
    .option('--no-fetch', 'use the last fetched state')
    .option('--json', 'print as JSON')
    .action(async (id: string, options: { fetch: boolean; json?: boolean }, command: Command) => {
      const { showJobOp } = await import('../../ops/jobs.js');
      const found = await showJobOp(buildContext(runtime, command), id, options);
      if (options.json) return printJson(runtime, found);
      runtime.out(renderJob(found));
    });

  job
    .command('claim')
    .description('take the most urgent job this builder may run (exit 3 when there is none)')
    .option('--type <type>', 'only jobs of this type')
    .option('--json', 'print the job as JSON')
    .action(async (options: { type?: string; json?: boolean }, command: Command) => {
      const { claimJobOp } = await import('../../ops/jobs.js');
      const { job: claimed } = await claimJobOp(buildContext(runtime, command), { type: options.type });
      if (options.json) return printJson(runtime, claimed);
      runtime.out(jobLine(claimed));
    });

  const finish = (name: 'complete' | 'fail' | 'cancel' | 'retry', description: string) =>
    job.command(name).description(description).argument('<id>', 'job id').option('--json', 'print the job as JSON');

  finish('complete', 'mark a running job completed (its assignee, or anyone with --force)')
    .option('--artifact <path>', 'an artifact it produced (repeatable)', collect)
    .option('--force', 'finish a job assigned to another builder (operators)')
    .action(async (id: string, options: { artifact?: string[]; force?: boolean; json?: boolean }, command: Command) => {
      const { finishJobOp } = await import('../../ops/jobs.js');
      const result = await finishJobOp(buildContext(runtime, command), 'complete', { id, artifacts: options.artifact, force: options.force });
      options.json ? printJson(runtime, { ...result.job, queued: result.queued }) : runtime.out(jobLine(result.job));
    });

  finish('fail', 'mark a running job failed, with the reason')
    .requiredOption('--reason <text>', 'why it failed')
    .option('--force', 'fail a job assigned to another builder (operators)')
    .action(async (id: string, options: { reason: string; force?: boolean; json?: boolean }, command: Command) => {
      const { finishJobOp } = await import('../../ops/jobs.js');
      const result = await finishJobOp(buildContext(runtime, command), 'fail', { id, reason: options.reason, force: options.force });
      options.json ? printJson(runtime, { ...result.job, queued: result.queued }) : runtime.out(jobLine(result.job));
    });

  finish('cancel', 'withdraw a queued or running job')
    .option('--reason <text>', 'why')
    .action(async (id: string, options: { reason?: string; json?: boolean }, command: Command) => {
      const { finishJobOp } = await import('../../ops/jobs.js');
      const result = await finishJobOp(buildContext(runtime, command), 'cancel', { id, reason: options.reason });
      options.json ? printJson(runtime, { ...result.job, queued: result.queued }) : runtime.out(jobLine(result.job));
    });

  finish('retry', 'queue a failed, cancelled or dead job again')
    .action(async (id: string, options: { json?: boolean }, command: Command) => {
      const { finishJobOp } = await import('../../ops/jobs.js');
      const result = await finishJobOp(buildContext(runtime, command), 'retry', { id });
      options.json ? printJson(runtime, { ...result.job, queued: result.queued }) : runtime.out(jobLine(result.job));
    });
};
