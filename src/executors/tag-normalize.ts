/**
 * Tags arrive in every shape an agent or a builder produces (spec S07): an array of names, an array of
 * `{name}` objects, a comma-separated string, or an AI-resolved JSON array in a string. All become one
 * list of trimmed names, first spelling kept, case-insensitive duplicates and blanks dropped.
 */
export function normalizeTags(input: unknown): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (raw: unknown): void => {
    if (typeof raw === 'number') raw = String(raw);
    if (typeof raw !== 'string') {
      if (raw && typeof raw === 'object' && 'name' in raw) add((raw as { name: unknown }).name);
      return;
    }
    const name = raw.trim().replace(/\s+/g, ' ');
    if (!name || name.length > 100) return;
    const key = name.toLowerCase();
    if (seen.has(key)) return;
    seen.add(key);
    out.push(name);
  };
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const v of value) {
        if (typeof v === 'string') walk(v);
        else add(v);
      }
      return;
    }
    if (typeof value === 'string') {
      const trimmed = value.trim();
      if (trimmed.startsWith('[')) {
        try {
          walk(JSON.parse(trimmed));
          return;
        } catch {
          // Not JSON after all: fall through to comma splitting.
        }
      }
      for (const part of trimmed.split(',')) add(part);
      return;
    }
    add(value);
  };
  walk(input);
  return out;
}
