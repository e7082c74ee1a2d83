// `buildctl lock run NAME -- CMD ...`: hold a lock for exactly as long as a command runs.
import { spawn } from 'node:child_process';
import { BuildctlError, usageError } from '../errors.js';
import type { Context } from './context.js';
import { acquireLockOp, releaseLockOp, renewLockOp } from './locks.js';

export interface LockRunOptions {
  name: string;
  ttl?: string | undefined;
  wait?: string | undefined;
  command: string;
  args: string[];
}

/** Exit code of a child: its own, or 128 + signal number as shells report it. */
const exitCodeOf = (code: number | null, signal: NodeJS.Signals | null): number => {
  if (code !== null) return code;
  const numbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };
  return 128 + (signal ? (numbers[signal] ?? 1) : 1);
};

/**
 * Acquires the lock, runs the command with BUILDCTL_LOCK_TOKEN set, renews at a third of
 * the TTL while it runs, and releases when it exits. If a renewal finds the lock lost (it
 * expired and someone else took it), the command is stopped: it no longer holds what it
 * believes it holds. Returns the command's exit code.
 */
export const lockRun = async (ctx: Context, options: LockRunOptions): Promise<number> => {
  const acquired = await acquireLockOp(ctx, { name: options.name, ttl: options.ttl, wait: options.wait });
  const ttlMs = Date.parse(acquired.lock.expires_at) - Date.parse(acquired.lock.renewed_at);
  const child = spawn(options.command, options.args, {
    stdio: 'inherit',
    env: { ...process.env, BUILDCTL_LOCK_NAME: options.name, BUILDCTL_LOCK_TOKEN: String(acquired.lock.token) },
  });
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);

  let lost: BuildctlError | undefined;
  let renewing = Promise.resolve();
  const timer = setInterval(() => {
    renewing = renewing.then(async () => {
      try {
        await renewLockOp(ctx, { name: options.name, ttl: `${ttlMs}ms` });
      } catch (error) {
        if (error instanceof BuildctlError && (error.kind === 'not_now' || error.kind === 'usage')) {
          lost = error;
          ctx.warn(`lock ${options.name} was lost (${error.message}); stopping the command`);
          child.kill('SIGTERM');
        } else {
          // A dead remote: keep the command running and try again at the next renewal.
          ctx.warn(`could not renew lock ${options.name}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    });
  }, Math.max(100, Math.floor(ttlMs / 3)));

  const release = () =>
    releaseLockOp(ctx, options.name).then(
      () => undefined,
      (error: unknown) => ctx.warn(`could not release lock ${options.name}: ${error instanceof Error ? error.message : String(error)}; it expires by itself`),
    );
  const code = await new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (exitCode, signal) => resolve(exitCodeOf(exitCode, signal)));
  }).catch(async (error: unknown) => {
    await release();
    throw usageError(`cannot run "${options.command}": ${error instanceof Error ? error.message : String(error)}`, {
      code: 'command_failed_to_start',
      hint: 'check the command after "--" (is it installed and on PATH?); the lock was released',
    });
  }).finally(() => {
    clearInterval(timer);
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  });
  await renewing;
  if (lost) throw lost;
  await release();
  return code;
};
