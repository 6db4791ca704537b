/**
 * Publishes the event contract for producers in other languages: one JSON Schema (draft 2020-12)
 * per event under schemas/, generated from the zod schemas in src/events (the one source of truth),
 * plus schemas/README.md with the Kafka wire format and the failure reason codes.
 *
 *   npm run schemas          # rewrite schemas/
 *
 * A unit test compares the committed files with renderSchemas(), so they cannot drift.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import {
  DEFAULT_DLQ_TOPIC,
  DEFAULT_EVENTS_TOPIC,
  DLQ_HEADERS,
  EVENT_SCHEMAS,
  BLOCKED_REASONS,
  FAILURE_REASONS,
  UNKNOWN_OUTCOME_REASONS,
  HEADER_CONTENT_TYPE,
  HEADER_EVENT,
  HEADER_SCHEMA_VERSION,
  HEADER_SOURCE,
  HEADER_TRACEPARENT,
  DEFAULT_FUTURE_ALLOWANCE_MS,
  MAX_EVENT_BYTES,
  MAX_FUTURE_ALLOWANCE_MS,
  NODE_TYPES,
  SCHEMA_VERSION,
  type EventName,
} from '../src/events/index.ts';

export const SCHEMAS_DIR = fileURLToPath(new URL('../schemas/', import.meta.url));
export const SCHEMA_ID_BASE = 'https://actionpulse.dev/schemas/';

const EVENT_DESCRIPTIONS: Record<EventName, string> = {
  qontak_action_configured: 'The builder saved a Qontak action on an agent (spec §11); counts toward adoption.',
  qontak_action_invoked: 'The agent function-called an action, before the result.',
  qontak_action_executed: 'The executor completed the action successfully.',
  qontak_action_failed: 'The executor failed the action; `reason` says why, from a closed list of codes.',
  qontak_action_token_refreshed: 'The CRM company token was refreshed after a 401; `outcome` says whether it worked.',
  qontak_action_unconfigured:
    'A configured action was taken off the agent (`change`: `removed`) or superseded (`replaced`; the new configuration sends its own `qontak_action_configured`); adoption stops counting it.',
  qontak_agent_active:
    'An active agent (the adoption denominator, spec §12): the executors send it once per agent per UTC day on the first call or configuration, or on `recordAgentActive()`; other runtimes POST it to `/v1/events` at least once a day per active agent.',
};

/** One description per field; the test checks every property of every schema has one. */
const FIELD_DESCRIPTIONS: Record<string, string> = {
  event: 'Event name; selects the schema.',
  event_id: 'UUIDv7 (lowercase), unique per event and time-ordered: the dedupe key everywhere downstream.',
  schema_version: `Contract version; this schema is version ${SCHEMA_VERSION}.`,
  timestamp:
    'Event time in milliseconds since the Unix epoch (UTC), an integer. Not before 2020-01-01 and not further ahead of ' +
    `the validating clock than its future allowance (EVENT_FUTURE_ALLOWANCE_SECONDS, default ${DEFAULT_FUTURE_ALLOWANCE_MS / 60_000} min, ` +
    `at most ${MAX_FUTURE_ALLOWANCE_MS / 3_600_000} h). JSON Schema cannot express "relative to now": the default bound is stated in ` +
    'x-actionpulse-max-future-skew-ms and enforced by Actionpulse validation only.',
  source: 'Producing service, lowercase, e.g. `agent-runtime`.',
  organization_id: 'Organization (tenant) id; also the Kafka message key.',
  trace_id: 'W3C trace-id of the action span, 32 lowercase hex characters.',
  span_id: 'W3C span-id of the action span, 16 lowercase hex characters.',
  node_type: 'The action, from the catalogue of spec §8.',
  agent_id: 'The AI agent.',
  conversation_id: 'The conversation the agent acted in.',
  attempt: 'Attempt number of this execution, starting at 1.',
  duration_ms: 'Wall time of the action (or the refresh), milliseconds.',
  reason: 'Failure reason code; see the table in README.md.',
  upstream_status: 'HTTP status from the CRM, when the failure came from it.',
  outcome: 'Whether the token refresh succeeded.',
  change: 'How the configuration ended: `removed` or `replaced`. Absent means removed.',
  registry_scope:
    'With reason `registry_disabled`: the switch that refused the call, `global` (the action is off for everyone) or `organization` (off for this organization only). Absent means global.',
  probe:
    'true on the outcome of a half-open recovery probe: a real call the registry let through while the action was disabled for its scope. It counts in every rate like any call; absent means an ordinary call.',
};

type JsonObject = Record<string, unknown>;

