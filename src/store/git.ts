// The one way buildctl runs git: child processes with a fixed, non-interactive
// environment. simple-git was measured and left out of the hot path: it waits an extra
// 50 ms after any command that prints nothing, costs 20-35 ms to import, and cannot drive
// `git cat-file --batch`, which lets one process answer every read of a status call.
import { spawn } from 'node:child_process';
import { faultInGitOutput, gitNotRunnable } from '../faults.js';
import { objectsDirAt, readLooseObject } from './objects.js';

export interface GitRun {
  stdout: string;
  stderr: string;
  code: number;
}

export interface GitOptions {
  input?: string | Buffer;
  /** Return the result on a non-zero exit instead of throwing. */
  allowFail?: boolean;
  env?: Record<string, string>;
}

export class GitError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly result: GitRun,
  ) {
    super(`git ${args.join(' ')} exited ${result.code}: ${firstLine(result.stderr || result.stdout)}`);
    this.name = 'GitError';
  }
}

const firstLine = (text: string): string => text.trim().split('\n').slice(-1)[0] ?? '';

/** Environment for every git child: no prompts, stable English messages, no pager. */
export const gitEnv = (extra?: Record<string, string>): NodeJS.ProcessEnv => ({
  ...process.env,
  GIT_TERMINAL_PROMPT: '0',
  GIT_ASKPASS: 'echo',
  SSH_ASKPASS: 'echo',
  GIT_SSH_COMMAND: process.env.GIT_SSH_COMMAND ?? 'ssh -o BatchMode=yes -o ConnectTimeout=10',
  LC_ALL: 'C',
  LANG: 'C',
  GIT_PAGER: 'cat',
  ...extra,
});

export const git = (cwd: string, args: readonly string[], options: GitOptions = {}): Promise<GitRun> =>
  new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd, env: gitEnv(options.env), stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (error: NodeJS.ErrnoException) => reject(error.syscall?.startsWith('spawn') ? gitNotRunnable(error) : error));
    child.on('close', (code) => {
      const result = {
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        code: code ?? 1,
      };
      if (result.code !== 0 && !options.allowFail) reject(faultInGitOutput(result.stderr, cwd) ?? new GitError(args, result));
      else resolve(result);
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });

/** An object as `git cat-file --batch` gives it. */
export interface GitObject {
  sha: string;
  type: string;
  size: number;
  /** The raw bytes; undefined when the object is larger than the read allowed (nothing was buffered). */
  body: Buffer | undefined;
}

/**
 * Reads objects through one long-lived `git cat-file --batch`: each `read` is one
 * request line and one answer, so a whole status view or a whole transaction costs a
 * single git process. Raw objects: no attribute, filter or text conversion applies.
 */
export interface ObjectReader {
  /** The object named `spec` (`rev:path`, a sha, a ref), or undefined when it does not exist. */
  readObject(spec: string, options?: { maxBytes?: number }): Promise<GitObject | undefined>;
  /** Just the bytes of `spec`, or undefined. */
  read(spec: string): Promise<Buffer | undefined>;
  close(): void;
}

interface Waiting {
  maxBytes: number;
  resolve: (value: GitObject | undefined) => void;
  reject: (error: Error) => void;
}

const FULL_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

