import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local Slack incoming-webhook endpoint that behaves like the real one: `ok` on success, about one
 * message per second per webhook (beyond it: 429 with Retry-After), `invalid_payload` for a body
 * without text/blocks, `no_service` for an unknown webhook path. It records every accepted message.
 */
export interface SlackMessage {
  path: string;
  body: { text?: string; blocks?: { type: string; [k: string]: unknown }[] };
  receivedAt: number;
}

export interface FakeSlackOptions {
  /** Enforce ~1 message/s per webhook path (default true). */
  rateLimit?: boolean;
  retryAfterSeconds?: number;
}

export class FakeSlack {
  readonly messages: SlackMessage[] = [];
  readonly rejected: { path: string; status: number }[] = [];
  /** Status codes to answer before accepting again (e.g. [500, 429]). */
  readonly script: number[] = [];
  private readonly lastAccepted = new Map<string, number>();
  private server: Server | undefined;
  url = '';

  constructor(private readonly o: FakeSlackOptions = {}) {}

  webhook(name: string): string {
    return `${this.url}/services/T000/B000/${name}`;
  }

  for(name: string): SlackMessage[] {
    return this.messages.filter((m) => m.path.endsWith(`/${name}`));
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req).then(({ status, body, headers }) => res.writeHead(status, { 'content-type': 'text/plain', ...headers }).end(body)));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private async handle(req: IncomingMessage): Promise<{ status: number; body: string; headers?: Record<string, string> }> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const path = req.url ?? '';
    if (req.method !== 'POST' || !path.startsWith('/services/')) return { status: 404, body: 'no_service' };
    const scripted = this.script.shift();
    if (scripted !== undefined) {
      this.rejected.push({ path, status: scripted });
      if (scripted === 429) return { status: 429, body: 'rate_limited', headers: { 'retry-after': String(this.o.retryAfterSeconds ?? 1) } };
      return { status: scripted, body: scripted >= 500 ? 'internal_error' : 'invalid_payload' };
    }
    const now = Date.now();
    if ((this.o.rateLimit ?? true) && now - (this.lastAccepted.get(path) ?? 0) < 900) {
      this.rejected.push({ path, status: 429 });
      return { status: 429, body: 'rate_limited', headers: { 'retry-after': String(this.o.retryAfterSeconds ?? 1) } };
    }
    let body: SlackMessage['body'];
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as SlackMessage['body'];
    } catch {
      return { status: 400, body: 'invalid_payload' };
    }
    if (typeof body.text !== 'string' && !Array.isArray(body.blocks)) return { status: 400, body: 'no_text' };
    this.lastAccepted.set(path, now);
    this.messages.push({ path, body, receivedAt: now });
    return { status: 200, body: 'ok' };
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections();
  }
}
