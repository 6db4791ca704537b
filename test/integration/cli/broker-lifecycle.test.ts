import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stopLocalBroker } from '../../../src/platform/kafka/local-broker.ts';
import { freePort } from '../../helpers/kafka.ts';

/**
 * Who stops the local broker: `npm start` (actionpulse start) and `npm test` (vitest's global setup) stop a
 * broker they started and leave one they found running (e.g. from `actionpulse kafka start`). Real brokers
 * on a port of this test's own, in a data folder of its own.
 */
const ROOT = resolve(import.meta.dirname, '../../..');
const BIN = join(ROOT, 'bin/actionpulse.mjs');
const dataDir = mkdtempSync(join(tmpdir(), 'ap-broker-life-'));
let port = 0;
let controllerPort = 0;

afterAll(async () => {
  if (port) await stopLocalBroker({ dataDir, port });
  rmSync(dataDir, { recursive: true, force: true });
});

function run(file: string, args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(file, args, { cwd: ROOT, env: { ...process.env, ...env }, timeout: 480_000 }, (err, stdout, stderr) =>
      done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

function listening(p: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(p, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), done(true)));
    socket.once('error', () => done(false));
  });
}

const brokerEnv = () => ({
  ACTIONPULSE_DATA_DIR: dataDir,
  KAFKA_BROKERS: '',
  KAFKA_LOCAL_PORT: String(port),
  KAFKA_LOCAL_CONTROLLER_PORT: String(controllerPort),
  ACTIONPULSE_DEMO: 'off',
  HTTP_PORT: '0',
  LOG_LEVEL: 'error',
});

/** `npm start`'s command, briefly, with only the Mixpanel consumer (no chDB needed) to keep it light. */
const start = () => run(process.execPath, [BIN, 'start', '--only', 'mixpanel', '--duration', '2'], brokerEnv());

/** `npm test`'s global setup around one small unit test file, on this test's broker port. */
function vitestRun() {
  return run(
    join(ROOT, 'node_modules/.bin/vitest'),
    ['run', 'test/unit/events/event-id.test.ts', '--reporter', 'dot', '--outputFile.json', join(dataDir, 'vitest.json')],
    { KAFKA_BROKERS: '', TEST_KAFKA_PORT: String(port), TEST_KAFKA_CONTROLLER_PORT: String(controllerPort), ACTIONPULSE_TEST_DATA_DIR: dataDir },
  );
}

describe('the local broker is stopped by whoever started it', () => {
  it('start and the test setup stop a broker they started; a broker from `kafka start` keeps running through both', async () => {
    port = await freePort();
    controllerPort = await freePort();

    const own = await start();
    expect(own.code, own.stderr).toBe(0);
    expect(own.stdout).toContain('Stopped the local Kafka broker this run started.');
    expect(await listening(port)).toBe(false);

    const ownTests = await vitestRun();
    expect(ownTests.code, ownTests.stderr + ownTests.stdout).toBe(0);
    expect(await listening(port)).toBe(false);

    const started = await run(process.execPath, [BIN, 'kafka', 'start'], brokerEnv());
    expect(started.code, started.stderr).toBe(0);
    expect(await listening(port)).toBe(true);

    const shared = await start();
    expect(shared.code, shared.stderr).toBe(0);
    expect(shared.stdout).toContain('keeps running: this run did not start it');
    expect(await listening(port)).toBe(true);

    const sharedTests = await vitestRun();
    expect(sharedTests.code, sharedTests.stderr + sharedTests.stdout).toBe(0);
    expect(await listening(port)).toBe(true);

    const stopped = await run(process.execPath, [BIN, 'kafka', 'stop'], brokerEnv());
    expect(stopped.stdout).toContain('Kafka broker stopped');
    expect(await listening(port)).toBe(false);
  }, 2_400_000);
});
