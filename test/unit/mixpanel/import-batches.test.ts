import { describe, expect, it } from 'vitest';
import { chunkBody, chunkRecords, type PendingRecord } from '../../../src/consumers/mixpanel/import-batches.ts';
import { classify } from '../../../src/consumers/mixpanel/import-client.ts';

function records(n: number, size = 100): PendingRecord[] {
  return Array.from({ length: n }, (_, index) => ({ index, insertId: `id-${index}`, json: JSON.stringify({ i: index, pad: 'x'.repeat(size) }) }));
}

describe('import request chunking', () => {
  it('caps requests at maxEvents records', () => {
    const chunks = chunkRecords(records(4500), 2000, 10 * 1024 * 1024);
    expect(chunks.map((c) => c.records.length)).toEqual([2000, 2000, 500]);
    expect(chunks.flatMap((c) => c.records.map((r) => r.index))).toEqual([...Array(4500).keys()]);
  });

  it('caps requests at maxBytes of uncompressed JSON, and the body is a valid array within it', () => {
    const chunks = chunkRecords(records(1000, 1000), 2000, 64 * 1024);
    expect(chunks.length).toBeGreaterThan(10);
    for (const c of chunks) {
      const body = chunkBody(c);
      expect(Buffer.byteLength(body)).toBeLessThanOrEqual(64 * 1024);
      expect(JSON.parse(body)).toHaveLength(c.records.length);
    }
  });

  it('puts a record larger than maxBytes alone in its own request', () => {
    const big = { index: 1, insertId: 'big', json: JSON.stringify({ pad: 'y'.repeat(5000) }) };
    const chunks = chunkRecords([records(1)[0], big, { ...records(1)[0], index: 2 }], 2000, 1024);
    expect(chunks.map((c) => c.records.map((r) => r.index))).toEqual([[0], [1], [2]]);
  });
});

describe('classifying /import answers', () => {
  it('reads strict-mode partial failures', () => {
    const body = JSON.stringify({ code: 400, failed_records: [{ index: 3, $insert_id: 'abc', field: 'properties.time', message: 'bad time' }], num_records_imported: 9 });
    expect(classify(400, undefined, body)).toEqual({ kind: 'partial', failed: [{ index: 3, insertId: 'abc', field: 'properties.time', message: 'bad time' }] });
  });

  it('retries 429, 5xx and auth errors, honouring Retry-After', () => {
    expect(classify(429, '7', '{"error":"slow down"}')).toMatchObject({ kind: 'retry', status: 429, retryAfterMs: 7000 });
    const inFiveSeconds = new Date(Date.now() + 5000).toUTCString();
    const dated = classify(429, inFiveSeconds, '{"error":"slow down"}');
    expect(dated.kind === 'retry' && dated.retryAfterMs).toBeGreaterThan(3000);
    expect(dated.kind === 'retry' && dated.retryAfterMs).toBeLessThanOrEqual(5000);
    expect(classify(503, undefined, 'oops')).toMatchObject({ kind: 'retry', status: 503, retryAfterMs: undefined });
    expect(classify(401, undefined, '{"error":"Invalid credentials"}')).toMatchObject({ kind: 'retry', status: 401 });
    expect(classify(413, undefined, '{}').kind).toBe('too_large');
    expect(classify(400, undefined, '{"error":"could not parse"}').kind).toBe('bad_request');
    expect(classify(200, undefined, '{"code":200,"num_records_imported":5}')).toEqual({ kind: 'ok', imported: 5 });
  });
});
