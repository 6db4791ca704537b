/** The conversation's contact, as the agent runtime knows it (PII: never logged). */
export interface Contact {
  name?: string;
  phone?: string;
  email?: string;
  [field: string]: unknown;
}

export interface InterpolationScope {
  contact?: Contact;
  /** Conversation variables the runtime resolved (e.g. `ticket_id`). */
  variables?: Record<string, string | number | boolean>;
}

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_.]+)\s*\}\}/g;

function lookup(key: string, scope: InterpolationScope): string | undefined {
  const contact = scope.contact ?? {};
  let value: unknown;
  if (key.startsWith('customer_')) value = contact[key.slice('customer_'.length)];
  else if (key.startsWith('contact.')) value = contact[key.slice('contact.'.length)];
  if (value === undefined) value = scope.variables?.[key];
  if (value === undefined || value === null) return undefined;
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
}

/**
 * Replaces `{{customer_name}}`-style placeholders: `customer_<field>` and `contact.<field>` read the
 * conversation contact, anything else the conversation variables. Unresolved ones become '' and are
 * reported, so a caller that needs the value (an update's `id`) can refuse instead of guessing.
 */
export function interpolate(template: string, scope: InterpolationScope): { text: string; unresolved: string[] } {
  const unresolved: string[] = [];
  const text = template.replace(PLACEHOLDER, (_m, key: string) => {
    const value = lookup(key, scope);
    if (value === undefined) {
      unresolved.push(key);
      return '';
    }
    return value;
  });
  return { text, unresolved };
}

/** Interpolates every string (also inside arrays and plain objects) of a parameter object. */
export function interpolateDeep<T>(value: T, scope: InterpolationScope): T {
  if (typeof value === 'string') return interpolate(value, scope).text as T;
  if (Array.isArray(value)) return value.map((v: unknown) => interpolateDeep(v, scope)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateDeep(v, scope)])) as T;
  }
  return value;
}
