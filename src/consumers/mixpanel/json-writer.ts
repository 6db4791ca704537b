/**
 * Writes JSON straight into a growing Buffer: the bytes of `JSON.stringify(value)` for the flat records the
 * Mixpanel sink sends, without building a string per record first. JSON.stringify's result string (and the
 * pieces V8 builds it from) was the Mixpanel consumer's largest allocation, about 1 KB per event; at 20k events/s
 * that churn is what pushed a fetch's records out of the young generation (and the process past 256 MB). Anything other than plain
 * objects, strings, finite numbers, booleans and null (arrays, `toJSON`, other classes) is written by
 * JSON.stringify itself, so the output is always exactly JSON.stringify's (test/unit/mixpanel/json-writer.test.ts).
 */

/** Characters JSON escapes, and every surrogate (a lone one is escaped): such strings go through JSON.stringify. */
// eslint-disable-next-line no-control-regex -- matching the control characters JSON escapes is the point
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** `"key":` as bytes, for the keys records repeat. */
const keyBytes = new Map<string, Buffer>();
const KEY_CACHE_SIZE = 256;

export class JsonWriter {
  buf: Buffer;
  /** Bytes written so far. */
  at = 0;

  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafe(Math.max(64, capacity));
  }

  /** Makes room for `n` more bytes (doubling, so a body is copied a few times at most). */
  room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.at++] = b;
  }

  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
  }

  /** What JSON.stringify(value) gives; nothing for undefined, as in an object member. */
  value(value: unknown): void {
    switch (typeof value) {
      case 'string':
        this.string(value);
        return;
      case 'number':
        this.number(value);
        return;
      case 'boolean':
        this.ascii(value ? 'true' : 'false');
        return;
      case 'object':
        if (value === null) this.ascii('null');
        else if (isPlainObject(value)) this.object(value);
        else this.raw(JSON.stringify(value));
        return;
      default:
        // bigint throws as JSON.stringify does; undefined, functions and symbols write nothing.
        this.raw(JSON.stringify(value) ?? '');
    }
  }

  private object(o: Record<string, unknown>): void {
    this.byte(0x7b); // {
    let first = true;
    // for…in over a plain object walks its enumeration cache instead of allocating a key array (Object.keys).
    for (const key in o) {
      if (!Object.hasOwn(o, key)) continue;
      const v = o[key];
      if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
      if (!first) this.byte(0x2c); // ,
      first = false;
      this.key(key);
      this.value(v);
    }
    this.byte(0x7d); // }
  }

  private key(key: string): void {
    let b = keyBytes.get(key);
    if (!b) {
      b = Buffer.from(`${JSON.stringify(key)}:`);
      if (keyBytes.size < KEY_CACHE_SIZE) keyBytes.set(key, b);
    }
    this.bytes(b);
  }

  private string(s: string): void {
    if (NEEDS_ESCAPE.test(s)) {
      this.raw(JSON.stringify(s));
      return;
    }
    // At most 3 UTF-8 bytes per UTF-16 unit (no surrogates here), plus the quotes.
    this.room(s.length * 3 + 2);
    this.buf[this.at++] = 0x22;
    this.at += this.buf.write(s, this.at, 'utf8');
    this.buf[this.at++] = 0x22;
  }

  private number(n: number): void {
    if (!Number.isFinite(n)) {
      this.ascii('null');
      return;
    }
    if (!Number.isSafeInteger(n)) {
      this.ascii(String(n));
      return;
    }
    // Integers (times, durations, counts) digit by digit: no string per number.
    let v = n;
    this.room(17);
    if (v < 0) {
      this.buf[this.at++] = 0x2d; // -
      v = -v;
    }
    let digits = 1;
    for (let p = 10; p <= v; p *= 10) digits++;
    this.at += digits;
    for (let i = this.at - 1; i >= this.at - digits; i--) {
      this.buf[i] = 0x30 + (v % 10);
      v = Math.floor(v / 10);
    }
  }

  private ascii(s: string): void {
    this.room(s.length);
    this.at += this.buf.write(s, this.at, 'latin1');
  }

  private raw(json: string): void {
    this.room(json.length * 3);
    this.at += this.buf.write(json, this.at, 'utf8');
  }
}

function isPlainObject(v: object): v is Record<string, unknown> {
  const proto = Object.getPrototypeOf(v) as unknown;
  return (proto === Object.prototype || proto === null) && typeof (v as { toJSON?: unknown }).toJSON !== 'function';
}
