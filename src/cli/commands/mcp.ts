import type { Command } from 'commander';
import { buildContext, type Runtime } from '../runtime.js';

export const registerMcp = (program: Command, runtime: Runtime): void => {
  program
    .command('mcp')
    .description('serve this builder to an AI agent as a Model Context Protocol server on stdio: read tools (status, inbox, jobs, locks, check, log, metrics), write tools only with --allow-writes')
    .option('--allow-writes', 'also offer the tools that change the store as this builder: msg send / read / ack, status set, job claim / complete / fail, lock acquire / renew / release (never lock break, builder remove, config set or migrate)')
    .addHelpText('after', `
It acts as this builder (--as, BUILD_SERVER_ID, /etc/build_server_id, ...), resolved once at
start, on this store. Every tool runs the same operation as its command, with the same
checks; results and errors are the same JSON as the command's --json. It serves until the
client closes its standard input.

An MCP client configuration (Claude Code: .mcp.json in the workspace; Claude Desktop:
claude_desktop_config.json):
  {
    "mcpServers": {
      "buildctl": {
        "command": "buildctl",
        "args": ["--store", "/home/ci/.buildctl/store", "--as", "build1", "mcp", "--allow-writes"]
      }
    }
  }
See also: buildctl guide (the checklist a session follows).`)
    .action(async (options: { allowWrites?: boolean }, command: Command) => {
      const { serveMcp } = await import('../mcp/server.js');
      await serveMcp(runtime, buildContext(runtime, command), { allowWrites: options.allowWrites === true });
    });
};