export const openObjectReader = (cwd: string): ObjectReader => {
  const objectsDir = objectsDirAt(cwd);
  const child = spawn('git', ['cat-file', '--batch'], { cwd, env: gitEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
  let buffer: Buffer = Buffer.alloc(0);
  /** Bytes the buffer must hold before the object at its start is complete (0: unknown). */
  let needed = 0;
  /** Bytes of an over-size object (and its newline) still to be thrown away as they arrive. */
  let skipping = 0;
  const waiting: Waiting[] = [];
  let failure: Error | undefined;
  const stderr: Buffer[] = [];

  const drain = (): void => {
    while (waiting.length > 0) {
      if (skipping > 0) {
        const dropped = Math.min(skipping, buffer.length);
        buffer = buffer.subarray(dropped);
        skipping -= dropped;
        if (skipping > 0) return;
      }
      const newline = buffer.indexOf(10);
      if (newline < 0) return;
      const header = buffer.subarray(0, newline).toString('utf8');
      if (header.endsWith(' missing') || header.endsWith(' ambiguous')) {
        buffer = buffer.subarray(newline + 1);
        waiting.shift()?.resolve(undefined);
        continue;
      }
      const [sha = '', type = '', sizeText = ''] = header.split(' ');
      const size = Number(sizeText);
      if (!Number.isFinite(size) || sizeText === '') {
        waiting.shift()?.reject(new Error(`unexpected git cat-file answer: ${header}`));
        buffer = buffer.subarray(newline + 1);
        continue;
      }
      const request = waiting[0]!;
      if (size > request.maxBytes) {
        // Never buffer it: drop the bytes as they come.
        buffer = buffer.subarray(newline + 1);
        skipping = size + 1;
        needed = 0;
        waiting.shift();
        request.resolve({ sha, type, size, body: undefined });
        continue;
      }
      if (buffer.length < newline + 1 + size + 1) {
        needed = newline + 1 + size + 1;
        return;
      }
      needed = 0;
      // A view, not a copy, when the object is most of what was read (a large document):
      // copying 10 MB twice costs more than keeping the few bytes after it alive.
      const view = buffer.subarray(newline + 1, newline + 1 + size);
      const body = size >= buffer.length / 2 ? view : Buffer.from(view);
      buffer = buffer.subarray(newline + 1 + size + 1);
      waiting.shift();
      request.resolve({ sha, type, size, body });
    }
  };

  // Chunks wait in a list until the object they belong to is complete: concatenating on
  // every chunk would copy a large document over and over.
  let chunks: Buffer[] = [];
  let chunkBytes = 0;
  child.stdout.on('data', (chunk: Buffer) => {
    if (skipping > 0 && buffer.length === 0 && chunks.length === 0) {
      const dropped = Math.min(skipping, chunk.length);
      skipping -= dropped;
      chunk = chunk.subarray(dropped);
      if (chunk.length === 0) return;
    }
    chunks.push(chunk);
    chunkBytes += chunk.length;
    if (needed > 0 && buffer.length + chunkBytes < needed) return;
    buffer = Buffer.concat(buffer.length === 0 ? chunks : [buffer, ...chunks]);
    chunks = [];
    chunkBytes = 0;
    drain();
  });
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  const fail = (error: Error): void => {
    failure = error;
    for (const pending of waiting.splice(0)) pending.reject(error);
  };
  child.on('error', (error: NodeJS.ErrnoException) => fail(error.syscall?.startsWith('spawn') ? gitNotRunnable(error) : error));
  child.on('close', (code) => {
    if (waiting.length > 0) fail(faultInGitOutput(Buffer.concat(stderr).toString('utf8'), cwd) ?? new Error(`git cat-file exited ${code}: ${Buffer.concat(stderr).toString('utf8').trim()}`));
  });
  child.stdin.on('error', () => undefined);

  // Requests made in one turn of the event loop (a view asks for hundreds at once) go to
  // git in one write.
  let pending: string[] = [];
  const flush = (): void => {
    const lines = pending.join('');
    pending = [];
    child.stdin.write(lines);
  };
  const readObject = (spec: string, options: { maxBytes?: number } = {}): Promise<GitObject | undefined> =>
    new Promise((resolve, reject) => {
      if (failure) return reject(failure);
      // An object named by its id that is stored loose: read here, not through git.
      if (FULL_ID.test(spec)) {
        const loose = readLooseObject(objectsDir, spec, options.maxBytes);
        if (loose) return resolve(loose);
      }
      if (spec.includes('\n')) return reject(new Error('object name contains a newline'));
      waiting.push({ maxBytes: options.maxBytes ?? Number.POSITIVE_INFINITY, resolve, reject });
      if (pending.push(`${spec}\n`) === 1) queueMicrotask(flush);
    });

  return {
    readObject,
    read: (spec) => readObject(spec).then((object) => object?.body),
    close: () => {
      if (pending.length > 0) flush();
      child.stdin.end();
      // Do not keep the process alive waiting for git to exit after its last answer.
      child.unref();
      child.stdout.destroy();
      child.stderr.destroy();
    },
  };
};

/** The line of git's stderr that says what went wrong ("fatal: ..." first), for one-line errors. */
export const gitReason = (stderr: string): string => {
  const lines = stderr.split('\n').map((line) => line.trim()).filter((line) => line !== '');
  const fatal = lines.find((line) => /^(fatal|error):/.test(line));
  return (fatal ?? lines[lines.length - 1] ?? '').replace(/^(fatal|error):\s*/, '');
};
