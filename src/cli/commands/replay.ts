import { connectKafka } from '../../app/local-infra.ts';
import { rewindGroup } from '../../app/dead-letters.ts';
import { loadConfig, type Config } from '../../platform/config.ts';
import { createLogger } from '../../platform/logger.ts';
import { OperatorError, parse, parseTime, UsageError } from '../args.ts';

/** The sinks a replay can re-feed, each by its consumer group from the configuration. */
export const SINK_GROUPS: Record<string, (config: Config) => string> = {
  clickhouse: (c) => c.clickhouse.consumerGroup,
  mixpanel: (c) => c.mixpanel.consumerGroup,
};

export const help = `actionpulse replay --from <time> --sink clickhouse|mixpanel

  Re-feeds a sink from Kafka: moves the sink's consumer group (CLICKHOUSE_CONSUMER_GROUP,
  MIXPANEL_CONSUMER_GROUP) back to the first event at or after <time> (ISO-8601, or 2h / 30m / 7d ago).
  Stop that consumer first (Kafka refuses to move an active group's offsets). Sinks deduplicate by
  event_id, so nothing already written is counted twice.

  The alert evaluator cannot be replayed this way: it keeps no offsets in a consumer group (its group only
  elects the active instance) and rebuilds its windows from Kafka by event time on every start.`;

export async function run(args: string[]): Promise<number> {
  const { values } = parse(args, { from: { type: 'string' }, sink: { type: 'string' } });
  if (values.sink === 'alerts') {
    throw new UsageError(
      'replay --sink alerts is not supported: the alert evaluator reads no offsets from a consumer group; it rebuilds its windows from Kafka by event time whenever it starts, so restart it instead',
    );
  }
  if (!values.from) throw new UsageError('--from is required');
  const groupOf = values.sink ? SINK_GROUPS[values.sink] : undefined;
  if (!groupOf) throw new UsageError(`--sink must be one of ${Object.keys(SINK_GROUPS).join(', ')}`);
  const fromMs = parseTime(values.from);
  const config = loadConfig();
  const groupId = groupOf(config);
  const { kafka } = await connectKafka(config, createLogger({ level: 'error' }));
  try {
    const partitions = await rewindGroup(kafka, { groupId, topic: config.kafka.eventsTopic, fromMs });
    console.log(`group ${groupId} rewound to ${new Date(fromMs).toISOString()}:`);
    for (const p of partitions) console.log(`  partition ${p.partition} → offset ${p.offset}`);
    return 0;
  } catch (err) {
    const message = (err as Error).message;
    if (/rebalance|active|non-empty/i.test(message)) {
      throw new OperatorError(`cannot move the offsets of ${groupId} while its consumers run: stop the ${values.sink} consumer first (${message})`);
    }
    throw err;
  } finally {
    await kafka.close();
  }
}
