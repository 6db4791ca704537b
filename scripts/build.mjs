#!/usr/bin/env node
// Compiles src/ to dist/ (JavaScript + .d.ts, tsconfig.build.json) and copies the non-TypeScript files the
// code reads next to itself at run time (default-rules.json), so `node dist/...` needs neither tsx nor src/.
// dist/ keeps src/'s folder depth, so paths the code resolves from its own folder to the package root
// (dashboards/, .vendor/) land on the same files from either.
// Usage: node scripts/build.mjs [--if-stale]   (--if-stale: skip when dist/ is newer than every input)
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const dist = join(root, 'dist');
const stamp = join(dist, '.build-stamp');
const say = (msg) => process.stderr.write(`[build] ${msg}\n`);

function* files(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else yield path;
  }
}

function newestInput() {
  let newest = 0;
  for (const file of [...files(src), join(root, 'tsconfig.json'), join(root, 'tsconfig.build.json'), join(root, 'package-lock.json')]) {
    if (existsSync(file)) newest = Math.max(newest, statSync(file).mtimeMs);
  }
  return newest;
}

if (process.argv.includes('--if-stale') && existsSync(stamp) && statSync(stamp).mtimeMs >= newestInput()) process.exit(0);

const started = Date.now();
say('compiling src/ to dist/ (tsc -p tsconfig.build.json)');
const tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root });
if (r.status !== 0) {
  say('tsc failed');
  process.exit(r.status ?? 1);
}
let copied = 0;
for (const file of files(src)) {
  if (file.endsWith('.ts') || file.endsWith('.md')) continue;
  const target = join(dist, relative(src, file));
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(file, target);
  copied++;
}
writeFileSync(stamp, `${new Date().toISOString()}\n`);
say(`done in ${((Date.now() - started) / 1000).toFixed(1)} s (${copied} asset file${copied === 1 ? '' : 's'} copied)`);
