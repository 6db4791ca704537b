import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE_TYPE_NAMES, validateEvent, type ActionEvent } from '../../src/events/index.ts';
import type { KafkaPort } from '../../src/platform/kafka/kafka-port.ts';
import { QontakCrmSimulator } from '../../src/simulators/qontak-crm-simulator.ts';
import { importClosure } from '../helpers/import-closure.ts';
import { freePort, freshTopics, readTopic, testBrokers, testPort, uniqueName } from '../helpers/kafka.ts';

/**
 * The package as a runtime team receives it: `npm pack`, the tarball installed into a fresh project the way the
 * README says (`--omit=optional`: the runtime without the pipeline's packages), its size and install scripts
 * checked, the runtime's import closure compared with its dependencies, the operator commands a runtime-only
 * deployment needs run from the install, the README's embedding snippet run as written, and the example runtime
 * type-checked against the shipped declarations and run against the local broker and the simulated Qontak CRM.
 */
const ROOT = join(import.meta.dirname, '../..');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** The README's bound on the runtime install ("fails past 40 MB installed"). */
const INSTALL_BOUND_MB = 40;

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

/**
 * Only what a fresh shell would have: no DATABASE_URL, REDIS_URL or Kafka settings leak in from the suite. This
 * Node first on PATH, as `npx` in a project on it would run the package's command.
 */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: `${dirname(process.execPath)}:${process.env.PATH}`, HOME: process.env.HOME, LOG_LEVEL: 'warn', ...extra };
}

