import { connectKafka } from '../../app/local-infra.ts';
import { setFutureAllowanceMs } from '../../events/future-allowance.ts';
import { readDeadLetters, replayDeadLetters } from '../../app/dead-letters.ts';
import { loadConfig, type Config } from '../../platform/config.ts';
import type { KafkaPort } from '../../platform/kafka/kafka-port.ts';
import { createLogger } from '../../platform/logger.ts';
import { parse, UsageError } from '../args.ts';

export const help = `actionpulse dlq inspect [--limit N] [--json]
actionpulse dlq replay [--reason CODE] [--dry-run]

  inspect   list dead-lettered messages: reason, failing component, field errors, whether they pass now
  replay    re-send dead-lettered events that pass the contract now (after a fix) to the events topic;
            events are deduplicated downstream by event_id, so replaying twice is safe`;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    limit: { type: 'string', default: '50' },
    json: { type: 'boolean', default: false },
    reason: { type: 'string' },
    'dry-run': { type: 'boolean', default: false },
  });
  const sub = positionals[0];
  if (sub !== 'inspect' && sub !== 'replay') throw new UsageError(`expected 'inspect' or 'replay'\n\n${help}`);
  const config = loadConfig();
  // "Passes the contract now" uses the pipeline's future allowance: a timestamp_in_future letter becomes replayable once its time has come.
  setFutureAllowanceMs(config.events.futureAllowanceSeconds * 1000);
  const { kafka } = await connectKafka(config, createLogger({ level: 'error' }));
  try {
    return await (sub === 'inspect' ? inspect(kafka, config, values) : replay(kafka, config, values));
  } finally {
    await kafka.close();
  }
}

async function inspect(kafka: KafkaPort, config: Config, values: { limit: string; json: boolean }): Promise<number> {
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit takes a positive whole number');
  const { records } = await readDeadLetters(kafka, config.kafka.deadLetterTopic, limit);
  if (values.json) {
    console.log(JSON.stringify(records, null, 2));
    return 0;
  }
  const byReason = new Map<string, number>();
  for (const r of records) byReason.set(r.reason, (byReason.get(r.reason) ?? 0) + 1);
  console.log(`${records.length} dead-lettered message(s) in ${config.kafka.deadLetterTopic}`);
  for (const [reason, n] of byReason) console.log(`  ${reason.padEnd(28)} ${n}`);
  for (const r of records.slice(0, limit)) {
    console.log(`\n#${r.offset}  ${r.reason}  from ${r.source}  at ${r.at}${r.valid ? '  (passes the contract now: replayable)' : ''}`);
    if (r.detail) console.log(`  ${r.detail}`);
  }
  return 0;
}

async function replay(kafka: KafkaPort, config: Config, values: { reason?: string; 'dry-run': boolean }): Promise<number> {
  const out = await replayDeadLetters(kafka, {
    deadLetterTopic: config.kafka.deadLetterTopic,
    eventsTopic: config.kafka.eventsTopic,
    reason: values.reason,
    dryRun: values['dry-run'],
  });
  console.log(`${values['dry-run'] ? 'would replay' : 'replayed'} ${values['dry-run'] ? '' : out.replayed} event(s); ${out.stillInvalid.length} still invalid`);
  for (const s of out.stillInvalid.slice(0, 20)) console.log(`  #${s.offset} ${s.reason}: ${s.detail}`);
  return 0;
}
