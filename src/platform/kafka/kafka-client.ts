import type { Kafka as KafkaClass, KafkaConfig, SASLOptions, LogEntry } from 'kafkajs';
import { Kafka, logLevel as kafkaLogLevel } from './kafkajs.ts';
import { ConfigError, type Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { registerCodecs } from './codecs.ts';

/**
 * The project's one door to Kafka. Everything else takes a `KafkaPort` — the KafkaJS API surface we use —
 * so a KafkaJS-compatible client (the KafkaJS API of @confluentinc/kafka-javascript, an optional package)
 * can replace kafkajs by config (`KAFKA_CLIENT`), without touching callers.
 */
export type KafkaPort = Pick<KafkaClass, 'producer' | 'consumer' | 'admin'>;

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  client?: Config['kafka']['client'];
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

/** Which client each port is, so settings that differ per client (producer-settings.ts) follow the port. */
const CLIENT_KIND = new WeakMap<KafkaPort, NonNullable<KafkaClientOptions['client']>>();

export function clientKindOf(kafka: KafkaPort): NonNullable<KafkaClientOptions['client']> {
  return CLIENT_KIND.get(kafka) ?? 'kafkajs';
}

export async function createKafkaClient(o: KafkaClientOptions): Promise<KafkaPort> {
  // kafkajs prints a one-time notice about its v2 partitioner change on every producer; we key by
  // organization with the default partitioner on purpose.
  process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
  const kind = o.client ?? 'kafkajs';
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
  if (kind === 'kafkajs') {
    await registerCodecs();
    const kafka = new Kafka(common);
    CLIENT_KIND.set(kafka, 'kafkajs');
    return kafka;
  }
  const moduleName = '@confluentinc/kafka-javascript';
  let mod: Record<string, unknown>;
  try {
    mod = (await import(moduleName)) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`Invalid setting KAFKA_CLIENT (kafka.client): ${kind} needs the optional npm package ${moduleName}, which is not installed (${(err as Error).message})`, [
      { setting: 'KAFKA_CLIENT (kafka.client)', message: `needs the npm package ${moduleName}` },
    ]);
  }
  const api = (mod.KafkaJS ?? (mod.default as Record<string, unknown>)?.KafkaJS) as { Kafka: new (c: unknown) => KafkaPort };
  // librdkafka's config mapper reads `sasl.mechanism` whenever the key exists: omit unset keys.
  const kafkaJS: Record<string, unknown> = { clientId: o.clientId, brokers: o.brokers, ssl: o.ssl ?? false };
  if (o.sasl) kafkaJS.sasl = o.sasl;
  const kafka = new api.Kafka({ kafkaJS });
  CLIENT_KIND.set(kafka, 'confluent');
  return kafka;
}

/** Kafka client options from the validated config; `brokers` when the local broker supplies them. */
export function kafkaOptionsFromConfig(config: Config, brokers: string[], logger?: Logger): KafkaClientOptions {
  const k = config.kafka;
  // loadConfig's cross-field rules guarantee the user name and password whenever a mechanism is set.
  const sasl = k.saslMechanism ? ({ mechanism: k.saslMechanism, username: k.saslUsername, password: k.saslPassword } as SASLOptions) : undefined;
  return { brokers, clientId: k.clientId, client: k.client, ssl: k.ssl, sasl, logger, connectionTimeoutMs: k.connectionTimeoutMs, requestTimeoutMs: k.requestTimeoutMs };
}
