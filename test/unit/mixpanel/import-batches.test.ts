import { describe, expect, it } from 'vitest';
import { ChunkBuilder, type ImportChunk } from '../../../src/consumers/mixpanel/import-batches.ts';
import { classify } from '../../../src/consumers/mixpanel/import-client.ts';

function records(n: number, size = 100): { index: number; record: object }[] {
  return Array.from({ length: n }, (_, index) => ({ index, record: { i: index, pad: 'x'.repeat(size) } }));
}

/** Every request the builder hands out for these records, the last one flushed. */
function pack(recs: { index: number; record: object }[], maxEvents: number, maxBytes: number): ImportChunk[] {
  const builder = new ChunkBuilder(maxEvents, maxBytes);
  const chunks = recs.flatMap((r) => builder.add(r.index, r.record) ?? []);
  const last = builder.flush();
  return last ? [...chunks, last] : chunks;
}

describe('import request chunking', () => {
  it('caps requests at maxEvents records, each body the JSON array of its records in order', () => {
    const recs = records(4500);
    const chunks = pack(recs, 2000, 10 * 1024 * 1024);
    expect(chunks.map((c) => c.indices.length)).toEqual([2000, 2000, 500]);
    expect(chunks.flatMap((c) => c.indices)).toEqual([...Array(4500).keys()]);
    for (const c of chunks) expect(c.body.toString('utf8')).toBe(JSON.stringify(c.indices.map((i) => recs[i].record)));
  });

  it('caps requests at maxBytes of uncompressed JSON, and the body is a valid array within it', () => {
    const recs = records(1000, 1000);
    const chunks = pack(recs, 2000, 64 * 1024);
    expect(chunks.length).toBeGreaterThan(10);
    for (const c of chunks) {
      expect(c.body.length).toBeLessThanOrEqual(64 * 1024);
      expect(c.body.toString('utf8')).toBe(JSON.stringify(c.indices.map((i) => recs[i].record)));
    }
    expect(chunks.flatMap((c) => c.indices)).toEqual([...Array(1000).keys()]);
    // Packed to the byte: one more record would not have fitted.
    expect(chunks[0].body.length + Buffer.byteLength(JSON.stringify(recs[0].record)) + 1).toBeGreaterThan(64 * 1024);
  });

  it('writes multi-byte UTF-8 exactly, and fills a request to exactly maxBytes', () => {
    const record = { name: 'Zoë — 日本語 🚀', quote: '"' };
    const size = Buffer.byteLength(JSON.stringify(record));
    // Three records take 2 brackets + 3 records + 2 commas.
    const chunks = pack([0, 1, 2, 3].map((index) => ({ index, record })), 2000, 2 + 3 * size + 2);
    expect(chunks.map((c) => c.indices)).toEqual([[0, 1, 2], [3]]);
    expect(chunks[0].body.length).toBe(2 + 3 * size + 2);
    expect(chunks[0].body.toString('utf8')).toBe(JSON.stringify([record, record, record]));
    expect(chunks[1].body.toString('utf8')).toBe(JSON.stringify([record]));
  });

  it('puts a record larger than maxBytes alone in its own request', () => {
    const big = { index: 1, record: { pad: 'y'.repeat(5000) } };
    const chunks = pack([records(1)[0], big, { ...records(1)[0], index: 2 }], 2000, 1024);
    expect(chunks.map((c) => c.indices)).toEqual([[0], [1], [2]]);
    expect(chunks[1].body.toString('utf8')).toBe(JSON.stringify([big.record]));
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
