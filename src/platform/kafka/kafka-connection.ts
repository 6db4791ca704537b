import type { Config } from '../config.ts';
import type { KafkaConnection } from './kafka-port.ts';

/**
 * The Kafka port's connection from the validated config (KAFKA_CLIENT_ID, KAFKA_SSL, KAFKA_SASL_*, the timeouts);
 * `brokers` are the configured ones or the local broker's.
 */
export function kafkaConnectionFromConfig(config: Config, brokers: string[]): KafkaConnection {
  const k = config.kafka;
  // loadConfig's cross-field rules guarantee the user name and password whenever a mechanism is set.
  const sasl = k.saslMechanism ? { mechanism: k.saslMechanism, username: k.saslUsername ?? '', password: k.saslPassword ?? '' } : undefined;
  return {
    brokers,
    clientId: k.clientId,
    tls: k.ssl,
    sasl,
    connectTimeoutMs: k.connectionTimeoutMs,
    requestTimeoutMs: k.requestTimeoutMs,
  };
}
