import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { AlertNotification } from '../../../src/consumers/alerts/alert-notification.ts';
import { pagerDutyEvent } from '../../../src/consumers/alerts/notifiers/pagerduty-notifier.ts';
import { WebhookNotifier } from '../../../src/consumers/alerts/notifiers/webhook-notifier.ts';
import { silenceMatches } from '../../../src/consumers/alerts/silence-store.ts';

const n: AlertNotification = {
  kind: 'trigger',
  ruleId: 'failure-rate-1h',
  title: 'Action failure rate above 10% (1 h)',
  severity: 'error',
  scope: { node_type: 'qontak_crm_deal_create' },
  scopeKey: 'node_type=qontak_crm_deal_create',
  dedupKey: 'actionpulse/failure-rate-1h/node_type=qontak_crm_deal_create',
  episode: 1,
  ruleKind: 'ratio',
  value: 0.15,
  threshold: 0.1,
  numerator: 15,
  denominator: 100,
  windowMinutes: 60,
  at: Date.UTC(2025, 0, 1),
  topReasons: [{ reason: 'crm_server_error', count: 15 }],
  dashboardUrl: 'http://dash/?node_type=qontak_crm_deal_create',
};

describe('alert notifier payloads', () => {
  it('PagerDuty: trigger carries payload and links, resolve only the dedup_key', () => {
    const trigger = pagerDutyEvent(n, 'rk');
    expect(trigger).toMatchObject({ routing_key: 'rk', event_action: 'trigger', dedup_key: n.dedupKey, payload: { severity: 'error', source: 'actionpulse-alerts' } });
    expect((trigger.payload as { summary: string }).summary).toContain('15.0% (15 failed / 100 completed calls)');
    expect(pagerDutyEvent({ ...n, kind: 'resolve' }, 'rk')).toEqual({ routing_key: 'rk', event_action: 'resolve', dedup_key: n.dedupKey });
  });

  it('signed webhook: the receiver can verify the HMAC over timestamp and body', async () => {
    const got: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        got.push({ headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const result = await new WebhookNotifier({ name: 'hook', url, secret: 's3cret' }).send(n, new AbortController().signal);
    server.close();
    expect(result).toEqual({ ok: true });
    const { headers, body } = got[0];
    const expected = `sha256=${createHmac('sha256', 's3cret').update(`${headers['x-actionpulse-timestamp']}.${body}`).digest('hex')}`;
    expect(headers['x-actionpulse-signature']).toBe(expected);
    expect(JSON.parse(body).notification.dedupKey).toBe(n.dedupKey);
  });

  it('silence matchers: every given field must match', () => {
    const subject = { rule_id: 'failure-rate-1h', receiver: 'bot-oncall', scope_key: n.scopeKey, scope: n.scope };
    expect(silenceMatches({ node_type: 'qontak_crm_deal_create' }, subject)).toBe(true);
    expect(silenceMatches({ node_type: 'qontak_crm_deal_create', receiver: 'crm-oncall' }, subject)).toBe(false);
    expect(silenceMatches({ rule_id: 'token-refresh-failures-15m' }, subject)).toBe(false);
  });
});
