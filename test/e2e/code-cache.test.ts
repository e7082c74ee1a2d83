// The start's code cache (src/cli/boot.ts): written once per command word beside the bundle
// (or in the user's cache when that is not writable), used by later starts, and never able
// to break a start: corrupt, truncated or garbage data is compiled from source and written
// again, and processes starting together never read half a file. Runs a copy of the built
// CLI in a temp dir, so the checkout's own dist/.cache is not touched.
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { arch, version } from 'node:process';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cliEnv, REPO_ROOT, runProcess, tempDir } from '../helpers/fleet.js';

let root: { dir: string; cleanup: () => void };
let dist: string;
let id: string;
/** Node's flags (none here: no NODE_OPTIONS, nothing before the script) as the name carries them. */
const flagsTag = (nodeOptions = ''): string => createHash('sha256').update(JSON.stringify([[], nodeOptions])).digest('hex').slice(0, 8);
const cacheName = (word: string, nodeOptions = ''): string => `${id}-${version}-${arch}-${flagsTag(nodeOptions)}-${word}.v8`;
const env = (extra: Record<string, string> = {}) => cliEnv({ HOME: join(root.dir, 'home'), XDG_CACHE_HOME: join(root.dir, 'xdg'), ...extra });
const run = (args: string[], bin = join(dist, 'cli.js'), extra: Record<string, string> = {}) => runProcess(process.execPath, [bin, ...args], { cwd: root.dir, env: env(extra) });
/** A cache file is the SHA-256 of V8's data, then the data. */
const sound = (file: string): boolean => {
  const bytes = readFileSync(file);
  return bytes.length > 32 && createHash('sha256').update(bytes.subarray(32)).digest().equals(bytes.subarray(0, 32));
};

beforeEach(() => {
  root = tempDir('buildctl-code-cache-');
  dist = join(root.dir, 'pkg', 'dist');
  mkdirSync(dist, { recursive: true });
  // The package's own package.json says ES modules; dist/package.json says CommonJS for cli.js.
  writeFileSync(join(root.dir, 'pkg', 'package.json'), JSON.stringify({ type: 'module' }));
  for (const file of ['cli.js', 'buildctl.cjs', 'package.json']) copyFileSync(join(REPO_ROOT, 'dist', file), join(dist, file));
  cpSync(join(REPO_ROOT, 'dist', 'web'), join(dist, 'web'), { recursive: true });
  id = createHash('sha256').update(readFileSync(join(dist, 'buildctl.cjs'))).digest('hex').slice(0, 16);
});
afterEach(() => root.cleanup());

