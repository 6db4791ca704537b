import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local receiver of the signed alert webhook that behaves as the alerts README asks receivers to, with the
 * Idempotency-Key semantics of the IETF httpapi draft (draft-ietf-httpapi-idempotency-key-header): it checks
 * `X-Actionpulse-Signature` (HMAC-SHA256 of "<timestamp>.<body>") and refuses a timestamp more than 5 minutes old
 * (401); the first request with a key is processed; a request repeating a key with the same body gets the first
 * answer again and is not processed twice; a key reused with another body is refused with 422. `processed` holds
 * what a receiver would act on; `requests` every request.
 */
export interface WebhookRequest {
  idempotencyKey: string | undefined;
  status: number;
  body: string;
}

export class FakeWebhook {
  readonly processed: { idempotencyKey: string; notification: Record<string, unknown> }[] = [];
  readonly requests: WebhookRequest[] = [];
  /** Answers to give after processing a new request (e.g. [503]: the receiver acted, the sender saw a failure). */
  readonly lostAnswers: number[] = [];
  private readonly byKey = new Map<string, string>();
  private server: Server | undefined;
  url = '';

  constructor(private readonly secret: string) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req).then((status) => res.writeHead(status, { 'content-type': 'text/plain' }).end(String(status))));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks/actionpulse`;
  }

  private async handle(req: IncomingMessage): Promise<number> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const key = req.headers['idempotency-key'] as string | undefined;
    const status = this.verdict(req, body, key);
    this.requests.push({ idempotencyKey: key, status, body });
    return status;
  }

  private verdict(req: IncomingMessage, body: string, key: string | undefined): number {
    if (req.method !== 'POST') return 405;
    const ts = Number(req.headers['x-actionpulse-timestamp']);
    const expected = Buffer.from(`sha256=${createHmac('sha256', this.secret).update(`${ts}.${body}`).digest('hex')}`);
    const given = Buffer.from(String(req.headers['x-actionpulse-signature'] ?? ''));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 401;
    if (!Number.isFinite(ts) || Math.abs(Date.now() / 1000 - ts) > 300) return 401;
    if (!key) return 400;
    // The signature covers the send's timestamp: a retry of one notification differs only there.
    const notification = (JSON.parse(body) as { notification: Record<string, unknown> }).notification;
    const fingerprint = JSON.stringify(notification);
    const seen = this.byKey.get(key);
    if (seen !== undefined) return seen === fingerprint ? 200 : 422;
    this.byKey.set(key, fingerprint);
    this.processed.push({ idempotencyKey: key, notification });
    return this.lostAnswers.shift() ?? 200;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections();
  }
}
