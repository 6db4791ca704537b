import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../platform/config.ts';

/**
 * The operator commands act through the running service's admin API (the same authenticated path as a
 * human with curl), not by writing to the database behind its back: the embedded databases belong to the
 * service's process, and every change lands in the audit trail the same way.
 */
export class AdminClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string,
  ) {}

  static fromConfig(config: Config, env: NodeJS.ProcessEnv = process.env): AdminClient {
    const baseUrl = (env.ACTIONPULSE_URL ?? `http://${config.http.host}:${config.http.port}`).replace(/\/$/, '');
    let token = config.http.adminToken;
    const file = join(config.dataDir, 'secrets', 'admin-token');
    if (!token && existsSync(file)) token = readFileSync(file, 'utf8').trim();
    if (!token) throw new Error(`no admin token: set ADMIN_TOKEN (a local run keeps one in ${file})`);
    return new AdminClient(baseUrl, token);
  }

  async request<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      throw new Error(`cannot reach the Actionpulse service at ${this.baseUrl} (${(err as Error).message}): start it with \`npm start\`, or set ACTIONPULSE_URL`);
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text for the error message
    }
    if (!res.ok) {
      const detail = typeof parsed === 'object' && parsed ? JSON.stringify(parsed) : String(parsed);
      throw new Error(`${method} ${path} answered ${res.status}: ${detail}`);
    }
    return parsed as T;
  }
}
