#!/usr/bin/env node
// Installs what the pipeline needs beyond npm packages, idempotently, so that `npm start` and `npm test`
// work on a fresh machine: the Kafka broker's jars from Maven Central, and (for tests) Debian packages.
// Usage: node scripts/setup.mjs [--test]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const forTests = process.argv.includes('--test');
const say = (msg) => process.stderr.write(`[setup] ${msg}\n`);

function need(cmd, hint) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`]);
  if (r.status !== 0) {
    say(`missing '${cmd}': ${hint}`);
    process.exit(1);
  }
}

const libs = join(root, '.vendor/kafka/libs');
if (!existsSync(join(libs, 'kafka_2.13-3.9.1.jar'))) {
  need('java', 'install a Java 17 runtime (Debian: apt-get install -y openjdk-17-jre-headless)');
  need('mvn', 'install Apache Maven (Debian: apt-get install -y maven)');
  say('fetching Apache Kafka 3.9 jars from Maven Central (pom.xml)');
  execFileSync('mvn', ['-q', '-B', '-f', join(root, 'pom.xml'), 'dependency:copy-dependencies', `-DoutputDirectory=${libs}`, '-DincludeScope=runtime'], {
    stdio: 'inherit',
  });
}

// Each scripts/setup.d/*.mjs installs one more thing (dashboard assets, Debian packages for tests).
const hooks = join(root, 'scripts/setup.d');
if (existsSync(hooks)) {
  for (const file of readdirSync(hooks).filter((f) => f.endsWith('.mjs')).sort()) {
    const args = forTests ? ['--test'] : [];
    const r = spawnSync(process.execPath, [join(hooks, file), ...args], { stdio: 'inherit', cwd: root });
    if (r.status !== 0) {
      say(`${file} failed`);
      process.exit(r.status ?? 1);
    }
  }
}
