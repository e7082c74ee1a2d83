import type { Command } from 'commander';
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
      if (options.json) return printJson(runtime, beat);
      const s = beat.system;
      runtime.out(
        `heartbeat ${beat.id} at ${beat.timestamp}: cpu ${s.cpu_pct}%, mem ${(s.memory_used_mb / 1000).toFixed(1)}/${(s.memory_total_mb / 1000).toFixed(1)} GB, disk ${s.disk_free_gb} GB free, load ${s.load_avg.join(' ')}`,
      );
    });
};
