// `buildctl hooks install`: the store's pre-commit hook validates staged documents.
import { installPreCommitHook, type HookOutcome } from '../store/hooks.js';
import { openStore } from '../store/store.js';
import type { Context } from './context.js';

export interface HooksReport {
  hook: string;
  outcome: HookOutcome;
  /** The command the hook runs, before `--store ... validate --staged`. */
  command: string[];
}

/**
 * `cli` is the running command line (node's path and the bundle's), so the hook works
 * with no PATH set up, as git runs hooks from GUIs and cron alike.
 */
export const installHooks = async (ctx: Context, cli: { node: string; script: string }): Promise<HooksReport> => {
  const store = await openStore(ctx.storeDir);
  const command = [cli.node, cli.script];
  const { path, outcome } = await installPreCommitHook(store, command);
  return { hook: path, outcome, command };
};
