import { JsonWriter } from './json-writer.ts';

/**
 * Packs records into /import request bodies within Mixpanel's limits: at most `maxEvents` records and `maxBytes`
 * of uncompressed JSON per request (the limits apply before gzip). Records are added one at a time, written as
 * JSON straight into the body, and a request is handed out as soon as it is full: a sink holds the bodies of the
 * requests it is sending, not the JSON of its whole batch, and no string per record or per body is built.
 */
export interface ImportChunk {
  /** Index in the sink batch of each record, in body order: a strict-mode `failed_records[].index` is a position here. */
  indices: number[];
  /** The JSON array, UTF-8. */
  body: Buffer;
}

export class ChunkBuilder {
  /**
   * Size of the last body built (in this process): a new body starts with room for as much, so it is rarely copied
   * to grow, nor allocated much bigger than it turns out.
   */
  private static lastBytes = 64 * 1024;
  private indices: number[] = [];
  private writer: JsonWriter | undefined;

  constructor(
    private readonly maxEvents: number,
    private readonly maxBytes: number,
  ) {}

  /** Adds one record; returns the request it closed when this record did not fit in it. */
  add(index: number, record: unknown): ImportChunk | undefined {
    let closed = this.indices.length >= this.maxEvents ? this.flush() : undefined;
    const w = (this.writer ??= this.start());
    const start = w.at;
    if (this.indices.length > 0) w.byte(0x2c); // ,
    w.value(record);
    // With its closing bracket the body would pass maxBytes: the record starts the next request instead. A single
    // record bigger than maxBytes still gets its own request: Mixpanel's 413 decides its fate.
    if (this.indices.length > 0 && w.at + 1 > this.maxBytes) {
      const json = Buffer.from(w.buf.subarray(start + 1, w.at));
      w.at = start;
      closed = this.flush();
      (this.writer = this.start()).bytes(json);
    }
    this.indices.push(index);
    return closed;
  }

  /** The request being filled, if it has records; the builder starts a new one. */
  flush(): ImportChunk | undefined {
    const w = this.writer;
    if (!w || this.indices.length === 0) return undefined;
    w.byte(0x5d); // ]
    const chunk = { indices: this.indices, body: w.buf.subarray(0, w.at) };
    ChunkBuilder.lastBytes = w.at;
    this.indices = [];
    this.writer = undefined;
    return chunk;
  }

  private start(): JsonWriter {
    const w = new JsonWriter(Math.min(this.maxBytes, ChunkBuilder.lastBytes) + 1024);
    w.byte(0x5b); // [
    return w;
  }
}
