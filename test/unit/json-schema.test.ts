import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MCP_TOOLS_FILE, mcpToolsSchemaFile } from '../../src/cli/mcp/tool-schemas.js';
import { jsonSchemaFiles } from '../../src/schemas/json-schema.js';
import { DOCUMENT_KINDS } from '../../src/schemas/layout.js';

const SCHEMAS_DIR = resolve(import.meta.dirname, '..', '..', 'schemas');
const STALE = 'schemas/*.json differ from the zod schemas in src/schemas (or the MCP tools\' inputs in src/cli/mcp/tools.ts): run `npm run schemas` and commit the result';

describe('committed JSON Schema files', () => {
  const generated = new Map([...jsonSchemaFiles(), ...mcpToolsSchemaFile()]);
  const committed = readdirSync(SCHEMAS_DIR).filter((name) => name.endsWith('.json')).sort();

  it('are one per document kind, and the inputs of the MCP tools', () => {
    expect([...generated.keys()].sort()).toEqual([...DOCUMENT_KINDS.map((kind) => `${kind.name}.json`), MCP_TOOLS_FILE].sort());
  });

  it('are the same set of files as the schemas produce now', () => {
    expect(committed, STALE).toEqual([...generated.keys()].sort());
  });

  it.each([...generated.keys()].sort())('%s has the same bytes as the schemas produce now', (name) => {
    const onDisk = committed.includes(name) ? readFileSync(join(SCHEMAS_DIR, name), 'utf8') : '(missing)';
    expect(onDisk, `${name}: ${STALE}`).toBe(generated.get(name));
  });

  it.each([...generated.entries()])('%s is 2-space JSON with a trailing newline, an $id and a title', (name, text) => {
    const schema = JSON.parse(text) as { $id?: string; title?: string };
    expect(text).toBe(`${JSON.stringify(schema, null, 2)}\n`);
    expect(schema.$id).toBe(`https://buildctl.invalid/schemas/${name}`);
    expect(schema.title).toMatch(/^buildctl /);
  });
});
