import { z } from 'zod';
import type { NodeType } from '../events/index.ts';

/**
 * Parameter schemas per action, from the data fields of spec §9. Checked before any side effect; an
 * agent's numeric id given as "12" is accepted, an unknown field is refused (it would be silently lost).
 */
const positiveId = z.union([z.number().int().positive(), z.string().trim().regex(/^\d+$/, 'a numeric id').transform(Number)]);
const text = z.string().max(1000);
const looseId = z.union([z.string().max(200), z.number().int()]).transform((v) => String(v).trim());

export const dealCreateParams = z.strictObject({
  crm_pipeline_id: positiveId,
  crm_stage_id: positiveId,
  name: text.min(1),
  creator_id: positiveId.optional(),
  customer_contact_association: z.boolean().optional().default(false),
  tags: z.array(z.string().min(1).max(100)).max(50).optional(),
});

export const ticketCreateParams = z.strictObject({
  crm_pipeline_id: positiveId,
  crm_stage_id: positiveId,
  name: text.min(1),
  creator_id: positiveId.optional(),
  customer_contact_association: z.boolean().optional().default(false),
});

/** `id` is optional here on purpose: a missing or unresolvable id is `id_unresolved`, not a schema error. */
export const ticketUpdateParams = z.strictObject({
  id: looseId.optional(),
  crm_pipeline_id: positiveId.optional(),
  crm_stage_id: positiveId.optional(),
  name: text.min(1).optional(),
  creator_id: positiveId.optional(),
});

export const dealUpdateParams = z.strictObject({
  id: looseId.optional(),
  name: text.min(1).optional(),
  stage_id: looseId.optional(),
  amount: z.number().int().optional(),
  include_logs: z.boolean().optional(),
  limit: z.number().int().min(1).max(1000).optional(),
  page: z.number().int().min(1).optional(),
  x_trace_id: z.string().max(128).regex(/^[A-Za-z0-9._:-]+$/).optional(),
});

export const assignParams = z.strictObject({
  assign_type: z.enum(['auto', 'division', 'agent']),
  division_id: looseId.optional(),
  agent_id: looseId.optional(),
  closing_message: text.optional(),
});

export const resolveParams = z.strictObject({
  closing_message: text.optional(),
});

const tagItem = z.union([z.string(), z.number(), z.strictObject({ name: z.union([z.string(), z.number()]) })]);
export const tagParams = z.strictObject({
  tags: z.union([z.string().max(5000), z.array(tagItem).max(200)]),
});

export const PARAM_SCHEMAS = {
  qontak_crm_deal_create: dealCreateParams,
  qontak_crm_ticket_create: ticketCreateParams,
  qontak_crm_ticket_update: ticketUpdateParams,
  qontak_crm_deal_update: dealUpdateParams,
  qontak_chat_room_assign: assignParams,
  qontak_chat_room_resolve: resolveParams,
  qontak_chat_room_tag: tagParams,
} as const satisfies Record<NodeType, z.ZodType>;

/**
 * The parameters a caller passes to action A, as the schema accepts them (a numeric id as a number or a digit
 * string, defaults left out): `execute('qontak_crm_deal_create', { crm_pipeline_id: 1, … })` is checked against it.
 */
export type ParamsOf<A extends NodeType> = z.input<(typeof PARAM_SCHEMAS)[A]>;

/** The parameters of action A after validation: ids as numbers, defaults filled in. */
export type ParsedParamsOf<A extends NodeType> = z.output<(typeof PARAM_SCHEMAS)[A]>;

export type ParamsResult<N extends NodeType> = { ok: true; params: ParsedParamsOf<N> } | { ok: false; message: string };

export function parseParams<N extends NodeType>(nodeType: N, raw: unknown): ParamsResult<N> {
  const parsed = PARAM_SCHEMAS[nodeType].safeParse(raw ?? {});
  if (parsed.success) return { ok: true, params: parsed.data as ParsedParamsOf<N> };
  const message = parsed.error.issues
    .map((i) => `${i.path.map(String).join('.') || '(params)'}: ${i.code === 'unrecognized_keys' ? `unknown field(s) ${i.keys.join(', ')}` : i.message}`)
    .join('; ');
  return { ok: false, message };
}
