import { buildEvent, MAX_EVENT_BYTES, NODE_TYPE_NAMES, type ActionEvent } from '../../src/events/index.ts';
import { SeededRandom } from '../../src/workload/seeded-random.ts';

/**
 * A seeded generator of hostile input for the two doors events come in by: POST /v1/events and the Kafka
 * events topic. The same seed gives the same payloads (a failure names its seed and index, and reruns).
 * Every payload says what must happen to it, from how it was built — never by asking our own validator.
 */

/** What one JSON value must become: an accepted event, or a refusal with this reason. */
export type ItemOutcome = { ok: true; event: ActionEvent } | { ok: false; reason: 'invalid_json' | 'oversized' | 'schema_invalid' | 'unsupported_schema_version' };

/** One message value: what a producer might put on the events topic. */
export interface HostileMessage {
  kind: string;
  bytes: Buffer;
  outcome: ItemOutcome;
}

export type Auth = 'hmac' | 'bearer' | 'bad-secret' | 'malformed-signature' | 'stale-signature' | 'other-body-signature' | 'wrong-token' | 'none';

/** One request to POST /v1/events and its required answer. */
export interface HostileRequest {
  kind: string;
  body: Buffer;
  auth: Auth;
  status: 202 | 400 | 401 | 413;
  /** The `error` code of a refused request (400/401/413). */
  error?: string;
  /** Per element of the batch (a single event is a batch of one) when the body reaches validation. */
  items?: ItemOutcome[];
}

interface Item {
  kind: string;
  text: string;
  outcome: ItemOutcome;
}

const EVENT_KINDS = ['qontak_action_configured', 'qontak_action_invoked', 'qontak_action_executed', 'qontak_action_failed', 'qontak_action_token_refreshed', 'qontak_agent_active'] as const;

export class HostileGenerator {
  private readonly rng: SeededRandom;
  private n = 0;

  constructor(
    readonly seed: number,
    /** Event time of the generated events (ids are UUIDv7 of it), so a run is reproducible given both. */
    private readonly baseMs: number,
  ) {
    this.rng = new SeededRandom(seed);
  }

  /** A valid event of a random kind with a unique, reproducible id. */
  validEvent(): ActionEvent {
    const r = this.rng;
    const ts = this.baseMs - r.int(0, 3_600_000);
    const common = { event_id: r.uuidV7(ts), timestamp: ts, source: r.pick(['fuzz', 'builder-api', 'ruby.runtime']), organization_id: `org-${r.int(0, 50)}` };
    const node_type = r.pick(NODE_TYPE_NAMES);
    const agent_id = `agent-${r.int(0, 500)}`;
    const conversation_id = `conv-${this.n++}`;
    switch (r.pick(EVENT_KINDS)) {
      case 'qontak_action_configured':
        return buildEvent({ ...common, event: 'qontak_action_configured', node_type, agent_id });
      case 'qontak_action_invoked':
        return buildEvent({ ...common, event: 'qontak_action_invoked', node_type, agent_id, conversation_id });
      case 'qontak_action_executed':
        return buildEvent({ ...common, event: 'qontak_action_executed', node_type, agent_id, conversation_id, duration_ms: r.int(0, 60_000) });
      case 'qontak_action_failed':
        return buildEvent({ ...common, event: 'qontak_action_failed', node_type, agent_id, conversation_id, reason: 'crm_timeout', duration_ms: r.int(0, 60_000) });
      case 'qontak_action_token_refreshed':
        return buildEvent({ ...common, event: 'qontak_action_token_refreshed', outcome: r.pick(['success', 'failed'] as const) });
      default:
        return buildEvent({ ...common, event: 'qontak_agent_active', agent_id });
    }
  }

