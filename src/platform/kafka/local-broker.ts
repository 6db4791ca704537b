import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import type { Logger } from '../logger.ts';
import { ensureKafkaJars, KAFKA_LIBS_DIR } from './kafka-jars.ts';

export { KAFKA_LIBS_DIR };

/**
 * Runs a single-node Apache Kafka 3.9 broker (KRaft, combined broker+controller) from the jars that
 * `scripts/setup.mjs` copies out of Maven Central. There is no Docker engine on our machines, so the
 * project starts its own broker: data and logs under `<dataDir>/kafka-<port>`, pid in a file so any
 * later command can find, reuse or stop it.
 */
export interface LocalBrokerOptions {
  dataDir: string;
  port: number;
  controllerPort: number;
  heapMb?: number;
  logger?: Logger;
  /** How long to wait for the broker to serve metadata. */
  readyTimeoutMs?: number;
}

export interface LocalBroker {
  brokers: string[];
  pid: number | undefined;
  /** true when an already-running broker was reused. */
  reused: boolean;
  startMs: number;
}


function brokerDir(o: Pick<LocalBrokerOptions, 'dataDir' | 'port'>): string {
  return resolve(o.dataDir, `kafka-${o.port}`);
}

/** Settings every local node shares, whatever its role (retention, sizes, threads, no auto-created topics). */
export const COMMON_NODE_PROPERTIES = [
  'num.partitions=6',
  'group.initial.rebalance.delay.ms=0',
  'auto.create.topics.enable=false',
  'log.retention.hours=168',
  'log.segment.bytes=268435456',
  'message.max.bytes=10485760',
  'num.network.threads=2',
  'num.io.threads=4',
];

function serverProperties(o: LocalBrokerOptions, logDir: string): string {
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${o.controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${o.port},CONTROLLER://127.0.0.1:${o.controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${o.port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${logDir}`,
    // One node: internal topics must not ask for replicas that cannot exist, or consumer groups
    // loop on "group coordinator not available".
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=10',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    ...COMMON_NODE_PROPERTIES,
    '',
  ].join('\n');
}

const LOG4J = `log4j.rootLogger=WARN, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=\${kafka.logs.dir}/server.log
log4j.appender.file.MaxFileSize=20MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaServer=INFO
log4j.logger.kafka.server.BrokerServer=INFO
`;

/**
 * A TCP port nobody listens on right now (the OS picks it), for throw-away brokers in tests and benchmarks:
 * on a fixed port, a leftover broker would answer and be reused, and stopping "ours" would stop nothing.
 */
export function freeLocalPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export function portOpen(port: number): Promise<boolean> {
  return new Promise((res) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      res(true);
    });
    socket.once('error', () => res(false));
    socket.once('timeout', () => {
      socket.destroy();
      res(false);
    });
  });
}

/** Real readiness: the broker answers a metadata request, not just a TCP accept. */
export async function brokerServesMetadata(brokers: string[], timeoutMs = 3000): Promise<boolean> {
  return (await clusterBrokerIds(brokers, 'actionpulse-readiness', timeoutMs)).length > 0;
}

/** Node ids the cluster lists as alive, asked once with no retry; none when it does not answer. */
export async function clusterBrokerIds(brokers: string[], clientId: string, timeoutMs: number): Promise<number[]> {
  // Loaded on use: the client needs Node >= 22.22, and `actionpulse doctor` reports an older Node on its own.
  const { createPlatformaticKafka } = await import('./platformatic-adapter.ts');
  const kafka = createPlatformaticKafka({ brokers, clientId, connectTimeoutMs: timeoutMs, requestTimeoutMs: timeoutMs, adminRetries: 0 });
  const admin = kafka.admin();
  try {
    return await admin.clusterBrokers();
  } catch {
    return [];
  } finally {
    await kafka.close().catch(() => undefined);
  }
}

export async function waitForBroker(brokers: string[], timeoutMs: number, isAlive?: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (isAlive && !isAlive()) throw new Error('the Kafka broker process exited during start-up');
    if (await brokerServesMetadata(brokers)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`Kafka broker at ${brokers.join(',')} did not serve metadata within ${timeoutMs} ms`);
}

