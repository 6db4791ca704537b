import type { Meter } from '@opentelemetry/api';
import express, { type Request, type Response, type Router } from 'express';
import { MAX_EVENT_BYTES, parseBoundedJson, validateEvent, type ActionEvent, type FieldError } from '../events/index.ts';
import type { Config } from '../platform/config.ts';
import { noopMeter } from '../platform/noop-meter.ts';
import type { Emitter } from './emitter.ts';
import { IngestAuthenticator, SIGNATURE_HEADER } from './ingest-auth.ts';
import { RateLimiter } from './rate-limiter.ts';

/**
 * `POST /v1/events` for producers that are not Node. Body: one event object, or an array of events
 * (at most `http.ingestMaxEvents`, body at most `http.ingestMaxBodyBytes`).
 *
 * Responses (JSON):
 * - 202 `{accepted, rejected: [{index, reason, errors: [{path, message}]}]}` — every accepted event is in
 *   Kafka or in the disk spool; invalid ones are listed, the valid ones of a mixed batch still land. An event
 *   dated further ahead of this service's clock than EVENT_FUTURE_ALLOWANCE_SECONDS is listed with reason
 *   `timestamp_in_future` at path `timestamp` (the sender's clock is wrong; it is refused, not held).
 * - 400 `invalid_json` | `invalid_utf8` | `too_deep` (with a `message`) | `empty_batch` | `no_valid_events`
 *   (with `rejected`), 401 `unauthorized` (no detail),
 *   413 `payload_too_large` | `too_many_events`, 429 `rate_limited` + Retry-After (seconds),
 *   503 `unavailable` when accepted events could not be stored (spool full).
 */
export interface IngestRouterDeps {
  emitter: Pick<Emitter, 'emitDurable'>;
  meter?: Meter;
  now?: () => number;
}

interface Rejected {
  index: number;
  reason: string;
  errors: FieldError[];
}

export function createIngestRouter(http: Config['http'], deps: IngestRouterDeps): Router {
  const auth = new IngestAuthenticator(http);
  const limiter = new RateLimiter(http.ingestRateEventsPerSecond, http.ingestRateBurstEvents);
  const now = deps.now ?? Date.now;
  const meter = deps.meter ?? noopMeter;
  const requests = meter.createCounter('actionpulse_ingest_requests_total', { description: 'POST /v1/events by status' });
  const events = meter.createCounter('actionpulse_ingest_events_total', { description: 'Ingested events by outcome' });
  const router = express.Router();

  const reply = (res: Response, status: number, body: object) => {
    requests.add(1, { status: String(status) });
    res.status(status).json(body);
  };

  router.post(
    '/v1/events',
    // Raw bytes: the signature covers the body exactly as sent.
    express.raw({ type: () => true, limit: http.ingestMaxBodyBytes }),
    async (req: Request, res: Response) => {
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const who = auth.authenticate({ signature: req.get(SIGNATURE_HEADER), authorization: req.get('authorization') }, raw, now());
      if (!who.ok) {
        req.log.warn({ why: who.why }, 'ingest: unauthenticated request');
        return reply(res, 401, { error: 'unauthorized' });
      }
      const log = req.log.child({ source: who.source, auth: who.via });
      // Depth is bounded before anything recursive (the per-event size below serialises each item).
      const parsed = parseBoundedJson(raw);
      if (!parsed.ok) return reply(res, 400, { error: parsed.problem, message: parsed.message });
      const body = parsed.value;
      const items = Array.isArray(body) ? body : [body];
      if (items.length === 0) return reply(res, 400, { error: 'empty_batch' });
      if (items.length > http.ingestMaxEvents) return reply(res, 413, { error: 'too_many_events', max: http.ingestMaxEvents });
      const limited = limiter.take(who.source, items.length, now());
      if (!limited.ok) {
        res.setHeader('Retry-After', String(limited.retryAfterSeconds));
        return reply(res, 429, { error: 'rate_limited', retryAfterSeconds: limited.retryAfterSeconds });
      }

      const rejected: Rejected[] = [];
      const valid: { index: number; event: ActionEvent }[] = [];
      items.forEach((item, index) => {
        const size = Buffer.byteLength(JSON.stringify(item) ?? '');
        if (size > MAX_EVENT_BYTES) {
          rejected.push({ index, reason: 'oversized', errors: [{ path: '', message: `${size} bytes exceeds ${MAX_EVENT_BYTES}` }] });
          return;
        }
        const r = validateEvent(item);
        if (r.ok) valid.push({ index, event: r.event });
        else rejected.push({ index, reason: r.reason, errors: r.errors });
      });
      events.add(rejected.length, { outcome: 'rejected' });
      if (valid.length === 0) {
        log.info({ rejected: rejected.length }, 'ingest: no valid events');
        return reply(res, 400, { error: 'no_valid_events', accepted: 0, rejected });
      }
      const results = await Promise.all(valid.map((v) => deps.emitter.emitDurable(v.event)));
      const failed = valid.filter((_, i) => !results[i].ok).map((v) => v.index);
      events.add(valid.length - failed.length, { outcome: 'accepted' });
      if (failed.length > 0) {
        events.add(failed.length, { outcome: 'unavailable' });
        log.error({ failed: failed.length }, 'ingest: accepted events could not be stored');
        res.setHeader('Retry-After', '5');
        return reply(res, 503, { error: 'unavailable', accepted: valid.length - failed.length, failed, rejected });
      }
      log.info({ accepted: valid.length, rejected: rejected.length }, 'ingest: events stored');
      return reply(res, 202, { accepted: valid.length, rejected });
    },
  );
  return router;
}
