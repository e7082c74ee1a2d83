// A builder still running the older scripts, on a plain git clone of the store: it sends
// as scripts/send_message.sh does, lists unread mail as scripts/read_messages.sh and
// check_unread_messages.sh do, and marks mail read as scripts/mark_messages_read.sh does.
// With jq installed (as on those builders) the very jq programs run; without it, the same
// selection and edits are done here, and each says which jq it mirrors.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitSync } from './fleet.js';

export const hasJq = spawnSync('jq', ['--version'], { encoding: 'utf8' }).status === 0;

const MESSAGES = 'coordination/messages.json';

/** send_message.sh's jq program (its arguments: id, from, to, type, subject, body, ts, ack_required). */
export const SEND_MESSAGE_JQ =
  '.messages += [{id: $id, from: $from, to: $to, type: $type, subject: $subject, body: $body, timestamp: $ts, read: false, ack_required: ($ack_required == "true"), ack_status: (if $ack_required == "true" then "pending" else "not_requested" end), acknowledged_by: []}]';

type Json = Record<string, unknown>;

const jq = (args: string[], input: string): string => {
  const run = spawnSync('jq', args, { input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.status !== 0) throw new Error(`jq ${args.join(' ')} failed: ${run.stderr}`);
  return run.stdout;
};

/** The old scripts' unread selection, on messages.json text, for `id`. */
export const oldUnreadSelection = (text: string, id: string, options: { useJq?: boolean } = {}): Json[] => {
  if (options.useJq ?? hasJq) {
    // read_messages.sh / check_unread_messages.sh, verbatim.
    return JSON.parse(jq(['--arg', 'server', id, '[.messages[] | select((.to == $server or .to == "all") and .read == false)] | sort_by(.timestamp)'], text)) as Json[];
  }
  // Mirrors: [.messages[] | select((.to == $server or .to == "all") and .read == false)] | sort_by(.timestamp)
  // (jq's == compares values exactly: a list `to` never equals a string; a missing `read` is null, not false;
  // sort_by is stable and orders null before strings, strings by code point.)
  const doc = JSON.parse(text) as { messages: Json[] };
  const rank = (v: unknown): number => (v === null || v === undefined ? 0 : typeof v === 'string' ? 1 : 2);
  return doc.messages
    .filter((m) => (m.to === id || m.to === 'all') && m.read === false)
    .map((m, i) => ({ m, i, t: m.timestamp }))
    .sort((a, b) => rank(a.t) - rank(b.t) || (String(a.t) < String(b.t) ? -1 : String(a.t) > String(b.t) ? 1 : a.i - b.i))
    .map(({ m }) => m);
};

export interface OldScriptsBuilder {
  /** send_message.sh FROM TO TYPE SUBJECT BODY: appends one message, commits, pushes. Returns its id. */
  send(to: string, subject: string, body: string): string;
  /** read_messages.sh: my unread messages after a pull. */
  unread(): Json[];
  /** mark_messages_read.sh ID: every unread message to me or to all gets `.read = true`, committed and pushed. */
  markAllRead(): void;
}

/** The old scripts of builder `id` on `clone` (a plain git clone of the store's remote). */
export const oldScriptsBuilder = (clone: string, id: string): OldScriptsBuilder => {
  const file = join(clone, MESSAGES);
  const pull = () => gitSync(clone, ['pull', '-q', '--rebase', 'origin', 'main']);
  const commitAndPush = (message: string) => {
    gitSync(clone, ['add', MESSAGES]);
    gitSync(clone, ['commit', '-q', '-m', message]);
    // push_with_retry: pull --rebase and push again on a rejection.
    for (let attempt = 1; ; attempt++) {
      const push = spawnSync('git', ['push', '-q', 'origin', 'HEAD:main'], { cwd: clone, encoding: 'utf8' });
      if (push.status === 0) return;
      if (attempt === 5) throw new Error(`git push failed: ${push.stderr}`);
      pull();
    }
  };
  let counter = 1000;
  return {
    send: (to, subject, body) => {
      pull();
      const now = new Date();
      const msgId = `msg_${Math.floor(now.getTime() / 1000)}_${counter++}`;
      const stamp = now.toISOString().slice(0, 16).replace('T', ' '); // date -u +"%Y-%m-%d %H:%M"
      const text = readFileSync(file, 'utf8');
      let out: string;
      if (hasJq) {
        out = jq(
          ['--arg', 'id', msgId, '--arg', 'from', id, '--arg', 'to', to, '--arg', 'type', 'info', '--arg', 'subject', subject, '--arg', 'body', body, '--arg', 'ts', stamp, '--arg', 'ack_required', 'false',
            SEND_MESSAGE_JQ],
          text,
        );
      } else {
        // Mirrors send_message.sh's jq: .messages += [{id, from, to, type, subject, body, timestamp, read: false, ack_required, ack_status, acknowledged_by: []}]
        const doc = JSON.parse(text) as { messages: Json[] };
        doc.messages.push({ id: msgId, from: id, to, type: 'info', subject, body, timestamp: stamp, read: false, ack_required: false, ack_status: 'not_requested', acknowledged_by: [] });
        out = `${JSON.stringify(doc, null, 2)}\n`;
      }
      writeFileSync(file, out);
      commitAndPush(`Message from ${id} to ${to}: ${subject}`);
      return msgId;
    },
    unread: () => {
      pull();
      return oldUnreadSelection(readFileSync(file, 'utf8'), id);
    },
    markAllRead: () => {
      pull();
      const text = readFileSync(file, 'utf8');
      let out: string;
      if (hasJq) {
        out = jq(['--arg', 'server', id, '(.messages[] | select((.to == $server or .to == "all") and .read == false)).read = true'], text);
      } else {
        // Mirrors: (.messages[] | select((.to == $server or .to == "all") and .read == false)).read = true
        const doc = JSON.parse(text) as { messages: Json[] };
        for (const m of doc.messages) if ((m.to === id || m.to === 'all') && m.read === false) m.read = true;
        out = `${JSON.stringify(doc, null, 2)}\n`;
      }
      writeFileSync(file, out);
      commitAndPush(`[${id}] Marked messages as read`);
    },
  };
};
