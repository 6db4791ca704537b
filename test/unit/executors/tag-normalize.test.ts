import { describe, expect, it } from 'vitest';
import { normalizeTags } from '../../../src/executors/tag-normalize.ts';

describe('normalizeTags (QACT-S07)', () => {
  it('QACT-S07 AC-1 an array is trimmed and deduplicated case-insensitively, first spelling kept', () => {
    expect(normalizeTags([' VIP', 'vip ', 'Billing', '', '  '])).toEqual(['VIP', 'Billing']);
  });
  it('QACT-S07 AC-2 objects, CSV and AI-resolved JSON strings become names', () => {
    expect(normalizeTags([{ name: 'a' }, { name: 'B ' }, { other: 1 }])).toEqual(['a', 'B']);
    expect(normalizeTags('a, b ,,  c  d')).toEqual(['a', 'b', 'c d']);
    expect(normalizeTags('["x", {"name": "y"}, "X"]')).toEqual(['x', 'y']);
    expect(normalizeTags('[not json, z')).toEqual(['[not json', 'z']);
    expect(normalizeTags([42, 'a,b'])).toEqual(['42', 'a', 'b']);
  });
  it('QACT-S07 ERR-1 empty inputs normalise to nothing', () => {
    for (const v of [[], '', ' , ', [{ name: '' }], null, undefined, {}]) expect(normalizeTags(v)).toEqual([]);
  });
  it('QACT-S07 AC-1 over-long names are dropped rather than sent', () => {
    expect(normalizeTags(['x'.repeat(101), 'ok'])).toEqual(['ok']);
  });
});
