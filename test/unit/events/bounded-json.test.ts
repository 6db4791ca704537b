import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, jsonNestingDepth, parseBoundedJson } from '../../../src/events/index.ts';

describe('jsonNestingDepth', () => {
  it('counts array and object nesting, ignoring brackets inside strings and escaped quotes', () => {
    expect(jsonNestingDepth('1')).toBe(0);
    expect(jsonNestingDepth('{"a":[1,{"b":[]}]}')).toBe(4);
    expect(jsonNestingDepth('{"a":"[[[[{{{{"}')).toBe(1);
    expect(jsonNestingDepth('["\\"[[[", [2]]')).toBe(2);
    expect(jsonNestingDepth('["\\\\", [[3]]]')).toBe(3);
  });

  it('stops scanning once past the limit', () => {
    expect(jsonNestingDepth('['.repeat(1_000_000), 10)).toBe(11);
  });
});

describe('parseBoundedJson', () => {
  it('parses text and UTF-8 bytes up to the depth bound', () => {
    const atBound = '['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH);
    expect(parseBoundedJson(atBound).ok).toBe(true);
    expect(parseBoundedJson(Buffer.from('{"name":"Zoë"}'))).toEqual({ ok: true, value: { name: 'Zoë' } });
  });

  it('refuses one level past the bound, and 100,000 levels, without a stack overflow', () => {
    const over = '['.repeat(MAX_JSON_DEPTH + 1) + ']'.repeat(MAX_JSON_DEPTH + 1);
    expect(parseBoundedJson(over)).toEqual({ ok: false, problem: 'too_deep', message: `nested deeper than ${MAX_JSON_DEPTH} levels` });
    expect(parseBoundedJson('{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000))).toMatchObject({ ok: false, problem: 'too_deep' });
    expect(parseBoundedJson('[[[1]]]', 2)).toMatchObject({ ok: false, problem: 'too_deep' });
  });

  it('accepts more brackets than the bound when they sit side by side or inside strings', () => {
    expect(parseBoundedJson('[[1],[2],{"a":"{{{["}]', 2)).toEqual({ ok: true, value: [[1], [2], { a: '{{{[' }] });
    expect(parseBoundedJson('[[1]]', 2)).toEqual({ ok: true, value: [[1]] });
  });

  it('ignores one leading byte-order mark, as bytes or as text', () => {
    expect(parseBoundedJson(Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]))).toEqual({ ok: true, value: {} });
    expect(parseBoundedJson('\ufeff[1]')).toEqual({ ok: true, value: [1] });
  });

  it('refuses invalid UTF-8 and malformed JSON, saying which', () => {
    expect(parseBoundedJson(Buffer.from([0x22, 0xff, 0x22]))).toEqual({ ok: false, problem: 'invalid_utf8', message: 'not valid UTF-8' });
    expect(parseBoundedJson('{"a":')).toMatchObject({ ok: false, problem: 'invalid_json' });
  });

  it('keeps __proto__ as a plain own key: parsing never changes a prototype', () => {
    const r = parseBoundedJson('{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}');
    expect(r.ok).toBe(true);
    const value = (r as { value: Record<string, unknown> }).value;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(['__proto__', 'constructor']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
