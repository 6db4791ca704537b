import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import ts from 'typescript';

export interface ImportClosure {
  /** Files reached from the entry points through static imports only: loaded whenever an entry point is. */
  eager: string[];
  /** Files reached only through an `import()` or `require()` inside a function somewhere on the way: loaded on some paths. */
  lazy: string[];
  /** Packages an eager file imports statically, with one importing file each. */
  eagerPackages: Map<string, string>;
  /** Packages imported only lazily (by a lazy file, or by an `import()`/`require()`), with one importing file each. */
  lazyPackages: Map<string, string>;
}

interface Specifier {
  text: string;
  lazy: boolean;
}

/**
 * The module specifiers of one JavaScript file: static imports and re-exports, and `import()`/`require()` of a
 * literal (lazy inside a function, eager at the top level).
 */
function specifiers(file: string): Specifier[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false, ts.ScriptKind.JS);
  const found: Specifier[] = [];
  const visit = (node: ts.Node, inFunction: boolean): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push({ text: node.moduleSpecifier.text, lazy: false });
    } else if (ts.isCallExpression(node) && node.arguments.length >= 1 && ts.isStringLiteralLike(node.arguments[0]!)) {
      const callee = node.expression;
      const isImport = callee.kind === ts.SyntaxKind.ImportKeyword;
      // require() or a require made with createRequire (requireLazily, …)
      const isRequire = ts.isIdentifier(callee) && /require/i.test(callee.text);
      // At a module's top level it runs when the module loads, like a static import.
      if (isImport || isRequire) found.push({ text: (node.arguments[0] as ts.StringLiteralLike).text, lazy: inFunction });
    }
    const entersFunction = inFunction || ts.isFunctionLike(node);
    ts.forEachChild(node, (child) => visit(child, entersFunction));
  };
  visit(source, false);
  return found;
}

export function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/**
 * What the compiled files reachable from `entries` import: relative imports are followed, `node:` built-ins are
 * left out, every other specifier is a package. A file is eager when a chain of static imports reaches it.
 */
export function importClosure(entries: string[], root: string): ImportClosure {
  const eager = new Set<string>();
  const lazy = new Set<string>();
  const eagerPackages = new Map<string, string>();
  const lazyPackages = new Map<string, string>();
  const walk = (file: string, isLazy: boolean): void => {
    if (eager.has(file) || (isLazy && lazy.has(file))) return;
    if (!existsSync(file)) throw new Error(`${relative(root, file)} is imported but not in the package`);
    if (isLazy) lazy.add(file);
    else {
      lazy.delete(file);
      eager.add(file);
    }
    for (const s of specifiers(file)) {
      const lazyHere = isLazy || s.lazy;
      if (s.text.startsWith('.')) walk(resolve(dirname(file), s.text), lazyHere);
      else if (!s.text.startsWith('node:')) {
        const name = packageOf(s.text);
        if (!lazyHere) {
          eagerPackages.set(name, eagerPackages.get(name) ?? relative(root, file));
          lazyPackages.delete(name);
        } else if (!eagerPackages.has(name)) lazyPackages.set(name, lazyPackages.get(name) ?? relative(root, file));
      }
    }
  };
  for (const entry of entries) walk(resolve(root, entry), false);
  // A file first reached lazily and then eagerly was moved to eager; its packages were recorded as lazy then.
  for (const name of eagerPackages.keys()) lazyPackages.delete(name);
  return { eager: [...eager], lazy: [...lazy], eagerPackages, lazyPackages };
}
