import type { Command } from 'commander';
import { renderGuide } from '../../domain/guide.js';
import { mutationJson, readJson } from '../output.js';
import { buildContext, builtInStoreDir, printJson, type Runtime } from '../runtime.js';

export const registerGuide = (program: Command, runtime: Runtime): void => {
  program
    .command('guide')
    .description("the checklist for a session on this builder (an AI agent's or a new operator's): session start, while working, the end; exact commands for this builder and store")
    .option('--agents-md <path>', "write the checklist into PATH (a file, or a directory: its AGENTS.md) as a marked block, replacing the block an earlier run wrote; the rest of the file is kept")
    .option('--json', 'print the checklist (or, with --agents-md, what was written) as JSON')
    .addHelpText('after', `
Examples:
  buildctl guide                                 print it (Markdown)
  buildctl guide --json                          the same steps, with the MCP tool of each
  buildctl guide --agents-md ~/work              ~/work/AGENTS.md, for the agent working in ~/work`)
    .action(async (options: { agentsMd?: string; json?: boolean }, command: Command) => {
      const { sessionGuide, writeAgentsMd } = await import('../../ops/guide.js');
      const guide = await sessionGuide(buildContext(runtime, command), { defaultStore: builtInStoreDir() });
      if (options.agentsMd === undefined) {
        if (options.json) return printJson(runtime, readJson('guide', guide));
        return runtime.out(renderGuide(guide).trimEnd());
      }
      const written = await writeAgentsMd(options.agentsMd, guide);
      if (options.json) return printJson(runtime, mutationJson('agents_md', written, { changed: written.action !== 'unchanged', queued: false, commit: null }));
      runtime.out(written.action === 'unchanged' ? `${written.path}: the checklist block is up to date` : `${written.action} ${written.path}: the checklist block for ${guide.builder}`);
    });
};
