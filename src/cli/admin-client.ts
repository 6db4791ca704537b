import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../platform/config.ts';
import { EX_CONFIG, EX_UNAVAILABLE, OperatorError } from './args.ts';
import { serviceUrl } from './pipeline-discovery.ts';

/**
 * The operator commands act through the running service's admin API (the same authenticated path as a
 * human with curl), not by writing to the database behind its back: the embedded databases belong to the
 * service's process, and every change lands in the audit trail the same way.
 */
export class AdminClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string,
    private readonly timeoutMs = 30_000,
  ) {}

  static fromConfig(config: Config): AdminClient {
    // Which pipeline first: with several running (or none), no token question is worth asking.
    const baseUrl = serviceUrl(config);
    let token = config.http.adminToken;
    const file = join(config.dataDir, 'secrets', 'admin-token');
    if (!token && existsSync(file)) token = readFileSync(file, 'utf8').trim();
    if (!token) throw new OperatorError(`no admin token: set ADMIN_TOKEN to the service's token (a local run keeps one in ${file} once \`npm start\` has run)`, EX_CONFIG);
    return new AdminClient(baseUrl, token, config.cli.requestTimeoutMs);
  }

  async request<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const why = (err as Error).name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : 'not running or not reachable';
      throw new OperatorError(`cannot reach the Actionpulse service at ${this.baseUrl} (${why}): start it with \`npm start\`, or set ACTIONPULSE_URL`, EX_UNAVAILABLE);
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text for the error message
    }
    if (!res.ok) {
      const detail = typeof parsed === 'object' && parsed ? JSON.stringify(parsed) : String(parsed).slice(0, 200);
      if (res.status === 401) throw new OperatorError(`the service at ${this.baseUrl} refused the admin token: set ADMIN_TOKEN to the token it runs with`, EX_CONFIG);
      if (res.status === 503 && /admin_disabled/.test(detail)) throw new OperatorError(`the service at ${this.baseUrl} runs without an admin API: start it with ADMIN_TOKEN set`, EX_CONFIG);
      throw new OperatorError(`${method} ${path} answered ${res.status}: ${detail}`);
    }
    return parsed as T;
  }
}
