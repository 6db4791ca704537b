/**
 * Splits serialized records into /import request bodies within Mixpanel's limits: at most `maxEvents`
 * records and `maxBytes` of uncompressed JSON per request (the limits apply before gzip).
 */
export interface PendingRecord {
  /** Index of the event in the sink batch, so per-record failures map back to Kafka messages. */
  index: number;
  insertId: string;
  json: string;
}

export interface ImportChunk {
  records: PendingRecord[];
  bytes: number;
}

export function chunkRecords(records: readonly PendingRecord[], maxEvents: number, maxBytes: number): ImportChunk[] {
  const chunks: ImportChunk[] = [];
  let current: ImportChunk = { records: [], bytes: 2 };
  for (const record of records) {
    const size = Buffer.byteLength(record.json) + 1;
    const full = current.records.length >= maxEvents || (current.records.length > 0 && current.bytes + size > maxBytes);
    if (full) {
      chunks.push(current);
      current = { records: [], bytes: 2 };
    }
    // A single record bigger than maxBytes still gets its own request: Mixpanel's 413 decides its fate.
    current.records.push(record);
    current.bytes += size;
  }
  if (current.records.length > 0) chunks.push(current);
  return chunks;
}

/** The JSON array body of one request. */
export function chunkBody(chunk: ImportChunk): string {
  return `[${chunk.records.map((r) => r.json).join(',')}]`;
}
