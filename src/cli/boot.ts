#!/usr/bin/env node
// How `buildctl` starts (dist/cli.js): it runs the bundle (dist/buildctl.cjs, built from
// src/cli/main.ts) with V8's code cache, so a start does not parse and compile the bundle's
// code again. Measured on 2 cores: about 25 ms off every command (cron's tick, the
// heartbeat, status), a fifth of a mutation's wall time. Node 20 has no compile cache for
// ES modules (module.enableCompileCache came in 22), so the bundle is a CommonJS script and
// this file compiles it through vm.Script, with the cached data of an earlier run.
//
// The cache is code the process runs, so it is kept where the code is: dist/.cache/ beside
// the bundle, or, where that is not writable (a root-owned install run by a user), in the
// user's own ~/.cache/buildctl/; a folder or file that someone other than this user or root
// owns, or that others may write, is never read (a shared XDG_CACHE_HOME would otherwise
// let another user run code as this one). Its name carries the bundle's content hash (put
// in at build time), node's version, the architecture and node's flags: a rebuilt or
// upgraded bundle never meets an older cache, and V8 rejects one made by another V8 or with
// other flags (then it is made again). It is written once, when missing, at the end of a
// run (so it holds the functions that command compiled), to a temporary file renamed into
// place: processes starting together never read half of one. One cache per command word,
// since each command compiles different code. Other builds' caches are removed after a
// week (removeStale). Any failure to read or write it only costs the start it would have
// saved: a missing, unreadable, truncated or corrupt file is compiled from source and
// written again.
import { createHash } from 'node:crypto';
import { closeSync, constants as fsConstants, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { constants, Script } from 'node:vm';
import { commandWord } from './command-word.js';

declare const __BUILDCTL_BUNDLE_ID__: string;

// Built as CommonJS (dist/package.json says so): a start through node's ES module loader
// costs about 5 ms more than a CommonJS one, so this file is one, and __dirname is dist/.
const bundle = join(__dirname, 'buildctl.cjs');
// Node's CommonJS wrapper, on the bundle's first line: line numbers in stack traces stay right.
// The bundle is ASCII (the build checks): read as latin1, it needs no UTF-8 decoding.
const readBundle = (): string => {
  try {
    return readFileSync(bundle, 'latin1');
  } catch (error) {
    process.stderr.write(`buildctl: cannot read its own code, ${bundle} (${(error as NodeJS.ErrnoException).code ?? String(error)})\nhint: the installation is incomplete: reinstall buildctl (npm install -g buildctl-<version>.tgz), or run "npm run build" in a checkout\n`);
    process.exit(1);
  }
};
const source = `(function (exports, require, module, __filename, __dirname, __buildctlModuleUrl) {${readBundle()}\n})`;

const invokedAs = basename(process.argv[1] ?? 'buildctl').replace(/\.(c|m)?js$/, '');
const word = invokedAs === 'buildctl' || invokedAs === 'cli' ? commandWord(process.argv.slice(2)) : invokedAs;
// V8 rejects data made under other flags: node's own (NODE_OPTIONS, or flags before the
// script) get a cache of their own, so a cron line and a shell that differ do not replace
// each other's at every run.
const flags = createHash('sha256').update(JSON.stringify([process.execArgv, process.env.NODE_OPTIONS ?? ''])).digest('hex').slice(0, 8);
const build = `${__BUILDCTL_BUNDLE_ID__}-${process.version}-${process.arch}-`;
const name = `${build}${flags}-${/^[a-z][a-z0-9-]{0,31}$/.test(word ?? '') ? word : 'other'}.v8`;
const homeCache = (): string => join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'buildctl');
const places = [join(dirname(bundle), '.cache'), homeCache()];

// V8 checks the data's header (its version, flags, the source's length) but, in node's
// release builds, not its contents: a flipped bit in a body that passes the header check
// crashes node in the deserializer, at every start. So the file is the body's SHA-256 and
// the body, and a body that does not match is not handed to V8 (it is made again).
const DIGEST = 32;
const digest = (data: Buffer): Buffer => createHash('sha256').update(data).digest();
const me = process.getuid?.() ?? 0;
/** Owned by this user or root, and writable by nobody else. */
const ours = (info: { uid: number; mode: number }): boolean => (info.uid === me || info.uid === 0) && (info.mode & 0o022) === 0;
/** A place that may hold this user's cache: missing (made 0700 when written), or a folder that is ours. */
const trusted = (dir: string): boolean => {
  try {
    const info = statSync(dir);
    return info.isDirectory() && ours(info);
  } catch {
    return true;
  }
};
const usable = places.filter(trusted);

let cachedData: Buffer | undefined;
for (const dir of usable) {
  let fd: number | undefined;
  try {
    fd = openSync(join(dir, name), fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
    if (!ours(fstatSync(fd))) continue;
    const file = readFileSync(fd);
    const body = file.subarray(DIGEST);
    if (file.length > DIGEST && digest(body).equals(file.subarray(0, DIGEST))) {
      cachedData = body;
      break;
    }
  } catch {
    // not there (or a link): the next place, or none
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Other builds' caches (an upgrade of buildctl or of node) left in `dir` for a week, and temporary
 * files a killed writer left for an hour: removed whenever a cache is written (rarely), so
 * ~/.cache/buildctl does not grow with every upgrade. A build still in use writes its own
 * again, once.
 */
const removeStale = (dir: string): void => {
  const now = Date.now();
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const entry of entries) {
    const temporary = entry.startsWith('.') && entry.endsWith('.tmp');
    if (!(temporary || (entry.endsWith('.v8') && !entry.startsWith(build)))) continue;
    try {
      if (now - statSync(join(dir, entry)).mtimeMs > (temporary ? 3_600_000 : 7 * 86_400_000)) rmSync(join(dir, entry), { force: true });
    } catch {
      // gone already, or not ours to remove
    }
  }
};

// import() of node's own modules (the bundle keeps those) goes to node's usual loader.
const script = new Script(source, { filename: bundle, cachedData, importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER });
if (cachedData === undefined || script.cachedDataRejected === true) {
  process.once('exit', () => {
    let data: Buffer;
    try {
      data = script.createCachedData();
    } catch {
      return;
    }
    for (const dir of usable) {
      const temporary = join(dir, `.${name}.${process.pid}.tmp`);
      try {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        writeFileSync(temporary, Buffer.concat([digest(data), data]), { mode: 0o600 });
        renameSync(temporary, join(dir, name));
        removeStale(dir);
        return;
      } catch {
        // not writable here: the next place
        try {
          rmSync(temporary, { force: true });
        } catch {
          // no folder to clean
        }
      }
    }
  });
}

const run = script.runInThisContext() as (exports: object, require: NodeJS.Require, module: object, filename: string, dirname: string, url: string) => void;
const module = { exports: {} };
run.call(module.exports, module.exports, createRequire(bundle), module, bundle, dirname(bundle), pathToFileURL(bundle).href);
