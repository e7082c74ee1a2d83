import type { Command } from 'commander';
import { mutationJson } from '../output.js';
import { buildContext, printJson, type Runtime } from '../runtime.js';

const mb = (kb: number | null): string => (kb === null ? '-' : `${(kb / 1024).toFixed(1)} MB`);

export const registerGc = (program: Command, runtime: Runtime): void => {
  program
    .command('gc')
    .description("git's garbage collection of the store clone and, when it is a local repository, of the remote: what the agent never does (its cost grows with the repository); unreachable objects younger than an hour stay")
    .option('--json', 'print the sizes before and after as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const { gcOp } = await import('../../ops/gc.js');
      const report = await gcOp(buildContext(runtime, command));
      const changed = report.clone_kb_after !== report.clone_kb_before || report.remote_kb_after !== report.remote_kb_before;
      if (options.json) return printJson(runtime, mutationJson('gc', report, { changed, queued: false, commit: null }));
      runtime.out(`clone: ${mb(report.clone_kb_before)} -> ${mb(report.clone_kb_after)}`);
      runtime.out(report.remote_skipped ? `remote: left alone (${report.remote_skipped})` : `remote: ${mb(report.remote_kb_before)} -> ${mb(report.remote_kb_after)}`);
      runtime.out(`took ${(report.duration_ms / 1000).toFixed(1)} s`);
    });
};
