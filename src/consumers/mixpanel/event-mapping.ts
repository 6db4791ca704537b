import { ACTION_EVENT_NAMES, failureClass, type ActionEvent } from '../../events/index.ts';

/**
 * Contract event → Mixpanel /import record. Only allow-listed properties are copied, so nothing that
 * identifies a customer (names, phone numbers, message text) can leave even if a producer slips it into
 * an event: the contract is strict today, this is the second wall.
 */
export const MIXPANEL_PROPERTY_ALLOW_LIST = [
  'node_type',
  'agent_id',
  'conversation_id',
  'organization_id',
  'reason',
  'outcome',
  'duration_ms',
  'attempt',
  'upstream_status',
  /** On blocked calls: `global` | `organization`, the registry switch that refused it. */
  'registry_scope',
  /** true on a half-open recovery probe's outcome. */
  'probe',
  'source',
  /** Derived, on failed events: `blocked` | `unknown` | `failure` (src/events/outcome-class.ts), so Mixpanel reports
   * can leave blocked calls out of a success rate exactly as the dashboard does. */
  'failure_class',
  /** On `qontak_action_unconfigured`: `removed` | `replaced`. */
  'change',
] as const;

/** The Group Analytics key: must be declared with this exact name in the Mixpanel project settings. */
export const MIXPANEL_GROUP_KEY = 'organization_id';

/**
 * Events forwarded to Mixpanel: the five action events of spec §11 and `qontak_action_unconfigured` (its own
 * event, so a Mixpanel report of configured agents can subtract removals exactly as the dashboard does), names
 * unchanged.
 */
export const MIXPANEL_EVENT_NAMES: ReadonlySet<string> = new Set(ACTION_EVENT_NAMES);

/** /import refuses times before 1971 and more than one hour ahead of Mixpanel's clock. */
export const MIXPANEL_MIN_TIME_MS = Date.UTC(1971, 0, 1);
export const MIXPANEL_MAX_FUTURE_MS = 3600_000;

/** Values Mixpanel treats as "no identity" and rejects or merges into one bogus user. */
const PLACEHOLDER_IDS = new Set([
  '00000000-0000-0000-0000-000000000000', 'anon', 'anonymous', 'nil', 'none', 'null', 'n/a', 'na',
  'undefined', 'unknown', '<nil>', '0', '-1', 'true', 'false', '[]', '{}', '',
]);

export interface MixpanelRecord {
  event: string;
  /** Absent optional properties are `undefined` keys, omitted from the JSON sent. */
  properties: { time: number; distinct_id: string; $insert_id: string } & Record<string, string | number | undefined>;
}

export type MappingResult =
  | { kind: 'record'; record: MixpanelRecord }
  /** Not a Mixpanel event (pipeline plumbing such as the agent heartbeat): delivered elsewhere, not here. */
  | { kind: 'skip' }
  /** Mixpanel would refuse it: dead-letter with this reason, never drop silently. */
  | { kind: 'invalid'; field: string; message: string };

const INSERT_ID = /^[A-Za-z0-9-]{1,36}$/;

function usableId(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 255 && !PLACEHOLDER_IDS.has(value.trim().toLowerCase());
}

/**
 * distinct_id is the agent, so funnels and retention read "per agent". Token refreshes happen on the
 * organization's CRM token, often with no agent: they get `org:<organization_id>`, a real, stable
 * identity that Mixpanel accepts and that never collides with an agent id (agent ids have no `org:` prefix
 * by convention of the builder API).
 */
export function distinctIdOf(event: Pick<ActionEvent, 'organization_id'> & { agent_id?: unknown }): string {
  if (usableId(event.agent_id)) return event.agent_id;
  return `org:${event.organization_id}`;
}

export function toMixpanelRecord(event: ActionEvent, nowMs: number = Date.now()): MappingResult {
  if (!MIXPANEL_EVENT_NAMES.has(event.event)) return { kind: 'skip' };
  // The UUIDv7 event_id is 36 chars of [0-9a-f-]: Mixpanel's $insert_id limit exactly, so it is used
  // as is — every redelivery of the event carries the same dedupe key.
  if (!INSERT_ID.test(event.event_id)) return { kind: 'invalid', field: '$insert_id', message: 'event_id is not a valid $insert_id' };
  const time = event.timestamp;
  if (!Number.isSafeInteger(time) || time < MIXPANEL_MIN_TIME_MS) {
    return { kind: 'invalid', field: 'time', message: `time ${time} is before 1971-01-01, which /import refuses` };
  }
  if (time > nowMs + MIXPANEL_MAX_FUTURE_MS) {
    return { kind: 'invalid', field: 'time', message: `time ${new Date(time).toISOString()} is more than 1 h in the future, which /import refuses` };
  }
  const source = event as unknown as Record<string, unknown>;
  // One literal of fixed shape (not keys added in a loop): V8 keeps it a fast object, which halves the
  // cost of building and serializing it. Absent values stay undefined, which JSON.stringify leaves out.
  const properties = {
    time,
    distinct_id: distinctIdOf(event),
    $insert_id: event.event_id,
    node_type: text(source.node_type),
    agent_id: text(source.agent_id),
    conversation_id: text(source.conversation_id),
    organization_id: text(source.organization_id),
    reason: text(source.reason),
    outcome: text(source.outcome),
    duration_ms: num(source.duration_ms),
    attempt: num(source.attempt),
    upstream_status: num(source.upstream_status),
    registry_scope: text(source.registry_scope),
    probe: source.probe === true ? true : undefined,
    source: text(source.source),
    failure_class: typeof source.reason === 'string' ? failureClass(source.reason) : undefined,
    change: event.event === 'qontak_action_unconfigured' ? (event.change ?? 'removed') : undefined,
  } satisfies Record<(typeof MIXPANEL_PROPERTY_ALLOW_LIST)[number] | 'time' | 'distinct_id' | '$insert_id', unknown>;
  return { kind: 'record', record: { event: event.event, properties: properties as MixpanelRecord['properties'] } };
}

/** Only scalars of sane size: an object or a long string under an allowed name is not what the name promises. */
function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 && value.length <= 255 ? value : undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
