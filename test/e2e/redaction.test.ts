// A URL's password or token never appears in what buildctl prints or logs (issue 13):
// `init --remote https://user:TOKEN@host/...` used to print the token in its report and
// in its errors. The remote here is real: the fleet's bare repository served over
// loopback HTTP (git's "dumb" protocol), refusing any request without the right basic-auth
// credentials, so a successful init proves the token was used and still never shown.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, normalize } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitSync, makeFleet, runCli, tempDir, type Fleet } from '../helpers/fleet.js';

const TOKEN = 'S3cr3tT0ken4buildctl';
let fleet: Fleet;
let server: Server;
let url: string;
let scratch: { dir: string; cleanup: () => void };

beforeAll(async () => {
  fleet = await makeFleet(['build1', 'build2']);
  gitSync(fleet.remote, ['update-server-info']);
  const root = dirname(fleet.remote);
  const expected = `Basic ${Buffer.from(`ci:${TOKEN}`).toString('base64')}`;
  server = createServer((req, res) => {
    if (req.headers.authorization !== expected) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="fleet"' });
      res.end();
      return;
    }
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname));
    readFile(join(root, path)).then(
      (body) => res.writeHead(200).end(body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  url = `http://ci:${TOKEN}@127.0.0.1:${address.port}/${basename(fleet.remote)}`;
  scratch = tempDir();
}, 60_000);

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  fleet?.cleanup();
  scratch?.cleanup();
});

const shown = (run: { stdout: string; stderr: string }) => `${run.stdout}${run.stderr}`;

describe('redaction: URLs keep their user and lose their secret wherever buildctl prints them', () => {
  it('init with a token URL clones through it and reports it redacted (text and --json)', async () => {
    const store = join(scratch.dir, 'text', 'store');
    const run = await runCli(['--store', store, 'init', '--remote', url]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`remote ${url.replace(TOKEN, '***')}`);
    expect(shown(run)).not.toContain(TOKEN);
    // The clone itself keeps the credentials it needs: it fetched main through them.
    expect(gitSync(store, ['rev-parse', 'origin/main']).trim()).toBe(gitSync(fleet.remote, ['rev-parse', 'main']).trim());

    const json = await runCli(['--store', join(scratch.dir, 'json', 'store'), 'init', '--remote', url, '--json']);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout).store.remote).toBe(url.replace(TOKEN, '***'));
    expect(shown(json)).not.toContain(TOKEN);
  });

  it('an error naming a token URL shows it redacted: a different remote for the same store, in message and hint', async () => {
    const store = join(scratch.dir, 'text', 'store');
    const other = `https://deploy:${TOKEN}x@git.example.invalid/fleet.git`;
    const run = await runCli(['--store', store, 'init', '--remote', other]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`already uses the remote ${url.replace(TOKEN, '***')}, not https://deploy:***@git.example.invalid/fleet.git`);
    expect(run.stderr).toMatch(/hint: .*remote set-url origin https:\/\/deploy:\*\*\*@git\.example\.invalid/);
    expect(shown(run)).not.toContain(TOKEN);
  });

  it('an unreachable remote with a token URL: exit 4, git\'s reason quoted, the token nowhere', async () => {
    const dead = `http://ci:${TOKEN}@127.0.0.1:1/fleet.git`;
    const run = await runCli(['--store', join(scratch.dir, 'dead', 'store'), 'init', '--remote', dead]);
    expect(run.code).toBe(4);
    expect(run.stderr).toContain('cannot clone http://ci:***@127.0.0.1:1/fleet.git: ');
    expect(shown(run)).not.toContain(TOKEN);
  });

  it('the agent log never holds one either', async () => {
    const { makeLogger } = await import('../../src/ops/agent.js');
    const file = join(scratch.dir, 'agent.log');
    const logger = await makeLogger(file);
    logger.error({ error: `cannot push to ${url}` }, 'tick failed');
    logger.flush();
    const text = readFileSync(file, 'utf8');
    expect(text).toContain(`cannot push to ${url.replace(TOKEN, '***')}`);
    expect(text).not.toContain(TOKEN);
  });
});
