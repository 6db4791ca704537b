import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * One Kafka client, behind one file: src/platform/kafka/platformatic-adapter.ts is the only module that imports
 * @platformatic/kafka, and nothing imports the client it replaced (whose private modules were patched).
 * The only other files allowed the library are tests that pin a behaviour of the library itself (a defect the
 * adapter works around), which must talk to it without the adapter in between.
 */
const ROOT = join(import.meta.dirname, '../../..');
const FOLDERS = ['src', 'test', 'bench', 'scripts', 'examples'];
const ADAPTER = 'src/platform/kafka/platformatic-adapter.ts';
const LIBRARY_PINS = new Set(['test/integration/kafka/kafka-port.test.ts', 'test/integration/kafka/leader-move.test.ts']);
const CLIENT = '@platformatic/' + 'kafka';
const OLD_CLIENT = 'kafka' + 'js';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name.startsWith('.') ? [] : sources(path);
    return /\.(ts|mts|cts|js|mjs|cjs)$/.test(e.name) ? [path] : [];
  });
}

/** Module specifiers a file imports: static and type imports, re-exports, side-effect imports, import() and require(). */
function importedModules(text: string): string[] {
  const out: string[] = [];
  const forms = [/\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g];
  for (const form of forms) for (const m of text.matchAll(form)) out.push(m[1]);
  return out;
}

const isModule = (specifier: string, name: string) => specifier === name || specifier.startsWith(`${name}/`);

describe('the Kafka client boundary', () => {
  const files = FOLDERS.flatMap((f) => sources(join(ROOT, f))).map((p) => ({ path: relative(ROOT, p), imports: importedModules(readFileSync(p, 'utf8')) }));

  it('finds the imports of every form it checks', () => {
    const sample = [`import { a } from '${CLIENT}';`, `import type { B } from "${CLIENT}/dist/x.js";`, `export * from '${OLD_CLIENT}';`, `import '${OLD_CLIENT}';`, `await import('${CLIENT}')`, `require("${OLD_CLIENT}/src/x")`].join('\n');
    expect(importedModules(sample)).toEqual(expect.arrayContaining([CLIENT, `${CLIENT}/dist/x.js`, OLD_CLIENT, `${OLD_CLIENT}/src/x`]));
    expect(importedModules(sample)).toHaveLength(6);
    expect(files.find((f) => f.path === ADAPTER)?.imports).toContain(CLIENT);
  });

  it(`no file imports ${OLD_CLIENT}`, () => {
    expect(files.filter((f) => f.imports.some((i) => isModule(i, OLD_CLIENT))).map((f) => f.path)).toEqual([]);
  });

  it(`only ${ADAPTER} imports ${CLIENT} (and the tests that pin the library's own behaviour)`, () => {
    const importers = files.filter((f) => f.imports.some((i) => isModule(i, CLIENT))).map((f) => f.path);
    expect(importers.filter((p) => p !== ADAPTER && !LIBRARY_PINS.has(p))).toEqual([]);
  });
});
