import { describe, expect, it } from 'vitest';
import { IngestAuthenticator, parsePairs, signBody } from '../../../src/producers/ingest-auth.ts';
import { RateLimiter } from '../../../src/producers/rate-limiter.ts';

const NOW = 1_700_000_000_000;
const body = Buffer.from('{"hello":"world"}');

describe('IngestAuthenticator', () => {
  const auth = () => new IngestAuthenticator({ ingestSecrets: 'builder-api=s3cr3t==,crm=other', ingestBearerTokens: 'ruby=tok-1' });

  it('identifies the source whose secret signed timestamp + "." + body', () => {
    expect(auth().authenticate({ signature: signBody('other', NOW / 1000, body) }, body, NOW)).toEqual({ ok: true, source: 'crm', via: 'hmac' });
    expect(auth().authenticate({ signature: signBody('s3cr3t==', NOW / 1000, body) }, body, NOW)).toMatchObject({ source: 'builder-api' });
  });

  it('refuses a signature over a different body, a stale or future timestamp, a malformed header and a replay', () => {
    const a = auth();
    expect(a.authenticate({ signature: signBody('other', NOW / 1000, body) }, Buffer.from('{}'), NOW)).toEqual({ ok: false, why: 'mismatch' });
    expect(a.authenticate({ signature: signBody('other', NOW / 1000 - 301, body) }, body, NOW)).toEqual({ ok: false, why: 'stale' });
    expect(a.authenticate({ signature: signBody('other', NOW / 1000 + 301, body) }, body, NOW)).toEqual({ ok: false, why: 'stale' });
    expect(a.authenticate({ signature: 'v1=abc' }, body, NOW)).toEqual({ ok: false, why: 'malformed' });
    const sig = signBody('other', NOW / 1000 - 10, body);
    expect(a.authenticate({ signature: sig }, body, NOW).ok).toBe(true);
    expect(a.authenticate({ signature: sig }, body, NOW + 1000)).toEqual({ ok: false, why: 'replayed' });
  });

  it('accepts a configured bearer token and nothing else', () => {
    expect(auth().authenticate({ authorization: 'Bearer tok-1' }, body, NOW)).toEqual({ ok: true, source: 'ruby', via: 'bearer' });
    expect(auth().authenticate({ authorization: 'Bearer tok-2' }, body, NOW)).toEqual({ ok: false, why: 'mismatch' });
    expect(auth().authenticate({ authorization: 'Basic tok-1' }, body, NOW)).toEqual({ ok: false, why: 'missing' });
  });

  it('parses name=value pairs, keeping "=" inside values', () => {
    expect([...parsePairs(' a = x==, b=y ')]).toEqual([
      ['a', 'x=='],
      ['b', 'y'],
    ]);
  });
});

describe('RateLimiter', () => {
  it('spends events from a per-source bucket, refills over time and says when to retry', () => {
    const rl = new RateLimiter(10, 20);
    expect(rl.take('a', 20, NOW)).toEqual({ ok: true });
    expect(rl.take('a', 5, NOW)).toEqual({ ok: false, retryAfterSeconds: 1 });
    expect(rl.take('b', 5, NOW)).toEqual({ ok: true }); // other sources are not affected
    expect(rl.take('a', 5, NOW + 500)).toEqual({ ok: true });
    expect(rl.take('a', 100, NOW + 500)).toEqual({ ok: false, retryAfterSeconds: 2 });
  });
});