  /** One JSON value (valid UTF-8 text, so it can sit in a batch) and what must become of it. */
  item(): Item {
    const r = this.rng;
    const event = this.validEvent();
    const text = JSON.stringify(event);
    // `{"event":"…",` + rest: splice raw key/value text in where JSON.stringify would not write it.
    const withRaw = (raw: string) => `{${raw},${text.slice(1)}`;
    const replaceField = (field: string, raw: string) => JSON.stringify({ ...event, [field]: '\u0000raw' }).replace('"\\u0000raw"', raw);
    const invalid = (kind: string, t: string, reason: Exclude<ItemOutcome, { ok: true }>['reason'] = 'schema_invalid'): Item => ({ kind, text: t, outcome: { ok: false, reason } });
    switch (r.int(0, 30)) {
      case 0:
        return invalid('proto-key', withRaw(`"__proto__":{"admin":true,"event":"qontak_action_executed"}`));
      case 1:
        return invalid('constructor-key', withRaw(`"constructor":{"prototype":{"polluted":true}}`));
      case 2:
        return invalid('huge-exponent', replaceField('timestamp', r.pick(['1e400', '-1e400', '1e308'])));
      case 3:
        return invalid('huge-integer', replaceField('timestamp', '123456789012345678901234567890123'));
      case 4:
        return invalid('non-integer-time', replaceField('timestamp', `${event.timestamp}.5`));
      case 5:
        return invalid('long-identifier', JSON.stringify({ ...event, organization_id: 'o'.repeat(r.int(129, 4000)) }));
      case 6:
        return invalid('oversized-string', JSON.stringify({ ...event, organization_id: 'o'.repeat(MAX_EVENT_BYTES + r.int(1, 20_000)) }), 'oversized');
      case 7:
        return invalid('unknown-node-type', JSON.stringify({ ...event, node_type: 'qontak_fax_send' }));
      case 8:
        return invalid('unknown-field', JSON.stringify({ ...event, [r.pick(['toString', 'hasOwnProperty', 'valueOf', 'extra'])]: 1 }));
      case 9:
        return invalid('future-schema', JSON.stringify({ ...event, schema_version: r.int(2, 1000) }), 'unsupported_schema_version');
      case 10:
        return invalid('wrong-type', JSON.stringify({ ...event, organization_id: r.pick([null, 42, true, [], {}]) }));
      case 11:
        return invalid('not-an-object', r.pick(['null', '0', '"qontak_action_invoked"', '[]', 'true', '{}']));
      case 12:
        return invalid('lone-surrogate', JSON.stringify({ ...event, organization_id: 'org-\ud800' }));
      case 13:
        return invalid('nested-value', JSON.stringify({ ...event, organization_id: nest(r.int(2, 30), r.chance(0.5)) }));
      default:
        return { kind: 'valid', text, outcome: { ok: true, event } };
    }
  }

  /** A message for the events topic: one JSON value, or bytes no producer of ours would write. */
  message(): HostileMessage {
    const r = this.rng;
    const pick = r.int(0, 10);
    if (pick === 0) {
      const depth = r.int(33, 30_000);
      const text = nest(depth, r.chance(0.5));
      return { kind: 'deep', bytes: Buffer.from(text), outcome: { ok: false, reason: Buffer.byteLength(text) > MAX_EVENT_BYTES ? 'oversized' : 'schema_invalid' } };
    }
    if (pick === 1) return { kind: 'invalid-utf8', bytes: this.invalidUtf8(), outcome: { ok: false, reason: 'invalid_json' } };
    if (pick === 2) {
      const event = this.validEvent();
      return { kind: 'bom', bytes: Buffer.concat([BOM, Buffer.from(JSON.stringify(event))]), outcome: { ok: true, event } };
    }
    if (pick === 3) return { kind: 'malformed', bytes: Buffer.from(this.malformed()), outcome: { ok: false, reason: 'invalid_json' } };
    const it = this.item();
    return { kind: it.kind, bytes: Buffer.from(it.text), outcome: it.outcome };
  }

