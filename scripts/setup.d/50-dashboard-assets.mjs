// Copies the dashboard's chart library (uPlot) from node_modules into dashboards/web/vendor, the folder the
// dashboard serves: the page loads nothing from a CDN.
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(join(root, 'package.json'));
const dist = dirname(require.resolve('uplot/dist/uPlot.iife.min.js'));
const vendor = join(root, 'dashboards/web/vendor');
mkdirSync(vendor, { recursive: true });
for (const file of ['uPlot.iife.min.js', 'uPlot.min.css']) copyFileSync(join(dist, file), join(vendor, file));

