// Bundles the CLI and the scripts with esbuild. Bundling saves tens of milliseconds per
// start (DESIGN.md, "Known costs"), which matters for a CLI that cron runs every minute.
// The CLI is one CommonJS script, dist/buildctl.cjs, run by dist/cli.js (src/cli/boot.ts)
// with V8's code cache; lazily imported modules (pino, node-cron, command code) are in it
// but run only when a command imports them. Every dependency is bundled: the published
// package (dist/cli.js and dist/buildctl.cjs, see package.json "files") needs no
// node_modules at run time. The scripts (bench, demo, schema export) are built apart, into
// dist/scripts/ (ES modules, split into chunks), so none of their code lands in the CLI.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { chmod, cp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

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
// The MCP SDK (loaded only by `buildctl mcp`) uses classic zod. Bundled as it is, it would
// share zod's core modules with our zod/mini schemas, and a module that any command loads
// at start runs at every start: classic zod's part of the core would run for every command
// (measured when the CLI was split into chunks: a 47 KB chunk grew to 135 KB, about 3 ms
// more CPU at every start, cron's included). So zod as the dependencies import it (the SDK, zod-to-json-schema) is a copy of
// its own, in a namespace of its own, bundled only into the chunks of `buildctl mcp`.
const DEPENDENCY_ZOD = 'dependency-zod';
const zodForDependencies = {
  name: 'zod-for-dependencies',
  setup(build) {
    const resolveIn = async (args) => {
      const found = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: { plain: true } });
      if (found.errors.length > 0) return { errors: found.errors };
      // Keep what zod's package.json says (sideEffects: false but for a few files), or none of
      // its unused modules (40 locales...) could be left out.
      return { path: found.path, namespace: DEPENDENCY_ZOD, sideEffects: found.sideEffects };
    };
    build.onResolve({ filter: /^zod(\/.*)?$/ }, (args) => {
      if (args.pluginData?.plain || args.namespace === DEPENDENCY_ZOD || !args.importer.includes('/node_modules/')) return undefined;
      return resolveIn(args);
    });
    build.onResolve({ filter: /.*/, namespace: DEPENDENCY_ZOD }, resolveIn);
    build.onLoad({ filter: /.*/, namespace: DEPENDENCY_ZOD }, async (args) => ({ contents: await readFile(args.path, 'utf8'), resolveDir: dirname(args.path), loader: 'js' }));
  },
};

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
  charset: 'ascii',
  plugins: [zodForDependencies],
};
// The CLI: one CommonJS script (dist/buildctl.cjs) that src/cli/boot.ts (dist/cli.js, the
// bin) runs with V8's code cache; see boot.ts for why. Lazily imported modules stay lazy
// inside it: esbuild runs a module's top level only when its import() is reached.
await build({
  ...common,
  splitting: false,
  format: 'cjs',
  entryPoints: { buildctl: 'src/cli/main.ts' },
  outExtension: { '.js': '.cjs' },
  outdir: 'dist.new',
  // No banner: "use strict" stays the bundle's first statement. import.meta.url (the
  // dashboard finds its files by it) is the bundle's own URL, which boot.ts passes in.
  banner: {},
  define: { ...common.define, 'import.meta.url': '__buildctlModuleUrl' },
});
const bundleBytes = await readFile('dist.new/buildctl.cjs');
// boot.ts reads the bundle as latin1 (no UTF-8 decoding at each start): it must be ASCII,
// which esbuild's charset 'ascii' (its default, set in common) makes it by escaping.
if (bundleBytes.some((byte) => byte > 0x7f)) throw new Error('dist/buildctl.cjs is not ASCII: boot.ts reads it as latin1');
const bundleId = createHash('sha256').update(bundleBytes).digest('hex').slice(0, 16);
await build({
  ...common,
  splitting: false,
  format: 'cjs',
  entryPoints: { cli: 'src/cli/boot.ts' },
  outdir: 'dist.new',
  banner: {},
  define: { __BUILDCTL_BUNDLE_ID__: JSON.stringify(bundleId) },
  plugins: [],
});
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
// dist/cli.js is CommonJS (a start through node's ES module loader costs about 5 ms more);
// the scripts beside it stay ES modules.
await writeFile('dist.new/package.json', `${JSON.stringify({ type: 'commonjs' })}\n`);
await writeFile('dist.new/scripts/package.json', `${JSON.stringify({ type: 'module' })}\n`);
// The dashboard's page (`buildctl serve`): plain files, no build step; the server finds them
// beside the bundle (dist/web/).
await cp('src/web/static', 'dist.new/web', { recursive: true });
await rm('dist.old', { recursive: true, force: true });
await rename('dist', 'dist.old').catch(() => undefined);
await rename('dist.new', 'dist');
await rm('dist.old', { recursive: true, force: true });
