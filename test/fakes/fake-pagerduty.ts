import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local PagerDuty Events API v2 (`POST /v2/enqueue`) that validates like the real one: 202
 * `{status:"success", dedup_key}` for a valid event, 400 `{status:"invalid event", errors}` otherwise,
 * 429 (with Retry-After) when scripted. It keeps incidents by dedup_key, as PagerDuty does: a trigger
 * opens (or adds to) one, a resolve closes it.
 */
export interface PdEvent {
  routing_key: string;
  event_action: 'trigger' | 'acknowledge' | 'resolve';
  dedup_key?: string;
  payload?: { summary: string; source: string; severity: string; [k: string]: unknown };
  [k: string]: unknown;
}

/** A change event (`POST /v2/change/enqueue`): informational, never an incident. */
export interface PdChangeEvent {
  routing_key: string;
  payload: { summary: string; source?: string; timestamp?: string; custom_details?: unknown };
  links?: { href: string; text?: string }[];
}

export class FakePagerDuty {
  readonly events: PdEvent[] = [];
  readonly changes: PdChangeEvent[] = [];
  readonly incidents = new Map<string, { status: 'triggered' | 'resolved'; triggers: number }>();
  readonly script: number[] = [];
  private server: Server | undefined;
  url = '';

  constructor(readonly routingKey = 'R0UT1NGKEY0000000000000000000000') {}

  async start(): Promise<void> {
    this.server = createServer((req, res) =>
      void this.handle(req).then(({ status, body, headers }) => res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body))),
    );
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private async handle(req: IncomingMessage): Promise<{ status: number; body: unknown; headers?: Record<string, string> }> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.method === 'POST' && req.url === '/v2/change/enqueue') return this.change(Buffer.concat(chunks).toString('utf8'));
    if (req.method !== 'POST' || req.url !== '/v2/enqueue') return { status: 404, body: { status: 'not found' } };
    const scripted = this.script.shift();
    if (scripted === 429) return { status: 429, body: { status: 'throttled' }, headers: { 'retry-after': '1' } };
    if (scripted !== undefined) return { status: scripted, body: { status: 'error' } };
    let e: PdEvent;
    try {
      e = JSON.parse(Buffer.concat(chunks).toString('utf8')) as PdEvent;
    } catch {
      return { status: 400, body: { status: 'invalid event', message: 'Event object is invalid', errors: ['malformed JSON'] } };
    }
    const errors: string[] = [];
    if (e.routing_key !== this.routingKey) errors.push('routing_key is invalid');
    if (!['trigger', 'acknowledge', 'resolve'].includes(e.event_action)) errors.push("'event_action' is invalid");
    if (e.event_action !== 'trigger' && !e.dedup_key) errors.push("'dedup_key' is required for acknowledge and resolve");
    if (e.event_action === 'trigger' && (!e.payload?.summary || !e.payload.source || !['critical', 'error', 'warning', 'info'].includes(e.payload.severity)))
      errors.push("'payload' needs summary, source and a valid severity");
    if (errors.length > 0) return { status: 400, body: { status: 'invalid event', message: 'Event object is invalid', errors } };
    this.events.push(e);
    const key = e.dedup_key ?? `generated-${this.events.length}`;
    const inc = this.incidents.get(key);
    if (e.event_action === 'trigger') this.incidents.set(key, { status: 'triggered', triggers: (inc?.status === 'triggered' ? inc.triggers : 0) + 1 });
    if (e.event_action === 'resolve' && inc) inc.status = 'resolved';
    return { status: 202, body: { status: 'success', message: 'Event processed', dedup_key: key } };
  }

  private change(body: string): { status: number; body: unknown } {
    let e: PdChangeEvent;
    try {
      e = JSON.parse(body) as PdChangeEvent;
    } catch {
      return { status: 400, body: { status: 'invalid event', message: 'Event object is invalid', errors: ['malformed JSON'] } };
    }
    const errors: string[] = [];
    if (e.routing_key !== this.routingKey) errors.push('routing_key is invalid');
    if (!e.payload?.summary || e.payload.summary.length > 1024) errors.push("'payload.summary' is required (at most 1024 characters)");
    if (errors.length > 0) return { status: 400, body: { status: 'invalid event', message: 'Event object is invalid', errors } };
    this.changes.push(e);
    return { status: 202, body: { status: 'success', message: 'Change event processed' } };
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections();
  }
}
