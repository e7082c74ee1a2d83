import type { Command } from 'commander';
import type { Message } from '../../schemas/messages.js';
import { buildContext, printJson, table, type Runtime } from '../runtime.js';

export const renderMessage = (m: Message): string =>
  [
    `${m.id}  ${m.type}  ${m.created_at}`,
    `from ${m.from} to ${m.to.join(', ')}${m.reply_to ? `, in reply to ${m.reply_to}` : ''}${m.ack_required ? ', ack required' : ''}`,
    `subject: ${m.subject}`,
    '',
    m.body,
    '',
    `read by: ${Object.keys(m.read_by).join(', ') || 'nobody yet'}; acked by: ${
      Object.entries(m.acked_by).map(([who, ack]) => (ack.note ? `${who} (${ack.note})` : who)).join(', ') || 'nobody yet'
    }`,
  ].join('\n');

/** Reads the body from standard input when it is given as "-". */
export const bodyFrom = async (words: string[]): Promise<string> => {
  if (words.length === 1 && words[0] === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8').replace(/\n$/, '');
  }
  return words.join(' ');
};

export const registerMsg = (program: Command, runtime: Runtime): void => {
  const msg = program.command('msg').description('messages between builders (coordination/messages.json)');

  msg
    .command('send')
    .description('send a message as this builder; prints its id')
    .argument('<to>', 'builder ids, comma-separated, or all')
    .argument('<body...>', 'the message ("-" reads it from standard input)')
    .option('--type <type>', 'info, warning, error or request', 'info')
    .option('--subject <text>', 'at most 100 characters; default: the first line of the body')
    .option('--ack-required', 'ask each recipient to acknowledge it')
    .option('--reply-to <id>', 'the message this answers')
    .option('--json', 'print the message as JSON')
    .action(async (to: string, words: string[], options: { type: string; subject?: string; ackRequired?: boolean; replyTo?: string; json?: boolean }, command: Command) => {
      const { sendMessageOp } = await import('../../ops/messages.js');
      const message = await sendMessageOp(buildContext(runtime, command), {
        to: to.split(','),
        body: await bodyFrom(words),
        type: options.type,
        subject: options.subject,
        ackRequired: options.ackRequired,
        replyTo: options.replyTo,
      });
      if (options.json) return printJson(runtime, message);
      runtime.out(message.id);
    });

  msg
    .command('list')
    .description('my unread messages (to me or to all); --all for every message in the store')
    .option('--all', 'every message, whoever it is for')
    .option('--read', 'include messages I have read')
    .option('--from <id>', 'only from this builder')
    .option('--type <type>', 'only of this type')
    .option('--no-fetch', 'use the last fetched state')
    .option('--json', 'print as JSON')
    .action(async (options: { all?: boolean; read?: boolean; from?: string; type?: string; fetch: boolean; json?: boolean }, command: Command) => {
      const { listMessagesOp } = await import('../../ops/messages.js');
      const { me, messages } = await listMessagesOp(buildContext(runtime, command), {
        all: options.all ?? false,
        includeRead: options.read ?? false,
        from: options.from,
        type: options.type,
        fetch: options.fetch,
      });
      if (options.json) return printJson(runtime, messages);
      if (messages.length === 0) return runtime.out(me ? `no unread messages for ${me}` : 'no messages');
      runtime.out(
        table(
          ['ID', 'FROM', 'TO', 'TYPE', 'SENT', 'SUBJECT'],
          messages.map((m) => [
            m.id,
            m.from,
            m.to.join(','),
            m.type,
            m.created_at.slice(0, 16).replace('T', ' '),
            `${m.subject}${me && m.ack_required && !m.acked_by[me] ? '  [ack required]' : ''}`,
          ]),
        ),
      );
    });

  msg
    .command('read')
    .description('mark messages read, for me only')
    .argument('[ids...]', 'message ids')
    .option('--all', 'every message addressed to me')
    .option('--json', 'print the ids marked as JSON')
    .action(async (ids: string[], options: { all?: boolean; json?: boolean }, command: Command) => {
      const { readMessagesOp } = await import('../../ops/messages.js');
      const result = await readMessagesOp(buildContext(runtime, command), { ids, all: options.all ?? false });
      if (options.json) return printJson(runtime, result);
      runtime.out(result.marked.length === 0 ? 'nothing to mark: already read' : `marked read: ${result.marked.join(', ')}`);
    });

  msg
    .command('ack')
    .description('acknowledge a message (also marks it read)')
    .argument('<id>', 'message id')
    .option('--note <text>', 'a short note with the acknowledgement')
    .option('--json', 'print the message as JSON')
    .action(async (id: string, options: { note?: string; json?: boolean }, command: Command) => {
      const { ackMessageOp } = await import('../../ops/messages.js');
      const result = await ackMessageOp(buildContext(runtime, command), { id, note: options.note });
      if (options.json) return printJson(runtime, result);
      runtime.out(result.outcome === 'already' ? `${id} was already acknowledged` : `acknowledged ${id}`);
    });

  msg
    .command('show')
    .description('one message with its thread')
    .argument('<id>', 'message id')
    .option('--no-fetch', 'use the last fetched state')
    .option('--json', 'print as JSON')
    .action(async (id: string, options: { fetch: boolean; json?: boolean }, command: Command) => {
      const { showMessageOp } = await import('../../ops/messages.js');
      const found = await showMessageOp(buildContext(runtime, command), id, options);
      if (options.json) return printJson(runtime, found);
      const parts = [...found.ancestors.map((m) => `(earlier) ${m.id} from ${m.from}: ${m.subject}`), renderMessage(found.message)];
      for (const reply of found.replies) parts.push(`(reply) ${reply.id} from ${reply.from}: ${reply.subject}`);
      runtime.out(parts.join('\n'));
    });
};
