import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';

const gunzipAsync = promisify(gunzip);

/**
 * A local server that behaves like Mixpanel's ingestion API — the demo's recorder and the tests' fake: /import with Basic auth (service account +
 * project_id, or the project secret), the 2,000-record and byte limits (413), gzip bodies, strict=1 400s
 * with `failed_records` while ingesting the valid records, Mixpanel's time rules, and scriptable faults
 * (429 storms, 5xx, slow answers, dropped connections). /engage and /groups take profile updates the way
 * the `mixpanel` package sends them. Optionally HTTPS with a throw-away self-signed certificate.
 */
export type Fault =
  | { kind: 'status'; status: number; retryAfter?: string; body?: string }
  /** Close the socket without an answer, before ingesting. */
  | { kind: 'drop' }
  /** Ingest, then close the socket without an answer (the client cannot know it worked). */
  | { kind: 'drop_after_ingest' }
  /** Answer normally, after this delay. */
  | { kind: 'slow'; delayMs: number };

export interface MixpanelRecorderOptions {
  tls?: boolean;
  projectId?: string;
  serviceAccount?: { username: string; secret: string };
  projectSecret?: string;
  projectToken?: string;
  maxRecords?: number;
  maxBytes?: number;
  /** Added to every answer. */
  latencyMs?: number;
  /** Keep every accepted record (turn off in memory benchmarks). */
  keepRecords?: boolean;
  /** Extra validation, like a project's data governance rule; returns the message when invalid. */
  rejectWhen?: (record: ImportRecord) => string | undefined;
}

export interface ImportRecord {
  event: string;
  properties: Record<string, unknown>;
}

export interface FailedRecord {
  index: number;
  $insert_id?: string;
  field: string;
  message: string;
}

const PLACEHOLDERS = new Set(['00000000-0000-0000-0000-000000000000', 'anon', 'anonymous', 'nil', 'none', 'null', 'n/a', 'na', 'undefined', 'unknown', '<nil>', '0', '-1', 'true', 'false', '[]', '{}', '']);

export class MixpanelRecorder {
  /** Accepted records by $insert_id, with how many times each arrived. */
  readonly accepted = new Map<string, { record?: ImportRecord; count: number }>();
  readonly rejected: FailedRecord[] = [];
  readonly profileUpdates: { endpoint: string; data: Record<string, unknown> }[] = [];
  readonly requests = { import: 0, faults: 0, unauthorized: 0, tooLarge: 0, gzip: 0 };
  acceptedTotal = 0;
  url = '';
  caPem?: string;
  caFile?: string;
  /** Decides a fault for the n-th /import request (1-based), or none. */
  faultPlan: (n: number) => Fault | undefined = () => undefined;
  private server!: http.Server;
  private readonly sockets = new Set<Socket>();
  private certDir?: string;

  constructor(readonly o: MixpanelRecorderOptions = {}) {}

