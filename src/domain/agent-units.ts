// The text of what `buildctl agent install` installs: the crontab line and the systemd
// unit. Pure: the installer (ops/agent-install.ts) resolves paths and identity, reads and
// writes crontabs and files; here only the quoting rules of sh, cron and systemd live.
import { createHash } from 'node:crypto';
import { usageError } from '../errors.js';
import { shQuote } from './shell.js';

/** What the agent runs with: absolute paths, the store, and what it needs to know who it is. */
export interface AgentCommand {
  storeDir: string;
  logFile: string;
  /** Environment the agent needs that cron or systemd would not give it. */
  env: Array<[string, string]>;
  /** node, the CLI, global options, `agent`. */
  argv: string[];
}

/** The agent's log when none is given: one per store (`<store>.agent.log`), never shared by stores in one folder. */
export const defaultLogFile = (storeDir: string): string => `${storeDir.replace(/\/+$/, '')}.agent.log`;

/** The comment that marks our crontab line for one store (a host may run agents for two stores). */
export const cronMarker = (storeDir: string): string => `# buildctl-agent ${storeDir}`;

/** The systemd unit's name: one unit per store, so two stores on one host get two agents. */
export const unitName = (storeDir: string): string =>
  `buildctl-agent-${createHash('sha256').update(storeDir).digest('hex').slice(0, 8)}.service`;

export const refuseNewlines = (values: readonly string[]): void => {
  for (const value of values) {
    if (/[\n\r]/.test(value)) {
      throw usageError(`cannot install the agent: a path contains a line break (${JSON.stringify(value)})`, {
        code: 'bad_path',
        hint: 'use a store, log file and node path without line breaks',
      });
    }
  }
};


/**
 * A word for the command part of a crontab line. cron turns every `%` into a line break
 * unless a backslash stands before it, and `\\` is no escape to cron, so a path holding
 * `\%` cannot be written with backslashes at all. A `%` is left out of the line instead:
 * the shell makes it (`$(printf '\045')`), inside the sh quoting of the rest.
 */
export const cronQuote = (value: string): string => shQuote(value).replace(/%/g, `'"$(printf '\\045')"'`);

/**
 * A word of ExecStart=: C-style escapes inside double quotes, `%` doubled (specifiers), and
 * `$` doubled (ExecStart= expands $VAR; `$$` is a literal `$`).
 */
export const execQuote = (value: string): string =>
  `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%').replace(/\$/g, '$$$$')}"`;

/**
 * One assignment of Environment=: double quotes with C-style escapes and `%` doubled, but
 * `$` as it is: Environment= expands no variables, so `$$` would stay two dollars.
 */
export const environmentQuote = (name: string, value: string): string =>
  `"${`${name}=${value}`.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%')}"`;

/**
 * The crontab line: every minute, one tick if the fleet's schedule selects that minute
 * (`--if-scheduled`, so `config set schedule` reaches every builder without a reinstall),
 * absolute paths, the agent's log appended to the log file and anything else it prints (an
 * error before logging starts) appended there too, so cron never mails every minute and
 * nothing is lost. Ends with our marker comment.
 */
export const cronLine = (command: AgentCommand): string => {
  const env = command.env.map(([name, value]) => `${name}=${cronQuote(value)} `).join('');
  const [node = 'node', ...rest] = command.argv;
  const args = rest.map((arg) => (arg.startsWith('--') || arg === 'agent' ? arg : cronQuote(arg))).join(' ');
  const log = cronQuote(command.logFile);
  // The marker is a comment: cron may cut it at a `%` (the shell never runs it), and the
  // installer finds it in the crontab's text, escaped as it was written.
  return `* * * * * ${env}${cronQuote(node)} ${args} --once --if-scheduled --log-file ${log} >>${log} 2>&1 ${cronMarker(command.storeDir).replace(/%/g, '\\%')}`;
};

/** The crontab with our line for this store in place of earlier ones (at the first one's place), every other line kept. */
export const withCronLine = (current: string, line: string, storeDir: string): { content: string; replaced: number } => {
  const marker = cronMarker(storeDir).replace(/%/g, '\\%');
  const lines = current === '' ? [] : current.replace(/\n$/, '').split('\n');
  const out: string[] = [];
  let replaced = 0;
  for (const existing of lines) {
    if (existing.trimEnd().endsWith(marker)) {
      if (replaced === 0) out.push(line);
      replaced++;
    } else out.push(existing);
  }
  if (replaced === 0) out.push(line);
  return { content: `${out.join('\n')}\n`, replaced };
};

/** The unit file: the long-running agent, restarted on failure, stopped by SIGTERM after its tick. */
export const unitFile = (command: AgentCommand, user: string | undefined): string => {
  const lines = [
    `# Written by "buildctl agent install --systemd" for the store ${command.storeDir}.`,
    '# Run that command again rather than editing this file.',
    '[Unit]',
    `Description=buildctl agent (store ${command.storeDir.replace(/%/g, '%%')})`,
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    ...(user === undefined ? [] : [`User=${user}`]),
    ...command.env.map(([name, value]) => `Environment=${environmentQuote(name, value)}`),
    `ExecStart=${[...command.argv, '--log-file', command.logFile].map(execQuote).join(' ')}`,
    'Restart=on-failure',
    'RestartSec=10s',
    // SIGTERM lets the current tick finish; give it time before SIGKILL.
    'KillSignal=SIGTERM',
    'TimeoutStopSec=120s',
    '',
    '[Install]',
    `WantedBy=${user === undefined ? 'default.target' : 'multi-user.target'}`,
    '',
  ];
  return lines.join('\n');
};
