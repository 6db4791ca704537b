import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/platform/config.ts';
import { createHttpApp, listen, type RunningServer } from '../../src/platform/http-server.ts';
import type { KafkaPort } from '../../src/platform/kafka/kafka-port.ts';
import { silentLogger } from '../../src/platform/logger.ts';
import { createMetrics, type Metrics } from '../../src/platform/metrics.ts';
import { createEmitter, type Emitter } from '../../src/producers/emitter.ts';
import { createIngestRouter } from '../../src/producers/ingest-router.ts';
import { freshTopics, testPort } from './kafka.ts';

/** The real ingest service as production composes it: HTTP app + ingest router + emitter, on a fresh topic. */
export interface IngestService {
  kafka: KafkaPort;
  topic: string;
  emitter: Emitter;
  metrics: Metrics;
  server: RunningServer;
  close(): Promise<void>;
}

/** `settings` are config paths (e.g. `http.ingestSecrets`) on top of the topic and a fresh spool folder. */
export async function startIngestService(settings: Record<string, string>): Promise<IngestService> {
  // As production composes it: the emitter produces through the Kafka port; the tests read back through it too.
  const kafka = await testPort();
  const topic = (await freshTopics(kafka)).events;
  const dir = await mkdtemp(join(tmpdir(), 'ingest-spool-'));
  const config = loadConfig({}, { 'kafka.eventsTopic': topic, 'spool.dir': dir, ...settings });
  const metrics = createMetrics();
  const emitter = await createEmitter(config, { kafka, logger: silentLogger, meter: metrics.meter });
  const app = createHttpApp({
    logger: silentLogger,
    metrics,
    readiness: { emitter: () => emitter.ready() },
    routers: [{ path: '/', router: createIngestRouter(config.http, { emitter, meter: metrics.meter }) }],
  });
  const server = await listen(app, 0);
  return {
    kafka,
    topic,
    emitter,
    metrics,
    server,
    async close() {
      await server.close();
      await emitter.close();
      await kafka.close();
      await metrics.shutdown();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
