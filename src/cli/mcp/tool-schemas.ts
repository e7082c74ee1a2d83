// The input schemas of `buildctl mcp`'s tools as JSON Schema, generated from their zod
// schemas (tools.ts) by `npm run schemas` into schemas/mcp_tools.json, which the server
// sends (a test fails when the file is out of date). Generated ahead rather than at start:
// zod's JSON Schema code would otherwise be bundled beside the zod code every command
// loads, and weigh on every start.
import { toJsonSchema } from '../../schemas/json-schema.js';
import { TOOLS } from './tools.js';

export const MCP_TOOLS_FILE = 'mcp_tools.json';

export const toolInputSchemas = (): Record<string, Record<string, unknown>> =>
  Object.fromEntries(
    TOOLS.map((tool) => {
      // The draft is MCP's default: a client needs no $schema line per tool.
      const { $schema: _draft, ...schema } = toJsonSchema(tool.input);
      return [tool.name, schema];
    }),
  );

/** schemas/mcp_tools.json: every tool's input schema, by tool name. */
export const mcpToolsSchemaFile = (): Map<string, string> => {
  const document = {
    $id: `https://buildctl.invalid/schemas/${MCP_TOOLS_FILE}`,
    title: 'buildctl mcp: the input schema of each tool, by tool name',
    tools: toolInputSchemas(),
  };
  return new Map([[MCP_TOOLS_FILE, `${JSON.stringify(document, null, 2)}\n`]]);
};