/** The first fenced block of `lang` in the README's section `heading`, exactly as written. */
function readmeBlock(heading: string, lang: string): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README has no section '${heading}'`);
  const section = readme.slice(start + heading.length + 2, readme.indexOf('\n## ', start + 1));
  const m = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(section);
  if (!m) throw new Error(`README section '${heading}' has no ${lang} block`);
  return m[1]!;
}

/** Bytes on disk under `dir` as du counts them (so the figure is the one an operator measures). */
async function diskKb(dir: string): Promise<number> {
  const r = ok(await run('du', ['-sk', dir], { cwd: dir }), 'du');
  return Number(r.stdout.split('\t')[0]);
}

/** Every installed package (node_modules/<name>/package.json, nested ones too). */
function installedPackages(nodeModules: string): { dir: string; manifest: Record<string, unknown> }[] {
  const out: { dir: string; manifest: Record<string, unknown> }[] = [];
  if (!existsSync(nodeModules)) return out;
  for (const entry of readdirSync(nodeModules)) {
    if (entry.startsWith('.')) continue;
    const dirs = entry.startsWith('@') ? readdirSync(join(nodeModules, entry)).map((n) => join(nodeModules, entry, n)) : [join(nodeModules, entry)];
    for (const dir of dirs) {
      const file = join(dir, 'package.json');
      if (!existsSync(file)) continue;
      out.push({ dir, manifest: JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown> });
      out.push(...installedPackages(join(dir, 'node_modules')));
    }
  }
  return out;
}

describe('the packed package', () => {
  let work: string;
  let project: string;
  let installed: string;
  let kafka: KafkaPort;
  let npmInstallOutput = '';
  let installKb = 0;
  const schema = `pack_${randomBytes(5).toString('hex')}`;
  const databaseUrl = `${DATABASE_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  const crm = new QontakCrmSimulator();
  const children: ChildProcess[] = [];
  const bin = () => join(project, 'node_modules/.bin/actionpulse');

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'actionpulse-pack-'));
    project = join(work, 'runtime');
    installed = join(project, 'node_modules/actionpulse');
    // `npm pack` runs prepack, which builds dist/ when it is older than src/.
    const packed = ok(await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT, timeoutMs: 600_000 }), 'npm pack');
    const [{ filename }] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string }[];
    mkdirSync(project, { recursive: true });
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'example-runtime', private: true, type: 'module' }));
    const install = ok(
      await run('npm', ['install', join(work, filename), '--no-audit', '--no-fund', '--prefer-offline', '--omit=optional'], { cwd: project, timeoutMs: 600_000 }),
      'npm install <tarball> --omit=optional',
    );
    npmInstallOutput = `${install.stdout}\n${install.stderr}`;
    installKb = await diskKb(join(project, 'node_modules'));
    copyFileSync(join(ROOT, 'examples/agent-runtime/main.ts'), join(project, 'main.ts'));
    const admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.end();
    kafka = await testPort();
    await crm.start();
  }, 1_200_000);

  afterAll(async () => {
    await kafka?.close();
    for (const child of children) child.kill('SIGTERM');
    await crm.close();
    const admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
    if (work) rmSync(work, { recursive: true, force: true });
  }, 600_000);

  it('installs with --omit=optional without the pipeline packages or any install script, within the documented size', () => {
    const packages = installedPackages(join(project, 'node_modules'));
    const count = packages.length;
    // The figures, for whoever watches the install's size over time.
    console.info(`runtime install (npm install <tarball> --omit=optional): ${(installKb / 1024).toFixed(1)} MB on disk, ${count} packages`);
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { optionalDependencies: Record<string, string> };
    const present = packages.map((p) => p.manifest.name as string);
    for (const name of Object.keys(manifest.optionalDependencies)) expect(present, `${name} is installed`).not.toContain(name);
    expect(present.filter((n) => n.startsWith('@opentelemetry/'))).toEqual(['@opentelemetry/api']);
    // npm runs preinstall/install/postinstall, and `node-gyp rebuild` for a package with a binding.gyp.
    const withScripts = packages.filter(({ dir, manifest: m }) => {
      const scripts = (m.scripts ?? {}) as Record<string, string>;
      return scripts.preinstall || scripts.install || scripts.postinstall || existsSync(join(dir, 'binding.gyp'));
    });
    expect(withScripts.map((p) => p.manifest.name)).toEqual([]);
    expect(npmInstallOutput).not.toMatch(/install script/i);
    expect(installKb / 1024).toBeLessThan(INSTALL_BOUND_MB);
  });

  it('lists as dependencies exactly the packages its runtime, event contract and operator commands import', () => {
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; optionalDependencies: Record<string, string> };
    const closure = importClosure(
      ['dist/runtime/index.js', 'dist/events/index.js', 'dist/cli/main.js', 'dist/cli/commands/kafka.js', 'dist/cli/commands/topics.js', 'dist/cli/commands/crm-simulator.js'],
      installed,
    );
    // Loaded whenever the runtime or those commands are: each must be a dependency, and each dependency one of them.
    expect([...closure.eagerPackages.keys()].sort()).toEqual(Object.keys(manifest.dependencies).sort());
    // Loaded on some paths only (the pipeline's commands, PGlite without DATABASE_URL): declared, optionally.
    const declared = new Set([...Object.keys(manifest.dependencies), ...Object.keys(manifest.optionalDependencies)]);
    expect([...closure.lazyPackages.entries()].filter(([name]) => !declared.has(name))).toEqual([]);
    expect(closure.lazyPackages.has('@clickhouse/client')).toBe(true);
  });

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
    const help = ok(await run(bin(), ['--help'], { cwd: project, env: cleanEnv({}) }), 'actionpulse --help');
    expect(help.stdout).toContain('Usage: actionpulse <command>');
    expect(help.stdout).toContain('topics');
  }, 120_000);

  it('refuses the pipeline naming a package to install, one line per problem and no stack trace, before touching Kafka', async () => {
    for (const only of ['clickhouse,http', 'alerts']) {
      const r = await run(bin(), ['start', '--only', only], { cwd: project, env: cleanEnv({ KAFKA_BROKERS: '127.0.0.1:1' }), timeoutMs: 120_000 });
      expect(r.code).toBe(78);
      // The configuration's format: a heading, then one line per problem, no stack trace.
      expect(r.stderr.trim().split('\n')).toEqual([
        'actionpulse start: Invalid configuration (1 problem):',
        expect.stringMatching(/^ {2}- package (@?[\w./-]+): not installed; actionpulse start needs it; e\.g\. npm install '\1@[^']+'$/),
      ]);
    }
    const http = await run(bin(), ['start', '--only', 'http'], { cwd: project, env: cleanEnv({ KAFKA_BROKERS: '127.0.0.1:1' }), timeoutMs: 120_000 });
    expect(http.code).toBe(78);
    expect(http.stderr).not.toMatch(/\n\s+at /);
  }, 300_000);

  it('topics create makes the topics with their documented settings, leaves them alone the second time, and says in one line when Kafka is unreachable', async () => {
    const events = uniqueName('pack-events');
    const dlq = uniqueName('pack-dlq');
    const env = cleanEnv({ KAFKA_BROKERS: testBrokers().join(','), KAFKA_EVENTS_TOPIC: events, KAFKA_DLQ_TOPIC: dlq, KAFKA_PARTITIONS: '4' });
    const first = ok(await run(bin(), ['topics', 'create'], { cwd: project, env }), 'topics create');
    expect(first.stdout).toContain(`${events}: created (4 partitions, 1 copy, min.insync.replicas=1)`);
    expect(first.stdout).toContain(`${dlq}: created (1 partition, 1 copy, retention.ms=2592000000, min.insync.replicas=1)`);
    const second = ok(await run(bin(), ['topics', 'create'], { cwd: project, env }), 'topics create again');
    expect(second.stdout).toContain(`${events}: exists, left as it is`);
    expect(second.stdout).toContain(`${dlq}: exists, left as it is`);
    const port = await testPort();
    try {
      const described = await port.admin().describeTopics([events, dlq]);
      expect(described.map((t) => [t.topic, t.partitions.length, t.settings])).toEqual([
        [events, 4, { 'min.insync.replicas': '1' }],
        [dlq, 1, { 'min.insync.replicas': '1', 'retention.ms': '2592000000' }],
      ]);
    } finally {
      await port.close();
    }
    const down = await run(bin(), ['topics', 'create'], { cwd: project, env: cleanEnv({ KAFKA_BROKERS: `127.0.0.1:${await freePort()}`, KAFKA_CONNECTION_TIMEOUT_MS: '1000' }), timeoutMs: 180_000 });
    expect(down.code).toBe(69);
    expect(down.stderr.trim().split('\n')).toHaveLength(1);
    expect(down.stderr).toMatch(/^actionpulse topics: Kafka at 127\.0\.0\.1:\d+: .*check KAFKA_BROKERS/);
  }, 600_000);

  it("runs the README's embedding snippet as written, with the settings it lists, against crm-simulator", async () => {
    const setup = readmeBlock('## Embedding the agent runtime', 'sh');
    const snippet = readmeBlock('## Embedding the agent runtime', 'ts');
    writeFileSync(join(project, 'snippet.ts'), snippet);
    // It type-checks against the shipped declarations, then runs as README says (`node main.ts`: Node strips the types).
    writeFileSync(
      join(project, 'tsconfig.snippet.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, typeRoots: [join(ROOT, 'node_modules/@types')], types: ['node'] },
        files: ['snippet.ts'],
      }),
    );
    ok(await run(process.execPath, [TSC, '-p', 'tsconfig.snippet.json'], { cwd: project }), 'tsc (the README snippet against the installed package)');
    // The settings the README exports, and what this test gives each; only the topics are extra (the suite's
    // broker is shared, so they are this test's own, made by `topics create` as the README says).
    const listed = [...setup.slice(setup.indexOf('export ')).matchAll(/([A-Z][A-Z0-9_]*)=/g)].map((m) => m[1]);
    expect(listed.sort()).toEqual(['CRM_TOKEN_ENCRYPTION_KEY', 'DATABASE_URL', 'KAFKA_BROKERS', 'QONTAK_CRM_API_KEY', 'QONTAK_CRM_BASE_URL']);
    expect(setup).toContain('npx actionpulse topics create');
    expect(setup).toContain('npx actionpulse crm-simulator');

    // crm-simulator from the install, as the README starts it (on a free port here).
    const simulator = spawn(bin(), ['crm-simulator', '--port', '0'], { cwd: project, env: cleanEnv({}), stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(simulator);
    let printed = '';
    simulator.stdout.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    const settingsLine = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`crm-simulator printed no settings: ${printed}`)), 60_000);
      simulator.stdout.on('data', () => {
        const line = printed.split('\n').find((l) => l.includes('QONTAK_CRM_API_KEY='));
        if (line) {
          clearTimeout(timer);
          resolve(line);
        }
      });
      simulator.once('exit', (code) => reject(new Error(`crm-simulator exited ${code}`)));
    });
    const crmSettings = Object.fromEntries([...settingsLine.matchAll(/(QONTAK_CRM_\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));

    const events = uniqueName('snippet-events');
    const dlq = uniqueName('snippet-dlq');
    const topics = { KAFKA_EVENTS_TOPIC: events, KAFKA_DLQ_TOPIC: dlq };
    ok(await run(bin(), ['topics', 'create'], { cwd: project, env: cleanEnv({ KAFKA_BROKERS: testBrokers().join(','), ...topics }) }), 'topics create');
    const settings = {
      KAFKA_BROKERS: testBrokers().join(','),
      CRM_TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      DATABASE_URL: databaseUrl,
      QONTAK_CRM_BASE_URL: crmSettings.QONTAK_CRM_BASE_URL!,
      QONTAK_CRM_API_KEY: crmSettings.QONTAK_CRM_API_KEY!,
    };
    const result = ok(await run(process.execPath, ['snippet.ts'], { cwd: project, env: cleanEnv({ ...settings, ...topics }), timeoutMs: 180_000 }), 'node snippet.ts');
    expect(result.stdout.split('\n')).toContain('executed');

    const messages = await readTopic(kafka, events, 4, 60_000);
    const names = messages.map((m) => (JSON.parse(m.value!.toString()) as ActionEvent).event).sort();
    expect(names).toEqual(['qontak_action_configured', 'qontak_action_executed', 'qontak_action_invoked', 'qontak_agent_active']);

    // Without the API key the snippet's result says what to provision.
    const { QONTAK_CRM_API_KEY: _key, ...withoutKey } = settings;
    void _key;
    const unprovisioned = ok(await run(process.execPath, ['snippet.ts'], { cwd: project, env: cleanEnv({ ...withoutKey, ...topics }), timeoutMs: 180_000 }), 'node snippet.ts (no key)');
    expect(unprovisioned.stdout).toMatch(/^crm_unauthorized: .*provisioning\.putCrmToken/m);

    // Without DATABASE_URL the runtime needs PGlite, which this install left out: one line names it.
    const { DATABASE_URL: _db, ...withoutDb } = settings;
    void _db;
    const noDb = await run(process.execPath, ['snippet.ts'], { cwd: project, env: cleanEnv({ ...withoutDb, ...topics }), timeoutMs: 180_000 });
    expect(noDb.code).not.toBe(0);
    expect(noDb.stderr).toMatch(/package @electric-sql\/pglite: not installed; the local registry database \(no DATABASE_URL\) needs it; e\.g\. npm install '@electric-sql\/pglite@[^']+'/);
  }, 600_000);

  it('kafka start fetches the broker jars on first use and starts a broker that topics create and stop then use', async () => {
    expect(existsSync(join(installed, '.vendor'))).toBe(false);
    const env = cleanEnv({
      ACTIONPULSE_DATA_DIR: join(work, 'kafka-data'),
      KAFKA_LOCAL_PORT: String(await freePort()),
      KAFKA_LOCAL_CONTROLLER_PORT: String(await freePort()),
    });
    try {
      const started = ok(await run(bin(), ['kafka', 'start'], { cwd: project, env, timeoutMs: 600_000 }), 'kafka start');
      expect(started.stderr).toContain("Fetching the Kafka broker's jars from Maven Central (once)");
      expect(started.stdout).toMatch(/^Kafka broker started at 127\.0\.0\.1:\d+/m);
      expect(existsSync(join(installed, '.vendor/kafka/libs/kafka_2.13-3.9.1.jar'))).toBe(true);
      const created = ok(await run(bin(), ['topics', 'create'], { cwd: project, env }), 'topics create on the local broker');
      expect(created.stdout).toContain('actionpulse.events.v1: created');
    } finally {
      const stopped = ok(await run(bin(), ['kafka', 'stop'], { cwd: project, env, timeoutMs: 120_000 }), 'kafka stop');
      expect(stopped.stdout).toContain('Kafka broker stopped');
    }
  }, 900_000);

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
          DATABASE_URL: databaseUrl,
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
