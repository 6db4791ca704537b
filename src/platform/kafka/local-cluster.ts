import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from '../logger.ts';
import { alive, clusterBrokerIds, COMMON_NODE_PROPERTIES, launchKafkaNode, newClusterId, portOpen, readPid, stopKafkaNode } from './local-broker.ts';

/**
 * A local multi-broker Kafka 3.9 cluster (KRaft) from the same jars as the single broker: one
 * controller-only node plus N broker-only nodes, each its own JVM with its own folder under
 * `<dataDir>/kafka-cluster-<controllerPort>/`. The controller runs apart from the brokers on purpose:
 * with combined nodes, killing two of three would also take the metadata quorum down, and the case
 * worth testing is the production one — brokers gone, controller alive, in-sync replicas shrinking
 * below `min.insync.replicas`, so the leader refuses `acks=all` writes (NOT_ENOUGH_REPLICAS).
 * One controller is a single point of failure that production avoids with three; for a local cluster
 * whose brokers are what we break, it saves a JVM.
 */
export interface LocalClusterOptions {
  dataDir: string;
  /** Client port of each broker; broker node ids are 1..n in this order. */
  brokerPorts: number[];
  controllerPort: number;
  /** Heap of each broker JVM (MB). */
  heapMb?: number;
  controllerHeapMb?: number;
  logger?: Logger;
  readyTimeoutMs?: number;
}

/** Node id of the controller; brokers are 1..n. */
const CONTROLLER_ID = 1000;

/** Replication defaults that fit n brokers: 3 copies and 2 in sync when there are 3 or more. */
export function clusterReplication(brokers: number): { replicationFactor: number; minInsyncReplicas: number } {
  const replicationFactor = Math.min(3, brokers);
  return { replicationFactor, minInsyncReplicas: Math.max(1, Math.min(2, replicationFactor - 1)) };
}

export class LocalCluster {
  readonly brokers: string[];
  readonly dir: string;

  constructor(readonly o: LocalClusterOptions) {
    if (o.brokerPorts.length < 1) throw new Error('a cluster needs at least one broker port');
    this.brokers = o.brokerPorts.map((p) => `127.0.0.1:${p}`);
    this.dir = resolve(o.dataDir, `kafka-cluster-${o.controllerPort}`);
  }

  get nodeIds(): number[] {
    return this.o.brokerPorts.map((_, i) => i + 1);
  }

  brokerAddress(nodeId: number): string {
    return this.brokers[nodeId - 1];
  }

  pid(nodeId: number | 'controller'): number | undefined {
    const pid = readPid(this.nodeDir(nodeId));
    return alive(pid) ? pid : undefined;
  }

  private nodeDir(nodeId: number | 'controller'): string {
    return join(this.dir, nodeId === 'controller' ? 'controller' : `broker-${nodeId}`);
  }

  private async clusterId(): Promise<string> {
    const file = join(this.dir, 'cluster.id');
    if (!existsSync(file)) {
      mkdirSync(this.dir, { recursive: true });
      writeFileSync(file, await newClusterId());
    }
    return readFileSync(file, 'utf8').trim();
  }

  private voters(): string {
    return `${CONTROLLER_ID}@127.0.0.1:${this.o.controllerPort}`;
  }

  private sharedProperties(): string[] {
    const n = this.o.brokerPorts.length;
    const { replicationFactor, minInsyncReplicas } = clusterReplication(n);
    return [
      `controller.quorum.voters=${this.voters()}`,
      'controller.listener.names=CONTROLLER',
      // Topics created without explicit settings (and the internal ones) get the cluster's replication.
      `default.replication.factor=${replicationFactor}`,
      `min.insync.replicas=${minInsyncReplicas}`,
      `offsets.topic.replication.factor=${replicationFactor}`,
      'offsets.topic.num.partitions=10',
      `transaction.state.log.replication.factor=${replicationFactor}`,
      `transaction.state.log.min.isr=${minInsyncReplicas}`,
      'unclean.leader.election.enable=false',
      // A SIGKILLed broker is fenced (and leaves every ISR) after the session timeout: 6 s instead of 9 s.
      'broker.heartbeat.interval.ms=1000',
      'broker.session.timeout.ms=6000',
      'replica.lag.time.max.ms=10000',
      ...COMMON_NODE_PROPERTIES,
    ];
  }

  private controllerProperties(logDir: string): string {
    return [
      'process.roles=controller',
      `node.id=${CONTROLLER_ID}`,
      `listeners=CONTROLLER://127.0.0.1:${this.o.controllerPort}`,
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT',
      `log.dirs=${logDir}`,
      ...this.sharedProperties(),
      '',
    ].join('\n');
  }