describe('the start\'s code cache', () => {
  it('is written once per command word beside the bundle, named by the bundle\'s hash, and then used as it is', async () => {
    const first = await run(['status', '--help']);
    expect([first.code, first.stderr]).toEqual([0, '']);
    expect(readdirSync(join(dist, '.cache'))).toEqual([cacheName('status')]);
    const file = join(dist, '.cache', cacheName('status'));
    expect(sound(file)).toBe(true);
    const before = { bytes: readFileSync(file), mtime: statSync(file).mtimeMs };
    const second = await run(['status', '--help']);
    expect(second).toEqual(first);
    // Not written again: V8 took it (a rejected cache is replaced at the end of the run).
    expect({ bytes: readFileSync(file), mtime: statSync(file).mtimeMs }).toEqual(before);
    expect((await run(['--version'])).code).toBe(0);
    expect(readdirSync(join(dist, '.cache')).sort()).toEqual([cacheName('other'), cacheName('status')].sort());
    expect(existsSync(join(root.dir, 'xdg'))).toBe(false);
  });

  it('keeps a cache per set of node flags: a cron line and a shell that differ do not replace each other\'s', async () => {
    expect((await run(['msg', '--help'])).code).toBe(0);
    const plain = join(dist, '.cache', cacheName('msg'));
    const before = statSync(plain).mtimeMs;
    const options = '--max-old-space-size=300';
    const flagged = await run(['msg', '--help'], undefined, { NODE_OPTIONS: options });
    expect([flagged.code, flagged.stderr]).toEqual([0, '']);
    expect(readdirSync(join(dist, '.cache')).sort()).toEqual([cacheName('msg'), cacheName('msg', options)].sort());
    expect((await run(['msg', '--help'])).code).toBe(0);
    expect(statSync(plain).mtimeMs).toBe(before);
  });

  it('never reads a cache others may have written: a file or folder others may write, or a link', async () => {
    expect((await run(['lock', '--help'])).code).toBe(0);
    const cache = join(dist, '.cache');
    const file = join(cache, cacheName('lock'));
    // A sound cache that others may write (it could be anything by the next start): not
    // read, replaced by one of this user's (0600).
    chmodSync(file, 0o666);
    expect((await run(['lock', '--help'])).code).toBe(0);
    expect([statSync(file).mode & 0o777, sound(file)]).toEqual([0o600, true]);
    // A link in its place: not followed, replaced.
    const elsewhere = join(root.dir, 'elsewhere.v8');
    writeFileSync(elsewhere, readFileSync(file));
    rmSync(file);
    symlinkSync(elsewhere, file);
    expect((await run(['lock', '--help'])).code).toBe(0);
    expect([lstatSync(file).isSymbolicLink(), sound(file)]).toEqual([false, true]);
    // A folder others may write: neither read nor written; the user's own cache is used.
    chmodSync(cache, 0o777);
    const before = readFileSync(file);
    expect((await run(['lock', '--help'])).code).toBe(0);
    expect(readFileSync(file)).toEqual(before);
    expect(sound(join(root.dir, 'xdg', 'buildctl', cacheName('lock')))).toBe(true);
  });

  it('says what to do when its bundle is missing (an incomplete install)', async () => {
    rmSync(join(dist, 'buildctl.cjs'));
    const broken = await run(['status']);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/^buildctl: cannot read its own code, .*buildctl\.cjs \(ENOENT\)\nhint: the installation is incomplete: reinstall buildctl/);
  });

  it('never breaks a start: flipped bits, a truncated file and garbage are compiled from source and written again', async () => {
    const expected = await run(['job', '--help']);
    const file = join(dist, '.cache', cacheName('job'));
    const good = readFileSync(file);
    const flipped = Buffer.from(good);
    // Past the digest and V8's own header: the part node's release build does not check, and
    // would crash on (a fatal error in the deserializer) if it were handed to V8.
    for (let i = 2_000; i < flipped.length; i += 997) flipped[i] = (flipped[i] ?? 0) ^ 0x5a;
    for (const bad of [flipped, good.subarray(0, 40), Buffer.from('not a cache at all')]) {
      writeFileSync(file, bad);
      const again = await run(['job', '--help']);
      expect(again).toEqual(expected);
      expect(sound(file)).toBe(true);
    }
  });

  it('reads past a corrupt cache beside the bundle to a good one in the user\'s cache', async () => {
    const expected = await run(['job', '--help']);
    const file = join(dist, '.cache', cacheName('job'));
    const good = readFileSync(file);
    const user = join(root.dir, 'xdg', 'buildctl');
    mkdirSync(user, { recursive: true, mode: 0o700 });
    writeFileSync(join(user, cacheName('job')), good, { mode: 0o600 });
    const flipped = Buffer.from(good);
    for (let i = 2_000; i < flipped.length; i += 997) flipped[i] = (flipped[i] ?? 0) ^ 0x5a;
    writeFileSync(file, flipped);
    expect(await run(['job', '--help'])).toEqual(expected);
    // The user's cache served the start: nothing was compiled, so nothing was written back.
    expect(readFileSync(file).equals(flipped)).toBe(true);
    expect(readFileSync(join(user, cacheName('job'))).equals(good)).toBe(true);
  });

  it('removes other builds\' caches left for a week, and a killed writer\'s temporary file, when it writes one', async () => {
    const cache = join(dist, '.cache');
    mkdirSync(cache);
    const old = (days: number) => new Date(Date.now() - days * 86_400_000);
    const files = {
      oldBuild: `0123456789abcdef-${version}-${arch}-${flagsTag()}-status.v8`,
      recentBuild: `fedcba9876543210-${version}-${arch}-${flagsTag()}-status.v8`,
      oldNode: `${id}-v18.0.0-${arch}-${flagsTag()}-status.v8`,
      oldTemporary: `.${id}-${version}-${arch}-${flagsTag()}-msg.v8.12345.tmp`,
      // This build's cache under other node flags: kept however old (it is this build's).
      otherFlags: `${id}-${version}-${arch}-${flagsTag('--x')}-status.v8`,
      notOurs: 'notes.txt',
    };
    for (const file of Object.values(files)) writeFileSync(join(cache, file), 'x');
    for (const file of [files.oldBuild, files.oldNode, files.oldTemporary, files.notOurs, files.otherFlags]) utimesSync(join(cache, file), old(8), old(8));
    utimesSync(join(cache, files.recentBuild), old(6), old(6));
    expect((await run(['job', '--help'])).code).toBe(0);
    expect(readdirSync(cache).sort()).toEqual([cacheName('job'), files.recentBuild, files.notOurs, files.otherFlags].sort());
    // Nothing is removed when nothing is written: a start that finds its cache only reads.
    utimesSync(join(cache, files.recentBuild), old(9), old(9));
    expect((await run(['job', '--help'])).code).toBe(0);
    expect(readdirSync(cache)).toContain(files.recentBuild);
  });

  it('goes to the user\'s cache when the bundle\'s folder cannot hold it', async () => {
    writeFileSync(join(dist, '.cache'), 'a file where the folder would be');
    const done = await run(['lock', '--help']);
    expect([done.code, done.stderr]).toEqual([0, '']);
    const file = join(root.dir, 'xdg', 'buildctl', cacheName('lock'));
    expect(sound(file)).toBe(true);
    const before = statSync(file).mtimeMs;
    expect(await run(['lock', '--help'])).toEqual(done);
    expect(statSync(file).mtimeMs).toBe(before);
  });

  it('is named by the name it was started by (sm) and survives processes starting together', async () => {
    symlinkSync(join(dist, 'cli.js'), join(dist, 'sm'));
    const runs = await Promise.all(Array.from({ length: 6 }, () => run(['--help'], join(dist, 'sm'))));
    for (const one of runs) expect(one).toEqual({ code: 0, stdout: expect.stringContaining('Usage: sm'), stderr: '' });
    expect(new Set(runs.map((one) => one.stdout)).size).toBe(1);
    // One file, whole, and no temporary file left behind by the ones that raced.
    expect(readdirSync(join(dist, '.cache'))).toEqual([cacheName('sm')]);
    expect(sound(join(dist, '.cache', cacheName('sm')))).toBe(true);
  });
});
