import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { notNowError, usageError } from '../../errors.js';
import { buildContext, type Runtime } from '../runtime.js';

const portNumber = (text: string): number => {
  if (!/^\d{1,5}$/.test(text.trim()) || Number(text) > 65535) throw new InvalidArgumentError('the port must be a whole number from 0 to 65535 (0: any free port)');
  return Number(text);
};

const MIN_TOKEN = 16;

export const registerServe = (program: Command, runtime: Runtime): void => {
  program
    .command('serve')
    .description('a read-only web dashboard of the fleet, live (status, builders\' metrics, jobs, locks, messages, audit log)')
    .option('--port <port>', 'the port (0: any free one, printed)', portNumber, 7420)
    .option('--host <address>', 'the address to listen on; anything but loopback is reachable from other hosts (and warned about)', '127.0.0.1')
    .option('--token <token>', `require this bearer token for every request (at least ${MIN_TOKEN} characters; prefer --token-file or BUILDCTL_SERVE_TOKEN: a command line is visible to other users)`)
    .option('--token-file <path>', 'read the token from this file')
    .option('--interval <duration>', 'how often the server fetches and pushes changes to open pages (at least 2s)', '10s')
    .addHelpText('after', `
The pages: / (the fleet), /builders/ID (metrics charts, last hour and 7 days), /jobs
(filters; /jobs/ID: a job's timeline from the commits), /locks, /messages, /log.
Each open page is kept up to date with server-sent events and says how old its data is
and when the remote is unreachable. JSON: /api/fleet, /api/jobs, /api/locks,
/api/messages, /api/log, /api/metrics, /api/check (what the CLI's --json prints).

With a token (--token, --token-file or BUILDCTL_SERVE_TOKEN), every request needs it:
scripts send "Authorization: Bearer TOKEN"; a browser signs in once at /login and gets
an HttpOnly, SameSite=Strict cookie (a browser cannot add a header to an event stream,
and a token in the URL would stay in its history).

Examples:
  buildctl serve                                   http://127.0.0.1:7420/
  buildctl serve --host 0.0.0.0 --token-file /etc/buildctl/dashboard-token`)
    .action(async (options: { port: number; host: string; token?: string; tokenFile?: string; interval: string }, command: Command) => {
      const [{ parseDuration }, { readFile }, { createFeed }, { findStaticDir, isLoopback, startServer }] = await Promise.all([
        import('../../domain/durations.js'),
        import('node:fs/promises'),
        import('../../web/feed.js'),
        import('../../web/server.js'),
      ]);
      const intervalMs = parseDuration(options.interval, 'interval');
      if (intervalMs < 2000) throw usageError(`an interval of ${options.interval} is too short`, { code: 'interval_too_short', hint: 'use --interval 2s or longer: every refresh fetches from the remote' });
      let token = options.token ?? runtime.env.BUILDCTL_SERVE_TOKEN;
      if (options.tokenFile !== undefined) {
        token = (await readFile(options.tokenFile, 'utf8').catch(() => undefined))?.trim();
        if (!token) throw usageError(`cannot read a token from ${options.tokenFile}`, { code: 'token_unreadable', hint: 'put the token in that file (e.g. openssl rand -hex 24 > FILE; chmod 600 FILE)' });
      }
      if (token !== undefined && token.length < MIN_TOKEN) throw usageError(`the token is too short (${token.length} characters)`, { code: 'token_too_short', hint: `use at least ${MIN_TOKEN} random characters, e.g. openssl rand -hex 24` });
      const ctx = buildContext(runtime, command);
      // The feed warns on every refresh while the remote is away: say each thing once.
      const said = new Set<string>();
      const feed = createFeed({ ...ctx, warn: (line) => { if (!said.has(line)) { said.add(line); ctx.warn(line); } } }, { intervalMs });
      await feed.refresh();
      const server = await startServer({ host: options.host, port: options.port, token, feed, staticDir: findStaticDir() }).catch(async (error: NodeJS.ErrnoException) => {
        await feed.stop();
        if (error.code === 'EADDRINUSE') throw notNowError(`port ${options.port} on ${options.host} is in use`, { code: 'port_in_use', hint: 'stop what listens there, or pick another with --port (0: any free port)' });
        if (error.code === 'EACCES' || error.code === 'EADDRNOTAVAIL') throw usageError(`cannot listen on ${options.host}:${options.port} (${error.code})`, { code: 'cannot_listen', hint: 'use a port above 1023 and an address of this host' });
        throw error;
      });
      feed.start();
      if (!isLoopback(options.host)) {
        ctx.warn(`warning: listening on ${options.host}: the dashboard is reachable from other hosts${token === undefined ? ', and without a token anyone who reaches it reads the fleet (add --token-file)' : ''}`);
      }
      runtime.out(`buildctl dashboard on ${server.url} (Ctrl-C to stop)`);
      let onSignal: () => void = () => undefined;
      const stopped = new Promise<void>((resolve) => (onSignal = resolve));
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      await stopped;
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      await server.close();
      await feed.stop();
    });
};
