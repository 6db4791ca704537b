/**
 * Runs every benchmark script in bench/ (except this one), one after another, each in its own
 * process so one bench's warm JIT, open handles or chDB folder cannot skew the next.
 *
 *   npm run bench                 # all of them
 *   npm run bench -- validation   # only those whose file name contains "validation"
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const benchDir = dirname(fileURLToPath(import.meta.url));
const self = basename(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2).filter((a) => !a.startsWith('-'));

const scripts = readdirSync(benchDir)
  .filter((f) => f.endsWith('.ts') && f !== self && !f.endsWith('.d.ts'))
  .filter((f) => filters.length === 0 || filters.some((needle) => f.includes(needle)))
  .sort();

if (scripts.length === 0) {
  console.error(`no bench script matches ${filters.join(', ')}`);
  process.exit(1);
}

// tsx's CLI entry, run with this very Node binary (so `node24 bench/run-all.ts` benches Node 24).
const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');

function run(script: string): Promise<{ code: number; ms: number }> {
  const started = Date.now();
  return new Promise((done) => {
    const child = spawn(process.execPath, [tsxCli, join(benchDir, script)], { stdio: 'inherit', env: process.env });
    child.on('error', (err) => {
      console.error(`${script}: ${err.message}`);
      done({ code: 1, ms: Date.now() - started });
    });
    child.on('exit', (code, signal) => done({ code: code ?? (signal ? 1 : 0), ms: Date.now() - started }));
  });
}

const results: { script: string; code: number; ms: number }[] = [];
for (const script of scripts) {
  console.log(`\n=== ${script} ===`);
  results.push({ script, ...(await run(script)) });
}

console.log('\n=== summary ===');
for (const r of results) console.log(`${r.code === 0 ? 'ok    ' : 'FAILED'} ${r.script} (${(r.ms / 1000).toFixed(1)} s)`);
process.exitCode = results.some((r) => r.code !== 0) ? 1 : 0;
