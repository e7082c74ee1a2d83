// The CLI as a process a test can stop, resume and kill (with its git children), for tests
// of processes that stall or die at a chosen point (BUILDCTL_TEST_PAUSE_AT / _DIE_AT).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { CLI, cliEnv, type CliRun } from './fleet.js';

export interface Started {
  child: ChildProcess;
  done: Promise<CliRun>;
}

/** Started CLIs, for `killStarted` after each test. */
const started: ChildProcess[] = [];

/** The CLI as its own process group (so the whole group can be stopped or killed), output collected. */
export const startCli = (args: string[], env: Record<string, string> = {}): Started => {
  const child = spawn(process.execPath, [CLI, ...args], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: cliEnv(env),
  });
  started.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliRun>((resolve) => child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr })));
  return { child, done };
};

/** Kills every CLI process group a test started and left running (afterEach). */
export const killStarted = (): void => {
  for (const child of started.splice(0)) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
};

/** Whether a process is stopped (state T in /proc). */
export const isStopped = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return / T /.test(stat.slice(stat.lastIndexOf(')')));
  } catch {
    return false;
  }
};
