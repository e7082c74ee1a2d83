import type { Command } from 'commander';
import { formatTime, plural } from '../../domain/format.js';
import { mutationJson } from '../output.js';
import { buildContext, collect, printJson, table, type Runtime } from '../runtime.js';

const EVENTS_HELP = `Events: builder.stale, builder.dead, builder.back, job.failed, job.dead, job.requeued,
lock.broken, lock.reaped, message.request, message.error, message.unacked (an --ack message
still unacked after check_unacked_after); or a family: builder, job, lock, message.`;

export const registerNotify = (program: Command, runtime: Runtime): void => {
  const notify = program.command('notify').description('notification targets (webhooks, Slack, Teams) and this builder\'s deliveries');

  notify
    .command('add')
    .description('add (or replace) a notification target for the whole fleet')
    .argument('<name>', 'a name for it, e.g. ops-slack')
    .requiredOption('--type <type>', 'webhook (JSON, signed per Standard Webhooks), slack or teams (incoming webhooks)')
    .option('--url <url>', 'webhook only: the endpoint (stored in the repository)')
    .option('--url-env <var>', 'read the URL on each builder from this environment variable (Slack and Teams URLs are credentials)')
    .option('--url-file <path>', 'read the URL on each builder from this file')
    .option('--secret-env <var>', 'webhook: read the signing secret (whsec_...) on each builder from this environment variable')
    .option('--secret-file <path>', 'webhook: read the signing secret (whsec_...) on each builder from this file')
    .option('--event <type>', 'only this event type or family (repeatable; default: every event)', collect)
    .option('--json', 'print the target as JSON')
    .addHelpText('after', `
Secrets never go into the repository: a webhook's signing secret, and a Slack or Teams
webhook URL, are read on each builder (the one whose housekeeping recorded the event sends
it) from an environment variable or a file. Test a target with: buildctl notify test NAME

${EVENTS_HELP}

Examples:
  buildctl notify add ops --type webhook --url https://hooks.example.org/buildctl --secret-file /etc/buildctl/webhook-secret
  buildctl notify add team --type slack --url-env BUILDCTL_SLACK_URL --event builder --event job.dead`)
    .action(async (name: string, options: { type: string; url?: string; urlEnv?: string; urlFile?: string; secretEnv?: string; secretFile?: string; event?: string[]; json?: boolean }, command: Command) => {
      const { addTargetOp } = await import('../../ops/notify.js');
      const input = Object.fromEntries(
        Object.entries({ name, type: options.type, url: options.url, url_env: options.urlEnv, url_file: options.urlFile, secret_env: options.secretEnv, secret_file: options.secretFile, events: options.event }).filter(([, v]) => v !== undefined),
      );
      const result = await addTargetOp(buildContext(runtime, command), input);
      if (options.json) return printJson(runtime, mutationJson('target', result.target, result));
      runtime.out(result.changed ? `notification target ${name} (${result.target.type}) saved; try it: buildctl notify test ${name}` : `notification target ${name} is already so: nothing changed`);
    });

  notify
    .command('remove')
    .description('remove a notification target')
    .argument('<name>', 'the target')
    .option('--json', 'print the removed target as JSON')
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      const { removeTargetOp } = await import('../../ops/notify.js');
      const result = await removeTargetOp(buildContext(runtime, command), name);
      if (options.json) return printJson(runtime, mutationJson('target', result.target, result));
      runtime.out(`removed notification target ${name}`);
    });

  notify
    .command('list')
    .description('the targets, and this builder\'s deliveries: waiting, and given up on')
    .option('--no-fetch', 'use the last fetched state')
    .option('--json', 'print as JSON')
    .action(async (options: { fetch: boolean; json?: boolean }, command: Command) => {
      const { listTargetsOp } = await import('../../ops/notify.js');
      const view = await listTargetsOp(buildContext(runtime, command), { fetch: options.fetch });
      if (options.json) return printJson(runtime, { targets: view.targets, deliveries: view.local });
      if (view.targets.length === 0) runtime.out('no notification targets (add one with: buildctl notify add NAME --type webhook|slack|teams ...)');
      else {
        runtime.out(table(['TARGET', 'TYPE', 'URL FROM', 'EVENTS', 'WAITING HERE'], view.targets.map((t) => [
          t.name,
          t.type,
          t.url ?? (t.url_env ? `$${t.url_env}` : (t.url_file ?? '-')),
          t.events?.join(',') ?? 'all',
          String(view.local.queue.filter((q) => q.target === t.name).length),
        ])));
      }
      for (const f of view.local.failures.slice(-10)) runtime.out(`GAVE UP ${formatTime(f.at)} ${f.target}: ${plural(f.events.length, 'event')}: ${f.error}`);
    });

  notify
    .command('test')
    .description('send a test notification to a target now, from this host')
    .argument('<name>', 'the target')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', `
Exit codes: 0 delivered (a 2xx answer); 1 not delivered (the reason is said); 2 no such target.`)
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      const { notifyTestOp } = await import('../../ops/notify.js');
      const result = await notifyTestOp(buildContext(runtime, command), name);
      if (options.json) return printJson(runtime, mutationJson('notification', result, { changed: false, queued: false, commit: null }));
      runtime.out(`delivered a test notification to ${name} (webhook-id ${result.id})`);
    });
};
