#!/usr/bin/env node
// Runs the compiled CLI (dist/, built by `npm start`, `npm run build` or `npm pack`). The TypeScript sources
// run instead, through tsx, when ACTIONPULSE_FROM_SOURCE=1 (the test suite sets it) or when there is no build.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist/cli/main.js');
let entry = compiled;
if (process.env.ACTIONPULSE_FROM_SOURCE === '1' || !existsSync(compiled)) {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    process.stderr.write('actionpulse: no build in dist/ and tsx is not installed: run `npm run build`\n');
    process.exit(1);
  }
  register();
  entry = join(root, 'src/cli/main.ts');
}
const { main } = await import(pathToFileURL(entry).href);
process.exitCode = await main(process.argv.slice(2));
