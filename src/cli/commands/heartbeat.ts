import type { Command } from 'commander';
import { formatTime } from '../../domain/format.js';
import { mutationJson } from '../output.js';
import { buildContext, printJson, type Runtime } from '../runtime.js';

export const registerHeartbeat = (program: Command, runtime: Runtime): void => {
  program
    .command('heartbeat')
    .description('publish one heartbeat with system metrics now (on refs/heads/heartbeat/<id>; main is not touched)')
    .option('--force', 'take the heartbeat ref over even if another agent moved it (after fixing a duplicate id)')
    .option('--json', 'print the heartbeat as JSON')
    .action(async (options: { force?: boolean; json?: boolean }, command: Command) => {
      const { heartbeat } = await import('../../ops/heartbeat.js');
      const beat = await heartbeat(buildContext(runtime, command), { force: options.force });
      if (beat.duplicate) {
        // Published, but not alone: exit 1 so a cron wrapper or a person notices.
        runtime.exitCode = 1;
        const d = beat.duplicate;
        runtime.err(`buildctl: another agent is heartbeating as ${beat.id} (its last beat: host ${d.other_host ?? '?'}, pid ${d.other_pid ?? '?'}, at ${d.other_beat_at ?? '?'}); this beat took the ref back and says so`);
        runtime.err(`hint: two builders must not share an id: check BUILD_SERVER_ID and /etc/build_server_id on each host, and stop the agent that is not ${beat.id}`);
      }
      // The commit is the heartbeat ref's (refs/heads/heartbeat/<id>), not main's.
      const { commit, ...heartbeat_ } = beat;
      if (options.json) return printJson(runtime, mutationJson('heartbeat', heartbeat_, { changed: true, queued: false, commit }));
      const s = beat.system;
      runtime.out(
        `heartbeat ${beat.id} at ${formatTime(beat.timestamp)}: cpu ${s.cpu_pct}%, mem ${(s.memory_used_mb / 1000).toFixed(1)}/${(s.memory_total_mb / 1000).toFixed(1)} GB, disk ${s.disk_free_gb} GB free, load ${s.load_avg.join(' ')}`,
      );
    });
};
