import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, type WriteStream } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { startLocalBroker, stopLocalBroker } from '../../src/platform/kafka/local-broker.ts';
import { LocalCluster } from '../../src/platform/kafka/local-cluster.ts';
import type { KafkaPort } from '../../src/platform/kafka/kafka-port.ts';

/**
 * The processes of a soak/chaos run, each one really breakable: the run's own Kafka broker (never the
 * shared dev or test broker) and one `actionpulse start --only …` child per consumer group, each with its
 * own data folder and ports. Every handle can be SIGKILLed and restarted, or frozen (SIGSTOP/SIGCONT).
 */
export const BIN = resolve(import.meta.dirname, '../../bin/actionpulse.mjs');

export { freeLocalPort as freePort } from '../../src/platform/kafka/local-broker.ts';

function portInUse(port: number): Promise<boolean> {
  return new Promise((res) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(1000);
    socket.once('connect', () => (socket.destroy(), res(true)));
    socket.once('error', () => res(false));
    socket.once('timeout', () => (socket.destroy(), res(false)));
  });
}

/** Resident set size in MB from /proc/<pid>/status (VmRSS), or undefined when the process is gone. */
export function rssMb(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function until<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number, what: string, intervalMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    await sleep(intervalMs);
  }
}

export class SoakBroker {
  readonly brokers: string[];
  pid: number | undefined;
  restarts = 0;

  constructor(readonly o: { dataDir: string; port: number; controllerPort: number; heapMb?: number }) {
    this.brokers = [`127.0.0.1:${o.port}`];
  }

  async start(): Promise<number> {
    // startLocalBroker reuses whatever answers on the port: a chaos run must never kill someone else's broker.
    if (await portInUse(this.o.port)) throw new Error(`port ${this.o.port} is already in use: the soak needs a broker of its own (set another port)`);
    const b = await startLocalBroker({ ...this.o, heapMb: this.o.heapMb ?? 768, readyTimeoutMs: 120_000 });
    if (b.reused || !b.pid) throw new Error(`the broker on ${this.brokers[0]} is not ours`);
    this.pid = b.pid;
    return b.startMs;
  }

  /** SIGKILL (no clean shutdown: the broker recovers its log on the next start). */
  async kill(): Promise<void> {
    await stopLocalBroker({ dataDir: this.o.dataDir, port: this.o.port, signal: 'SIGKILL' });
    this.pid = undefined;
  }

  async restart(): Promise<number> {
    this.restarts++;
    return this.start();
  }

  async stop(): Promise<void> {
    await stopLocalBroker({ dataDir: this.o.dataDir, port: this.o.port, signal: 'SIGTERM', graceMs: 20_000 }).catch(() => undefined);
    this.pid = undefined;
  }
}

/**
 * The run's own three-broker cluster (KRaft controller + brokers on free ports, 256 MB heaps): brokers
 * are SIGKILLed one by one and started again; the controller stays up, so in-sync replicas really shrink.
 */
export class SoakCluster {
  readonly cluster: LocalCluster;
  /** Brokers SIGKILLed and not started again yet. */
  readonly down = new Set<number>();

  constructor(o: { dataDir: string; brokerPorts: number[]; controllerPort: number; heapMb?: number }) {
    this.cluster = new LocalCluster({ ...o, heapMb: o.heapMb ?? 256, readyTimeoutMs: 300_000 });
  }

  get brokers(): string[] {
    return this.cluster.brokers;
  }

  async start(): Promise<number> {
    for (const port of this.cluster.o.brokerPorts) if (await portInUse(port)) throw new Error(`port ${port} is already in use: the soak needs brokers of its own`);
    const c = await this.cluster.start();
    if (c.reused) throw new Error('the cluster on these ports is not ours');
    return c.startMs;
  }

  pids(): [string, number | undefined][] {
    return [['kafka controller', this.cluster.pid('controller')], ...this.cluster.nodeIds.map((id): [string, number | undefined] => [`kafka broker ${id}`, this.cluster.pid(id)])];
  }

  async kill(nodeId: number): Promise<void> {
    await this.cluster.killBroker(nodeId);
    this.down.add(nodeId);
  }

