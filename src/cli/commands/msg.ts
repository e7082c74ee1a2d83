import { Option, type Command } from 'commander';
import { formatAge, formatTime, plural } from '../../domain/format.js';
import { isAddressedTo } from '../../domain/messages.js';
import type { Message } from '../../schemas/messages.js';
import { messageChangeJson, messagesChangeJson, messagesJson, threadJson } from '../output.js';
import { buildContext, positiveInteger, printJson, type Runtime } from '../runtime.js';

/** How long a body preview in `msg list` is, in lines after the subject. */
const PREVIEW_LINES = 3;

const sentLine = (m: Message, now: Date): string => `${formatTime(m.created_at)} (${formatAge(now.getTime() - Date.parse(m.created_at))} ago)`;

/** Who still owes an ack, as the sender (and anyone else) sees it. */
const awaitingLine = (awaiting: readonly string[] | undefined): string | undefined =>
  awaiting === undefined ? undefined : awaiting.length > 0 ? `awaiting ack from: ${awaiting.join(', ')}` : 'acked by every recipient';

export const renderMessage = (m: Message, now: Date, awaiting?: readonly string[]): string =>
  [
    `${m.id}  ${m.type}  ${sentLine(m, now)}`,
    `from ${m.from} to ${m.to.join(', ')}${m.reply_to ? `, in reply to ${m.reply_to}` : ''}${m.ack_required ? ', ack required' : ''}`,
    `subject: ${m.subject}`,
    '',
    m.body,
    '',
    `read by: ${Object.keys(m.read_by).join(', ') || 'nobody yet'}; acked by: ${
      Object.entries(m.acked_by).map(([who, ack]) => (ack.note ? `${who} (${ack.note})` : who)).join(', ') || 'nobody yet'
    }`,
    ...(m.ack_required ? [awaitingLine(awaiting) ?? ''] : []),
  ].join('\n');

/**
 * One entry of `msg list`: a header line, the subject, the body's first lines, and what
 * the viewer should do (ack it) or waits for (acks from others).
 */
export const renderListEntry = (m: Message, options: { me: string | null; awaiting?: readonly string[] | undefined; now: Date }): string => {
  const lines = [`${m.id}  ${m.type}  ${sentLine(m, options.now)}  from ${m.from} to ${m.to.join(',')}${m.reply_to ? ` (reply to ${m.reply_to})` : ''}`];
  lines.push(`  ${m.subject}`);
  const body = m.body.split('\n');
  // A subject derived from the body is its first line: do not show it twice.
  const rest = body[0]?.trim() === m.subject ? body.slice(1) : body;
  while (rest.length > 0 && rest[0]?.trim() === '') rest.shift();
  for (const line of rest.slice(0, PREVIEW_LINES)) lines.push(`  | ${line}`);
  if (rest.length > PREVIEW_LINES) lines.push(`  | ... ${plural(rest.length - PREVIEW_LINES, 'more line')}: buildctl msg show ${m.id}`);
  if (m.ack_required) {
    // A recipient is told what to do; the sender (or an operator looking at --all) whom it waits for.
    const me = options.me;
    if (me === null || !isAddressedTo(m, me)) lines.push(`  ${awaitingLine(options.awaiting) ?? ''}`);
    else if (!Object.hasOwn(m.acked_by, me)) lines.push(`  ack required: buildctl msg ack ${m.id}`);
  }
  return lines.join('\n');
};

/** Reads the body from standard input when it is given as "-". */
export const bodyFrom = async (words: string[]): Promise<string> => {
  if (words.length === 1 && words[0] === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8').replace(/\n$/, '');
  }
  return words.join(' ');
};

export interface SendFlags {
  type: string;
  subject?: string;
  ack?: boolean;
  ackRequired?: boolean;
  replyTo?: string;
  json?: boolean;
}

/**
 * The options `msg send` and `sm` share, with the same names: `--ack` is the documented
 * one; `--ack-required` (msg send's older name) still works, hidden from help.
 */
export const addSendOptions = (command: Command): Command =>
  command
    .option('-t, --type <type>', 'info, warning, error or request', 'info')
    .option('-s, --subject <text>', 'at most 100 characters (default: the first line of the body)')
    .option('--ack', 'ask each recipient to acknowledge it')
    .addOption(new Option('--ack-required', 'the older name of --ack').hideHelp())
    .option('-r, --reply-to <id>', 'the message this answers')
    .option('--json', 'print the sent message as JSON');

export const sendFields = (flags: SendFlags) => ({
  type: flags.type,
  subject: flags.subject,
  ackRequired: flags.ack === true || flags.ackRequired === true,
  replyTo: flags.replyTo,
});

