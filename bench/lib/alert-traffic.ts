/**
 * A reproducible synthetic event stream for the alert engine's memory bench. Everything about event i (its
 * kind, scope, time, producer, sequence number, whether it arrives late or is sent again) is a pure function of
 * i, so a late event or a duplicate waits as its index, not as an object: the bench's own memory stays small
 * next to the engine's, which is what the process's RSS is meant to show.
 *
 * Two phases on one index line: a fill (a few calls per 10 s step of every node_type, so every step the long
 * windows keep has traffic, failures included) and the full rate.
 */
import { EventIdGenerator, FAILURE_REASON_CODES, isBlockedCall, NODE_TYPE_NAMES, SCHEMA_VERSION, type ActionEvent, type FailureReason } from '../../src/events/index.ts';

const STEP_MS = 10_000;
/** Calls per 10 s step and node_type during the fill, one failing: 5 % failing and every step with reasons. */
const FILL_CALLS_PER_STEP = 20;
export const PRODUCERS = 8;
const ORGS = 2_000;
/** Every FOREIGN_EVERY-th event carries an id an HTTP client made (0.1 %). */
const FOREIGN_EVERY = 1_000;
/** Share of organizations whose CRM credentials are broken: every refresh of theirs fails (they page). */
const BROKEN_ORG_EVERY = 50;

/** Failures a call can end with: the contract's reasons, without the blocked ones (the registry did not refuse). */
const REASONS = FAILURE_REASON_CODES.filter((reason) => !isBlockedCall({ event: 'qontak_action_failed', reason })) as FailureReason[];
/** Share of calls per node_type, in %, cumulated: deals and tickets are made more often than rooms are tagged. */
const NODE_TYPE_SHARES = [25, 15, 15, 10, 15, 15, 5];
const NODE_TYPE_BY_PERCENT = NODE_TYPE_SHARES.flatMap((share, k) => Array.from({ length: share }, () => NODE_TYPE_NAMES[k]));

