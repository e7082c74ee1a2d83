// `buildctl agent install`: makes the agent run on this host, as one crontab line running
// `buildctl agent --once` every minute (the default) or as a systemd unit running the
// long-running `buildctl agent`. Idempotent: the same store gets the same line or unit, an
// earlier line of ours for that store is replaced (never duplicated), and nothing is
// written when nothing would change. It never starts or reloads anything itself (no
// systemctl): it says what to run next.
import { spawn } from 'node:child_process';
import { readFile, realpath } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { cronLine, defaultLogFile, refuseNewlines, unitFile, unitName, withCronLine, type AgentCommand } from '../domain/agent-units.js';
import { failedError, usageError } from '../errors.js';
import { writeFileAtomic } from '../store/atomic-write.js';
import { openStore } from '../store/store.js';
import type { Context } from './context.js';
import { tryResolveActor } from './identity.js';

export interface InstallOptions {
  mode: 'cron' | 'systemd';
  dryRun: boolean;
  /** Where the systemd unit goes (normally /etc/systemd/system). */
  unitDir: string;
  /** Where the agent appends its log; default `<store>.agent.log` (domain/agent-units.ts). */
  logFile?: string | undefined;
  /** The node binary to run (cron's PATH is minimal, so always absolute). */
  nodePath: string;
  /** The CLI script (dist/cli.js, or a launcher symlink to it: resolved). */
  cliPath: string;
}

export interface InstallResult {
  mode: 'cron' | 'systemd';
  /** Whether anything was written (always false for --dry-run). */
  changed: boolean;
  /** The crontab line, or the unit file's content. */
  text: string;
  /** The unit file's path (systemd). */
  path?: string | undefined;
  /** What was done, or what would be done, and what to run next. */
  actions: string[];
}

/** The host-wide id file the CLI reads when BUILDCTL_ID_FILE does not say otherwise. */
const DEFAULT_ID_FILE = '/etc/build_server_id';

interface ResolvedCommand extends AgentCommand {
  identity: string | undefined;
  identityNote: string | undefined;
}

/** What the agent runs with: absolute paths, the store, and the identity the installer resolved. */
const agentCommand = async (ctx: Context, options: InstallOptions, requireReady: boolean): Promise<ResolvedCommand> => {
  const storeDir = resolve(ctx.storeDir);
  const logFile = resolve(options.logFile ?? defaultLogFile(storeDir));
  const cliPath = await realpath(resolve(options.cliPath)).catch(() => resolve(options.cliPath));
  if (requireReady) await openStore(storeDir);
  const identity = await tryResolveActor({ ...ctx, storeDir });
  if (identity === undefined && requireReady) {
    throw usageError(`cannot install the agent: it would not know which builder it is (store ${storeDir})`, {
      code: 'unknown_identity',
      hint: 'write the id to /etc/build_server_id (or .build_server_id in the store), or pass --as ID',
    });
  }
  const env: Array<[string, string]> = [];
  // The agent must find the same id file as the installer did.
  if (ctx.etcIdFile !== DEFAULT_ID_FILE) env.push(['BUILDCTL_ID_FILE', resolve(ctx.etcIdFile)]);
  const argv = [options.nodePath, cliPath, '--store', storeDir];
  // --as is kept when given; an id from BUILD_SERVER_ID is baked in too, since neither cron
  // nor systemd will have that variable. Id files are read by the agent itself.
  let identityNote: string | undefined;
  if (ctx.asFlag) argv.push('--as', ctx.asFlag);
  else if (identity?.source === 'BUILD_SERVER_ID') {
    argv.push('--as', identity.id);
    identityNote = `the id ${identity.id} came from BUILD_SERVER_ID, which the agent will not see: it runs with --as ${identity.id}`;
  }
  argv.push('agent');
  refuseNewlines([storeDir, logFile, ...argv, ...env.map(([, value]) => value)]);
  return { storeDir, logFile, env, argv, identity: identity?.id ?? ctx.asFlag, identityNote };
};

// ---- cron -------------------------------------------------------------------------------

interface CrontabRun {
  code: number;
  stdout: string;
  stderr: string;
}

const runCrontab = (args: string[], input?: string): Promise<CrontabRun> =>
  new Promise((resolvePromise, reject) => {
    const child = spawn('crontab', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') {
        reject(
          usageError('cannot install the crontab line: there is no "crontab" command on PATH', {
            code: 'no_crontab',
            hint: 'install cron (e.g. "apt-get install cron" or "dnf install cronie"), or use "buildctl agent install --systemd"',
          }),
        );
      } else reject(error);
    });
    child.on('close', (code) => resolvePromise({ code: code ?? -1, stdout, stderr }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });

