// Copies the dashboard's chart library (uPlot) from node_modules into dashboards/web/vendor, the folder the
// dashboard serves: the page loads nothing from a CDN. With --test, also installs the Debian packages the
// browser test needs (scripts/setup-debian.sh: chromium), when missing.
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(join(root, 'package.json'));
const dist = dirname(require.resolve('uplot/dist/uPlot.iife.min.js'));
const vendor = join(root, 'dashboards/web/vendor');
mkdirSync(vendor, { recursive: true });
for (const file of ['uPlot.iife.min.js', 'uPlot.min.css']) copyFileSync(join(dist, file), join(vendor, file));

if (process.argv.includes('--test') && !existsSync('/usr/bin/chromium')) {
  const r = spawnSync('sh', [join(root, 'scripts/setup-debian.sh')], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
