// Installs like any CLI: `npm pack` makes a tarball that a user installs globally into a
// prefix of their own and runs with no node_modules anywhere around. Packs the dist/ the
// test run built (`--ignore-scripts`: a rebuild would swap dist/ under the other tests).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runProcess, tempDir } from '../helpers/fleet.js';

let root: { dir: string; cleanup: () => void };
let packed: { filename: string; files: Array<{ path: string }> };
let prefix: string;
const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string; dependencies?: Record<string, string> };
/** Only node (for the #!/usr/bin/env node line) and the system's git on PATH, then the prefix's bin. */
const env = () => ({
  PATH: `${join(prefix, 'bin')}:${dirname(process.execPath)}:/usr/bin:/bin`,
  HOME: join(root.dir, 'home'),
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  BUILDCTL_ID_FILE: join(root.dir, 'no-id'),
  npm_config_cache: join(root.dir, 'npm-cache'),
  npm_config_update_notifier: 'false',
});
const run = (command: string, args: string[], extra: Record<string, string> = {}) => runProcess(command, args, { cwd: root.dir, env: { ...env(), ...extra } });

beforeAll(async () => {
  root = tempDir('buildctl-pack-');
  prefix = join(root.dir, 'prefix');
  const pack = await runProcess('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', root.dir], { cwd: REPO_ROOT, env: { ...env(), PATH: process.env.PATH ?? '' } });
  expect(pack.code, pack.stderr).toBe(0);
  [packed] = JSON.parse(pack.stdout) as [typeof packed];
  const install = await run('npm', ['install', '--global', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', join(root.dir, packed.filename)]);
  expect(install.code, install.stderr).toBe(0);
  // No install scripts to allow, nothing to warn about.
  expect(install.stderr).not.toContain('install-scripts');
}, 120_000);
afterAll(() => root.cleanup());

describe('the packed package', () => {
  it('holds the bundle, the JSON Schemas, the remote\'s pre-receive hook, README and LICENSE; no sources, tests or bench', () => {
    const paths = packed.files.map((f) => f.path);
    expect(paths).toEqual(expect.arrayContaining(['dist/cli.js', 'package.json', 'README.md', 'LICENSE', 'schemas/jobs.json', 'scripts/pre-receive']));
    expect(paths.filter((p) => !/^(dist\/cli\.js|dist\/buildctl\.cjs|dist\/package\.json|dist\/web\/[\w.-]+\.(html|css|js|svg)|schemas\/\w+\.json|scripts\/pre-receive|package\.json|README\.md|LICENSE)$/.test(p))).toEqual([]);
    // The dashboard's page ships beside the bundle (buildctl serve finds it there).
    expect(paths).toEqual(expect.arrayContaining(['dist/web/index.html', 'dist/web/app.js', 'dist/web/style.css', 'dist/web/login.html']));
    expect(paths).toContain('dist/buildctl.cjs');
  });

  it('needs no dependencies at run time and installs no node_modules', () => {
    expect(pkg.dependencies ?? {}).toEqual({});
    const installed = join(prefix, 'lib', 'node_modules', 'buildctl');
    expect(readdirSync(installed).sort()).toEqual(['LICENSE', 'README.md', 'dist', 'package.json', 'schemas', 'scripts']);
    expect(existsSync(join(installed, 'node_modules'))).toBe(false);
  });

  it('runs from the prefix: --version, init, status, sm', async () => {
    const version = await run('buildctl', ['--version']);
    expect([version.code, version.stdout.trim()]).toEqual([0, pkg.version]);
    expect((await run('buildctl', ['-v'])).stdout.trim()).toBe(pkg.version);
    expect((await run('buildctl', ['init', '--builder', 'build1', '--builder', 'build2'])).code).toBe(0);
    expect((await run('buildctl', ['--as', 'build1', 'heartbeat'])).code).toBe(0);
    const status = await run('buildctl', ['--as', 'build1', 'status']);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^Fleet: 2 builders \(1 healthy, 0 stale, 0 dead, 1 unknown\)/);
    const sent = await run('sm', ['2', 'installed', 'from', 'the', 'tarball'], { BUILD_SERVER_ID: 'build1' });
    expect(sent.code).toBe(0);
    expect(sent.stdout).toMatch(/^sent msg_\d+_[0-9a-f]{6} to build2\n$/);
    const inbox = await run('sendmessages', ['--help']);
    expect(inbox.stdout).toContain('Usage: sendmessages');
    const mail = await run('buildctl', ['--as', 'build2', 'msg', 'list']);
    expect(mail.stdout).toContain('installed from the tarball');
  });

  it('serves the dashboard from the installed package: the page and its files are found beside the bundle', async () => {
    const child = spawn(join(prefix, 'bin', 'buildctl'), ['serve', '--port', '0'], { cwd: root.dir, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        let err = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const found = /on (http:\/\/\S+\/) /.exec(out)?.[1];
          if (found) resolve(found);
        });
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        child.on('exit', (code) => reject(new Error(`buildctl serve exited ${code}: ${err}`)));
      });
      const page = await fetch(url);
      expect([page.status, await page.text()]).toEqual([200, expect.stringContaining('<script src="/static/app.js" defer></script>')]);
      for (const file of ['app.js', 'style.css']) expect((await fetch(`${url}static/${file}`)).status).toBe(200);
      const fleet = (await (await fetch(`${url}api/fleet`)).json()) as { fleet: { builders: Array<{ id: string }> } };
      expect(fleet.fleet.builders.map((b) => b.id)).toEqual(['build1', 'build2']);
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('serves MCP from the prefix: the SDK is in the bundle', async () => {
    const transport = new StdioClientTransport({ command: join(prefix, 'bin', 'buildctl'), args: ['--as', 'build2', 'mcp'], env: env(), cwd: root.dir, stderr: 'pipe' });
    const client = new Client({ name: 'package-test', version: '1.0.0' });
    await client.connect(transport);
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).toContain('inbox');
      const inbox = await client.callTool({ name: 'inbox', arguments: {} });
      expect(inbox.structuredContent).toMatchObject({ messages: [{ body: 'installed from the tarball' }] });
    } finally {
      await client.close();
    }
  });
});
