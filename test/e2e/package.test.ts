import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE_TYPE_NAMES, validateEvent, type ActionEvent } from '../../src/events/index.ts';
import type { KafkaPort } from '../../src/platform/kafka/kafka-port.ts';
import { QontakCrmSimulator } from '../../src/simulators/qontak-crm-simulator.ts';
import { freshTopics, readTopic, testBrokers, testPort } from '../helpers/kafka.ts';

/**
 * The package as a runtime team receives it: `npm pack`, the tarball installed into a fresh project (without
 * optional dependencies: chDB is not needed to embed the runtime), the example runtime type-checked against
 * the shipped declarations and run against the local broker and the simulated Qontak CRM.
 */
const ROOT = join(import.meta.dirname, '../..');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], o: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: o.cwd, env: o.env ?? process.env, timeout: o.timeoutMs ?? 300_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

function ok(r: Run, what: string): Run {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-4000)}`);
  return r;
}

/** Only what a fresh shell would have: no DATABASE_URL, REDIS_URL or Kafka settings leak in from the suite. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', ...extra };
}

describe('the packed package', () => {
  let work: string;
  let project: string;
  let kafka: KafkaPort;
  const crm = new QontakCrmSimulator();

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'actionpulse-pack-'));
    project = join(work, 'runtime');
    // `npm pack` runs prepack, which builds dist/ when it is older than src/.
    const packed = ok(await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT, timeoutMs: 600_000 }), 'npm pack');
    const [{ filename }] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string }[];
    rmSync(project, { recursive: true, force: true });
    ok(await run('mkdir', ['-p', project], { cwd: work }), 'mkdir');
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'example-runtime', private: true, type: 'module' }));
    ok(
      await run('npm', ['install', join(work, filename), '--no-audit', '--no-fund', '--prefer-offline', '--omit=optional'], { cwd: project, timeoutMs: 600_000 }),
      'npm install <tarball>',
    );
    copyFileSync(join(ROOT, 'examples/agent-runtime/main.ts'), join(project, 'main.ts'));
    kafka = await testPort();
    await crm.start();
  }, 1_200_000);

  afterAll(async () => {
    await kafka?.close();
    await crm.close();
    if (work) rmSync(work, { recursive: true, force: true });
  }, 600_000);

  it('exports the runtime and the event contract, and keeps the internals private', async () => {
    const list = (specifier: string) => `import(${JSON.stringify(specifier)}).then((m) => console.log(JSON.stringify(Object.keys(m).sort())))`;
    const main = ok(await run(process.execPath, ['-e', list('actionpulse')], { cwd: project }), 'import actionpulse');
    expect(JSON.parse(main.stdout)).toEqual(['ConfigError', 'FAILURE_REASONS', 'NODE_TYPE_NAMES', 'createRuntime', 'isNodeType']);
    const events = ok(await run(process.execPath, ['-e', list('actionpulse/events')], { cwd: project }), 'import actionpulse/events');
    expect(JSON.parse(events.stdout)).toEqual(expect.arrayContaining(['buildEvent', 'validateEvent', 'decodeEvent', 'encodeEvent', 'EVENT_SCHEMAS', 'SCHEMA_VERSION']));
    const internal = await run(process.execPath, ['-e', list('actionpulse/dist/executors/index.js')], { cwd: project });
    expect(internal.code).not.toBe(0);
    expect(internal.stderr).toContain('ERR_PACKAGE_PATH_NOT_EXPORTED');
    const resolved = ok(
      await run(process.execPath, ['-e', "console.log(JSON.parse(require('node:fs').readFileSync(require.resolve('actionpulse/schemas/qontak_action_failed.schema.json'), 'utf8')).title)"], { cwd: project }),
      'resolve schema',
    );
    expect(resolved.stdout.trim()).toBe('qontak_action_failed');
  }, 120_000);

  it('runs its command line from the compiled build', async () => {
    const help = ok(await run(join(project, 'node_modules/.bin/actionpulse'), ['--help'], { cwd: project, env: cleanEnv({}) }), 'actionpulse --help');
    expect(help.stdout).toContain('Usage: actionpulse <command>');
  }, 120_000);

  it('type-checks the example against the shipped declarations, runs the seven actions and their events arrive on the topic', async () => {
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          outDir: 'out',
          typeRoots: [join(ROOT, 'node_modules/@types')],
          types: ['node'],
          skipLibCheck: false,
        },
        files: ['main.ts'],
      }),
    );
    ok(await run(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: project }), 'tsc (example against the installed package)');

    const organization = `org-pack-${randomBytes(3).toString('hex')}`;
    const token = crm.issueToken(organization);
    crm.seedRecord('deals', '1', { name: 'Deal 1' });
    crm.seedRecord('tickets', '1', { name: 'Ticket 1' });
    const { events: topic } = await freshTopics(kafka);
    const dataDir = join(work, 'data');
    const example = ok(
      await run(process.execPath, ['out/main.js'], {
        cwd: project,
        timeoutMs: 180_000,
        env: cleanEnv({
          KAFKA_BROKERS: testBrokers().join(','),
          KAFKA_EVENTS_TOPIC: topic,
          QONTAK_CRM_BASE_URL: crm.url,
          CRM_TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
          ACTIONPULSE_DATA_DIR: dataDir,
          EXAMPLE_ORGANIZATION_ID: organization,
          EXAMPLE_CRM_COMPANY_TOKEN: token.companyToken,
          EXAMPLE_CRM_REFRESH_TOKEN: token.refreshToken,
        }),
      }),
      'the example runtime',
    );
    const summary = example.stdout
      .split('\n')
      .filter((line) => line.startsWith('{"results"'))
      .map((line) => JSON.parse(line) as { results: Record<string, string>; ready: boolean; disabledActions: string[] })[0];
    expect(summary.results).toEqual(Object.fromEntries(NODE_TYPE_NAMES.map((n) => [n, 'executed'])));
    expect(summary.ready).toBe(true);
    expect(summary.disabledActions).toEqual([]);

    // The CRM actions reached the CRM; the chat actions left Sidekiq jobs (file backend: no REDIS_URL).
    expect(crm.requestsTo('POST', '/api/v3.1/deals').length + crm.requestsTo('PUT', '/api/v3.1/deals').length).toBe(2);
    expect(crm.requestsTo('POST', '/api/v3.1/tickets').length + crm.requestsTo('PUT', '/api/v3.1/tickets').length).toBe(2);
    const jobFiles = readdirSync(join(dataDir, 'chat-jobs'));
    const jobs = jobFiles.flatMap((f) => readFileSync(join(dataDir, 'chat-jobs', f), 'utf8').trim().split('\n'));
    expect(jobs).toHaveLength(3);

    // 7 configured + 1 agent active (the first record of the day) + 7 invoked + 7 executed, all valid, all from this runtime.
    const messages = await readTopic(kafka, topic, 22, 60_000);
    const events = messages.map((m) => {
      const checked = validateEvent(JSON.parse(m.value!.toString()));
      if (!checked.ok) throw new Error(`invalid event on the topic: ${m.value?.toString()}`);
      return checked.event;
    });
    expect(events).toHaveLength(22);
    expect(new Set(events.map((e) => e.event_id)).size).toBe(22);
    expect(events.every((e) => e.source === 'example-runtime' && e.organization_id === organization)).toBe(true);
    const count = (name: ActionEvent['event']) => events.filter((e) => e.event === name).length;
    expect({
      configured: count('qontak_action_configured'),
      active: count('qontak_agent_active'),
      invoked: count('qontak_action_invoked'),
      executed: count('qontak_action_executed'),
      failed: count('qontak_action_failed'),
    }).toEqual({ configured: 7, active: 1, invoked: 7, executed: 7, failed: 0 });
    const executedActions = events.flatMap((e) => (e.event === 'qontak_action_executed' ? [e.node_type] : []));
    expect(executedActions.sort()).toEqual([...NODE_TYPE_NAMES].sort());
  }, 600_000);
});