  /** A request to POST /v1/events, with at most `maxEvents` per batch and `maxBodyBytes` per body. */
  request(limits: { maxEvents: number; maxBodyBytes: number }): HostileRequest {
    const r = this.rng;
    const auth: Auth = r.chance(0.5) ? 'hmac' : 'bearer';
    const pick = r.int(0, 30);
    switch (pick) {
      case 0:
      case 1: {
        const depth = r.int(33, 200_000);
        const text = nest(depth, r.chance(0.5));
        const inEvent = r.chance(0.5) ? `[${JSON.stringify(this.validEvent())},${text}]` : text;
        return this.sized({ kind: 'deep', body: Buffer.from(inEvent), auth, status: 400, error: 'too_deep' }, limits);
      }
      case 2:
        return { kind: 'invalid-utf8', body: this.invalidUtf8(), auth, status: 400, error: 'invalid_utf8' };
      case 3:
        return { kind: 'malformed', body: Buffer.from(this.malformed()), auth, status: 400, error: 'invalid_json' };
      case 4:
        return { kind: 'empty-batch', body: Buffer.from(r.pick(['[]', ' [ ] '])), auth, status: 400, error: 'empty_batch' };
      case 5: {
        const events = Array.from({ length: limits.maxEvents + r.int(1, 5) }, () => this.validEvent());
        return this.sized({ kind: 'too-many', body: Buffer.from(JSON.stringify(events)), auth, status: 413, error: 'too_many_events' }, limits);
      }
      case 6: {
        const body = JSON.stringify({ ...this.validEvent(), organization_id: 'x'.repeat(limits.maxBodyBytes) });
        return { kind: 'body-too-large', body: Buffer.from(body), auth, status: 413, error: 'payload_too_large' };
      }
      case 7:
      case 8: {
        const bad: Auth = r.pick(['bad-secret', 'malformed-signature', 'stale-signature', 'other-body-signature', 'wrong-token', 'none']);
        const events = Array.from({ length: r.int(1, 4) }, () => this.validEvent());
        return { kind: `auth:${bad}`, body: Buffer.from(JSON.stringify(events)), auth: bad, status: 401, error: 'unauthorized' };
      }
      case 9:
      case 10: {
        const it = this.item();
        const body = Buffer.concat([BOM, Buffer.from(it.text.startsWith('{') && r.chance(0.5) ? it.text : `[${it.text}]`)]);
        return this.batch('bom', body, auth, [it.outcome], limits);
      }
      default: {
        const items = Array.from({ length: r.int(1, limits.maxEvents + 1) }, () => this.item());
        // A lone object may also be sent bare (not in an array), as a single event.
        const bare = items.length === 1 && items[0].text.startsWith('{') && r.chance(0.5);
        const body = bare ? items[0].text : `[${items.map((i) => i.text).join(',')}]`;
        return this.batch(items.length === 1 ? items[0].kind : 'batch', Buffer.from(body), auth, items.map((i) => i.outcome), limits);
      }
    }
  }

  private batch(kind: string, body: Buffer, auth: Auth, items: ItemOutcome[], limits: { maxBodyBytes: number }): HostileRequest {
    const anyValid = items.some((i) => i.ok);
    return this.sized({ kind, body, auth, status: anyValid ? 202 : 400, error: anyValid ? undefined : 'no_valid_events', items }, limits);
  }

  /** A body over the size limit is refused as a whole before anything else looks at it. */
  private sized(req: HostileRequest, limits: { maxBodyBytes: number }): HostileRequest {
    if (req.body.length <= limits.maxBodyBytes) return req;
    return { kind: req.kind, body: req.body, auth: req.auth, status: 413, error: 'payload_too_large' };
  }

  private invalidUtf8(): Buffer {
    const r = this.rng;
    const text = JSON.stringify(this.validEvent());
    const at = text.indexOf('"organization_id":"') + '"organization_id":"'.length;
    // A stray continuation byte, 0xff, an overlong '/', a truncated 3-byte sequence, a UTF-16 surrogate in UTF-8.
    const bad = r.pick([[0x80], [0xff], [0xc0, 0xaf], [0xe2, 0x82], [0xed, 0xa0, 0x80]]);
    return Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from(bad), Buffer.from(text.slice(at))]);
  }

  private malformed(): string {
    const r = this.rng;
    const text = JSON.stringify(this.validEvent());
    return r.pick([
      text.slice(0, r.int(1, text.length - 1)),
      `${text}}`,
      `${text} trailing`,
      text.replace(/"/, "'"),
      `{"event":${'"'.repeat(r.int(1, 5))}`,
      '',
      ' ',
      'NaN',
      `${BOM_TEXT}${BOM_TEXT}${text}`,
    ]);
  }
}

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const BOM_TEXT = '\ufeff';

/** `depth` levels of arrays or objects around a 1. */
function nest(depth: number, objects: boolean): string {
  return objects ? `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}` : `${'['.repeat(depth)}1${']'.repeat(depth)}`;
}