/** The current crontab; none at all ("no crontab for root", a non-zero exit) is empty. */
const readCrontab = async (): Promise<string> => {
  const run = await runCrontab(['-l']);
  if (run.code === 0) return run.stdout;
  if (/no crontab/i.test(run.stderr)) return '';
  throw failedError(`crontab -l failed: ${run.stderr.trim() || `exit ${run.code}`}`, {
    code: 'crontab_failed',
    hint: 'check that this user may use cron (/etc/cron.allow, /etc/cron.deny)',
  });
};

const installCron = async (ctx: Context, options: InstallOptions): Promise<InstallResult> => {
  const command = await agentCommand(ctx, options, !options.dryRun);
  const line = cronLine(command);
  const notes = command.identityNote ? [command.identityNote] : [];
  if (options.dryRun) {
    let current: string | undefined;
    try {
      current = await readCrontab();
    } catch {
      current = undefined;
    }
    const actions = [...notes];
    if (current === undefined) actions.push('dry run: could not read the crontab (is cron installed?); nothing changed');
    else {
      const next = withCronLine(current, line, command.storeDir);
      const same = next.content === current;
      actions.push(
        same
          ? 'dry run: the crontab already has the line; nothing changed'
          : next.replaced > 0
            ? 'dry run: would replace the earlier line for this store; nothing changed'
            : 'dry run: would add the line to the crontab; nothing changed',
      );
    }
    return { mode: 'cron', changed: false, text: line, actions };
  }
  const current = await readCrontab();
  const next = withCronLine(current, line, command.storeDir);
  if (next.content === current) {
    return { mode: 'cron', changed: false, text: line, actions: [...notes, 'crontab already has the line: nothing changed'] };
  }
  const write = await runCrontab(['-'], next.content);
  if (write.code !== 0) {
    throw failedError(`crontab - failed: ${write.stderr.trim() || `exit ${write.code}`}`, {
      code: 'crontab_failed',
      hint: 'check that this user may use cron (/etc/cron.allow, /etc/cron.deny)',
    });
  }
  const what = next.replaced > 0 ? 'replaced the earlier crontab line for this store' : 'added the line to the crontab';
  return {
    mode: 'cron',
    changed: true,
    text: line,
    actions: [...notes, `${what} (user ${userInfo().username})`, `the agent ticks every minute; its log: ${command.logFile}`, 'check it with: buildctl status'],
  };
};

// ---- systemd ----------------------------------------------------------------------------

const isUserUnitDir = (unitDir: string): boolean => /\/systemd\/user\/?$/.test(resolve(unitDir));

const installSystemd = async (ctx: Context, options: InstallOptions): Promise<InstallResult> => {
  const command = await agentCommand(ctx, options, !options.dryRun);
  const userUnit = isUserUnitDir(options.unitDir);
  const text = unitFile(command, userUnit ? undefined : userInfo().username);
  const name = unitName(command.storeDir);
  const path = join(resolve(options.unitDir), name);
  const systemctl = userUnit ? 'systemctl --user' : 'systemctl';
  const notes = command.identityNote ? [command.identityNote] : [];
  const current = await readFile(path, 'utf8').catch(() => undefined);
  if (options.dryRun) {
    const what = current === text ? `${path} is already up to date` : current === undefined ? `would write ${path}` : `would rewrite ${path}`;
    return { mode: 'systemd', changed: false, text, path, actions: [...notes, `dry run: ${what}; nothing changed`] };
  }
  if (current === text) {
    return {
      mode: 'systemd',
      changed: false,
      text,
      path,
      actions: [...notes, `${path} is already up to date: nothing changed`, `if it is not running yet: ${systemctl} daemon-reload && ${systemctl} enable --now ${name}`],
    };
  }
  try {
    await writeFileAtomic(path, text);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      throw usageError(`cannot write ${path} (${code})`, {
        code: 'unit_dir_not_writable',
        hint: 'run as root, or install a user unit with --unit-dir ~/.config/systemd/user',
      });
    }
    throw error;
  }
  return {
    mode: 'systemd',
    changed: true,
    text,
    path,
    actions: [
      ...notes,
      `${current === undefined ? 'wrote' : 'rewrote'} ${path}`,
      current === undefined
        ? `next: ${systemctl} daemon-reload && ${systemctl} enable --now ${name}`
        : `next: ${systemctl} daemon-reload && ${systemctl} restart ${name}`,
      `its log: ${command.logFile}; check it with: buildctl status`,
    ],
  };
};

export const installAgent = async (ctx: Context, options: InstallOptions): Promise<InstallResult> => {
  if (!options.cliPath) {
    throw usageError('cannot tell where the buildctl CLI is', { code: 'no_cli_path', hint: 'run it as "node /path/to/dist/cli.js agent install"' });
  }
  if (basename(options.nodePath) === '' || !options.nodePath.startsWith('/')) {
    throw usageError(`the node path must be absolute (got "${options.nodePath}")`, { code: 'bad_node_path', hint: 'cron and systemd do not search PATH' });
  }
  return options.mode === 'systemd' ? installSystemd(ctx, options) : installCron(ctx, options);
};
