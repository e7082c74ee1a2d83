// JSON Schema export of the zod schemas, for tools outside buildctl (editors, CI checks of
// hand edits). `npm run schemas` writes them to schemas/*.json; a test fails when the
// committed files differ from what this produces.
import * as z from 'zod/mini';
import { DOCUMENT_KINDS } from './layout.js';

export const jsonSchemaFiles = (): Map<string, string> => {
  const files = new Map<string, string>();
  for (const kind of DOCUMENT_KINDS) {
    const schema = z.toJSONSchema(kind.schema, { io: 'input', unrepresentable: 'any' });
    const document = {
      ...schema,
      $id: `https://buildctl.invalid/schemas/${kind.name}.json`,
      title: kind.format === 'jsonl' ? `buildctl ${kind.name} (one line of the file)` : `buildctl ${kind.name}`,
    };
    files.set(`${kind.name}.json`, `${JSON.stringify(document, null, 2)}\n`);
  }
  return files;
};