export const registerMsg = (program: Command, runtime: Runtime): void => {
  const msg = program.command('msg').description('messages between builders (coordination/messages.json)');

  addSendOptions(
    msg
      .command('send')
      .description('send a message as this builder; prints its id')
      .argument('<to>', 'builder ids, comma-separated, or all')
      .argument('<body...>', 'the message ("-" reads it from standard input)'),
  ).action(async (to: string, words: string[], options: SendFlags, command: Command) => {
    const { sendMessageOp } = await import('../../ops/messages.js');
    const sent = await sendMessageOp(buildContext(runtime, command), { to: to.split(','), body: await bodyFrom(words), ...sendFields(options) });
    if (options.json) return printJson(runtime, messageChangeJson(sent));
    runtime.out(sent.message.id);
  });

  msg
    .command('list')
    .description('my unread messages (to me or to all), most urgent first, with the first lines of each body')
    .addOption(new Option('--unread', 'only messages I have not read (the default)').conflicts(['read', 'sent', 'all', 'archived']))
    .option('--read', 'include messages I have read')
    .option('--sent', 'the messages I sent, with who still owes an ack')
    .option('--all', 'every message, whoever it is for')
    .option('--archived', 'messages housekeeping moved to coordination/archive/ (read or not)')
    .option('--from <id>', 'only from this builder')
    .option('--type <type>', 'only of this type')
    .option('--since <when>', 'only sent since then: a duration back from now (24h, 7d) or a time (2026-11-28T22:00:00Z)')
    .option('--limit <n>', 'at most this many', positiveInteger('the limit'))
    .option('--exit-code', 'exit 1 when the list is not empty (with --unread: there is unread mail), 0 when it is')
    .option('--no-fetch', 'use the last fetched state')
    .option('--json', 'print as JSON')
    .addHelpText('after', `
Order: most urgent type first (error, warning, request, info); within a type, messages
awaiting your ack first; then oldest first. --all, --sent and --archived list in the order sent.

Exit codes: 0 done; with --exit-code, 1 when any message is listed (the old check_unread):
  buildctl msg list --unread --exit-code >/dev/null || echo "you have mail"`)
    .action(async (options: { read?: boolean; sent?: boolean; all?: boolean; archived?: boolean; from?: string; type?: string; since?: string; limit?: number; exitCode?: boolean; fetch: boolean; json?: boolean }, command: Command) => {
      const { listMessagesOp } = await import('../../ops/messages.js');
      const ctx = buildContext(runtime, command);
      const { me, messages, awaiting } = await listMessagesOp(ctx, {
        all: options.all ?? false,
        includeRead: options.read ?? false,
        sent: options.sent ?? false,
        archived: options.archived ?? false,
        from: options.from,
        type: options.type,
        since: options.since,
        limit: options.limit,
        fetch: options.fetch,
      });
      if (options.exitCode && messages.length > 0) runtime.exitCode = 1;
      if (options.json) return printJson(runtime, messagesJson({ messages }));
      if (messages.length === 0) {
        const what = options.archived ? 'archived messages' : options.sent ? 'sent messages' : options.all || options.read ? 'messages' : 'unread messages';
        return runtime.out(me && !options.all ? `no ${what} for ${me}` : `no ${what}`);
      }
      const now = ctx.now();
      runtime.out(messages.map((m) => renderListEntry(m, { me, awaiting: awaiting[m.id], now })).join('\n\n'));
    });

  msg
    .command('read')
    .description('mark messages read, for me only')
    .argument('[ids...]', 'message ids')
    .option('--all', 'every message addressed to me')
    .option('--json', 'print the messages marked as JSON')
    .action(async (ids: string[], options: { all?: boolean; json?: boolean }, command: Command) => {
      const { readMessagesOp } = await import('../../ops/messages.js');
      const result = await readMessagesOp(buildContext(runtime, command), { ids, all: options.all ?? false });
      if (options.json) return printJson(runtime, messagesChangeJson(result));
      runtime.out(result.messages.length === 0 ? 'nothing to mark: already read' : `marked read: ${result.messages.map((m) => m.id).join(', ')}`);
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
      if (options.json) return printJson(runtime, messageChangeJson(result));
      runtime.out(result.outcome === 'already' ? `${id} was already acknowledged` : `acknowledged ${id}`);
    });

  msg
    .command('show')
    .description('one message with its thread (archived messages too)')
    .argument('<id>', 'message id')
    .option('--no-fetch', 'use the last fetched state')
    .option('--json', 'print as JSON')
    .action(async (id: string, options: { fetch: boolean; json?: boolean }, command: Command) => {
      const { showMessageOp } = await import('../../ops/messages.js');
      const ctx = buildContext(runtime, command);
      const found = await showMessageOp(ctx, id, options);
      if (options.json) return printJson(runtime, threadJson(found));
      const parts = [...found.ancestors.map((m) => `(earlier) ${m.id} from ${m.from}: ${m.subject}`), renderMessage(found.message, ctx.now(), found.awaiting)];
      for (const reply of found.replies) parts.push(`(reply) ${reply.id} from ${reply.from}: ${reply.subject}`);
      runtime.out(parts.join('\n'));
    });
};