  private brokerProperties(nodeId: number, logDir: string): string {
    const port = this.o.brokerPorts[nodeId - 1];
    return [
      'process.roles=broker',
      `node.id=${nodeId}`,
      `listeners=PLAINTEXT://127.0.0.1:${port}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      'inter.broker.listener.name=PLAINTEXT',
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      `log.dirs=${logDir}`,
      ...this.sharedProperties(),
      '',
    ].join('\n');
  }

  /** Starts the controller and every broker not already running, then waits until all brokers are registered. */
  async start(): Promise<{ startMs: number; reused: boolean }> {
    const started = Date.now();
    const clusterId = await this.clusterId();
    // Formatting and JVM start-up take seconds each: every missing node starts at once.
    const launches: Promise<unknown>[] = [];
    if (!(await portOpen(this.o.controllerPort))) {
      launches.push(launchKafkaNode({ dir: this.nodeDir('controller'), heapMb: this.o.controllerHeapMb ?? 192, clusterId, properties: (d) => this.controllerProperties(d) }));
    }
    for (const id of this.nodeIds) {
      if (await portOpen(this.o.brokerPorts[id - 1])) {
        // Whatever answers must be this cluster's node (e.g. not the single local broker on the same port).
        if (!this.pid(id)) throw new Error(`port ${this.o.brokerPorts[id - 1]} is in use by a process that is not broker ${id} of ${this.dir} (the single local broker? stop it first)`);
        continue;
      }
      launches.push(this.launchBroker(id, clusterId));
    }
    await Promise.all(launches);
    const launched = launches.length;
    await this.waitForBrokers(this.nodeIds.length, this.o.readyTimeoutMs ?? 180_000);
    this.o.logger?.info({ brokers: this.brokers, launched, ms: Date.now() - started }, 'local Kafka cluster ready');
    return { startMs: Date.now() - started, reused: launched === 0 };
  }

  private async launchBroker(nodeId: number, clusterId?: string) {
    return launchKafkaNode({ dir: this.nodeDir(nodeId), heapMb: this.o.heapMb ?? 256, clusterId: clusterId ?? (await this.clusterId()), properties: (d) => this.brokerProperties(nodeId, d) });
  }

  /** SIGKILL one broker: no controlled shutdown, no leadership hand-over. */
  async killBroker(nodeId: number): Promise<void> {
    await stopKafkaNode(this.nodeDir(nodeId), { signal: 'SIGKILL' });
  }

  /** Starts one (stopped) broker again and waits until the cluster lists it. */
  async startBroker(nodeId: number): Promise<number> {
    const started = Date.now();
    if (!(await portOpen(this.o.brokerPorts[nodeId - 1]))) await this.launchBroker(nodeId);
    await this.waitForBrokers(this.nodeIds.length, this.o.readyTimeoutMs ?? 180_000, nodeId);
    return Date.now() - started;
  }

  /** Broker ids the controller currently lists as registered and unfenced. */
  async liveBrokerIds(): Promise<number[]> {
    return clusterBrokerIds(this.brokers, 'actionpulse-cluster-probe', 5000);
  }

  private async waitForBrokers(count: number, timeoutMs: number, mustInclude?: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const ids = await this.liveBrokerIds();
      if (ids.length >= count && (mustInclude === undefined || ids.includes(mustInclude))) return;
      await new Promise((r) => setTimeout(r, 300));
    }
    throw new Error(`Kafka cluster ${this.brokers.join(',')} did not register ${count} brokers within ${timeoutMs} ms; see ${this.dir}/*/logs/server.log`);
  }

  /** Stops brokers, then the controller (SIGTERM: controlled shutdown; SIGKILL after the grace). */
  async stop(graceMs = 20_000): Promise<void> {
    await Promise.all(this.nodeIds.map((id) => stopKafkaNode(this.nodeDir(id), { signal: 'SIGTERM', graceMs })));
    await stopKafkaNode(this.nodeDir('controller'), { signal: 'SIGTERM', graceMs });
  }

  /** Removes the cluster's data; only for throw-away clusters. */
  wipe(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Broker ports of a local cluster from the configured first port: 19092, 19094, 19096, … (odd ones stay free for controllers). */
export function localClusterPorts(firstPort: number, brokers: number): number[] {
  return Array.from({ length: brokers }, (_, i) => firstPort + 2 * i);
}
