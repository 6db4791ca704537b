#!/usr/bin/env node
// `npm run test:busy [-- vitest args]`: the integration tests while every core is kept busy, to shake out
// assertions that depend on speed (a suite must pass on a loaded CI runner or laptop, not only on an idle
// one). One worker thread per core spins for the whole run at normal priority, competing with the broker,
// chDB and the tests; the load stops when vitest exits, and the script exits with vitest's code.
// Usage: node scripts/test-busy.mjs [vitest args]   (default: test/integration)
import { spawn, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const setup = spawnSync(process.execPath, [join(root, 'scripts/setup.mjs'), '--test'], { stdio: 'inherit', cwd: root });
if (setup.status !== 0) process.exit(setup.status ?? 1);

const cores = availableParallelism();
const spin = 'const { parentPort } = require("node:worker_threads"); let stop = false; parentPort.on("message", () => { stop = true; });' +
  ' (function loop() { const until = Date.now() + 50; let x = 0; while (Date.now() < until) x += Math.sqrt(x + 1); if (!stop) setImmediate(loop); })();';
const workers = Array.from({ length: cores }, () => new Worker(spin, { eval: true }));
process.stderr.write(`[test:busy] ${cores} spinning worker thread(s) keep every core busy while the integration tests run\n`);

const args = process.argv.slice(2);
const vitest = spawn(join(root, 'node_modules/.bin/vitest'), ['run', ...(args.length ? args : ['test/integration'])], { stdio: 'inherit', cwd: root });
const stopLoad = async () => {
  for (const w of workers) w.postMessage('stop');
  await Promise.all(workers.map((w) => w.terminate()));
};
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => vitest.kill(signal));
vitest.on('exit', (code, signal) => {
  void stopLoad().then(() => {
    process.stderr.write(`[test:busy] load stopped; vitest ${signal ? `killed by ${signal}` : `exited ${code}`}\n`);
    process.exit(code ?? 1);
  });
});
