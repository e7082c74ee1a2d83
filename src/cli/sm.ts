// `sm` and `sendmessages`: the quick way to send. `sm 2 acked watcher rollout` sends
// "acked watcher rollout" to build2 as the resolved identity.
import { Command } from 'commander';
import { bodyFrom } from './commands/msg.js';
import { ALLOW_SECRET_LIKE, buildContext, printJson, type Runtime } from './runtime.js';

export const buildSmProgram = (runtime: Runtime, name: string, version: string): Command =>
  new Command(name)
    .description('send a message to builders: sm <targets> <body...>')
    .version(version, '-V, --version')
    .argument('<targets>', 'digits (2 = build2, 12 = build1 and build2), builder ids (build3,code2), or all')
    .argument('<body...>', 'the message; "-" reads it from standard input')
    .option('-t, --type <type>', 'info, warning, error or request', 'info')
    .option('--ack', 'ask each recipient to acknowledge it')
    .option('-s, --subject <text>', 'subject (default: the first line of the body)')
    .option('-r, --reply-to <id>', 'the message this answers')
    .option('--store <dir>', 'the store clone (default: $BUILDCTL_STORE or ~/.buildctl/store)')
    .option('--as <id>', 'send as this builder (default: $BUILD_SERVER_ID, /etc/build_server_id, ...)')
    .option('--json', 'print the sent message as JSON')
    .option('--debug', 'show stack traces of errors')
    .option(...ALLOW_SECRET_LIKE)
    .exitOverride()
    .showHelpAfterError('(run sm --help for usage)')
    .addHelpText('after', `
Examples:
  sm 2 acked watcher rollout            to build2
  sm 12 -t warning disk almost full     to build1 and build2
  sm all --ack maintenance at 22:00     to every builder, asking for acknowledgement
  echo "long report" | sm build3 -      body from standard input

Exit codes: 0 sent; 2 bad input (unknown builder, too long, looks like a credential); 4 remote unreachable.`)
    .action(async (targets: string, words: string[], options: { type: string; ack?: boolean; subject?: string; replyTo?: string; json?: boolean }, command: Command) => {
      const [{ parseTargets }, { sendMessageOp }] = await Promise.all([import('../domain/targets.js'), import('../ops/messages.js')]);
      const message = await sendMessageOp(buildContext(runtime, command), {
        to: parseTargets(targets),
        body: await bodyFrom(words),
        type: options.type,
        subject: options.subject,
        ackRequired: options.ack,
        replyTo: options.replyTo,
      });
      if (options.json) return printJson(runtime, message);
      runtime.out(`sent ${message.id} to ${message.to.join(', ')}`);
    });
