// Git hooks in a store clone. The pre-commit hook that `buildctl hooks install` writes runs
// `buildctl validate --staged`, so a hand edit with a merge-conflict marker, an empty file
// or invalid JSON cannot be committed. buildctl's own commits skip hooks (--no-verify):
// their content was validated already.
import { chmod, readFile, rename, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { writeFileAtomic } from './atomic-write.js';
import { git } from './git.js';
import type { Store } from './store.js';

const BEGIN = '# >>> buildctl: validate staged documents (buildctl hooks install) >>>';
const END = '# <<< buildctl <<<';
/** Where a hook that was there before buildctl's goes; buildctl's hook runs it first. */
export const CHAINED_SUFFIX = '.before-buildctl';

const shellQuote = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;

export const preCommitScript = (command: readonly string[], chained: boolean): string =>
  [
    '#!/bin/sh',
    BEGIN,
    // The earlier hook runs as git would have run it: only when executable.
    ...(chained ? [`before="$(dirname "$0")/pre-commit${CHAINED_SUFFIX}"`, 'if [ -x "$before" ]; then "$before" "$@" || exit $?; fi'] : []),
    `${command.map(shellQuote).join(' ')} --store "$(git rev-parse --show-toplevel)" validate --staged || exit $?`,
    END,
    '',
  ].join('\n');

export type HookOutcome = 'installed' | 'chained' | 'updated' | 'unchanged';

/**
 * Writes the pre-commit hook (where git looks for it, core.hooksPath included). A hook
 * that is not buildctl's is kept as pre-commit.before-buildctl and run first.
 */
export const installPreCommitHook = async (store: Store, command: readonly string[]): Promise<{ path: string; outcome: HookOutcome }> => {
  const { stdout } = await git(store.dir, ['rev-parse', '--git-path', 'hooks/pre-commit']);
  const path = resolve(store.dir, stdout.trim());
  const current = await readFile(path, 'utf8').catch(() => undefined);
  const chainedPath = `${path}${CHAINED_SUFFIX}`;
  let outcome: HookOutcome;
  if (current === undefined) {
    outcome = 'installed';
  } else if (current.includes(BEGIN)) {
    outcome = 'updated';
  } else {
    await rename(path, chainedPath);
    outcome = 'chained';
  }
  const chained = await stat(chainedPath).then(() => true, () => false);
  const script = preCommitScript(command, chained);
  if (current === script) return { path, outcome: 'unchanged' };
  await writeFileAtomic(path, script);
  await chmod(path, 0o755);
  return { path, outcome };
};
