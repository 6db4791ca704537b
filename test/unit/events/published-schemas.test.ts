import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ajv2020 } from 'ajv/dist/2020.js';
import {
  EVENT_NAMES,
  FAILURE_REASON_CODES,
  DEFAULT_FUTURE_ALLOWANCE_MS,
  buildEvent,
  validateEvent,
  type EventName,
} from '../../../src/events/index.ts';
import { SCHEMAS_DIR, renderSchemas } from '../../../scripts/write-schemas.ts';
import { FULL_INPUTS, MINIMAL_INPUTS } from './event-fixtures.ts';

const SKEW_KEYWORD = 'x-actionpulse-max-future-skew-ms';

function loadSchema(name: EventName): Record<string, unknown> {
  return JSON.parse(readFileSync(join(SCHEMAS_DIR, `${name}.schema.json`), 'utf8')) as Record<string, unknown>;
}

describe('published JSON Schemas (schemas/)', () => {
  it('are exactly what scripts/write-schemas.ts generates (run `npm run schemas` after changing src/events)', () => {
    const rendered = renderSchemas();
    expect(readdirSync(SCHEMAS_DIR).sort()).toEqual([...rendered.keys()].sort());
    for (const [file, content] of rendered) {
      expect(readFileSync(join(SCHEMAS_DIR, file), 'utf8'), `schemas/${file}`).toBe(content);
    }
  });

  it('one per event, draft 2020-12, with $id, title, description and a description on every field', () => {
    for (const name of EVENT_NAMES) {
      const schema = loadSchema(name);
      expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(schema.$id).toBe(`https://actionpulse.dev/schemas/${name}.schema.json`);
      expect(schema.title).toBe(name);
      expect(String(schema.description).length).toBeGreaterThan(20);
      expect(schema.additionalProperties).toBe(false);
      for (const [field, property] of Object.entries(schema.properties as Record<string, { description?: string }>)) {
        expect(property.description, `${name}.${field}`).toBeTruthy();
      }
    }
  });

  it('the README documents every failure reason code and the wire headers', () => {
    const readme = readFileSync(join(SCHEMAS_DIR, 'README.md'), 'utf8');
    for (const code of FAILURE_REASON_CODES) expect(readme).toContain(`| \`${code}\` |`);
    for (const header of ['traceparent', 'schema_version', 'dlq_reason', 'dlq_source', 'dlq_original_offset']) {
      expect(readme).toContain(`\`${header}\``);
    }
  });

  describe('a standard JSON Schema validator (ajv) agrees with validateEvent', () => {
    const ajv = new Ajv2020({ allErrors: true });
    // What a producer in another language adds for the one rule JSON Schema cannot state.
    ajv.addKeyword({
      keyword: SKEW_KEYWORD,
      type: 'number',
      schemaType: 'number',
      validate: (skewMs: number, value: number) => value <= Date.now() + skewMs,
    });
    const validators = new Map(EVENT_NAMES.map((name) => [name, ajv.compile(loadSchema(name))]));

    function mutations(name: EventName): Record<string, unknown>[] {
      const event = buildEvent(FULL_INPUTS[name]) as Record<string, unknown>;
      const out: Record<string, unknown>[] = [event, buildEvent(MINIMAL_INPUTS[name]) as Record<string, unknown>];
      for (const field of Object.keys(event)) {
        const without = { ...event };
        delete without[field];
        out.push(without);
        for (const value of [null, 'x', '', 12, 1.5, -1, true, 'NOT lower', 'a'.repeat(200), {}]) {
          out.push({ ...event, [field]: value });
        }
      }
      out.push({ ...event, extra: 1 }, { ...event, timestamp: Date.UTC(2019, 0, 1) }, { ...event, schema_version: 2 });
      return out;
    }

    for (const name of EVENT_NAMES) {
      it(name, () => {
        const validate = validators.get(name)!;
        let rejected = 0;
        for (const candidate of mutations(name)) {
          const ours = validateEvent(candidate).ok;
          expect(validate(candidate), JSON.stringify(candidate)).toBe(ours);
          if (!ours) rejected++;
        }
        expect(rejected).toBeGreaterThan(50);
      });
    }

    it('the schemas state the default future allowance, and that bound only holds with the documented keyword', () => {
      for (const name of EVENT_NAMES) {
        const timestamp = (loadSchema(name).properties as Record<string, Record<string, unknown>>).timestamp;
        expect(timestamp[SKEW_KEYWORD], name).toBe(DEFAULT_FUTURE_ALLOWANCE_MS);
      }
      const future = { ...buildEvent(FULL_INPUTS.qontak_action_failed), timestamp: Date.now() + 2 * DEFAULT_FUTURE_ALLOWANCE_MS };
      expect(validateEvent(future).ok).toBe(false);
      expect(validators.get('qontak_action_failed')!(future)).toBe(false);
      const plain = new Ajv2020({ strict: false }).compile(loadSchema('qontak_action_failed'));
      expect(plain(future)).toBe(true); // why the keyword and README note exist
    });
  });
});
