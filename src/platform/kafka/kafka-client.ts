import type { Kafka as KafkaClass, KafkaConfig, SASLOptions, LogEntry } from 'kafkajs';
import { Kafka, logLevel as kafkaLogLevel } from './kafkajs.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { registerCodecs } from './codecs.ts';

/**
 * The project's one door to Kafka. Everything else takes a `KafkaPort` — the KafkaJS API surface we use — so
 * tests and callers depend on that surface, not on how the client is made (kafkajs, with our codecs registered).
 */
export type KafkaPort = Pick<KafkaClass, 'producer' | 'consumer' | 'admin'>;

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  ssl?: boolean;
  sasl?: SASLOptions;
  logger?: Logger;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
}

function pinoLogCreator(logger?: Logger) {
  return () =>
    ({ level, log }: LogEntry) => {
      if (!logger) return;
      const { message, ...extra } = log;
      const fields = { component: 'kafkajs', ...extra };
      if (level === kafkaLogLevel.ERROR) logger.error(fields, message);
      else if (level === kafkaLogLevel.WARN) logger.warn(fields, message);
      else logger.debug(fields, message);
    };
}

export async function createKafkaClient(o: KafkaClientOptions): Promise<KafkaPort> {
  // kafkajs prints a one-time notice about its v2 partitioner change on every producer; we key by
  // organization with the default partitioner on purpose.
  process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
  const common: KafkaConfig = {
    clientId: o.clientId,
    brokers: o.brokers,
    ssl: o.ssl,
    sasl: o.sasl,
    connectionTimeout: o.connectionTimeoutMs ?? 5000,
    requestTimeout: o.requestTimeoutMs ?? 30_000,
    logLevel: kafkaLogLevel.WARN,
    logCreator: pinoLogCreator(o.logger),
  };
  await registerCodecs(o.logger);
  return new Kafka(common);
}

/** Kafka client options from the validated config; `brokers` when the local broker supplies them. */
export function kafkaOptionsFromConfig(config: Config, brokers: string[], logger?: Logger): KafkaClientOptions {
  const k = config.kafka;
  // loadConfig's cross-field rules guarantee the user name and password whenever a mechanism is set.
  const sasl = k.saslMechanism ? ({ mechanism: k.saslMechanism, username: k.saslUsername, password: k.saslPassword } as SASLOptions) : undefined;
  return { brokers, clientId: k.clientId, ssl: k.ssl, sasl, logger, connectionTimeoutMs: k.connectionTimeoutMs, requestTimeoutMs: k.requestTimeoutMs };
}
