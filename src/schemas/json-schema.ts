// JSON Schema export of the zod schemas, for tools outside buildctl (editors, CI checks of
// hand edits) and for the input schemas of `buildctl mcp`'s tools. `npm run schemas` writes
// the documents' schemas to schemas/*.json; a test fails when the committed files differ
// from what this produces.
import * as z from 'zod/mini';
import { DOCUMENT_KINDS } from './layout.js';

/** A zod schema as JSON Schema (draft 2020-12): what a document, or a tool's input (`buildctl mcp`), may be. */
export const toJsonSchema = (schema: z.ZodMiniType): Record<string, unknown> => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });

export const jsonSchemaFiles = (): Map<string, string> => {
  const files = new Map<string, string>();
  for (const kind of DOCUMENT_KINDS) {
    const schema = toJsonSchema(kind.schema);
    const document = {
      ...schema,
      $id: `https://buildctl.invalid/schemas/${kind.name}.json`,
      title: kind.format === 'jsonl' ? `buildctl ${kind.name} (one line of the file)` : `buildctl ${kind.name}`,
    };
    files.set(`${kind.name}.json`, `${JSON.stringify(document, null, 2)}\n`);
  }
  return files;
};
