import { connectKafka } from '../../app/local-infra.ts';
import { rewindGroup } from '../../app/dead-letters.ts';
import { loadConfig } from '../../platform/config.ts';
import { createLogger } from '../../platform/logger.ts';
import { parse, parseTime, UsageError } from '../args.ts';

export const SINK_GROUPS: Record<string, string> = {
  clickhouse: 'actionpulse-clickhouse',
  mixpanel: 'actionpulse-mixpanel',
  alerts: 'actionpulse-alerts',
};

export const help = `actionpulse replay --from <time> --sink clickhouse|mixpanel|alerts

  Re-feeds a sink from Kafka: moves the sink's consumer group back to the first event at or after <time>
  (ISO-8601, or 2h / 30m / 7d ago). Stop that consumer first (Kafka refuses to move an active group's
  offsets). Sinks deduplicate by event_id, so nothing already written is counted twice.`;

export async function run(args: string[]): Promise<number> {
  const { values } = parse(args, { from: { type: 'string' }, sink: { type: 'string' } });
  if (!values.from) throw new UsageError(`--from is required\n\n${help}`);
  const groupId = values.sink ? SINK_GROUPS[values.sink] : undefined;
  if (!groupId) throw new UsageError(`--sink must be one of ${Object.keys(SINK_GROUPS).join(', ')}`);
  const fromMs = parseTime(values.from);
  const config = loadConfig();
  const { kafka } = await connectKafka(config, createLogger({ level: 'error' }));
  try {
    const partitions = await rewindGroup(kafka, { groupId, topic: config.kafka.eventsTopic, fromMs });
    console.log(`group ${groupId} rewound to ${new Date(fromMs).toISOString()}:`);
    for (const p of partitions) console.log(`  partition ${p.partition} → offset ${p.offset}`);
    return 0;
  } catch (err) {
    const message = (err as Error).message;
    if (/rebalance|active|non-empty/i.test(message)) {
      console.error(`cannot move the offsets of ${groupId} while its consumers run: stop the ${values.sink} consumer first (${message})`);
      return 1;
    }
    throw err;
  }
}
