// Faults of the machine, not of buildctl or the store's data: a full disk, a read-only or
// foreign-owned store, no git. They reach buildctl as Node errors (ENOSPC from a write) or
// as git's own words on stderr ("No space left on device"); this is the one place that
// recognises both and says what happened and what to do, so none of them ends as
// "unexpected error ... please report". The remote's faults (git prefixes the other side's
// messages with "remote:") are exit 4: nothing on this host can fix them.
import { BuildctlError, failedError, unreachableError } from './errors.js';

interface Fault {
  code: string;
  /** errno codes of Node errors. */
  errno: readonly string[];
  /** The same fault in git's (LC_ALL=C) words. */
  text: RegExp;
  what: string;
  hint: (where: string) => string;
}

const FAULTS: readonly Fault[] = [
  {
    code: 'disk_full',
    errno: ['ENOSPC', 'EDQUOT'],
    text: /No space left on device|Disk quota exceeded|Out of diskspace/i,
    what: 'no space left on the device',
    hint: (where) => `free space on the file system that holds ${where} (df -h ${where}), then run the command again; nothing half-done was pushed`,
  },
  {
    code: 'read_only_store',
    errno: ['EROFS'],
    text: /Read-only file system/i,
    what: 'the file system is read-only',
    hint: (where) => `remount the file system that holds ${where} read-write (or point --store at a writable clone); nothing was changed`,
  },
  {
    code: 'permission_denied',
    errno: ['EACCES', 'EPERM'],
    // Not ssh's "Permission denied (publickey)": that is the remote refusing us (exit 4).
    text: /Permission denied(?! \((publickey|password|keyboard))|insufficient permission/i,
    what: 'permission denied',
    hint: (where) => `run buildctl as the user that owns ${where} (ls -ld ${where}), or fix its ownership; nothing was changed`,
  },
];

const GIT_MISSING_HINT = 'install git (e.g. apt-get install git) and make sure it is on PATH for this user and for cron';

/** `spawn git` failed before git ran: not installed, not on PATH, or not executable. */
export const gitNotRunnable = (error: NodeJS.ErrnoException): BuildctlError =>
  failedError(`cannot run git (${error.code ?? error.message}): ${error.code === 'ENOENT' ? 'git is not installed or not on PATH' : error.message}`, {
    code: 'git_missing',
    hint: GIT_MISSING_HINT,
    cause: error,
  });

const remoteLine = (line: string): boolean => /^remote:|remote unpack failed|unpacker error/.test(line);

/**
 * A fault in git's stderr, if it names one: on this host (exit 1) or on the remote's
 * side of a push (exit 4). `where` is the store, for the hint.
 */
export const faultInGitOutput = (stderr: string, where: string): BuildctlError | undefined => {
  for (const line of stderr.split('\n')) {
    const fault = FAULTS.find((candidate) => candidate.text.test(line));
    if (!fault) continue;
    const said = line.replace(/^(remote:\s*)?(fatal|error):\s*/, '$1').trim();
    if (remoteLine(line)) {
      return unreachableError(`the store's remote failed: ${fault.what} there (${said})`, {
        code: `remote_${fault.code}`,
        hint: 'the remote\'s host must fix it (free space, permissions); nothing was changed, and queued operations wait in the outbox',
      });
    }
    return failedError(`${fault.what} (git: ${said})`, { code: fault.code, hint: fault.hint(where) });
  }
  return undefined;
};

/** The environment fault behind a Node error (its cause chain included), if it is one. */
export const environmentFault = (error: unknown, where = 'the store'): BuildctlError | undefined => {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    if (current instanceof BuildctlError) return undefined; // already known and worded
    const errno = current as NodeJS.ErrnoException;
    if (errno.code === 'ENOENT' && errno.syscall?.startsWith('spawn') && /\bgit$/.test(errno.path ?? '')) return gitNotRunnable(errno);
    const fault = FAULTS.find((candidate) => errno.code !== undefined && candidate.errno.includes(errno.code));
    if (fault) {
      const path = errno.path ?? where;
      return failedError(`${fault.what}: ${errno.syscall ?? 'access'} ${path} (${errno.code})`, { code: fault.code, hint: fault.hint(path), cause: error });
    }
  }
  return undefined;
};
