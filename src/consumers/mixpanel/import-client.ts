import http from 'node:http';
import https from 'node:https';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { parseRetryAfter } from '../../platform/retry.ts';

const gzipAsync = promisify(gzip);

/**
 * Our own small /import client (see README.md for why not the `mixpanel` package): gzip, strict=1,
 * service-account or project-secret Basic auth, a configurable host for EU/IN residency, bounded
 * concurrency, and a timeout per request. It only classifies each answer; it never retries — the
 * consumer runner owns retries.
 */
export type MixpanelAuth =
  | { kind: 'service_account'; username: string; secret: string; projectId: string }
  | { kind: 'project_secret'; secret: string };

export interface ImportClientOptions {
  /** e.g. https://api.mixpanel.com, https://api-eu.mixpanel.com, https://api-in.mixpanel.com */
  apiHost: string;
  auth: MixpanelAuth;
  timeoutMs: number;
  concurrency: number;
  /** Extra trusted CA (PEM), for a TLS-intercepting proxy or a test server. */
  ca?: string | Buffer;
  gzipLevel?: number;
}

export interface FailedRecord {
  index: number;
  insertId?: string;
  field?: string;
  message: string;
}

export type ImportOutcome =
  | { kind: 'ok'; imported: number }
  /** strict=1 400: the listed records were refused, the rest were ingested. */
  | { kind: 'partial'; failed: FailedRecord[] }
  /** 413, or a 400 that names no record: the request as a whole is wrong; split it. */
  | { kind: 'too_large' | 'bad_request'; status: number; message: string }
  /** 429, 5xx, timeouts, dropped connections, and auth errors (a config problem, not the events'). */
  | { kind: 'retry'; status?: number; retryAfterMs?: number; message: string };

export class MixpanelImportClient {
  private readonly url: URL;
  private readonly agent: http.Agent;
  private readonly authHeader: string;
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly o: ImportClientOptions) {
    this.url = new URL('/import', o.apiHost);
    this.url.searchParams.set('strict', '1');
    if (o.auth.kind === 'service_account') {
      this.url.searchParams.set('project_id', o.auth.projectId);
      this.authHeader = `Basic ${Buffer.from(`${o.auth.username}:${o.auth.secret}`).toString('base64')}`;
    } else {
      this.authHeader = `Basic ${Buffer.from(`${o.auth.secret}:`).toString('base64')}`;
    }
    const agentOptions = { keepAlive: true, maxSockets: o.concurrency, ...(o.ca ? { ca: o.ca } : {}) };
    this.agent = this.url.protocol === 'https:' ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  }

  /** Sends one JSON-array body (≤ 2,000 records, within the byte limit), UTF-8. */
  async send(body: Buffer | string, signal?: AbortSignal): Promise<ImportOutcome> {
    await this.acquire();
    try {
      const payload = await gzipAsync(body, { level: this.o.gzipLevel ?? 6 });
      return await this.post(payload, signal);
    } finally {
      this.release();
    }
  }

  private post(payload: Buffer, signal?: AbortSignal): Promise<ImportOutcome> {
    const lib = this.url.protocol === 'https:' ? https : http;
    return new Promise((resolve) => {
      let settled = false;
      const finish = (outcome: ImportOutcome) => {
        if (settled) return;
        settled = true;
        resolve(outcome);
      };
      const req = lib.request(
        this.url,
        {
          method: 'POST',
          agent: this.agent,
          signal,
          timeout: this.o.timeoutMs,
          headers: {
            authorization: this.authHeader,
            'content-type': 'application/json',
            'content-encoding': 'gzip',
            'content-length': payload.length,
            accept: 'application/json',
          },
        },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (c: Buffer) => parts.push(c));
          res.on('error', (err) => finish({ kind: 'retry', message: `response aborted: ${err.message}` }));
          res.on('end', () => finish(classify(res.statusCode ?? 0, res.headers['retry-after'], Buffer.concat(parts).toString('utf8'))));
        },
      );
      // A timed-out request may still be ingested: the retry is safe because $insert_id deduplicates.
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.o.timeoutMs} ms`)));
      req.on('error', (err) => finish({ kind: 'retry', message: `network: ${err.message}` }));
      req.end(payload);
    });
  }

  private async acquire(): Promise<void> {
    if (this.active < this.o.concurrency) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }

  close(): void {
    this.agent.destroy();
  }
}

interface ImportResponseBody {
  error?: string;
  num_records_imported?: number;
  failed_records?: { index?: number; $insert_id?: string; insert_id?: string; field?: string; message?: string }[];
}

function parseBody(text: string): ImportResponseBody | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed && typeof parsed === 'object' ? (parsed as ImportResponseBody) : undefined;
  } catch {
    return undefined;
  }
}

export function classify(status: number, retryAfter: string | string[] | undefined, text: string): ImportOutcome {
  const body = parseBody(text);
  const message = `HTTP ${status}: ${(body?.error ?? text).slice(0, 300)}`;
  if (status >= 200 && status < 300) return { kind: 'ok', imported: body?.num_records_imported ?? 0 };
  if (status === 400 && Array.isArray(body?.failed_records) && body.failed_records.length > 0) {
    return {
      kind: 'partial',
      failed: body.failed_records
        .filter((r) => Number.isInteger(r.index))
        .map((r) => ({ index: r.index!, insertId: r.$insert_id ?? r.insert_id, field: r.field, message: r.message ?? 'rejected' })),
    };
  }
  if (status === 413) return { kind: 'too_large', status, message };
  if (status === 400) return { kind: 'bad_request', status, message };
  // Mixpanel does not document a Retry-After, but proxies in front of it send one.
  return { kind: 'retry', status, retryAfterMs: parseRetryAfter(retryAfter), message };
}