  /** Starts every killed broker at once; resolves when the controller lists them all again. */
  async restartDown(): Promise<number> {
    const started = Date.now();
    await Promise.all([...this.down].map((id) => this.cluster.startBroker(id)));
    this.down.clear();
    return Date.now() - started;
  }

  async stop(): Promise<void> {
    await this.cluster.stop().catch(() => undefined);
  }
}

/** The partition with the most records and the broker leading it (the busiest leader to kill). */
export async function busiestPartitionLeader(kafka: KafkaPort, topic: string): Promise<{ partition: number; leader: number; isr: number[] }> {
  const admin = kafka.admin();
  try {
    const ranges = await admin.partitionRanges(topic);
    const busiest = ranges.reduce((a, b) => (b.high > a.high ? b : a));
    const [described] = await admin.describeTopics([topic]);
    const meta = described.partitions.find((p) => p.partition === busiest.partition)!;
    return { partition: busiest.partition, leader: meta.leader, isr: meta.inSync };
  } finally {
    await admin.close();
  }
}

export interface ChildOptions {
  name: string;
  /** Components for `start --only`. */
  only: string[];
  dataDir: string;
  env: Record<string, string>;
  /** HTTP port (fixed, so a restarted child answers at the same URL). */
  httpPort: number;
}

/** One `actionpulse start --only … --quiet` process; its output goes to <dataDir>/child.log. */
export class ConsumerChild {
  proc: ChildProcess | undefined;
  output = '';
  restarts = 0;
  kills = 0;
  private log: WriteStream;
  private exited: Promise<number | null> = Promise.resolve(null);
  /** Exit codes of earlier incarnations that died without being asked to (crash on restart = bug). */
  readonly unexpectedExits: { code: number | null; signal: string | null }[] = [];
  private expectingExit = false;

  constructor(readonly o: ChildOptions) {
    mkdirSync(o.dataDir, { recursive: true });
    this.log = createWriteStream(join(o.dataDir, 'child.log'), { flags: 'a' });
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get url(): string {
    return `http://127.0.0.1:${this.o.httpPort}`;
  }

  /** Spawns the child and waits until its pipeline started (it prints the Kafka/ClickHouse line). */
  async start(timeoutMs = 180_000): Promise<number> {
    const started = Date.now();
    this.output = '';
    this.expectingExit = false;
    const proc = spawn(process.execPath, [BIN, 'start', '--only', this.o.only.join(','), '--quiet'], {
      env: { ...process.env, ...this.o.env, ACTIONPULSE_DATA_DIR: this.o.dataDir, HTTP_PORT: String(this.o.httpPort), ACTIONPULSE_DEMO: 'off' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    const onData = (d: Buffer) => {
      this.log.write(d);
      // Keep only the tail in memory: the start-up lines matter, not a 10-minute log.
      this.output = (this.output + d.toString()).slice(-20_000);
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    this.exited = new Promise((res) =>
      proc.once('exit', (code, signal) => {
        if (!this.expectingExit) this.unexpectedExits.push({ code, signal });
        res(code);
      }),
    );
    await until(
      () => {
        if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`${this.o.name} exited during start-up: ${this.output.slice(-2000)}`);
        return /^Kafka .*registry/m.test(this.output);
      },
      timeoutMs,
      `${this.o.name} to start`,
      200,
    );
    return Date.now() - started;
  }

  /** SIGKILL: no flush, no commit, no goodbye to the group coordinator. */
  async kill(): Promise<void> {
    this.kills++;
    this.expectingExit = true;
    this.proc?.kill('SIGKILL');
    await this.exited;
  }

  async restart(): Promise<number> {
    this.restarts++;
    return this.start();
  }

  freeze(): void {
    this.proc?.kill('SIGSTOP');
  }

  thaw(): void {
    this.proc?.kill('SIGCONT');
  }

  /** SIGTERM (the CLI flushes and commits), SIGKILL after the grace. Safe on a dead child. */
  async stop(graceMs = 60_000): Promise<number | null> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return p?.exitCode ?? null;
    this.expectingExit = true;
    p.kill('SIGCONT');
    p.kill('SIGTERM');
    const timer = setTimeout(() => p.kill('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  close(): void {
    this.log.end();
  }
}
