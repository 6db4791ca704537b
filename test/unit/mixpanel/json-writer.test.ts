import { describe, expect, it } from 'vitest';
import { type ActionEvent } from '../../../src/events/index.ts';
import { toMixpanelRecord } from '../../../src/consumers/mixpanel/event-mapping.ts';
import { JsonWriter } from '../../../src/consumers/mixpanel/json-writer.ts';
import { oneOfEach } from '../../helpers/events.ts';
import { PII_EXTRAS } from './pii-fixtures.ts';

/** The writer's bytes for a value, from a buffer too small at first so that it has to grow. */
function written(value: unknown): string {
  const w = new JsonWriter(1);
  w.value(value);
  return w.buf.subarray(0, w.at).toString('utf8');
}

const STRINGS = [
  '', 'plain', 'agent-42', 'quote " and backslash \\', 'tab\tnew\nline\r', '\u0000\u0001\u001f\u007f', 'Zoë — 日本語',
  'emoji 🚀 pair', 'lone high \ud800 end', 'lone low \udc00', 'reversed \udc00\ud800', '\u2028\u2029', 'x'.repeat(255), 'ü'.repeat(300),
  '</script>', '{"json":"inside"}',
];
const NUMBERS = [0, -0, 1, -1, 7, 10, 99, 100, 1_764_633_600_000, -1_764_633_600_000, 2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 53, 2 ** 64, 1e21, 1e-7, 0.1, -2.5, 123.456, Number.MAX_VALUE, Number.MIN_VALUE, NaN, Infinity, -Infinity];

describe('JSON writer', () => {
  it('writes strings exactly as JSON.stringify does: escapes, control characters, non-ASCII, lone surrogates', () => {
    for (const s of STRINGS) expect(written(s)).toBe(JSON.stringify(s));
  });

  it('writes numbers exactly as JSON.stringify does, integers digit by digit and everything else through String', () => {
    for (const n of NUMBERS) expect(written(n)).toBe(JSON.stringify(n));
    for (let i = 0; i < 2000; i++) {
      const n = Math.floor(Math.random() * 2 ** 53) * (i % 2 ? 1 : -1);
      expect(written(n)).toBe(JSON.stringify(n));
    }
  });

  it('writes objects as JSON.stringify does: member order, nesting, undefined and function members left out', () => {
    const values: unknown[] = [
      { a: 1, b: 'two', c: undefined, d: null, e: true, f: false, g: () => 1, h: Symbol('s'), i: { nested: { deep: 'x' } } },
      { 10: 'ten', 2: 'two', b: 1, a: 2 },
      {},
      { 'key "quoted"': 1, 'ключ': 'значение', '': 0 },
      Object.assign(Object.create(null) as object, { nullProto: 1 }),
      null,
      true,
      'top',
    ];
    for (const v of values) expect(written(v)).toBe(JSON.stringify(v));
  });

  it('hands what is not a plain object to JSON.stringify: arrays, dates, toJSON, class instances, inherited members', () => {
    class Point {
      constructor(public x = 1, public y = 2) {}
    }
    const inheriting = Object.create({ inherited: 'no' }) as Record<string, unknown>;
    inheriting.own = 'yes';
    const values = [[1, 'a', null, undefined], new Date(0), { toJSON: () => 'custom' }, new Point(), { list: [1, { x: 2 }] }, inheriting, { wrapper: new Point() }];
    for (const v of values) expect(written(v)).toBe(JSON.stringify(v));
    expect(() => written(10n)).toThrow(TypeError);
  });

  it('writes every Mixpanel record the mapping makes byte for byte as JSON.stringify, whatever the event carries', () => {
    const now = Date.now();
    const events = oneOfEach('org-json').flatMap((e) => [
      e,
      { ...e, ...PII_EXTRAS } as unknown as ActionEvent,
      { ...e, agent_id: 'agent "quoted" \\ 🚀', conversation_id: 'conv\u0000\n\u2028', organization_id: 'org-ü' } as ActionEvent,
      { ...e, duration_ms: 12.75, attempt: 3, upstream_status: 503 } as unknown as ActionEvent,
    ]);
    let checked = 0;
    for (const event of events) {
      const mapped = toMixpanelRecord(event, now);
      if (mapped.kind !== 'record') continue;
      expect(written(mapped.record)).toBe(JSON.stringify(mapped.record));
      checked++;
    }
    expect(checked).toBeGreaterThan(10);
  });

  it('appends to what is already written, growing the buffer as needed', () => {
    const w = new JsonWriter(4);
    w.byte(0x5b);
    for (let i = 0; i < 500; i++) {
      if (i > 0) w.byte(0x2c);
      w.value({ i, s: `value-${i}`.repeat(i % 7) });
    }
    w.byte(0x5d);
    const expected = JSON.stringify(Array.from({ length: 500 }, (_, i) => ({ i, s: `value-${i}`.repeat(i % 7) })));
    expect(w.buf.subarray(0, w.at).toString('utf8')).toBe(expected);
  });
});
