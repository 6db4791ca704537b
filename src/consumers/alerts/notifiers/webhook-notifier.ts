import { createHmac } from 'node:crypto';
import type { AlertNotification } from '../alert-notification.ts';
import { deliveryOf, postJson, type DeliveryResult, type Notifier } from './notifier.ts';

/**
 * A generic webhook for anything else (an incident bot, a ticketing system). The body is signed so the
 * receiver can trust it: `X-Actionpulse-Signature: sha256=<hex HMAC of "<timestamp>.<body>">` with the
 * timestamp in `X-Actionpulse-Timestamp` (seconds), which lets receivers refuse replays. `Idempotency-Key` names the
 * decision told (`decisionKey`): a re-delivery repeats it, another decision of the same episode has its own.
 */
export interface WebhookNotifierOptions {
  name: string;
  url: string;
  secret: string;
  timeoutMs?: number;
}

export function signWebhook(secret: string, timestampS: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestampS}.${body}`).digest('hex')}`;
}

export class WebhookNotifier implements Notifier {
  readonly name: string;
  readonly minIntervalMs = 0;

  constructor(private readonly o: WebhookNotifierOptions) {
    this.name = o.name;
  }

  async send(n: AlertNotification, signal: AbortSignal): Promise<DeliveryResult> {
    const body = JSON.stringify({ version: 1, notification: n });
    const ts = Math.floor(Date.now() / 1000);
    const r = await postJson(
      this.o.url,
      body,
      { 'x-actionpulse-timestamp': String(ts), 'x-actionpulse-signature': signWebhook(this.o.secret, ts, body), 'idempotency-key': n.decisionKey ?? `${n.dedupKey}#${n.episode}#${n.kind}` },
      signal,
      this.o.timeoutMs ?? 10_000,
    );
    return deliveryOf(r);
  }
}