export function eventJsonSchema(name: EventName): JsonObject {
  const generated = z.toJSONSchema(EVENT_SCHEMAS[name], { target: 'draft-2020-12' }) as JsonObject;
  const properties = generated.properties as Record<string, JsonObject>;
  for (const [field, schema] of Object.entries(properties)) {
    const description = FIELD_DESCRIPTIONS[field];
    if (!description) throw new Error(`write-schemas: no description for field ${name}.${field}`);
    schema.description = description;
  }
  // zod refinements do not export; the future bound of the timestamp is one (see its description).
  properties.timestamp['x-actionpulse-max-future-skew-ms'] = DEFAULT_FUTURE_ALLOWANCE_MS;
  const { $schema, ...rest } = generated;
  return {
    $schema,
    $id: `${SCHEMA_ID_BASE}${name}.schema.json`,
    title: name,
    description: `${EVENT_DESCRIPTIONS[name]} Serialised as one JSON object of at most ${MAX_EVENT_BYTES} bytes.`,
    ...rest,
  };
}

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function renderReadme(): string {
  const names = Object.keys(EVENT_SCHEMAS) as EventName[];
  return `<!-- Generated by scripts/write-schemas.ts from src/events; do not edit. Run \`npm run schemas\`. -->
# Actionpulse event contract

JSON Schema (draft 2020-12) of each event, generated from the zod schemas in \`src/events\`:

${table(
  ['event', 'schema', 'meaning'],
  names.map((n) => [`\`${n}\``, `[${n}.schema.json](${n}.schema.json)`, EVENT_DESCRIPTIONS[n]]),
)}

Current \`schema_version\`: **${SCHEMA_VERSION}**. Unknown fields are rejected (\`additionalProperties: false\`), so a
new field is a new schema version or an explicit, coordinated addition.

## Compatibility rules
Two things are versioned: the event contract (\`schema_version\` on every event and Kafka header) and the npm package
(\`actionpulse\` and \`actionpulse/events\`, semver). Validation is closed everywhere (enums, no unknown fields), so
an old validator rejects anything it does not know; the rules say in which order to roll a change out.

${table(
  ['change', 'kind', 'schema_version', 'package', 'roll-out'],
  [
    [
      'a new failure `reason`, `node_type`, event, or optional field',
      'addition',
      'unchanged',
      'minor',
      'consumers (and the ingest service) first, producers after; an event that reaches a not-yet-upgraded consumer is dead-lettered with `schema_invalid` and replayed with `actionpulse dlq replay` after its upgrade: nothing is lost',
    ],
    [
      'removing or renaming a field, event, reason or `node_type`; changing a type, a unit, a meaning, or making a field required',
      'breaking',
      'next version',
      'major',
      'consumers accept both versions first; producers switch; the old version is dropped once its events have aged out of the topic',
    ],
    [
      'the Kafka key, a header\'s meaning, or the topic name',
      'breaking',
      'next version',
      'major',
      'a new topic (`….v2`) written alongside the old one until every consumer has moved',
    ],
    [
      'a new export of `actionpulse` or `actionpulse/events`, a new optional parameter',
      'addition',
      'unchanged',
      'minor',
      'none',
    ],
    [
      'removing, renaming or narrowing an export or a parameter, a new required parameter',
      'breaking',
      'unchanged',
      'major',
      'none',
    ],
  ],
)}

Third-party consumers should select by the \`event\` header and skip names they do not know
(\`qontak_action_unconfigured\` was added as an addition). A consumer refuses a \`schema_version\` it does not know
(\`unsupported_schema_version\` on the dead-letter topic), so nothing is silently misread. Codes are never reused
for another meaning. Anything the package does not export from those two entry points (its \`dist/\` files, the
CLI's internals) may change in any release.

## What JSON Schema cannot say
- **timestamp upper bound.** Actionpulse rejects an event time further ahead of the validating clock than its
  future allowance, \`EVENT_FUTURE_ALLOWANCE_SECONDS\` (default ${DEFAULT_FUTURE_ALLOWANCE_MS / 60_000} min, at most ${MAX_FUTURE_ALLOWANCE_MS / 3_600_000} h): that
  is a producer clock bug, not an event, and it would drag the alert evaluator's event time ahead. HTTP ingest lists
  it under \`rejected\` with field \`timestamp\`; a consumer dead-letters it as \`timestamp_in_future\`. That bound
  moves with "now", so it is a zod refinement that does not export; the schemas state the default as
  \`x-actionpulse-max-future-skew-ms: ${DEFAULT_FUTURE_ALLOWANCE_MS}\` on \`timestamp\`. A producer validating with these files
  alone should add that check.
- **size.** A serialised event larger than ${MAX_EVENT_BYTES} bytes is rejected before parsing (\`oversized\`).

## Kafka wire format
- **Topic:** \`${DEFAULT_EVENTS_TOPIC}\` (setting \`KAFKA_EVENTS_TOPIC\`; partitions \`KAFKA_PARTITIONS\`), created on start-up if absent.
- **Key:** \`organization_id\`, so one organization's events stay in order on one partition.
- **Value:** the event as UTF-8 JSON, one object per message.
- **Timestamp:** the event \`timestamp\` (so offsets-by-time lookups find events by event time).
- **Headers** (what a consumer needs before parsing the value):

${table(
  ['header', 'value'],
  [
    [`\`${HEADER_SCHEMA_VERSION}\``, `contract version, \`${SCHEMA_VERSION}\``],
    [`\`${HEADER_CONTENT_TYPE}\``, '`application/json`'],
    [`\`${HEADER_SOURCE}\``, 'the event `source`'],
    [`\`${HEADER_EVENT}\``, 'the event name'],
    [
      `\`${HEADER_TRACEPARENT}\``,
      'W3C trace context `00-<trace_id>-<span_id>-<flags>` of the message\'s creation context, written by the W3C propagator: from the Actionpulse emitter the span id is its `create` span\'s (a child of the executor span) and the flags say whether that trace is sampled; otherwise the event\'s own ids with flags `00` (the event does not record a sampling decision). Absent when the event has no trace ids',
    ],
  ],
)}

