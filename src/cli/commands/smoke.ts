import { encodeEvent, type ActionEvent } from '../../events/index.ts';
import { buildEvent } from '../../events/build.ts';
import { ConsumerRunner } from '../../consumers/consumer-runner.ts';
import type { Sink, SinkBatch, SinkResult } from '../../consumers/sink.ts';
import { connectKafka } from '../../app/local-infra.ts';
import { loadConfig, type Config } from '../../platform/config.ts';
import type { KafkaPort } from '../../platform/kafka/kafka-port.ts';
import { createLogger, type Logger } from '../../platform/logger.ts';
import { producerSettings } from '../../producers/producer-settings.ts';
import { toRecord } from '../../producers/record-batch.ts';

export const help = `actionpulse smoke

  Starts the local infrastructure, produces one of each of the five events through Kafka,
  consumes them back through the validating consumer and prints them. Exits 0 when all five came back.`;

/** Prints what it receives: the terminal as a sink. */
class PrintSink implements Sink {
  readonly name = 'print';
  readonly seen = new Set<string>();
  async write(batch: SinkBatch): Promise<SinkResult> {
    for (const e of batch.events) {
      this.seen.add(e.event_id);
      console.log(`  ← ${e.event.padEnd(30)} partition ${batch.partition}  ${JSON.stringify(e)}`);
    }
    return { status: 'ok' };
  }
  async close(): Promise<void> {}
}

export async function run(): Promise<number> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel });
  const t0 = Date.now();
  const { kafka: port, brokers, local } = await connectKafka(config, logger);
  try {
    return await smoke(config, port, logger, t0, `Kafka at ${brokers.join(',')}${local ? ` (local broker ${local.reused ? 'reused' : 'started'} in ${local.startMs} ms)` : ''}`);
  } finally {
    await port.close();
  }
}

async function smoke(config: Config, port: KafkaPort, logger: Logger, t0: number, where: string): Promise<number> {
  console.log(where);
  const base = { source: 'actionpulse-smoke', organization_id: 'org-smoke' };
  const conv = { agent_id: 'agent-smoke', conversation_id: `conv-${Date.now()}` };
  const events: ActionEvent[] = [
    buildEvent({ ...base, event: 'qontak_action_configured', node_type: 'qontak_crm_deal_create', agent_id: conv.agent_id }),
    buildEvent({ ...base, ...conv, event: 'qontak_action_invoked', node_type: 'qontak_crm_deal_create' }),
    buildEvent({ ...base, event: 'qontak_action_token_refreshed', outcome: 'success', ...conv }),
    buildEvent({ ...base, ...conv, event: 'qontak_action_executed', node_type: 'qontak_crm_deal_create', duration_ms: 87 }),
    buildEvent({ ...base, ...conv, event: 'qontak_action_failed', node_type: 'qontak_chat_room_tag', reason: 'empty_tags', duration_ms: 2 }),
  ];
  const producer = port.producer(producerSettings({ compression: config.producer.compression }));
  const sent = await producer.send(config.kafka.eventsTopic, events.map((e) => toRecord(encodeEvent(e))));
  await producer.close();
  if (!sent.ok) {
    console.log(`producing to ${config.kafka.eventsTopic} failed: ${sent.reason} (${sent.detail})`);
    return 1;
  }
  for (const e of events) console.log(`  → ${e.event}`);
  const sink = new PrintSink();
  // A group of its own reading from the beginning, keeping only this run's events.
  const wanted = new Set(events.map((e) => e.event_id));
  // The validating consumer, as the pipeline's consumers read.
  const reader = new ConsumerRunner({
    kafka: port,
    sink: {
      name: 'print',
      write: async (batch) => {
        const mine = batch.events.filter((e) => wanted.has(e.event_id));
        if (mine.length) await sink.write({ ...batch, events: mine });
        return { status: 'ok' };
      },
      close: async () => undefined,
    },
    groupId: `actionpulse-smoke-${process.pid}-${Date.now()}`,
    topic: config.kafka.eventsTopic,
    deadLetterTopic: config.kafka.deadLetterTopic,
    logger,
    fromBeginning: true,
  });
  await reader.start();
  const deadline = Date.now() + 60_000;
  while (sink.seen.size < wanted.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await reader.stop();
  const ok = [...wanted].every((id) => sink.seen.has(id));
  console.log(ok ? `all five events went through Kafka and validated (${Date.now() - t0} ms)` : `only ${sink.seen.size} of 5 events came back`);
  return ok ? 0 : 1;
}
