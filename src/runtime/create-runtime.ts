import type { Meter } from '@opentelemetry/api';
import { Redis } from 'ioredis';
import { join } from 'node:path';
import { setFutureAllowanceMs } from '../events/future-allowance.ts';
import { createExecutor, fileBackend } from '../executors/index.ts';
import { ConfigError, loadConfig, missingPackage, missingPackageProblem, RUNTIME_REQUIREMENTS, type Config } from '../platform/config.ts';
import { kafkaConnectionFromConfig } from '../platform/kafka/kafka-connection.ts';
import { createPlatformaticKafka } from '../platform/kafka/platformatic-adapter.ts';
import { createStderrLogger, type Logger } from '../platform/logger.ts';
import { openRegistryDb } from '../platform/registry-db.ts';
import { createEmitter, type Emitter } from '../producers/emitter.ts';
import { assembleRuntime, type Runtime } from './agent-runtime.ts';

export interface RuntimeOptions {
  /** Where settings are read from, as environment variables (default `process.env`): KAFKA_BROKERS, DATABASE_URL, … */
  env?: NodeJS.ProcessEnv;
  /** Settings by path, applied over `env`, e.g. `{ 'kafka.brokers': 'kafka-1:9092', 'crm.baseUrl': '…' }`. */
  settings?: Record<string, unknown>;
  /** The `source` field of every event (default `agent-runtime`). */
  source?: string;
  /**
   * The host's pino logger: the runtime logs through a child of it (`component: 'runtime'`, and the emitter's and
   * executors' own). Default: JSON lines on stderr at LOG_LEVEL; never stdout.
   */
  logger?: Logger;
  /** An OpenTelemetry meter for the emitter's metrics (queued, sent, spooled, dropped…); default none. */
  meter?: Meter;
  /** Chat actions' Sidekiq queue name and Redis key prefix (default `default` and none). */
  chat?: { queue?: string; keyPrefix?: string };
}

/**
 * Builds a runtime from validated configuration: the emitter (memory queue → Kafka, disk spool when Kafka is
 * slow or down), the registry database with its kill-switch gate, the CRM client and the chat job queue.
 * Kafka may be down at this point: the emitter's producer connects on its first send and the emitter spools meanwhile.
 * Throws one ConfigError whose `problems` list every invalid or missing setting and package (one line each in its message).
 */
export async function createRuntime(options: RuntimeOptions = {}): Promise<Runtime> {
  // One pass: every invalid setting, every rule between settings, the runtime's required ones and packages.
  const config: Config = loadConfig(options.env ?? process.env, options.settings ?? {}, RUNTIME_REQUIREMENTS);
  const brokers = config.kafka.brokers;
  if (!brokers) throw new Error('kafka.brokers unset after validation'); // RUNTIME_REQUIREMENTS requires it
  // emit() checks every event against the contract, with the same future allowance as the pipeline.
  setFutureAllowanceMs(config.events.futureAllowanceSeconds * 1000);
  const source = options.source ?? 'agent-runtime';
  const logger = (options.logger ?? createStderrLogger(config.logLevel)).child({ component: 'runtime' });
  // Released in this order when the runtime closes (after the executor and the emitter), or if start-up fails.
  const release: (() => Promise<void>)[] = [];
  let emitter: Emitter | undefined;
  try {
    const db = await openRegistryDb({ url: config.database.url, dataDir: config.dataDir, logger });
    release.push(() => db.close());
    if (!config.database.url) {
      logger.warn({ dir: join(config.dataDir, 'pglite') }, 'no DATABASE_URL: the registry is a local PGlite, so the kill switch cannot reach this runtime');
    }
    let redis: Redis | undefined;
    if (config.redis.url) {
      const client = new Redis(config.redis.url, { maxRetriesPerRequest: 1 });
      client.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis error'));
      release.unshift(async () => client.disconnect());
      redis = client;
    } else {
      logger.warn({ dir: join(config.dataDir, 'chat-jobs') }, 'no REDIS_URL: chat jobs are written as Sidekiq JSON lines to a local folder');
    }
    const kafka = createPlatformaticKafka(kafkaConnectionFromConfig(config, brokers));
    // Closed after the emitter, which closes its own producer first.
    release.push(() => kafka.close());
    emitter = await createEmitter(config, { kafka, logger, meter: options.meter });
    const executor = await createExecutor({
      db,
      redis,
      jobBackend: redis ? undefined : fileBackend(join(config.dataDir, 'chat-jobs')),
      emitter,
      crm: config.crm,
      chat: options.chat,
      logger,
      source,
      spanNames: config.telemetry.executorSpanNames,
    });
    return assembleRuntime({ executor, emitter, logger, closeEmitter: true, release });
  } catch (err) {
    await emitter?.close(0).catch(() => undefined);
    for (const undo of release) await undo().catch(() => undefined);
    const pkg = missingPackage(err);
    throw pkg ? new ConfigError([missingPackageProblem(pkg, 'the agent runtime')]) : err;
  }
}
