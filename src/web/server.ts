// `buildctl serve`: the read-only dashboard on Node's own http module. Pages are one static
// shell (HTML, CSS, one script; no build step: the server puts the CLI's formatting
// functions into the script as it loads it) that draws the channels of the feed, which it
// receives as server-sent events. Security: loopback by default, with the Host header checked
// (a DNS-rebinding page cannot read it); an optional bearer token for every request, which a
// browser presents as an HttpOnly cookie after the login form (EventSource cannot send
// headers, and a token in a URL would end up in history and logs); a CSP without inline
// script, no-sniff, and no framing.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatAge, formatTime, plural } from '../domain/format.js';
import { CHANNELS, type Channel, type Feed } from './feed.js';

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

const STATIC_TYPES: Readonly<Record<string, string>> = {
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
  'index.html': 'text/html; charset=utf-8',
  'login.html': 'text/html; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};

/** Pages the shell draws (anything else is 404). */
const PAGE = /^\/(?:|builders\/[a-z][a-z0-9-]{0,31}|jobs|jobs\/[A-Za-z0-9][A-Za-z0-9._-]{0,127}|locks|messages|log)$/;
export const COOKIE = 'buildctl_session';
/** At most this many open pages (event streams) at once. */
const MAX_STREAMS = 64;
const KEEPALIVE_MS = 15_000;

/** Where the page's files are: beside the bundle (dist/buildctl.cjs's ./web/) or in the sources (src/web/static/). */
export const findStaticDir = (): string => {
  const candidates = [new URL('./web/', import.meta.url), new URL('./static/', import.meta.url)].map((u) => fileURLToPath(u));
  const found = candidates.find((dir) => existsSync(join(dir, 'index.html')));
  if (!found) throw new Error(`the dashboard's files are missing (looked in ${candidates.join(', ')}): reinstall buildctl`);
  return found;
};

export const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);

export interface ServeOptions {
  host: string;
  port: number;
  /** Required for every request when set. */
  token?: string | undefined;
  feed: Feed;
  staticDir: string;
}

export interface RunningServer {
  url: string;
  port: number;
  /** Open event streams (open pages). */
  streams(): number;
  close(): Promise<void>;
}

const sessionOf = (token: string): string => createHmac('sha256', token).update('buildctl dashboard session').digest('hex');

const same = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

const cookieValue = (req: IncomingMessage, name: string): string | undefined => {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return undefined;
};

const readBody = (req: IncomingMessage, limit: number): Promise<string> =>
  new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > limit) {
        reject(new Error('too large'));
        req.destroy();
      }
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });

/**
 * The page's script with the CLI's own formatting functions put in after its 'use strict'
 * line, from their definitions (domain/format.ts): ages, times and plurals read the same in
 * the terminal and the page, and are written once. They are self-contained arrow functions,
 * so their source is the same code in the browser.
 */
export const withSharedFormatting = (script: string): string => {
  const shared = [
    '// From src/domain/format.ts, put in by the server: the CLI and the page format alike.',
    `const formatAge = ${formatAge.toString()};`,
    `const formatTime = ${formatTime.toString()};`,
    `const plural = ${plural.toString()};`,
  ].join('\n');
  const strict = "'use strict';\n";
  const at = script.indexOf(strict);
  if (at < 0) throw new Error("the dashboard's app.js has no 'use strict' line to put the formatting after");
  return `${script.slice(0, at + strict.length)}${shared}\n${script.slice(at + strict.length)}`;
};

