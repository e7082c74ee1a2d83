// Writes the JSON Schema files in schemas/ from the zod schemas: the documents'
// (src/schemas) and the inputs of `buildctl mcp`'s tools (src/cli/mcp/tools.ts).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mcpToolsSchemaFile } from '../src/cli/mcp/tool-schemas.js';
import { jsonSchemaFiles } from '../src/schemas/json-schema.js';

const outDir = join(process.cwd(), 'schemas');
await mkdir(outDir, { recursive: true });
for (const [name, text] of [...jsonSchemaFiles(), ...mcpToolsSchemaFile()]) {
  await writeFile(join(outDir, name), text);
  process.stdout.write(`wrote schemas/${name}\n`);
}
