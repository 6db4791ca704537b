/**
 * Time from command to first event accepted: `npx tsx bench/startup-time.ts [runs]` (default 2 per mode).
 * Each run spawns `actionpulse start` (bin/actionpulse.mjs, as `npm start` does after its build check) on its own
 * data folder and ports, and POSTs a signed event to /v1/events every 50 ms until the first 202: that moment is
 * "first event accepted" (in Kafka or the spool). Modes: the compiled build (dist/, what `npm start` runs) and the
 * TypeScript sources through tsx (ACTIONPULSE_FROM_SOURCE=1, how it ran before). The first run of all starts the
 * local Kafka broker (cold); later runs reuse it, so they measure our process alone. Printed, never asserted.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildEvent } from '../src/events/index.ts';
import { freeLocalPort, stopLocalBroker } from '../src/platform/kafka/local-broker.ts';
import { signBody } from '../src/producers/ingest-auth.ts';

const ROOT = join(import.meta.dirname, '..');
const RUNS = Number(process.argv[2] ?? 2);
const SECRET = 'startup-bench-secret-0123456789';

const build = spawnSync(process.execPath, [join(ROOT, 'scripts/build.mjs'), '--if-stale'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

const dataDir = mkdtempSync(join(tmpdir(), 'startup-bench-'));
const kafkaPort = await freeLocalPort();
const controllerPort = await freeLocalPort();

async function firstAccepted(url: string, child: ChildProcess, startedAt: number): Promise<number> {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`actionpulse start exited with ${child.exitCode} before accepting an event`);
    const body = JSON.stringify(buildEvent({ event: 'qontak_agent_active', source: 'bench', organization_id: 'org-bench', agent_id: 'agent-1' }));
    try {
      const res = await fetch(`${url}/v1/events`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', 'x-actionpulse-signature': signBody(SECRET, Math.floor(Date.now() / 1000), body) },
      });
      if (res.status === 202) return performance.now() - startedAt;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function once(mode: 'compiled' | 'tsx'): Promise<number> {
  const httpPort = await freeLocalPort();
  const env = {
    ...process.env,
    ACTIONPULSE_DATA_DIR: dataDir,
    KAFKA_LOCAL_PORT: String(kafkaPort),
    KAFKA_LOCAL_CONTROLLER_PORT: String(controllerPort),
    HTTP_PORT: String(httpPort),
    INGEST_HMAC_SECRETS: `bench=${SECRET}`,
    LOG_LEVEL: 'warn',
    ACTIONPULSE_FROM_SOURCE: mode === 'tsx' ? '1' : '0',
  };
  const startedAt = performance.now();
  const child = spawn(process.execPath, [join(ROOT, 'bin/actionpulse.mjs'), 'start'], { env, stdio: 'ignore' });
  try {
    return await firstAccepted(`http://127.0.0.1:${httpPort}`, child, startedAt);
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGINT');
    await exited;
  }
}

console.log(`command → first event accepted (POST /v1/events 202), ${RUNS} run(s) per mode, node ${process.version}`);
console.log(`load average at start: ${loadavg().map((l) => l.toFixed(1)).join(' ')} (2-core machine shared with other work)\n`);
try {
  const cold = await once('compiled');
  console.log(`compiled, cold (starts the Kafka broker)   ${(cold / 1000).toFixed(2)} s`);
  for (const mode of ['compiled', 'tsx'] as const) {
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) times.push(await once(mode));
    const label = mode === 'compiled' ? 'compiled (node dist/), broker running' : 'tsx (TypeScript sources), broker running';
    console.log(`${label.padEnd(42)} ${times.map((t) => `${(t / 1000).toFixed(2)} s`).join('  ')}`);
  }
} finally {
  await stopLocalBroker({ dataDir, port: kafkaPort });
  rmSync(dataDir, { recursive: true, force: true });
  console.log(`\nload average at end: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
}