/** MurmurHash3's finalizer: a well-mixed, reproducible 32-bit value for each index and salt. */
export function mix(i: number, salt: number): number {
  let h = (i ^ Math.imul(salt, 0x9e3779b9) ^ Math.floor(i / 0x100000000)) | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

// Strings made once: the engine keeps none of them but the event_id and trace_id of a scope's last failure.
const orgNames = Array.from({ length: ORGS }, (_, k) => `org-${k}`);
const agentNames = Array.from({ length: ORGS * 3 }, (_, k) => `agent-${k}`);
const conversations = Array.from({ length: 10_000 }, (_, k) => `conv-${k}`);
const traceIds = Array.from({ length: 1_000 }, (_, k) => (mix(k, 21).toString(16).padStart(8, '0') + mix(k, 22).toString(16).padStart(8, '0')).repeat(2));

export interface TrafficOptions {
  /** Event time of the first fill event: a multiple of 10 s. */
  t0: number;
  fillMs: number;
  /** Events per second of event time after the fill. */
  rate: number;
  fullMs: number;
}

export class AlertTraffic {
  readonly fillEvents: number;
  readonly total: number;
  /** Event time where the full rate starts. */
  readonly t1: number;
  private readonly gens = Array.from({ length: PRODUCERS }, () => new EventIdGenerator());
  private readonly instances = this.gens.map((g) => g.instance);
  private readonly fillPerStep = FILL_CALLS_PER_STEP * NODE_TYPE_NAMES.length * 2;

  constructor(readonly options: TrafficOptions) {
    this.fillEvents = Math.round(options.fillMs / STEP_MS) * this.fillPerStep;
    this.t1 = options.t0 + options.fillMs;
    this.total = this.fillEvents + Math.round((options.rate * options.fullMs) / 1000);
  }

  tsOf(i: number): number {
    if (i < this.fillEvents) return this.options.t0 + Math.floor((i * STEP_MS) / this.fillPerStep);
    return this.t1 + Math.floor(((i - this.fillEvents) * 1000) / this.options.rate);
  }

  /**
   * Producer i mod 8 makes event i, except every 1000th event, an HTTP client's: 999 mod 1000 is 7 mod 8, so those
   * are all in producer 7's turns and its sequence number is the count of its turns before i less theirs.
   */
  private isForeign(i: number): boolean {
    return i % FOREIGN_EVERY === FOREIGN_EVERY - 1;
  }

  private sequenceOf(i: number): number {
    const p = i % PRODUCERS;
    return Math.floor(i / PRODUCERS) - (p === PRODUCERS - 1 ? Math.floor(i / FOREIGN_EVERY) : 0);
  }

  /**
   * The id of event i when it is made, in index order, from its producer's generator. Every index must be asked
   * once, in order (also for events that will arrive late): that is what keeps each producer's sequence dense.
   */
  makeId(i: number): string {
    if (this.isForeign(i)) return this.foreignId(i);
    const gen = this.gens[i % PRODUCERS];
    // A bench bug, not a figure: a late event or duplicate made again from its index would get another id.
    if (gen.sequence !== this.sequenceOf(i)) throw new Error(`event ${i}: producer sequence ${gen.sequence}, expected ${this.sequenceOf(i)}`);
    return gen.next(this.tsOf(i));
  }

  /** The same id again, for an event sent late or a second time, without having kept it. */
  idAgain(i: number): string {
    if (this.isForeign(i)) return this.foreignId(i);
    return new EventIdGenerator({ instance: this.instances[i % PRODUCERS], sequence: this.sequenceOf(i) }).next(this.tsOf(i));
  }

  /**
   * A random UUIDv7 as another client makes it (the contract refuses any other version at every boundary, so a
   * UUIDv4 never reaches the engine): the event time, then 74 random bits.
   */
  private foreignId(i: number): string {
    const time = this.tsOf(i).toString(16).padStart(12, '0');
    const hex = (n: number) => n.toString(16).padStart(8, '0');
    const tail = hex(mix(i, 5)) + hex(mix(i, 6)) + hex(mix(i, 7));
    return `${time.slice(0, 8)}-${time.slice(8)}-7${tail.slice(0, 3)}-${(8 + (mix(i, 8) & 3)).toString(16)}${tail.slice(3, 6)}-${tail.slice(6, 18)}`;
  }

  /** How long after its event time event i arrives (0: on time): 1 % up to 30 min late. */
  lateByMs(i: number): number {
    return mix(i, 9) % 100 === 0 ? 1 + (mix(i, 10) % 1_800_000) : 0;
  }

  /** When event i is sent a second time, after its event time (0: never): 0.5 %, up to 3 h later. */
  resentAfterMs(i: number): number {
    return mix(i, 11) % 200 === 0 ? 1 + (mix(i, 12) % 10_800_000) : 0;
  }

  /** Index of event i's organization (Kafka keys by organization, so it picks the partition too). */
  orgOf(i: number): number {
    if (i < this.fillEvents) return mix(i >> 1, 13) % ORGS;
    const s = (i - this.fillEvents) >> 1;
    return this.isRefreshSlot(s) ? mix(i, 14) % ORGS : mix(s, 15) % ORGS;
  }

  /** Calls come as pairs of events (invoked, then its outcome); 4 % of the pairs are two token refreshes instead. */
  private isRefreshSlot(s: number): boolean {
    return mix(s, 16) % 100 < 4;
  }

  /**
   * Event i with its id. Literals of one shape per event name (no spread copies, which V8 gives a map each on Node
   * 20), as the decoder's objects are.
   */
  event(i: number, event_id: string): ActionEvent {
    const timestamp = this.tsOf(i);
    const org = this.orgOf(i);
    const organization_id = orgNames[org];
    const source = 'agent-runtime';
    const schema_version = SCHEMA_VERSION;
    let slot: number;
    let node_type;
    let failing: boolean;
    if (i < this.fillEvents) {
      slot = i >> 1;
      node_type = NODE_TYPE_NAMES[slot % NODE_TYPE_NAMES.length];
      failing = Math.floor(slot / NODE_TYPE_NAMES.length) % FILL_CALLS_PER_STEP === 0;
    } else {
      slot = (i - this.fillEvents) >> 1;
      if (this.isRefreshSlot(slot)) {
        const outcome = org % BROKEN_ORG_EVERY === 7 || mix(i, 17) % 1000 === 0 ? 'failed' : 'success';
        return { event: 'qontak_action_token_refreshed', event_id, schema_version, timestamp, source, organization_id, outcome, duration_ms: 80 + (mix(i, 18) % 400) };
      }
      node_type = NODE_TYPE_BY_PERCENT[mix(slot, 19) % 100];
      failing = mix(slot, 20) % 100 < 5;
    }
    const agent_id = agentNames[org * 3 + (slot % 3)];
    const conversation_id = conversations[slot % conversations.length];
    if ((i & 1) === 0) return { event: 'qontak_action_invoked', event_id, schema_version, timestamp, source, organization_id, node_type, agent_id, conversation_id };
    const duration_ms = 50 + (mix(slot, 23) % 3000);
    if (!failing) return { event: 'qontak_action_executed', event_id, schema_version, timestamp, source, organization_id, node_type, agent_id, conversation_id, duration_ms };
    const reason = REASONS[mix(slot, 24) % REASONS.length];
    return { event: 'qontak_action_failed', event_id, schema_version, timestamp, source, organization_id, node_type, agent_id, conversation_id, reason, duration_ms, trace_id: traceIds[slot % traceIds.length] };
  }
}

/**
 * Events waiting to be delivered (late ones, second sends), as indexes in lists per 10 s of delivery time: a
 * few megabytes at 20k events/s.
 */
export class DeliveryQueue {
  private readonly bySlot = new Map<number, number[]>();
  private next = -Infinity;
  size = 0;

  push(atMs: number, index: number): void {
    // Due already (a list taken before): the next take delivers it.
    const slot = Math.max(this.next, Math.floor(atMs / STEP_MS));
    let list = this.bySlot.get(slot);
    if (!list) {
      list = [];
      this.bySlot.set(slot, list);
    }
    list.push(index);
    this.size++;
  }

  /** Calls `deliver` with every index due at or before `nowMs`. */
  take(nowMs: number, deliver: (index: number) => void): void {
    const until = Math.floor(nowMs / STEP_MS);
    if (this.next === -Infinity) this.next = Math.min(until, ...this.bySlot.keys());
    for (; this.next <= until; this.next++) {
      const list = this.bySlot.get(this.next);
      if (!list) continue;
      this.bySlot.delete(this.next);
      this.size -= list.length;
      for (const index of list) deliver(index);
    }
  }
}
