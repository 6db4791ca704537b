import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type ErrorRequestHandler, type Express, type RequestHandler, type Router } from 'express';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';

/**
 * The one express app factory: request ids, one access-log line per request (method, route, status,
 * duration — never bodies or auth headers), /healthz (alive), /readyz (every readiness check passes),
 * /metrics (Prometheus), JSON 404 and error bodies. Components mount their routers through `routers`.
 */
export type ReadinessCheck = () => Promise<boolean> | boolean;

export interface HttpAppOptions {
  logger: Logger;
  metrics?: Metrics;
  readiness?: Record<string, ReadinessCheck>;
  routers?: { path: string; router: Router | RequestHandler }[];
}

declare module 'express-serve-static-core' {
  interface Request {
    id: string;
    log: Logger;
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

export function createHttpApp(o: HttpAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use((req, res, next) => {
    const given = req.get('x-request-id');
    req.id = given && REQUEST_ID.test(given) ? given : randomUUID();
    req.log = o.logger.child({ reqId: req.id });
    res.setHeader('x-request-id', req.id);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      req.log.info({ method: req.method, path: req.path, status: res.statusCode, ms: Math.round(ms * 10) / 10 }, 'http request');
    });
    next();
  });
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const checks: Record<string, boolean> = {};
    for (const [name, check] of Object.entries(o.readiness ?? {})) {
      try {
        checks[name] = await check();
      } catch {
        checks[name] = false;
      }
    }
    const ready = Object.values(checks).every(Boolean);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks });
  });
  if (o.metrics) {
    const handler = o.metrics.handler;
    app.get('/metrics', (req, res) => handler(req, res));
  }
  for (const { path, router } of o.routers ?? []) app.use(path, router);
  app.use((_req, res) => {
    res.status(404).json({ error: 'not_found' });
  });
  const onError: ErrorRequestHandler = (err: { status?: number; statusCode?: number; type?: string; expose?: boolean }, req, res, next) => {
    if (res.headersSent) return next(err);
    const status = err.status ?? err.statusCode ?? 500;
    if (status >= 500) req.log.error({ err }, 'request failed');
    const error = status === 413 ? 'payload_too_large' : err.type === 'entity.parse.failed' ? 'invalid_json' : status >= 500 ? 'internal_error' : 'bad_request';
    res.status(status).json({ error });
  };
  app.use(onError);
  return app;
}

export interface RunningServer {
  server: Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

export function listen(app: Express, port: number, host = '127.0.0.1'): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, (err?: Error) => {
      if (err) return reject(err);
      // Idle keep-alive sockets stay open longer than clients and load balancers keep theirs (commonly
      // 60 s): a server that closes first races the client's next request on that socket ("fetch failed").
      server.keepAliveTimeout = 65_000;
      server.headersTimeout = 66_000;
      const actual = (server.address() as AddressInfo).port;
      resolve({
        server,
        port: actual,
        url: `http://${host}:${actual}`,
        close: () =>
          new Promise<void>((res) => {
            server.close(() => res());
            server.closeAllConnections();
          }),
      });
    });
    server.once('error', reject);
  });
}
