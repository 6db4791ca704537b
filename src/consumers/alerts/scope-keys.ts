import type { ScopeDimension } from './alert-rules.ts';

type Level = Map<string, Level | string>;

/**
 * Scope keys (`node_type=…,organization_id=…`) read from events. The engine needs the key of every family of every
 * rule an event matches, the same few keys again and again; building each by concatenation made most of the
 * engine's garbage. A key is made once per distinct combination of values and looked up after that, one map per
 * dimension. Bounded: past `maxKeys` the table starts over, so organizations that come and go cannot grow it.
 */
export class ScopeKeyTable {
  private root: Level = new Map();
  private keys = 0;

  constructor(
    readonly dims: readonly ScopeDimension[],
    private readonly maxKeys = 100_000,
  ) {}

  /** The key of `dims` read from the event, or undefined when the event lacks one of them. */
  keyOf(rec: Record<string, unknown>): string | undefined {
    const dims = this.dims;
    if (dims.length === 0) return 'all';
    let level = this.root;
    const last = dims.length - 1;
    for (let i = 0; i < last; i++) {
      const v = rec[dims[i]];
      if (typeof v !== 'string') return undefined;
      let next = level.get(v) as Level | undefined;
      if (next === undefined) {
        next = new Map();
        level.set(v, next);
      }
      level = next;
    }
    const v = rec[dims[last]];
    if (typeof v !== 'string') return undefined;
    const known = level.get(v) as string | undefined;
    if (known !== undefined) return known;
    const key = dims.map((d) => `${d}=${rec[d] as string}`).join(',');
    if (++this.keys > this.maxKeys) {
      this.root = new Map();
      this.keys = 0;
      return key;
    }
    level.set(v, key);
    return key;
  }
}

/** One table per distinct list of dimensions, shared by every family of every rule that groups by it. */
export class ScopeKeys {
  private readonly tables = new Map<string, ScopeKeyTable>();

  tableFor(dims: readonly ScopeDimension[]): ScopeKeyTable {
    const signature = dims.join(',');
    let t = this.tables.get(signature);
    if (!t) {
      t = new ScopeKeyTable(dims);
      this.tables.set(signature, t);
    }
    return t;
  }
}
