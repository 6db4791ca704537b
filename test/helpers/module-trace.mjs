// Preloaded with `node --import tsx --import ./test/helpers/module-trace.mjs …`: records every module the
// process loads into the file named by MODULE_TRACE_FILE, one path or URL a line. ES modules through a
// resolve hook (it runs on the loader thread, so it appends to the file itself); CommonJS modules from
// require.cache when the process exits.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const file = process.env.MODULE_TRACE_FILE;
if (file) {
  register('./module-trace-hooks.mjs', import.meta.url, { data: { file } });
  const cache = createRequire(import.meta.url).cache;
  process.on('exit', () => appendFileSync(file, Object.keys(cache).map((k) => `cjs ${k}\n`).join('')));
}