  async start(): Promise<this> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => void this.handle(req, res);
    if (this.o.tls) {
      this.certDir = mkdtempSync(join(tmpdir(), 'fake-mixpanel-'));
      const key = join(this.certDir, 'key.pem');
      const cert = join(this.certDir, 'cert.pem');
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
      this.caPem = readFileSync(cert, 'utf8');
      this.caFile = cert;
      this.server = https.createServer({ key: readFileSync(key), cert: this.caPem }, handler);
    } else {
      this.server = http.createServer(handler);
    }
    this.server.keepAliveTimeout = 30_000;
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `${this.o.tls ? 'https' : 'http'}://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
    if (this.certDir) rmSync(this.certDir, { recursive: true, force: true });
  }

  /** Every accepted record in arrival order (needs keepRecords, the default). */
  records(): ImportRecord[] {
    return [...this.accepted.values()].flatMap((v) => (v.record ? [v.record] : []));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', 'http://fake');
    if (url.pathname === '/engage' || url.pathname === '/groups') return this.profile(url, Buffer.concat(chunks), res);
    if (url.pathname !== '/import' || req.method !== 'POST') return this.answer(res, 404, { error: 'not found' });
    const n = ++this.requests.import;
    const fault = this.faultPlan(n);
    if (fault) this.requests.faults++;
    if (fault?.kind === 'drop') return void req.socket.destroy();
    if (fault?.kind === 'slow') await delay(fault.delayMs);
    if (fault?.kind === 'status') {
      const headers: Record<string, string> = fault.retryAfter ? { 'retry-after': fault.retryAfter } : {};
      return this.answer(res, fault.status, fault.body ?? { code: fault.status, error: fault.status === 429 ? 'Rate limit exceeded, please retry with exponential backoff' : 'Internal server error', status: 'error' }, headers);
    }
    if (!this.authorized(req, url)) {
      this.requests.unauthorized++;
      return this.answer(res, 401, { code: 401, error: 'Invalid credentials', status: 'error' });
    }
    let raw = Buffer.concat(chunks);
    if (req.headers['content-encoding'] === 'gzip') {
      this.requests.gzip++;
      try {
        raw = await gunzipAsync(raw);
      } catch {
        return this.answer(res, 400, { code: 400, error: 'invalid gzip body', status: 'Bad Request' });
      }
    }
    // Mixpanel's limits apply to the uncompressed body.
    if (raw.length > (this.o.maxBytes ?? 10 * 1024 * 1024)) {
      this.requests.tooLarge++;
      return this.answer(res, 413, { code: 413, error: 'request body too large', status: 'Payload Too Large' });
    }
    let records: unknown;
    try {
      const text = raw.toString('utf8');
      const type = String(req.headers['content-type']);
      // The `mixpanel` package posts the legacy form: data=<base64 JSON>.
      if (type.includes('x-www-form-urlencoded')) records = JSON.parse(Buffer.from(new URLSearchParams(text).get('data') ?? '', 'base64').toString('utf8'));
      else records = type.includes('ndjson') ? text.split('\n').filter(Boolean).map((l) => JSON.parse(l)) : JSON.parse(text);
    } catch {
      return this.answer(res, 400, { code: 400, error: 'could not parse body as JSON', status: 'Bad Request' });
    }
    if (!Array.isArray(records)) return this.answer(res, 400, { code: 400, error: 'body must be an array', status: 'Bad Request' });
    if (records.length > (this.o.maxRecords ?? 2000)) {
      this.requests.tooLarge++;
      return this.answer(res, 413, { code: 413, error: 'too many records: max 2000 per request', status: 'Payload Too Large' });
    }
    const failed: FailedRecord[] = [];
    // Only a body over 1 MB can hold a record over 1 MB: skip the per-record size check otherwise.
    const checkSize = raw.length > 1024 * 1024;
    records.forEach((r, index) => {
      const problem = this.validate(r, checkSize);
      const insertId = (r as ImportRecord)?.properties?.$insert_id as string | undefined;
      if (problem) failed.push({ index, $insert_id: insertId, ...problem });
      else this.accept(r as ImportRecord);
    });
    if (fault?.kind === 'drop_after_ingest') return void req.socket.destroy();
    const strict = url.searchParams.get('strict') === '1';
    this.rejected.push(...failed);
    if (strict && failed.length > 0) {
      return this.answer(res, 400, { code: 400, error: 'some data points in the request failed validation', failed_records: failed, num_records_imported: records.length - failed.length, status: 'Bad Request' });
    }
    // The legacy (non-strict, non-verbose) answer is the body "1", which the `mixpanel` package expects.
    if (!strict) return this.answer(res, 200, '1');
    return this.answer(res, 200, { code: 200, num_records_imported: records.length, status: 'OK' });
  }

  private authorized(req: http.IncomingMessage, url: URL): boolean {
    const m = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
    if (!m) return false;
    const [user, ...rest] = Buffer.from(m[1], 'base64').toString('utf8').split(':');
    const pass = rest.join(':');
    const sa = this.o.serviceAccount;
    if (sa && user === sa.username && pass === sa.secret) return url.searchParams.get('project_id') === (this.o.projectId ?? '1');
    return this.o.projectSecret !== undefined && user === this.o.projectSecret && pass === '';
  }

  private validate(r: unknown, checkSize: boolean): { field: string; message: string } | undefined {
    const rec = r as ImportRecord;
    if (!rec || typeof rec.event !== 'string' || rec.event === '') return { field: 'event', message: "'event' must be a non-empty string" };
    const p = rec.properties;
    if (!p || typeof p !== 'object') return { field: 'properties', message: "'properties' must be an object" };
    if (Object.keys(p).length >= 255) return { field: 'properties', message: 'too many properties (max 255)' };
    if (checkSize && JSON.stringify(rec).length > 1024 * 1024) return { field: 'properties', message: 'record exceeds 1 MB' };
    const time = p.time;
    if (typeof time !== 'number' || !Number.isFinite(time)) return { field: 'properties.time', message: "'properties.time' is invalid: must be a number" };
    const ms = time < 1e11 ? time * 1000 : time;
    if (ms < Date.UTC(1971, 0, 1)) return { field: 'properties.time', message: "'properties.time' is invalid: must be after 1971" };
    if (ms > Date.now() + 3600_000) return { field: 'properties.time', message: "'properties.time' is invalid: more than 1 hour in the future" };
    const id = p.$insert_id;
    if (typeof id !== 'string' || !/^[A-Za-z0-9-]{1,36}$/.test(id)) return { field: 'properties.$insert_id', message: "'$insert_id' must be 1-36 letters, digits or dashes" };
    const distinct = p.distinct_id;
    if (typeof distinct !== 'string' || PLACEHOLDERS.has(distinct.trim().toLowerCase())) return { field: 'properties.distinct_id', message: "'distinct_id' is missing or a placeholder" };
    const custom = this.o.rejectWhen?.(rec);
    if (custom) return { field: 'properties', message: custom };
    return undefined;
  }

  private accept(record: ImportRecord): void {
    this.acceptedTotal++;
    const id = record.properties.$insert_id as string;
    const seen = this.accepted.get(id);
    if (seen) seen.count++;
    else this.accepted.set(id, { record: this.o.keepRecords === false ? undefined : record, count: 1 });
  }

  private profile(url: URL, body: Buffer, res: http.ServerResponse): void {
    const encoded = url.searchParams.get('data') ?? new URLSearchParams(body.toString('utf8')).get('data');
    let data: unknown;
    try {
      data = JSON.parse(Buffer.from(encoded ?? '', 'base64').toString('utf8'));
    } catch {
      return this.answer(res, 200, '0');
    }
    const endpoint = url.pathname;
    for (const d of Array.isArray(data) ? data : [data]) {
      const rec = d as Record<string, unknown>;
      if (typeof rec?.$token !== 'string' || (this.o.projectToken && rec.$token !== this.o.projectToken)) return this.answer(res, 200, '0');
      this.profileUpdates.push({ endpoint, data: rec });
    }
    this.answer(res, 200, '1');
  }

  private answer(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    const send = () => {
      if (res.destroyed) return;
      res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json', ...headers });
      res.end(text);
    };
    if (this.o.latencyMs) setTimeout(send, this.o.latencyMs);
    else send();
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
