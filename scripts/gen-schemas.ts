// Writes the JSON Schema files in schemas/ from the zod schemas (src/schemas).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { jsonSchemaFiles } from '../src/schemas/json-schema.js';

const outDir = join(process.cwd(), 'schemas');
await mkdir(outDir, { recursive: true });
for (const [name, text] of jsonSchemaFiles()) {
  await writeFile(join(outDir, name), text);
  process.stdout.write(`wrote schemas/${name}\n`);
}
