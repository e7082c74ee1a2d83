// Bundles the CLI and the scripts with esbuild. Bundling saves tens of milliseconds per
// start (DESIGN.md, "Known costs"), which matters for a CLI that cron runs every minute.
// Code splitting keeps lazily imported modules (systeminformation, command code) in their
// own chunks, loaded only by the commands that need them. Every dependency is bundled: the
// published package (dist/cli.js and dist/chunks/, see package.json "files") needs no
// node_modules at run time. The scripts (bench, demo, schema export) are built apart, into
// dist/scripts/, so none of their code lands in the package's chunks.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { chmod, cp, readdir, readFile, rename, rm } from 'node:fs/promises';

const banner = [
  "import { createRequire as __buildctlCreateRequire } from 'node:module';",
  'const require = __buildctlCreateRequire(import.meta.url);',
].join('\n');

// Build beside dist/ and swap it in, so a CLI started meanwhile never sees half a build.
await rm('dist.new', { recursive: true, force: true });

// The schemas' fingerprint keys the cache of validated blobs (src/store/valid-cache.ts):
// any change to a schema source gives a new fingerprint, so nothing validated under an
// older schema is trusted.
const schemaHash = createHash('sha256');
for (const name of (await readdir('src/schemas')).sort()) {
  schemaHash.update(name);
  schemaHash.update(await readFile(`src/schemas/${name}`));
}
const schemaFingerprint = schemaHash.digest('hex').slice(0, 16);
// `buildctl --version` is package.json's version, put in at build time.
const { version } = JSON.parse(await readFile('package.json', 'utf8'));
const common = {
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunks/[name]-[hash]',
  banner: { js: banner },
  define: { __BUILDCTL_SCHEMA_FINGERPRINT__: JSON.stringify(schemaFingerprint), __BUILDCTL_VERSION__: JSON.stringify(version) },
  logLevel: 'warning',
  sourcemap: false,
  // Whitespace and syntax only: names stay readable in --debug stack traces.
  minifyWhitespace: true,
  minifySyntax: true,
};
await build({ ...common, entryPoints: { cli: 'src/cli/main.ts' }, outdir: 'dist.new' });
await build({
  ...common,
  entryPoints: { 'gen-schemas': 'scripts/gen-schemas.ts', demo: 'scripts/demo.ts', bench: 'scripts/bench.ts' },
  outdir: 'dist.new/scripts',
  // Test tooling the scripts reach through the test helpers; it finds its own files by path
  // and runs only in a checkout, from node_modules.
  external: ['playwright-core'],
});
// Built on its own: code it shared with bench would move into a chunk one folder down, where
// the test helpers' path to the repository (REPO_ROOT) would be wrong.
await build({ ...common, splitting: false, external: ['playwright-core'], entryPoints: { screenshots: 'scripts/screenshots.ts' }, outdir: 'dist.new/scripts' });
await chmod('dist.new/cli.js', 0o755);
// The dashboard's page (`buildctl serve`): plain files, no build step; the server finds them
// beside its chunk (dist/chunks/../web/).
await cp('src/web/static', 'dist.new/web', { recursive: true });
await rm('dist.old', { recursive: true, force: true });
await rename('dist', 'dist.old').catch(() => undefined);
await rename('dist.new', 'dist');
await rm('dist.old', { recursive: true, force: true });
