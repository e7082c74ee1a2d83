import { realpathSync } from 'node:fs';
import type { Command } from 'commander';
import { mutationJson } from '../output.js';
import { buildContext, printJson, type Runtime } from '../runtime.js';

const WORDS = {
  installed: 'installed',
  chained: 'installed (the earlier hook is kept as pre-commit.before-buildctl and runs first)',
  updated: 'updated',
  unchanged: 'already installed: nothing changed',
} as const;

export const registerHooks = (program: Command, runtime: Runtime): void => {
  const hooks = program.command('hooks').description('git hooks in the store clone');
  hooks
    .command('install')
    .description('install a pre-commit hook that refuses hand commits of broken or invalid documents (buildctl validate --staged)')
    .option('--json', 'print the result as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const { installHooks } = await import('../../ops/hooks.js');
      // The hook calls this very CLI by absolute path: node and the bundle (symlinks resolved).
      const script = realpathSync(process.argv[1] ?? '');
      const report = await installHooks(buildContext(runtime, command), { node: process.execPath, script });
      if (options.json) return printJson(runtime, mutationJson('hook', report, { changed: report.outcome !== 'unchanged', queued: false, commit: null }));
      runtime.out(`pre-commit hook ${WORDS[report.outcome]}: ${report.hook}`);
    });
};