export function readPid(dir: string): number | undefined {
  const file = join(dir, 'broker.pid');
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface KafkaNodeLaunch {
  /** The node's folder: data/, logs/, server.properties, broker.pid. */
  dir: string;
  heapMb: number;
  /** server.properties for this node, given its data folder. */
  properties: (logDir: string) => string;
  /** Every node of one cluster is formatted with the same id; unset = a fresh one (single node). */
  clusterId?: string;
}

export interface LaunchedNode {
  pid: number | undefined;
  exited: () => boolean;
  serverLog: string;
}

/** Kafka's StorageTool's own base64 uuid (an arbitrary string is refused as a cluster id). */
export async function newClusterId(): Promise<string> {
  await ensureKafkaJars();
  const { stdout } = await promisify(execFile)('java', ['-cp', `${KAFKA_LIBS_DIR}/*`, 'kafka.tools.StorageTool', 'random-uuid'], { encoding: 'utf8' });
  return stdout.trim();
}

/**
 * Formats the node's storage on first use and spawns the JVM detached (it outlives this process, so a
 * later command can reuse or stop it); the pid goes to `<dir>/broker.pid`.
 */
export async function launchKafkaNode(o: KafkaNodeLaunch): Promise<LaunchedNode> {
  await ensureKafkaJars();
  const logDir = join(o.dir, 'data');
  const appLogDir = join(o.dir, 'logs');
  mkdirSync(logDir, { recursive: true });
  mkdirSync(appLogDir, { recursive: true });
  const propsFile = join(o.dir, 'server.properties');
  writeFileSync(propsFile, o.properties(logDir));
  writeFileSync(join(o.dir, 'log4j.properties'), LOG4J);
  const classpath = `${KAFKA_LIBS_DIR}/*`;
  const jvmBase = ['-cp', classpath, `-Dlog4j.configuration=file:${join(o.dir, 'log4j.properties')}`, `-Dkafka.logs.dir=${appLogDir}`];
  if (!existsSync(join(logDir, 'meta.properties'))) {
    const clusterId = o.clusterId ?? (await newClusterId());
    await promisify(execFile)('java', [...jvmBase, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', propsFile, '--ignore-formatted']);
  }
  const heap = o.heapMb;
  const out = openSync(join(appLogDir, 'stdout.log'), 'a');
  const child = spawn(
    'java',
    [
      `-Xms${Math.min(heap, 256)}m`,
      `-Xmx${heap}m`,
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      '-XX:ActiveProcessorCount=2',
      '-Djava.awt.headless=true',
      ...jvmBase,
      'kafka.Kafka',
      propsFile,
    ],
    { detached: true, stdio: ['ignore', out, out] },
  );
  child.unref();
  writeFileSync(join(o.dir, 'broker.pid'), String(child.pid));
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  return { pid: child.pid, exited: () => exited, serverLog: join(appLogDir, 'server.log') };
}

export async function startLocalBroker(o: LocalBrokerOptions): Promise<LocalBroker> {
  const started = Date.now();
  const brokers = [`127.0.0.1:${o.port}`];
  const dir = brokerDir(o);
  const existingPid = readPid(dir);
  if (await portOpen(o.port)) {
    await waitForBroker(brokers, o.readyTimeoutMs ?? 60_000);
    o.logger?.info({ brokers }, 'reusing running Kafka broker');
    return { brokers, pid: existingPid, reused: true, startMs: Date.now() - started };
  }
  const node = await launchKafkaNode({ dir, heapMb: o.heapMb ?? 512, properties: (logDir) => serverProperties(o, logDir) });
  try {
    await waitForBroker(brokers, o.readyTimeoutMs ?? 90_000, () => !node.exited());
  } catch (err) {
    throw new Error(`${(err as Error).message}; see ${node.serverLog}`);
  }
  o.logger?.info({ brokers, pid: node.pid, ms: Date.now() - started }, 'started local Kafka broker');
  return { brokers, pid: node.pid, reused: false, startMs: Date.now() - started };
}

/** Stops the broker started for this data folder and port: SIGTERM, then SIGKILL after the grace. */
export async function stopLocalBroker(
  o: Pick<LocalBrokerOptions, 'dataDir' | 'port'> & { signal?: 'SIGTERM' | 'SIGKILL'; graceMs?: number },
): Promise<boolean> {
  return stopKafkaNode(brokerDir(o), o);
}

/** Stops the node whose pid file is in `dir`; false when none was running. */
export async function stopKafkaNode(dir: string, o: { signal?: 'SIGTERM' | 'SIGKILL'; graceMs?: number } = {}): Promise<boolean> {
  const pid = readPid(dir);
  if (!alive(pid)) return false;
  process.kill(pid!, o.signal ?? 'SIGTERM');
  const deadline = Date.now() + (o.graceMs ?? 30_000);
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (alive(pid)) process.kill(pid!, 'SIGKILL');
  while (alive(pid)) await new Promise((r) => setTimeout(r, 50));
  return true;
}

/** Removes the broker's data; only for throw-away test brokers. */
export function wipeLocalBroker(o: Pick<LocalBrokerOptions, 'dataDir' | 'port'>): void {
  rmSync(brokerDir(o), { recursive: true, force: true });
}
