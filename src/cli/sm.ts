// `sm` and `sendmessages`: the quick way to send. `sm 2 acked watcher rollout` sends
// "acked watcher rollout" to build2 as the resolved identity. Its options are msg send's.
import { Command } from 'commander';
import { addSendOptions, bodyFrom, sendFields, type SendFlags } from './commands/msg.js';
import { mutationJson } from './output.js';
import { addVersion, ALLOW_SECRET_LIKE, buildContext, printJson, type Runtime } from './runtime.js';

export const buildSmProgram = (runtime: Runtime, name: string, version: string): Command =>
  addSendOptions(
    addVersion(new Command(name), version)
      .description('send a message to builders: sm <targets> <body...>')
      .argument('<targets>', 'digits (2 = build2, 12 = build1 and build2), builder ids (build3,code2), or all')
      .argument('<body...>', 'the message; "-" reads it from standard input'),
  )
    .option('--store <dir>', 'the store clone (default: $BUILDCTL_STORE or ~/.buildctl/store)')
    .option('--as <id>', 'send as this builder (default: $BUILD_SERVER_ID, /etc/build_server_id, ...)')
    .option('--debug', 'show stack traces of errors')
    .option(...ALLOW_SECRET_LIKE)
    .configureOutput({ outputError: () => undefined })
    .exitOverride()
    .addHelpText('after', `
Examples:
  sm 2 acked watcher rollout            to build2
  sm 12 -t warning disk almost full     to build1 and build2
  sm all --ack maintenance at 22:00     to every builder, asking for acknowledgement
  echo "long report" | sm build3 -      body from standard input

The same as "buildctl msg send" (same options), with shorter targets.
Exit codes: 0 sent (or queued while the remote is unreachable); 2 bad input (unknown
builder, too long, looks like a credential).`)
    .action(async (targets: string, words: string[], options: SendFlags, command: Command) => {
      const [{ parseTargets }, { sendMessageOp }] = await Promise.all([import('../domain/targets.js'), import('../ops/messages.js')]);
      const sent = await sendMessageOp(buildContext(runtime, command), { to: parseTargets(targets), body: await bodyFrom(words), ...sendFields(options) });
      if (options.json) return printJson(runtime, mutationJson('message', sent.message, sent));
      runtime.out(`sent ${sent.message.id} to ${sent.message.to.join(', ')}`);
    });
