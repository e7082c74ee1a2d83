import type { Command } from 'commander';
import { mutationJson } from '../output.js';
import { buildContext, collect, printJson, type Runtime } from '../runtime.js';

export const registerInit = (program: Command, runtime: Runtime): void => {
  program
    .command('init')
    .description('create the store (or clone an existing one) and register builders; safe to run again')
    .option('--remote <url>', 'the fleet\'s remote to clone; without it a local bare repository beside the store becomes the remote')
    .option('--builder <id>', 'register this builder too (repeatable)', collect, [])
    .option('--json', 'print the result as JSON')
    .addHelpText('after', `
Examples:
  buildctl init                                   one machine, embedded remote at <store>.git
  buildctl init --builder build1 --builder build2
  buildctl init --remote git@git.example:ops/fleet.git --store /srv/buildctl/store`)
    .action(async (options: { remote?: string; builder: string[]; json?: boolean }, command: Command) => {
      const { initStore } = await import('../../ops/init.js');
      const report = await initStore(buildContext(runtime, command), {
        remote: options.remote,
        builders: options.builder.map((id) => ({ id })),
      });
      const { store, remote, embedded_remote, actions, builders } = report;
      if (options.json) return printJson(runtime, mutationJson('store', { dir: store, remote, embedded_remote, actions, builders }, report));
      runtime.out(`store ${report.store}\nremote ${report.remote}${report.embedded_remote ? ' (embedded)' : ''}`);
      if (!report.changed) return runtime.out('already initialised: nothing changed');
      for (const action of report.actions) runtime.out(`- ${action}`);
    });
};