export const startServer = async (options: ServeOptions): Promise<RunningServer> => {
  const files = new Map<string, Buffer>();
  for (const name of Object.keys(STATIC_TYPES)) files.set(name, await readFile(join(options.staticDir, name)));
  files.set('app.js', Buffer.from(withSharedFormatting(files.get('app.js')!.toString('utf8'))));
  const session = options.token === undefined ? undefined : sessionOf(options.token);
  const streams = new Set<ServerResponse>();
  const loopback = isLoopback(options.host);
  let port = options.port;

  const send = (res: ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}): void => {
    res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'cache-control': 'no-store', ...extra });
    res.end(body);
  };
  const json = (res: ServerResponse, status: number, value: unknown): void => send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));

  const authorised = (req: IncomingMessage): boolean => {
    if (session === undefined || options.token === undefined) return true;
    const header = req.headers.authorization ?? '';
    if (header.startsWith('Bearer ') && same(header.slice(7).trim(), options.token)) return true;
    const cookie = cookieValue(req, COOKIE);
    return cookie !== undefined && same(cookie, session);
  };

  /** A loopback server answers only to its own names: a page from elsewhere that rebinds DNS to 127.0.0.1 is refused. */
  const hostAllowed = (req: IncomingMessage): boolean => {
    if (!loopback) return true;
    const host = (req.headers.host ?? '').toLowerCase();
    return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `${options.host}:${port}`].includes(host);
  };

  const openStream = (req: IncomingMessage, res: ServerResponse): void => {
    if (streams.size >= MAX_STREAMS) return json(res, 503, { error: { code: 'too_many_pages', message: `at most ${MAX_STREAMS} open pages` } });
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write('retry: 3000\n\n');
    for (const [channel, text] of options.feed.current()) res.write(`event: ${channel}\ndata: ${text}\n\n`);
    streams.add(res);
    req.on('close', () => streams.delete(res));
  };

  const unsubscribe = options.feed.subscribe((changed) => {
    for (const [channel, text] of changed) for (const res of streams) res.write(`event: ${channel}\ndata: ${text}\n\n`);
  });
  const keepalive = setInterval(() => {
    for (const res of streams) res.write(': keep-alive\n\n');
  }, KEEPALIVE_MS);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!hostAllowed(req)) return send(res, 421, 'text/plain; charset=utf-8', 'this dashboard answers only to its own address\n');
    const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (path.startsWith('/static/')) {
      const name = path.slice('/static/'.length);
      const file = files.get(name);
      if (!file || name.endsWith('.html')) return send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
      return send(res, 200, STATIC_TYPES[name] ?? 'application/octet-stream', method === 'HEAD' ? '' : file, { 'cache-control': 'no-cache' });
    }
    if (path === '/login') {
      if (session === undefined) return send(res, 303, 'text/plain; charset=utf-8', 'no sign-in needed\n', { location: '/' });
      if (method === 'POST') {
        const form = new URLSearchParams(await readBody(req, 4096).catch(() => ''));
        const given = form.get('token') ?? '';
        if (options.token !== undefined && same(given, options.token)) {
          return send(res, 303, 'text/plain; charset=utf-8', 'signed in\n', { location: '/', 'set-cookie': `${COOKIE}=${session}; HttpOnly; SameSite=Strict; Path=/` });
        }
        return send(res, 401, 'text/html; charset=utf-8', files.get('login.html') ?? '', {});
      }
      return send(res, 200, 'text/html; charset=utf-8', files.get('login.html') ?? '');
    }
    if (method !== 'GET' && method !== 'HEAD') return send(res, 405, 'text/plain; charset=utf-8', 'the dashboard is read-only\n', { allow: 'GET, HEAD' });
    if (!authorised(req)) {
      if (PAGE.test(path)) return send(res, 303, 'text/plain; charset=utf-8', 'sign in first\n', { location: '/login' });
      return json(res, 401, { error: { code: 'unauthorised', message: 'a token is required', hint: 'Authorization: Bearer <token>, or sign in at /login' } });
    }
    if (path === '/events') return openStream(req, res);
    if (path.startsWith('/api/')) {
      const channel = path.slice('/api/'.length);
      const text = (CHANNELS as readonly string[]).includes(channel) || channel === 'meta' ? options.feed.current().get(channel as Channel) : undefined;
      if (text === undefined) return json(res, 404, { error: { code: 'not_found', message: `no data for ${channel} (yet)` } });
      return send(res, 200, 'application/json; charset=utf-8', text);
    }
    if (PAGE.test(path)) return send(res, 200, 'text/html; charset=utf-8', files.get('index.html') ?? '');
    return send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) json(res, 500, { error: { code: 'internal', message: error instanceof Error ? error.message : String(error) } });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const shownHost = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${shownHost}:${port}/`,
    port,
    streams: () => streams.size,
    close: async () => {
      unsubscribe();
      clearInterval(keepalive);
      for (const res of streams) res.end();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};
