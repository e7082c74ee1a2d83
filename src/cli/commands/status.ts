import type { Command } from 'commander';
import type { FleetStatus } from '../../ops/status.js';
import { buildContext, printJson, table, type Runtime } from '../runtime.js';

const age = (seconds: number | null): string => {
  if (seconds === null) return '-';
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
};

const freshnessLine = (status: FleetStatus): string => {
  if (status.fetched) return 'fetched just now';
  const last = status.last_fetch_at;
  const since = last ? `last fetched ${age(Math.round((Date.parse(status.generated_at) - Date.parse(last)) / 1000))} ago (${last})` : 'never fetched';
  return status.fetch_error ? `REMOTE UNREACHABLE, showing the last known state: ${since}` : `not fetched: ${since}`;
};

export const renderStatus = (status: FleetStatus): string => {
  const lines: string[] = [];
  const h = status.health;
  lines.push(`Fleet: ${status.builders.length} builders (${h.healthy} healthy, ${h.stale} stale, ${h.dead} dead, ${h.unknown} unknown); ${freshnessLine(status)}`);
  if (status.builders.length === 0) {
    lines.push('no builders registered (add one with: buildctl builder add ID)');
  } else {
    lines.push(
      table(
        ['BUILDER', 'HEALTH', 'STATE', 'JOB', 'BEAT', 'CPU', 'MEM', 'DISK FREE'],
        status.builders.map((b) => [
          b.enabled ? b.id : `${b.id} (disabled)`,
          b.health,
          b.state ?? '-',
          b.current_job ?? '-',
          age(b.heartbeat_age_seconds),
          b.system ? `${Math.round(b.system.cpu_pct)}%` : '-',
          b.system ? `${(b.system.memory_used_mb / 1000).toFixed(1)}/${(b.system.memory_total_mb / 1000).toFixed(1)} GB` : '-',
          b.system ? `${b.system.disk_free_gb} GB` : '-',
        ]),
      ),
    );
  }
  const q = status.queue;
  lines.push(`Jobs: ${q.queued} queued, ${q.running} running, ${q.completed} completed, ${q.failed} failed, ${q.cancelled} cancelled, ${q.dead} dead`);
  const held = status.locks.filter((l) => !l.expired);
  lines.push(held.length === 0 ? 'Locks: none held' : `Locks: ${held.map((l) => `${l.name} (${l.owner}, token ${l.token}, ${age(l.seconds_left)} left)`).join(', ')}`);
  if (status.outbox.queued > 0) lines.push(`Outbox: ${status.outbox.queued} operation${status.outbox.queued === 1 ? '' : 's'} queued, delivered by the next successful command (buildctl outbox list)`);
  if (status.mail) lines.push(`Mail for ${status.mail.builder}: ${status.mail.unread} unread, ${status.mail.awaiting_ack} awaiting your ack`);
  for (const p of status.problems) lines.push(`INVALID ${p.file}${p.path ? `: ${p.path}` : ''}: ${p.reason} (run buildctl validate)`);
  return lines.join('\n');
};

export const registerStatus = (program: Command, runtime: Runtime): void => {
  const status = program
    .command('status')
    .description('fleet view: health, state, job, metrics, queue counts, held locks, my unread mail')
    .option('--no-fetch', 'show the last fetched state without contacting the remote (fast)')
    .option('--json', 'print as JSON')
    .action(async (options: { fetch: boolean; json?: boolean }, command: Command) => {
      const { fleetStatus } = await import('../../ops/status.js');
      const view = await fleetStatus(buildContext(runtime, command), { fetch: options.fetch });
      if (view.problems.length > 0) runtime.exitCode = 5;
      if (options.json) return printJson(runtime, view);
      runtime.out(renderStatus(view));
    });

  status
    .command('set')
    .description("set this builder's state")
    .argument('<state>', 'idle, building, failed or success')
    .option('--job <id>', 'the job it is building (building) or has finished (success, failed)')
    .option('--json', 'print the new status document as JSON')
    .action(async (state: string, options: { job?: string }, command: Command) => {
      const { setStatus } = await import('../../ops/status-set.js');
      const result = await setStatus(buildContext(runtime, command), { state, job: options.job });
      // `status` has --json too, and commander gives a flag after the subcommand to the parent.
      if (command.optsWithGlobals<{ json?: boolean }>().json) return printJson(runtime, result);
      const s = result.status;
      runtime.out(`${s.id} is ${s.state}${s.current_job ? ` (${s.current_job})` : ''}${result.changed ? '' : ': nothing changed'}`);
    });
};
