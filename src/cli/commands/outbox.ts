import type { Command } from 'commander';
import { formatTime } from '../../domain/format.js';
import { mutationJson, readJson } from '../output.js';
import { buildContext, printJson, table, type Runtime } from '../runtime.js';

export const registerOutbox = (program: Command, runtime: Runtime): void => {
  const outbox = program
    .command('outbox')
    .description('operations queued while the remote was unreachable (messages, job add / complete / fail)')
    .addHelpText('after', '\nEvery successful command and agent tick delivers the outbox first, in order, exactly once.');

  outbox
    .command('list', { isDefault: true })
    .description('what is queued, in delivery order')
    .option('--json', 'print as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const { listOutbox } = await import('../../ops/outbox.js');
      const intents = await listOutbox(buildContext(runtime, command));
      if (command.optsWithGlobals<{ json?: boolean }>().json) return printJson(runtime, readJson('outbox', intents));
      if (intents.length === 0) return runtime.out('the outbox is empty');
      runtime.out(table(['OP ID', 'OPERATION', 'AS', 'QUEUED AT'], intents.map((i) => [i.op_id, i.op, i.actor, formatTime(i.queued_at)])));
    });

  outbox
    .command('flush')
    .description('deliver the outbox now (exit 4 while the remote is still unreachable)')
    .option('--json', 'print the delivery report as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const { flushOutbox } = await import('../../ops/outbox.js');
      const report = await flushOutbox(buildContext(runtime, command));
      if (report.remaining > 0) runtime.exitCode = 4;
      // Delivered intents landed on main (each in its own commit); the rest stay queued.
      const outcome = { changed: report.delivered.length + report.dropped.length > 0, queued: report.remaining > 0, commit: null };
      if (command.optsWithGlobals<{ json?: boolean }>().json) return printJson(runtime, mutationJson('delivery', report, outcome));
      runtime.out(`delivered ${report.delivered.length}, dropped ${report.dropped.length}, still queued ${report.remaining}`);
      for (const d of report.dropped) runtime.out(`dropped ${d.op} ${d.op_id}: ${d.reason}`);
    });

  outbox
    .command('drop')
    .description('remove one queued operation without delivering it (logged in .git/buildctl/outbox-dropped.jsonl)')
    .argument('<id>', 'its op id (or a unique prefix of at least 4 characters)')
    .option('--json', 'print the dropped intent as JSON')
    .action(async (id: string, options: { json?: boolean }, command: Command) => {
      const { dropFromOutbox } = await import('../../ops/outbox.js');
      const dropped = await dropFromOutbox(buildContext(runtime, command), id);
      if (command.optsWithGlobals<{ json?: boolean }>().json) return printJson(runtime, mutationJson('intent', dropped, { changed: true, queued: false, commit: null }));
      runtime.out(`dropped ${dropped.op} ${dropped.op_id}`);
    });
};
