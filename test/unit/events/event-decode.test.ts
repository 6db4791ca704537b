import { describe, expect, it } from 'vitest';
import { MAX_EVENT_BYTES, buildEvent, decodeEvent, encodeEvent, type ValidationResult } from '../../../src/events/index.ts';
import { FULL_INPUTS, failedRecord } from './event-fixtures.ts';

function rejected(result: ValidationResult) {
  if (result.ok) throw new Error('expected a rejection');
  return result;
}

describe('decodeEvent', () => {
  it('decodes what encodeEvent produced, from a Buffer or a string', () => {
    for (const input of Object.values(FULL_INPUTS)) {
      const event = buildEvent(input);
      const { value } = encodeEvent(event);
      expect(decodeEvent(value)).toEqual({ ok: true, event });
      expect(decodeEvent(value.toString('utf8'))).toEqual({ ok: true, event });
    }
  });

  it('rejects bytes that are not JSON, and empty messages, as invalid_json', () => {
    for (const bytes of ['{"event":', 'not json', Buffer.from([0xff, 0xfe, 0x00]), '', Buffer.alloc(0), null, undefined]) {
      const result = rejected(decodeEvent(bytes));
      expect(result.reason).toBe('invalid_json');
      expect(result.errors).toHaveLength(1);
      expect(result.errors[0].path).toBe('');
      expect(result.errors[0].message.length).toBeGreaterThan(0);
    }
  });

  it('rejects oversized messages before parsing them', () => {
    const huge = JSON.stringify({ ...failedRecord(), padding: 'x'.repeat(MAX_EVENT_BYTES) });
    for (const bytes of [huge, Buffer.from(huge)]) {
      const result = rejected(decodeEvent(bytes));
      expect(result.reason).toBe('oversized');
      expect(result.errors).toEqual([{ path: '', message: expect.stringContaining(String(MAX_EVENT_BYTES)) }]);
    }
    // Size is counted in bytes, not characters: 6000 three-byte characters exceed 16 KiB.
    expect(rejected(decodeEvent(`"${'€'.repeat(6000)}"`)).reason).toBe('oversized');
    // Exactly at the limit is not oversized; this one then fails as what it is.
    expect(rejected(decodeEvent('['.padEnd(MAX_EVENT_BYTES, ' '))).reason).toBe('invalid_json');
  });

  it('valid JSON that breaks the contract is schema_invalid with field paths', () => {
    const result = rejected(decodeEvent(JSON.stringify({ ...failedRecord(), reason: 'nope', duration_ms: 'slow' })));
    expect(result.reason).toBe('schema_invalid');
    expect(result.errors.map((e) => e.path).sort()).toEqual(['duration_ms', 'reason']);
    expect(rejected(decodeEvent('null')).errors).toEqual([{ path: '', message: expect.any(String) }]);
    expect(rejected(decodeEvent(JSON.stringify({ ...failedRecord(), schema_version: 9 }))).reason).toBe(
      'unsupported_schema_version',
    );
  });

  it('accepts one leading UTF-8 byte-order mark, from bytes or text', () => {
    const event = buildEvent(FULL_INPUTS.qontak_action_failed);
    const { value } = encodeEvent(event);
    expect(decodeEvent(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), value]))).toEqual({ ok: true, event });
    expect(decodeEvent(`\ufeff${value.toString('utf8')}`)).toEqual({ ok: true, event });
    expect(rejected(decodeEvent(`\ufeff\ufeff${value.toString('utf8')}`)).reason).toBe('invalid_json');
  });

  it('refuses bytes that are not UTF-8 instead of decoding them lossily', () => {
    const text = encodeEvent(buildEvent(FULL_INPUTS.qontak_action_failed)).value.toString('utf8');
    const at = text.indexOf('"agent_id":"') + '"agent_id":"'.length;
    const bytes = Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from([0xc3, 0x28]), Buffer.from(text.slice(at))]);
    expect(rejected(decodeEvent(bytes))).toEqual({ ok: false, reason: 'invalid_json', errors: [{ path: '', message: 'not valid UTF-8' }] });
  });

  it('refuses deep nesting before parsing it, as schema_invalid (no event nests)', () => {
    for (const deep of ['['.repeat(8000) + ']'.repeat(8000), '{"a":'.repeat(2500) + '1' + '}'.repeat(2500)]) {
      expect(rejected(decodeEvent(deep))).toEqual({ ok: false, reason: 'schema_invalid', errors: [{ path: '', message: expect.stringMatching(/nested deeper than \d+ levels/) }] });
    }
  });
});
