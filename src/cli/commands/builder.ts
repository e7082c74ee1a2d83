import { Option, type Command } from 'commander';
import { mutationJson, readJson } from '../output.js';
import { buildContext, collect, printJson, table, type Runtime } from '../runtime.js';

export const registerBuilder = (program: Command, runtime: Runtime): void => {
  const builder = program.command('builder').description('the fleet registry (coordination/builders.json)');

  builder
    .command('add')
    .description('register a builder, or update the fields given for one already registered')
    .argument('<id>', 'builder id: lowercase letter, then lowercase letters, digits or "-" (at most 32)')
    .option('--host <name>', 'its host name (lets the builder find its id from its hostname)')
    .option('--ip <address>', 'its address, for operators')
    .option('--manager <who>', 'who or what runs it')
    .option('--label <label>', 'a label jobs can require (repeatable)', collect)
    .option('--disabled', 'disable it: it takes no jobs (job claim is refused) until enabled again')
    .addOption(new Option('--enabled', 'enable it again (a new builder is enabled)').conflicts('disabled'))
    .option('--json', 'print the result as JSON')
    .action(async (id: string, options: { host?: string; ip?: string; manager?: string; label?: string[]; disabled?: boolean; enabled?: boolean; json?: boolean }, command: Command) => {
      const { addBuilders } = await import('../../ops/builders.js');
      const enabled = options.enabled ? true : options.disabled ? false : undefined;
      const added = await addBuilders(buildContext(runtime, command), [
        { id, host: options.host, ip: options.ip, manager: options.manager, labels: options.label, enabled },
      ]);
      const [entry] = added.results;
      if (options.json) return printJson(runtime, mutationJson('builder', entry?.builder ?? null, added));
      runtime.out(`${entry?.outcome ?? 'unchanged'} builder ${id}`);
    });

  builder
    .command('list')
    .description('list registered builders')
    .option('--no-fetch', 'use the last fetched state, do not contact the remote')
    .option('--json', 'print as JSON')
    .action(async (options: { fetch: boolean; json?: boolean }, command: Command) => {
      const { listBuilders } = await import('../../ops/builders.js');
      const builders = await listBuilders(buildContext(runtime, command), { fetch: options.fetch });
      if (options.json) return printJson(runtime, readJson('builders', builders));
      if (builders.length === 0) return runtime.out('no builders registered (add one with: buildctl builder add ID)');
      runtime.out(
        table(
          ['ID', 'HOST', 'IP', 'LABELS', 'ENABLED'],
          builders.map((b) => [b.id, b.host ?? '-', b.ip ?? '-', b.labels.join(',') || '-', b.enabled ? 'yes' : 'no']),
        ),
      );
    });

  builder
    .command('remove')
    .description('remove a builder from the registry (its files stay in the store)')
    .argument('<id>', 'builder id')
    .option('--json', 'print the removed entry as JSON')
    .action(async (id: string, options: { json?: boolean }, command: Command) => {
      const { removeBuilderOp } = await import('../../ops/builders.js');
      const removed = await removeBuilderOp(buildContext(runtime, command), id);
      if (options.json) return printJson(runtime, mutationJson('builder', removed.builder, removed));
      runtime.out(`removed builder ${removed.builder.id}`);
    });
};
