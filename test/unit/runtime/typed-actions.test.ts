import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * Compiles typed-actions.fixture.ts with the TypeScript compiler: as written it must compile with every
 * `@ts-expect-error` used (each marked line fails to compile), and with the runtime's types loosened back to
 * strings and `unknown` those same lines must compile, so a loosening of the types fails this test.
 */
const ROOT = join(import.meta.dirname, '../../..');
const FIXTURE = join(import.meta.dirname, 'typed-actions.fixture.ts');
const IMPORT = "import { isNodeType, type ExecutionContext, type NodeType, type ParamsOf, type Runtime } from '../../../src/runtime/index.ts';";

/** The runtime as it was typed before: any string for the action and node_type, any value for the parameters. */
const LOOSE_RUNTIME = `import { isNodeType, type ExecutionContext, type NodeType, type ParamsOf, type ExecuteResult, type RecordResult, type Runtime as Typed } from '../../../src/runtime/index.ts';
type Loose = { node_type: string; agent_id: string; organization_id: string; change?: 'removed' | 'replaced' };
type Runtime = Omit<Typed, 'execute' | 'recordConfigured' | 'recordUnconfigured'> & {
  execute(action: string, params: unknown, context: ExecutionContext): Promise<ExecuteResult>;
  recordConfigured(input: Loose): RecordResult;
  recordUnconfigured(input: Loose): RecordResult;
};`;

function options(): ts.CompilerOptions {
  const file = ts.readConfigFile(join(ROOT, 'tsconfig.json'), (p) => ts.sys.readFile(p));
  return ts.parseJsonConfigFileContent(file.config, ts.sys, ROOT).options;
}

/** Diagnostics of the fixture's text (compiled in the fixture's folder, so its imports resolve as written). */
function diagnose(text: string, name: string, old?: ts.Program): { program: ts.Program; errors: { line: number; code: number; message: string }[] } {
  const path = join(import.meta.dirname, name);
  const opts = options();
  const host = ts.createCompilerHost(opts);
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (p) => p === path || fileExists.call(host, p);
  host.readFile = (p) => (p === path ? text : readFile.call(host, p));
  host.getSourceFile = (p, lang, onError, create) => (p === path ? ts.createSourceFile(p, text, lang) : getSourceFile.call(host, p, lang, onError, create));
  const program = ts.createProgram([path], opts, host, old);
  const source = program.getSourceFile(path);
  const errors = ts.getPreEmitDiagnostics(program, source).map((d) => ({
    line: d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : 0,
    code: d.code,
    message: ts.flattenDiagnosticMessageText(d.messageText, '\n'),
  }));
  return { program, errors };
}

describe('typed actions (compiled with tsc)', { timeout: 180_000 }, () => {
  const text = readFileSync(FIXTURE, 'utf8');
  const expectErrorLines = text.split('\n').flatMap((l, i) => (l.trim().startsWith('// @ts-expect-error') ? [i + 1] : []));

  it('a misspelt action, a field of another action, a missing or wrong field do not compile; correct calls do', () => {
    expect(text).toContain(IMPORT);
    expect(expectErrorLines.length).toBeGreaterThanOrEqual(7);
    const typed = diagnose(text, 'typed-actions.typed.ts');
    // No error at all: every @ts-expect-error met its error, and every correct call compiled.
    expect(typed.errors).toEqual([]);

    const loosened = text.replace(IMPORT, LOOSE_RUNTIME);
    const shift = LOOSE_RUNTIME.split('\n').length - 1;
    const loose = diagnose(loosened, 'typed-actions.loose.ts', typed.program);
    // Loosened, each marked line compiles, so each directive is reported unused (TS2578): the checks can fail.
    const unused = loose.errors.filter((e) => e.code === 2578).map((e) => e.line - shift);
    expect(unused.sort((a, b) => a - b)).toEqual(expectErrorLines);
  });
});
