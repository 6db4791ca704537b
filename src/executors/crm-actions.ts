import type { CrmClient, CrmResult } from './crm-client.ts';
import type { HttpRequest } from './crm-http.ts';
import { parseParams } from './action-params.ts';
import { fail, type ActionRun, type ExecuteResult } from './action-types.ts';
import { interpolate, interpolateDeep } from './interpolate.ts';
import type { RefreshReport } from './token-refresh.ts';

type CrmNode = 'qontak_crm_deal_create' | 'qontak_crm_ticket_create' | 'qontak_crm_ticket_update' | 'qontak_crm_deal_update';

export const LEADS_PATH = '/api/v3.1/leads';

/**
 * The four CRM actions (spec §8 rows 1–4): parameters → request → CRM call. Placeholders are filled from
 * the conversation before validation, so `{{customer_name}}` counts as a name only once it resolves.
 */
export class CrmActions {
  constructor(private readonly client: CrmClient) {}

  async run(run: ActionRun & { nodeType: CrmNode }, onRefresh: (r: RefreshReport) => void): Promise<ExecuteResult> {
    const { nodeType, context } = run;
    const scope = { contact: context.contact, variables: context.variables };
    const raw = (run.rawParams ?? {}) as Record<string, unknown>;
    const call = (request: Omit<HttpRequest, 'headers'> & { headers?: Record<string, string> }) =>
      this.client.call({ organizationId: context.organization_id, request, onRefresh });

    if (nodeType === 'qontak_crm_deal_create' || nodeType === 'qontak_crm_ticket_create') {
      const parsed = parseParams(nodeType, interpolateDeep(raw, scope));
      if (!parsed.ok) return fail('invalid_params', parsed.message);
      const { customer_contact_association, ...fields } = parsed.params;
      const body: Record<string, unknown> = { ...fields };
      if (customer_contact_association && context.contact?.phone) {
        // Spec AC-4: leads matching the contact's phone go first, so the record is linked on creation.
        const leads = await call({ method: 'GET', path: LEADS_PATH, query: { phone: context.contact.phone } });
        if (!leads.ok) return fail(leads.reason, `lead lookup: ${leads.message}`, leads.status);
        const ids = leadIds(leads.body);
        if (ids.length > 0) body.crm_lead_ids = ids;
      }
      const path = nodeType === 'qontak_crm_deal_create' ? '/api/v3.1/deals' : '/api/v3.1/tickets';
      return toResult(await call({ method: 'POST', path, body }));
    }

    // Updates: the target id must resolve to something, or nothing is sent (spec S03/S04 ERR-1).
    const id = resolveId(raw.id, scope);
    if (!id) return fail('id_unresolved', 'the target id is missing or could not be resolved; no update was sent');
    const parsed = parseParams(nodeType, { ...interpolateDeep(raw, scope), id });
    if (!parsed.ok) return fail('invalid_params', parsed.message);
    if (nodeType === 'qontak_crm_ticket_update') {
      const { id: _id, ...body } = parsed.params as Record<string, unknown>;
      return toResult(await call({ method: 'PUT', path: `/api/v3.1/tickets/${encodeURIComponent(id)}`, body }));
    }
    const p = parsed.params as { name?: string; stage_id?: string; amount?: number; include_logs?: boolean; limit?: number; page?: number; x_trace_id?: string };
    const body: Record<string, unknown> = {};
    if (p.name !== undefined) body.name = p.name;
    if (p.stage_id !== undefined) body.stage_id = p.stage_id;
    if (p.amount !== undefined) body.amount = p.amount;
    return toResult(
      await call({
        method: 'PUT',
        path: `/api/v3.1/deals/${encodeURIComponent(id)}`,
        query: { include_logs: p.include_logs, limit: p.limit, page: p.page },
        headers: p.x_trace_id ? { 'X-Trace-Id': p.x_trace_id } : undefined,
        body,
      }),
    );
  }
}

function resolveId(raw: unknown, scope: Parameters<typeof interpolate>[1]): string | undefined {
  if (typeof raw === 'number' && Number.isFinite(raw)) return String(raw);
  if (typeof raw !== 'string') return undefined;
  const { text, unresolved } = interpolate(raw, scope);
  const id = text.trim();
  if (unresolved.length > 0 || id === '' || id === 'null' || id === 'undefined') return undefined;
  return id;
}

function leadIds(body: unknown): number[] {
  const list = (body as { response?: unknown } | null)?.response;
  if (!Array.isArray(list)) return [];
  return list.map((l: { id?: unknown }) => l?.id).filter((v): v is number => typeof v === 'number');
}

function toResult(res: CrmResult): ExecuteResult {
  if (res.ok) return { ok: true, response: res.body };
  return fail(res.reason, res.message, res.status);
}
