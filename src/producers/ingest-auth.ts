import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Who is calling POST /v1/events. Either an HMAC signature — header
 * `X-Actionpulse-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + raw body)>` — or
 * `Authorization: Bearer <token>`. Every secret/token is compared in constant time, and a failure says
 * only "unauthorized": which part was wrong is logged for us, never returned to the caller.
 */
export const SIGNATURE_HEADER = 'x-actionpulse-signature';
export const MAX_CLOCK_SKEW_SECONDS = 300;

export type AuthResult = { ok: true; source: string; via: 'hmac' | 'bearer' } | { ok: false; why: 'missing' | 'malformed' | 'stale' | 'replayed' | 'mismatch' };

/** Parses `a=1,b=2` (the INGEST_HMAC_SECRETS / INGEST_BEARER_TOKENS format). */
export function parsePairs(value: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (value ?? '').split(',')) {
    const at = part.indexOf('=');
    if (at > 0) out.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
  }
  return out;
}

export function signBody(secret: string, timestamp: number, body: Buffer | string): string {
  return `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`;
}

/** Equal-length digests so timingSafeEqual never throws and length leaks nothing. */
function sameSecret(a: string | Buffer, b: string | Buffer): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/** Remembers signatures for the freshness window, so one captured request cannot be played twice. */
export class ReplayCache {
  private readonly seen = new Map<string, number>();
  constructor(private readonly windowMs = 2 * MAX_CLOCK_SKEW_SECONDS * 1000) {}

  /** True the first time a signature is seen within the window. */
  firstUse(signature: string, nowMs: number): boolean {
    if (this.seen.size > 10_000) for (const [k, exp] of this.seen) if (exp <= nowMs) this.seen.delete(k);
    const exp = this.seen.get(signature);
    if (exp !== undefined && exp > nowMs) return false;
    this.seen.set(signature, nowMs + this.windowMs);
    return true;
  }
}

export class IngestAuthenticator {
  private readonly secrets: Map<string, string>;
  private readonly tokens: Map<string, string>;
  private readonly replay = new ReplayCache();

  constructor(o: { ingestSecrets?: string; ingestBearerTokens?: string }) {
    this.secrets = parsePairs(o.ingestSecrets);
    this.tokens = parsePairs(o.ingestBearerTokens);
  }

  authenticate(headers: { signature?: string; authorization?: string }, rawBody: Buffer, nowMs = Date.now()): AuthResult {
    if (headers.signature) return this.hmac(headers.signature, rawBody, nowMs);
    const bearer = /^Bearer ([^\s]+)$/.exec(headers.authorization ?? '')?.[1];
    if (!bearer) return { ok: false, why: 'missing' };
    let source: string | undefined;
    for (const [name, token] of this.tokens) if (sameSecret(bearer, token)) source = name;
    return source ? { ok: true, source, via: 'bearer' } : { ok: false, why: 'mismatch' };
  }

  private hmac(header: string, rawBody: Buffer, nowMs: number): AuthResult {
    const m = /^t=(\d{1,12}),v1=([0-9a-f]{64})$/.exec(header.trim());
    if (!m) return { ok: false, why: 'malformed' };
    const t = Number(m[1]);
    if (Math.abs(nowMs / 1000 - t) > MAX_CLOCK_SKEW_SECONDS) return { ok: false, why: 'stale' };
    const given = Buffer.from(m[2], 'hex');
    let source: string | undefined;
    // Every secret is tried (no early exit), so timing does not reveal which source matched.
    for (const [name, secret] of this.secrets) {
      const expected = createHmac('sha256', secret).update(`${t}.`).update(rawBody).digest();
      if (timingSafeEqual(expected, given)) source = name;
    }
    if (!source) return { ok: false, why: 'mismatch' };
    if (!this.replay.firstUse(m[2], nowMs)) return { ok: false, why: 'replayed' };
    return { ok: true, source, via: 'hmac' };
  }
}
