import type { Command } from 'commander';
import { formatAge, formatTime } from '../../domain/format.js';
import { lockChangeJson, locksJson } from '../output.js';
import { buildContext, printJson, table, type Runtime } from '../runtime.js';

export const registerLock = (program: Command, runtime: Runtime): void => {
  const lock = program.command('lock').description('named locks with TTL and fencing tokens (coordination/locks.json)');

  lock
    .command('acquire')
    .description("take a lock (or renew your own); prints its fencing token. Exit 3 when another builder holds it, saying how long until this clone may take it (only after watching it unchanged for its TTL: builders' clocks differ)")
    .argument('<name>', 'lock name')
    .option('--ttl <duration>', 'how long it holds without renewal (default: lock_ttl, 30s)')
    .option('--wait <duration>', 'keep trying this long while another builder holds it, e.g. 2m')
    .option('--json', 'print the lock as JSON')
    .action(async (name: string, options: { ttl?: string; wait?: string; json?: boolean }, command: Command) => {
      const { acquireLockOp } = await import('../../ops/locks.js');
      const result = await acquireLockOp(buildContext(runtime, command), { name, ttl: options.ttl, wait: options.wait });
      if (options.json) return printJson(runtime, lockChangeJson(result));
      runtime.out(String(result.lock.token));
    });

  lock
    .command('renew')
    .description('extend your lock (exit 3 when it is not yours, has expired, or was broken: then it says who broke it, when and why)')
    .argument('<name>', 'lock name')
    .option('--ttl <duration>', 'new time to live from now (default: lock_ttl)')
    .option('--json', 'print the lock as JSON')
    .action(async (name: string, options: { ttl?: string; json?: boolean }, command: Command) => {
      const { renewLockOp } = await import('../../ops/locks.js');
      const result = await renewLockOp(buildContext(runtime, command), { name, ttl: options.ttl });
      if (options.json) return printJson(runtime, lockChangeJson(result));
      runtime.out(`${name} renewed until ${formatTime(result.lock.expires_at)} (token ${result.lock.token})`);
    });

  lock
    .command('release')
    .description('free your lock (exit 3 when another builder holds it, or it was broken: then it says who broke it, when and why)')
    .argument('<name>', 'lock name')
    .option('--json', 'print the released lock as JSON')
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      const { releaseLockOp } = await import('../../ops/locks.js');
      const released = await releaseLockOp(buildContext(runtime, command), name);
      if (options.json) return printJson(runtime, lockChangeJson(released));
      runtime.out(`released ${name} (token ${released.lock.token})`);
    });

  lock
    .command('list')
    .description('every lock: holder, token, time left, expired')
    .option('--no-fetch', 'use the last fetched state')
    .option('--json', 'print as JSON')
    .action(async (options: { fetch: boolean; json?: boolean }, command: Command) => {
      const { listLocksOp } = await import('../../ops/locks.js');
      const locks = await listLocksOp(buildContext(runtime, command), options);
      if (options.json) return printJson(runtime, locksJson(locks));
      if (locks.length === 0) return runtime.out('no locks held');
      runtime.out(
        table(
          ['NAME', 'HOLDER', 'TOKEN', 'EXPIRES', 'LEFT'],
          locks.map((l) => [l.name, l.owner, String(l.token), formatTime(l.expires_at), l.expired ? 'expired' : formatAge(l.seconds_left * 1000)]),
        ),
      );
    });

  lock
    .command('break')
    .description("the operator's forced release of a lock, whoever holds it; --reason is required")
    .argument('<name>', 'lock name')
    .requiredOption('--reason <text>', 'why it must be freed (required; kept in the commit)')
    .option('--json', 'print the broken lock as JSON')
    .action(async (name: string, options: { reason: string; json?: boolean }, command: Command) => {
      const { breakLockOp } = await import('../../ops/locks.js');
      const result = await breakLockOp(buildContext(runtime, command), { name, reason: options.reason });
      if (options.json) return printJson(runtime, lockChangeJson(result));
      runtime.out(`broke ${name} (held by ${result.lock.owner}, token ${result.lock.token})`);
    });

  lock
    .command('run')
    .description('hold a lock while a command runs: acquire, run with BUILDCTL_LOCK_TOKEN set, renew, release; exits with its code')
    .argument('<name>', 'lock name')
    .argument('<command...>', 'the command and its arguments, after --')
    .option('--ttl <duration>', 'time to live, renewed at a third of it (default: lock_ttl); at least 5 transaction cycles of this store, and 2s')
    .option('--wait <duration>', 'wait this long for the lock')
    .addHelpText(
      'after',
      `
The command runs in its own process group with BUILDCTL_LOCK_NAME and BUILDCTL_LOCK_TOKEN
set. Each renewal is sent a third of the TTL after the last confirmed one (never while one
is in flight). The lease is measured from just before the acquire or renewal was sent: if
no renewal can be confirmed by the TTL minus a margin (a quarter of it, at most 30s), the
command is stopped (SIGTERM, then SIGKILL half the margin later), so it has stopped before
any other builder may take the lock; only a lock still held under this run's token is
released.

Exit codes: before the command starts, buildctl's own (2 bad usage or a TTL too short for
this store, 3 lock held after --wait, 4 remote unreachable). After: the command's code;
128 + N when signal N killed it (SIGSEGV: 139); 199 when the lock was lost and the command
was stopped (199 is above every signal code, 128 + 64, and below 200-254, which systemd
uses for its own failures).

Example:
  buildctl lock run deploy --ttl 1m --wait 5m -- ./deploy.sh --prod`,
    )
    .action(async (name: string, commandLine: string[], options: { ttl?: string; wait?: string }, command: Command) => {
      const { lockRun } = await import('../../ops/lock-run.js');
      const [program_, ...args] = commandLine;
      const report = await lockRun(buildContext(runtime, command), { name, ttl: options.ttl, wait: options.wait, command: program_ ?? '', args, env: runtime.env });
      if (report.end.kind === 'lost_lease') {
        runtime.err(`buildctl: ${report.end.reason}: the command was stopped (exit ${report.exitCode})`);
        runtime.err(`hint: nothing was released that another holder may have; check the lock with "buildctl lock list" and the remote's reachability, then run it again`);
      }
      runtime.exitCode = report.exitCode;
    });
};
