import type { Command } from 'commander';
import { formatAge, formatTime, plural } from '../../domain/format.js';
import type { BuilderSignatures, FleetStatus } from '../../ops/status.js';
import { describeTaint } from '../../domain/trust.js';
import { IDENTITY_FILE_ON_MAIN } from '../../domain/identity.js';
import { fleetJson, statusChangeJson } from '../output.js';
import { buildContext, printJson, table, type Runtime } from '../runtime.js';
import { watchLoop } from '../watch.js';

const ageOf = (seconds: number | null): string => (seconds === null ? '-' : formatAge(seconds * 1000));

/** A clock offset as a signed age: +10m (ahead of this host), -1h (behind). */
const offsetText = (seconds: number): string => `${seconds < 0 ? '-' : '+'}${formatAge(Math.abs(seconds) * 1000)}`;

/** How old each part of the view is: main (every command fetches it) and the heartbeats (status, check and the agent do). */
const freshnessLine = (status: FleetStatus): string => {
  if (status.fetched) return 'fetched just now';
  const { main: mainAge, heartbeats: beatsAge } = status.fetch_age_seconds;
  const main = mainAge !== null && status.last_fetch_at ? `main last fetched ${ageOf(mainAge)} ago (${formatTime(status.last_fetch_at)})` : 'never fetched';
  const beats = beatsAge !== null ? `heartbeats ${ageOf(beatsAge)} ago${beatsAge - (mainAge ?? 0) > 1 ? ', health as of then' : ''}` : 'heartbeats never fetched';
  const since = mainAge !== null ? `${main}, ${beats}` : main;
  return status.fetch_error ? `REMOTE UNREACHABLE, showing the last known state: ${since}` : `not fetched: ${since}`;
};

/** verified, or what is not: "status FORGED", "beat UNVERIFIED". */
const signedCell = (sig: BuilderSignatures | undefined): string => {
  const parts = [
    sig?.status && sig.status.verdict !== 'verified' ? `status ${sig.status.verdict.toUpperCase()}` : sig?.status?.note ? `status ${sig.status.note}` : '',
    sig?.heartbeat && sig.heartbeat.verdict !== 'verified' ? `beat ${sig.heartbeat.verdict.toUpperCase()}` : '',
  ].filter(Boolean);
  if (parts.length > 0) return parts.join(', ');
  return sig?.status || sig?.heartbeat ? 'verified' : '-';
};

