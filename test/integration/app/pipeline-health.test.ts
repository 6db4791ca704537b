import { describe, expect, it } from 'vitest';
import { encodeEvent } from '../../../src/events/index.ts';
import { ConsumerRunner } from '../../../src/consumers/consumer-runner.ts';
import { HealthMonitor } from '../../../src/app/pipeline-health.ts';
import { silentLogger } from '../../../src/platform/logger.ts';
import { CollectingSink } from '../../helpers/collecting-sink.ts';
import { oneOfEach } from '../../helpers/events.ts';
import { freshTopics, produceTo, testPort, uniqueName, waitFor } from '../../helpers/kafka.ts';

describe('pipeline self-monitoring', () => {
  it('reports a consumer whose sink keeps failing as stalled (lag, no progress), and a healthy one as ok', async () => {
    const port = await testPort();
    const { events: topic, dlq } = await freshTopics(port, 1);
    await produceTo(port, topic, oneOfEach('org-health').map(encodeEvent));

    const healthy = new CollectingSink();
    const broken = new CollectingSink();
    for (let i = 0; i < 1000; i++) broken.script.push({ status: 'retry', error: new Error('clickhouse down') });
    const goodGroup = uniqueName('ok');
    const badGroup = uniqueName('stuck');
    const good = new ConsumerRunner({ kafka: port, sink: healthy, groupId: goodGroup, topic, deadLetterTopic: dlq, logger: silentLogger });
    const bad = new ConsumerRunner({ kafka: port, sink: broken, groupId: badGroup, topic, deadLetterTopic: dlq, logger: silentLogger, retry: { initialMs: 50, maxMs: 100, multiplier: 2 } });
    await good.start();
    await bad.start();
    let now = Date.now();
    const monitor = new HealthMonitor({
      kafka: port,
      topic,
      consumers: () => [
        { name: 'good', groupId: goodGroup, runner: good },
        { name: 'bad', groupId: badGroup, runner: bad },
      ],
      stallAfterMs: 60_000,
      now: () => now,
    });
    try {
      await waitFor(() => healthy.events.length === 5, { what: 'the healthy consumer to write' });
      await waitFor(() => bad.stats.retries > 2, { what: 'the broken sink to be retried' });
      const first = await monitor.check();
      expect(first.consumers.find((c) => c.name === 'bad')).toMatchObject({ lag: 5, stalled: false });
      now += 61_000;
      const later = await waitFor(async () => {
        const h = await monitor.check();
        return h.consumers.find((c) => c.name === 'good')?.lag === 0 ? h : undefined;
      });
      expect(later.status).toBe('degraded');
      expect(later.consumers.find((c) => c.name === 'bad')).toMatchObject({ lag: 5, written: 0, stalled: true });
      expect(later.consumers.find((c) => c.name === 'good')).toMatchObject({ lag: 0, written: 5, stalled: false });
    } finally {
      await good.stop();
      await bad.stop();
      await port.close();
    }
  });
});
