import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import type { Logger } from '../logger.ts';

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

export const KAFKA_LIBS_DIR = resolve(import.meta.dirname, '../../../.vendor/kafka/libs');

function brokerDir(o: Pick<LocalBrokerOptions, 'dataDir' | 'port'>): string {
  return resolve(o.dataDir, `kafka-${o.port}`);
}

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
    'num.partitions=6',
    // One node: internal topics must not ask for replicas that cannot exist, or consumer groups
    // loop on "group coordinator not available".
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=10',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=false',
    'log.retention.hours=168',
    'log.segment.bytes=268435456',
    'message.max.bytes=10485760',
    'num.network.threads=2',
    'num.io.threads=4',
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

function portOpen(port: number): Promise<boolean> {
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
  const kafka = new Kafka({
    clientId: 'actionpulse-readiness',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: timeoutMs,
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
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

function readPid(dir: string): number | undefined {
  const file = join(dir, 'broker.pid');
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
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
  if (!existsSync(join(KAFKA_LIBS_DIR, 'kafka_2.13-3.9.1.jar'))) {
    throw new Error(`Kafka jars missing in ${KAFKA_LIBS_DIR}: run \`npm run setup\` (needs mvn and Java 17)`);
  }
  const logDir = join(dir, 'data');
  const appLogDir = join(dir, 'logs');
  mkdirSync(logDir, { recursive: true });
  mkdirSync(appLogDir, { recursive: true });
  const propsFile = join(dir, 'server.properties');
  writeFileSync(propsFile, serverProperties(o, logDir));
  writeFileSync(join(dir, 'log4j.properties'), LOG4J);
  const classpath = `${KAFKA_LIBS_DIR}/*`;
  const jvmBase = ['-cp', classpath, `-Dlog4j.configuration=file:${join(dir, 'log4j.properties')}`, `-Dkafka.logs.dir=${appLogDir}`];
  if (!existsSync(join(logDir, 'meta.properties'))) {
    // The cluster id must be StorageTool's own base64 uuid; an arbitrary string is refused.
    const clusterId = execFileSync('java', [...jvmBase, 'kafka.tools.StorageTool', 'random-uuid'], { encoding: 'utf8' }).trim();
    execFileSync('java', [...jvmBase, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', propsFile, '--ignore-formatted'], {
      stdio: 'ignore',
    });
  }
  const heap = o.heapMb ?? 512;
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
  writeFileSync(join(dir, 'broker.pid'), String(child.pid));
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  try {
    await waitForBroker(brokers, o.readyTimeoutMs ?? 90_000, () => !exited);
  } catch (err) {
    throw new Error(`${(err as Error).message}; see ${join(appLogDir, 'server.log')}`);
  }
  o.logger?.info({ brokers, pid: child.pid, ms: Date.now() - started }, 'started local Kafka broker');
  return { brokers, pid: child.pid, reused: false, startMs: Date.now() - started };
}

/** Stops the broker started for this data folder and port: SIGTERM, then SIGKILL after the grace. */
export async function stopLocalBroker(
  o: Pick<LocalBrokerOptions, 'dataDir' | 'port'> & { signal?: 'SIGTERM' | 'SIGKILL'; graceMs?: number },
): Promise<boolean> {
  const dir = brokerDir(o);
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