export const renderStatus = (status: FleetStatus): string => {
  const lines: string[] = [];
  const h = status.health;
  lines.push(`Fleet: ${plural(status.builders.length, 'builder')} (${h.healthy} healthy, ${h.stale} stale, ${h.dead} dead, ${h.unknown} unknown); ${freshnessLine(status)}`);
  // Signatures are shown once the fleet has keys: before that every change is unsigned.
  const signed = status.trust.keys > 0;
  if (status.builders.length === 0) {
    lines.push('no builders registered (add one with: buildctl builder add ID)');
  } else {
    // The CLOCK column appears only when a builder's clock is off by more than max_clock_skew.
    const skewed = status.builders.some((b) => b.clock_skewed);
    lines.push(
      table(
        ['BUILDER', 'HEALTH', 'STATE', 'JOB', 'BEAT', ...(skewed ? ['CLOCK'] : []), 'CPU', 'MEM', 'DISK FREE', ...(signed ? ['SIGNED'] : [])],
        status.builders.map((b) => [
          b.enabled ? b.id : `${b.id} (disabled)`,
          b.health,
          b.state ?? '-',
          b.current_job ?? '-',
          b.heartbeat_age_seconds === null ? '-' : `${ageOf(b.heartbeat_age_seconds)} ago`,
          ...(skewed ? [b.clock_skewed && b.clock_offset_seconds !== null ? offsetText(b.clock_offset_seconds) : '-'] : []),
          b.system ? `${Math.round(b.system.cpu_pct)}%` : '-',
          b.system ? `${(b.system.memory_used_mb / 1000).toFixed(1)}/${(b.system.memory_total_mb / 1000).toFixed(1)} GB` : '-',
          b.system ? `${b.system.disk_free_gb} GB` : '-',
          ...(signed ? [signedCell(status.signatures[b.id])] : []),
        ]),
      ),
    );
    for (const b of status.builders.filter((row) => row.duplicate_agent)) {
      const d = b.duplicate_agent;
      lines.push(`DUPLICATE AGENT: two agents beat as ${b.id} (on ${d?.host ?? '?'} and on ${d?.other_host ?? '?'}${d?.other_pid ? `, pid ${d.other_pid}` : ''}); stop the one that is not ${b.id}`);
    }
    const off = status.builders.filter((b) => b.clock_skewed && b.clock_offset_seconds !== null);
    if (off.length > 0) {
      lines.push(
        `Clocks: ${off.map((b) => `${b.id} ${offsetText(b.clock_offset_seconds ?? 0)}`).join(', ')} from this host's clock (beyond max_clock_skew); ` +
          'health and locks go by what this clone saw, not by those clocks, but fix them (NTP)',
      );
    }
  }
  const q = status.queue;
  lines.push(`Jobs: ${q.queued} queued, ${q.running} running, ${q.completed} completed, ${q.failed} failed, ${q.cancelled} cancelled, ${q.dead} dead`);
  const waits = status.queue_waits.jobs;
  if (waits.length > 0) {
    const shown = waits.slice(0, 5).map((w) => `${w.id} ${w.never_runs ? `never runs: ${w.never_runs}` : w.blocked ? `blocked: ${w.blocked}` : `after ${w.waits_for.join(', ')}`}`);
    const never = status.queue_waits.never_runs;
    lines.push(`Waiting${never > 0 ? ` (${never} can never run)` : ''}: ${shown.join('; ')}${waits.length > 5 ? `; and ${waits.length - 5} more (buildctl job show ID)` : ''}`);
  }
  const held = status.locks.filter((l) => !l.expired);
  lines.push(held.length === 0 ? 'Locks: none held' : `Locks: ${held.map((l) => `${l.name} (${l.owner}, token ${l.token}, ${ageOf(l.seconds_left)} left)`).join(', ')}`);
  if (status.outbox.queued > 0) lines.push(`Outbox: ${plural(status.outbox.queued, 'operation')} queued, delivered by the next successful command (buildctl outbox list)`);
  if (status.mail) lines.push(`Mail for ${status.mail.builder}: ${status.mail.unread} unread, ${status.mail.awaiting_ack} awaiting your ack`);
  for (const p of status.problems) lines.push(`INVALID ${p.file}${p.path ? `: ${p.path}` : ''}: ${p.reason} (run buildctl validate)`);
  if (status.identity_file_on_main) lines.push(`WARNING ${IDENTITY_FILE_ON_MAIN}`);
  if (signed) {
    for (const b of status.builders) {
      const sig = status.signatures[b.id];
      for (const [what, view] of [['status', sig?.status], ['heartbeat', sig?.heartbeat]] as const) {
        if (view && view.verdict !== 'verified') lines.push(`${view.verdict.toUpperCase()} ${b.id}'s ${what}${view.commit ? ` (${view.commit.slice(0, 12)})` : ''}: ${view.reason}`);
      }
    }
    const trust = status.trust;
    if (trust.require_signed_writes || trust.untrusted.length > 0) {
      lines.push(`Signed writes required${trust.untrusted.length > 0 ? `; NOT ACTED ON: ${trust.untrusted.map(describeTaint).join('; ')} (buildctl validate --signatures)` : ': every change acted on is verified'}`);
    }
  }
  return lines.join('\n');
};

export const registerStatus = (program: Command, runtime: Runtime): void => {
  const status = program
    .command('status')
    .description('fleet view: health, state, job, metrics, queue counts, held locks, my unread mail; clock offsets beyond max_clock_skew; duplicate agents')
    .option('--no-fetch', 'show the last fetched state without contacting the remote (fast)')
    .option('--watch', 'redraw the view every --interval until interrupted (Ctrl-C); in place on a terminal, as plain blocks otherwise')
    .option('--interval <duration>', 'time between redraws with --watch (at least 1s)', '10s')
    .option('--json', 'print as JSON (with --watch: one JSON document per line)')
    .addHelpText('after', `
Health is judged on this clone's own clock: a builder is dead only when this clone saw no
new beat from it for longer than dead_after; with --no-fetch the view is as of the last
look, and the header says how old main and the heartbeats each are.

Exit codes: 0 done; 5 a document could not be read (the view leaves it out and says which).
With --watch: 0 when interrupted (Ctrl-C or SIGTERM).`)
    .action(async (options: { fetch: boolean; watch?: boolean; interval: string; json?: boolean }, command: Command) => {
      const { fleetStatus } = await import('../../ops/status.js');
      const ctx = buildContext(runtime, command);
      if (options.watch) {
        const { parseDuration } = await import('../../domain/durations.js');
        const intervalMs = parseDuration(options.interval, 'interval');
        await watchLoop(runtime, {
          intervalMs,
          json: options.json ?? false,
          title: (now) => `buildctl status, every ${formatAge(intervalMs)} (Ctrl-C to stop); updated ${formatTime(now)}`,
          frame: async () => {
            const view = await fleetStatus(ctx, { fetch: options.fetch });
            return { json: fleetJson(view), text: renderStatus(view) };
          },
        });
        return;
      }
      const view = await fleetStatus(ctx, { fetch: options.fetch });
      if (view.problems.length > 0) runtime.exitCode = 5;
      if (options.json) return printJson(runtime, fleetJson(view));
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
      if (command.optsWithGlobals<{ json?: boolean }>().json) return printJson(runtime, statusChangeJson(result));
      const s = result.status;
      runtime.out(`${s.id} is ${s.state}${s.current_job ? ` (${s.current_job})` : ''}${result.changed ? '' : ': nothing changed'}`);
    });
};
