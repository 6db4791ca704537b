import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateEvent, type ActionEvent } from '../../../src/events/index.ts';
import { type RunningServer } from '../../../src/platform/http-server.ts';
import type { KafkaPort } from '../../../src/platform/kafka/kafka-port.ts';
import { readTopic, uniqueName } from '../../helpers/kafka.ts';
import { startIngestService, type IngestService } from '../../helpers/ingest-service.ts';

/**
 * The README's examples for runtimes that are not Node (examples/ingest), run as written against the real
 * ingest service (HTTP app + ingest router + emitter + Kafka): the events they sign land on the topic, valid.
 */
const EXAMPLES = join(import.meta.dirname, '../../../examples/ingest');
const SECRETS = { 'shell-runtime': 'shell-secret-0123456789abcdef', 'python-runtime': 'python-secret-0123456789abcdef' };
let service: IngestService;
let kafka: KafkaPort;
let topic: string;
let server: RunningServer;

beforeAll(async () => {
  service = await startIngestService({
    'http.ingestSecrets': Object.entries(SECRETS).map(([source, secret]) => `${source}=${secret}`).join(','),
  });
  ({ kafka, topic, server } = service);
});

afterAll(() => service?.close());

function runExample(cmd: string, file: string, source: keyof typeof SECRETS, organization: string): Promise<{ status: number; answer: unknown }> {
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ACTIONPULSE_URL: server.url,
    INGEST_SOURCE: source,
    INGEST_SECRET: SECRETS[source],
    ORGANIZATION_ID: organization,
    AGENT_ID: 'agent-7',
  };
  return new Promise((resolve, reject) => {
    execFile(cmd, [join(EXAMPLES, file)], { env, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${file} failed: ${err.message}\n${stdout}\n${stderr}`));
      const [answer, status] = stdout.trim().split('\n');
      resolve({ status: Number(status), answer: JSON.parse(answer) });
    });
  });
}

async function landed(organization: string, count: number): Promise<ActionEvent[]> {
  const messages = await readTopic(kafka, topic, Number.MAX_SAFE_INTEGER, 15_000);
  const mine = messages.filter((m) => m.key?.toString() === organization);
  expect(mine).toHaveLength(count);
  return mine.map((m) => {
    const checked = validateEvent(JSON.parse(m.value!.toString()));
    if (!checked.ok) throw new Error(`invalid event on the topic: ${m.value?.toString()}`);
    return checked.event;
  });
}

describe('signed HTTP ingest examples', () => {
  it('curl: the signed heartbeat is accepted with 202 and arrives on the topic', async () => {
    const organization = uniqueName('org-sh');
    const result = await runExample('sh', 'send-event.sh', 'shell-runtime', organization);
    expect(result).toEqual({ status: 202, answer: { accepted: 1, rejected: [] } });
    const [event] = await landed(organization, 1);
    expect(event).toMatchObject({ event: 'qontak_agent_active', source: 'shell-runtime', organization_id: organization, agent_id: 'agent-7' });
  });

  it('Python: the signed batch is accepted with 202 and both events arrive on the topic', async () => {
    const organization = uniqueName('org-py');
    const result = await runExample('python3', 'send_event.py', 'python-runtime', organization);
    expect(result).toEqual({ status: 202, answer: { accepted: 2, rejected: [] } });
    const events = await landed(organization, 2);
    expect(events.map((e) => e.event)).toEqual(['qontak_action_invoked', 'qontak_action_executed']);
    expect(events.every((e) => e.source === 'python-runtime' && e.organization_id === organization)).toBe(true);
  });
});
