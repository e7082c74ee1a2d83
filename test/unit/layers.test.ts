// The layering DESIGN.md and STYLE.md ask for, checked on the source itself: the pure
// layers (domain/, schemas/) load nothing from the layers that touch git or disk, git is
// run from store/ alone, and no
// module reaches itself again through its imports, static or dynamic (a cycle makes
// load order matter and hides what depends on what). Type-only imports are left out:
// they are erased at build time.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '..', '..', 'src');

const sources = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });

/** The project modules a file names: `import ... from './x.js'` and `import('./x.js')`; with `types`, `import type` too. */
const importsOf = (file: string, types: boolean): string[] => {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const match of text.matchAll(/^import\s+(type\s+)?[^'"]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/gm)) {
    if (match[1] && !types) continue;
    const spec = match[2] ?? match[3]!;
    found.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
  }
  return found;
};

/** What each file loads at run time (type-only imports are erased). */
const graph = new Map(sources(SRC).map((file) => [file, importsOf(file, false)]));
const name = (file: string) => relative(SRC, file);

describe('the source tree', () => {
  it('reads its own imports (the check is not vacuous)', () => {
    expect(graph.size).toBeGreaterThan(50);
    expect(graph.get(join(SRC, 'ops', 'mutate.ts'))).toContain(join(SRC, 'store', 'transaction.ts'));
    // A dynamic import counts.
    expect(graph.get(join(SRC, 'ops', 'mutate.ts'))).toContain(join(SRC, 'ops', 'intents.ts'));
  });

  it('keeps domain/ and schemas/ pure: nothing from store/, ops/, cli/ or web/ is loaded by them', () => {
    const offences: string[] = [];
    for (const [file, imports] of graph) {
      const layer = name(file).split('/')[0];
      if (layer !== 'domain' && layer !== 'schemas') continue;
      for (const target of imports) {
        const targetLayer = name(target).split('/')[0];
        if (['store', 'ops', 'cli', 'web'].includes(targetLayer!)) offences.push(`${name(file)} -> ${name(target)}`);
      }
    }
    expect(offences).toEqual([]);
  });

  it('keeps domain/ and schemas/ from naming even a type of store/, ops/, cli/ or web/ (shared shapes live in schemas/)', () => {
    const offences: string[] = [];
    for (const file of graph.keys()) {
      const layer = name(file).split('/')[0];
      if (layer !== 'domain' && layer !== 'schemas') continue;
      for (const target of importsOf(file, true)) {
        if (['store', 'ops', 'cli', 'web'].includes(name(target).split('/')[0]!)) offences.push(`${name(file)} -> ${name(target)}`);
      }
    }
    expect(offences).toEqual([]);
  });

  it('runs git only in store/: nothing else imports the git runner', () => {
    const offences: string[] = [];
    for (const file of graph.keys()) {
      if (name(file).startsWith('store/')) continue;
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(/^import\s+\{([^}]*)\}\s+from\s+['"]([^'"]*store\/git\.js)['"]/gm)) {
        if (match[1]!.split(',').some((entry) => entry.trim() === 'git')) offences.push(name(file));
      }
    }
    expect(offences).toEqual([]);
  });

  it('has no import cycles', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const path: string[] = [];
    const visit = (file: string): void => {
      state.set(file, 'open');
      path.push(file);
      for (const next of graph.get(file) ?? []) {
        if (!graph.has(next)) continue;
        if (state.get(next) === 'open') cycles.push([...path.slice(path.indexOf(next)), next].map(name).join(' -> '));
        else if (!state.has(next)) visit(next);
      }
      path.pop();
      state.set(file, 'done');
    };
    for (const file of graph.keys()) if (!state.has(file)) visit(file);
    expect(cycles).toEqual([]);
  });
});