## Dead-letter topic
\`${DEFAULT_DLQ_TOPIC}\` (setting \`KAFKA_DLQ_TOPIC\`). A message that cannot be processed is copied there with its
**original key, value bytes and headers unchanged** (so it can be replayed after a fix), plus:

${table(
  ['header', 'value'],
  [
    [`\`${DLQ_HEADERS.reason}\``, 'why: `invalid_json`, `oversized`, `schema_invalid`, `unsupported_schema_version`, `timestamp_in_future`, `sink_rejected`, `mixpanel_rejected`, `ingest_rejected`'],
    [`\`${DLQ_HEADERS.source}\``, 'the component that gave up, e.g. `consumer:clickhouse`'],
    [`\`${DLQ_HEADERS.errors}\``, 'JSON array of `{ path, message }` field errors (at most 4000 characters)'],
    [`\`${DLQ_HEADERS.detail}\``, 'free-text detail (at most 2000 characters)'],
    [`\`${DLQ_HEADERS.topic}\`, \`${DLQ_HEADERS.partition}\`, \`${DLQ_HEADERS.offset}\``, 'where the original message was read'],
    [`\`${DLQ_HEADERS.at}\``, 'when it was dead-lettered, ISO 8601'],
  ],
)}

## Actions (\`node_type\`)
${table(
  ['node_type', 'group', 'action'],
  Object.entries(NODE_TYPES).map(([name, info]) => [`\`${name}\``, `\`${info.group}\``, info.label]),
)}

## Failure reason codes (\`reason\` on \`qontak_action_failed\`)
Closed list; codes are never renamed, new ones are added at the end.

How a failed event counts in every rate (alert rules, SLO burn rate, dashboard success and failure rates, weekly
review; one definition, \`src/events/outcome-class.ts\`):
- **blocked** (\`${BLOCKED_REASONS.join('`, `')}\`): the call was refused because the action is disabled in
  \`node_registries\` (the kill switch or an admin); nothing was attempted. It leaves the numerator and the
  denominator of every rate (rates are of completed calls, \`qontak_action_executed\` + \`qontak_action_failed\`;
  \`qontak_action_invoked\` is never a denominator) and is shown as its own count. On the wire it stays a \`qontak_action_failed\` with
  this reason, so schema-v1 consumers keep working unchanged; Mixpanel receives every failed event with the derived
  property \`failure_class\` (\`blocked\`, \`unknown\` or \`failure\`), so its reports can apply the same rule.
- **unknown outcome** (\`${UNKNOWN_OUTCOME_REASONS.join('`, `')}\`): a create timed out and may have succeeded. It counts
  as a failure (the agent could not confirm the action; the spec's success rate is executed / (executed + failed)),
  and is also shown as its own count.
- every other reason is a failure.

${table(
  ['reason', 'when'],
  Object.entries(FAILURE_REASONS).map(([code, when]) => [`\`${code}\``, when.replace(/\|/g, '\\|')]),
)}
`;
}

/** Every file of schemas/, by file name → content. */
export function renderSchemas(): Map<string, string> {
  const files = new Map<string, string>();
  for (const name of Object.keys(EVENT_SCHEMAS) as EventName[]) {
    files.set(`${name}.schema.json`, `${JSON.stringify(eventJsonSchema(name), null, 2)}\n`);
  }
  files.set('README.md', renderReadme());
  return files;
}

export function writeSchemas(dir: string = SCHEMAS_DIR): string[] {
  mkdirSync(dir, { recursive: true });
  const files = renderSchemas();
  // A renamed or removed event must not leave its old schema behind.
  for (const existing of readdirSync(dir)) {
    if (!files.has(existing) && existing.endsWith('.schema.json')) rmSync(join(dir, existing));
  }
  for (const [file, content] of files) writeFileSync(join(dir, file), content);
  return [...files.keys()];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const file of writeSchemas()) console.log(`wrote schemas/${file}`);
}
