/**
 * Rewrites the single-node DDL of the migrations for where the tables live. Every statement of every
 * migration goes through `forTopology`, so a migration is written once, for one node, and a new table
 * gets the cluster treatment without anyone remembering to give it one.
 *
 * - `single`: unchanged (embedded chDB or one server).
 * - `cluster` (CLICKHOUSE_CLUSTER, self-managed shards × replicas with Keeper): every MergeTree-family
 *   table `db.t` becomes `db.t_local` with the Replicated engine of its family, created `ON CLUSTER`,
 *   plus `db.t` = `Distributed` over the `t_local` of every shard. Writers and readers keep using `db.t`:
 *   the sink inserts through the Distributed raw table (synchronously, so the insert returns only when
 *   every shard has its rows), and the dashboards read the Distributed tables. Materialized views are
 *   created on every node and read and write the local tables, so each shard rolls up its own rows.
 *   The raw table is sharded by `cityHash64(event_id)`: every copy of one event lands on one shard, where
 *   FINAL collapses it; rollups hold exact-distinct states or sets, which merge exactly across shards.
 * - `cloud` (CLICKHOUSE_CLOUD, ClickHouse Cloud): one logical service on shared storage; DDL is
 *   replicated by the service itself (no ON CLUSTER), tables use the Shared engine of their family, no
 *   Distributed tables.
 *
 * Replicated and Shared tables deduplicate inserts natively (by `insert_deduplication_token` when the sink
 * sends one) over the last `replicated_deduplication_window` blocks: the single-node
 * `non_replicated_deduplication_window` becomes that setting.
 *
 * A statement this file does not know how to place is an error, not a guess: a migration test runs every
 * migration through every topology, so a new kind of statement fails there first.
 */
export type ClickhouseTopology = { kind: 'single' } | { kind: 'cluster'; cluster: string } | { kind: 'cloud' };

export const SINGLE_NODE: ClickhouseTopology = { kind: 'single' };

/** The topology the ClickHouse settings describe. */
export function topologyOf(ch: { cluster?: string; cloud?: boolean }): ClickhouseTopology {
  if (ch.cluster) return { kind: 'cluster', cluster: ch.cluster };
  if (ch.cloud) return { kind: 'cloud' };
  return SINGLE_NODE;
}

/** Suffix of the per-shard table behind a Distributed one. */
export const LOCAL_SUFFIX = '_local';

/** Where a table's rows physically live (the table to ALTER, or to read `system.tables` for). */
export function storageTable(table: string, t: ClickhouseTopology): string {
  return t.kind === 'cluster' ? `${table}${LOCAL_SUFFIX}` : table;
}

const REPLICA_PATH = `'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'`;

/** Names of the MergeTree-family tables among these statements (`db.name` → name). */
export function mergeTreeTables(statements: readonly string[], db: string): Set<string> {
  const names = new Set<string>();
  for (const s of statements) {
    const create = createTableHead(s, db);
    if (create && engineOf(s)) names.add(create.name);
  }
  return names;
}

interface CreateHead {
  name: string;
  /** Index just after `db.name`, where `ON CLUSTER` goes. */
  end: number;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function headOf(kind: string, s: string, db: string): CreateHead | undefined {
  const m = new RegExp(`^\\s*${kind}\\s+(?:IF\\s+(?:NOT\\s+)?EXISTS\\s+)?${escapeRegExp(db)}\\.(\\w+)`, 'i').exec(s);
  return m ? { name: m[1], end: m.index + m[0].length } : undefined;
}

function createTableHead(s: string, db: string): CreateHead | undefined {
  return headOf('CREATE\\s+TABLE', s, db);
}

interface EngineClause {
  family: string;
  /** The argument list without its parentheses ('' when none). */
  args: string;
  start: number;
  end: number;
}

/** `ENGINE = <Family>MergeTree[(args)]`, with balanced parentheses in the arguments. */
function engineOf(s: string): EngineClause | undefined {
  const m = /\bENGINE\s*=\s*(\w*?)MergeTree\b/i.exec(s);
  if (!m) return undefined;
  let end = m.index + m[0].length;
  let args = '';
  const open = /^\s*\(/.exec(s.slice(end));
  if (open) {
    let depth = 0;
    let i = end + open[0].length - 1;
    for (; i < s.length; i++) {
      if (s[i] === '(') depth++;
      else if (s[i] === ')' && --depth === 0) break;
    }
    if (depth !== 0) throw new Error(`unbalanced engine arguments in: ${s.slice(0, 200)}`);
    args = s.slice(end + open[0].length, i).trim();
    end = i + 1;
  }
  return { family: m[1], args, start: m.index, end };
}

const quote = (v: string) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

function withDedupWindow(s: string): string {
  return s.replace(/\bnon_replicated_deduplication_window\b/g, 'replicated_deduplication_window');
}

function rewriteEngine(s: string, t: ClickhouseTopology): string {
  const e = engineOf(s);
  if (!e || t.kind === 'single') return s;
  const engine =
    t.kind === 'cluster'
      ? `ENGINE = Replicated${e.family}MergeTree(${[REPLICA_PATH, e.args].filter(Boolean).join(', ')})`
      : `ENGINE = Shared${e.family}MergeTree${e.args ? `(${e.args})` : ''}`;
  return withDedupWindow(s.slice(0, e.start) + engine + s.slice(e.end));
}

/** `db.x` → `db.x_local` for every MergeTree table x named in `s` (from `from` on). */
function toLocal(s: string, db: string, tables: ReadonlySet<string>, from = 0): string {
  const re = new RegExp(`\\b${escapeRegExp(db)}\\.(\\w+)\\b`, 'g');
  return s.slice(0, from) + s.slice(from).replace(re, (whole, name: string) => (tables.has(name) ? `${db}.${name}${LOCAL_SUFFIX}` : whole));
}

function onCluster(s: string, at: number, cluster: string): string {
  return `${s.slice(0, at)} ON CLUSTER ${quote(cluster)}${s.slice(at)}`;
}

/** The Distributed table in front of `name_local`: sharded by event so all copies of one event meet on one shard. */
function distributedTable(db: string, name: string, body: string, cluster: string): string {
  const key = /\bevent_id\s+UUID\b/.test(body) ? 'cityHash64(event_id)' : 'rand()';
  return `CREATE TABLE IF NOT EXISTS ${db}.${name} ON CLUSTER ${quote(cluster)} AS ${db}.${name}${LOCAL_SUFFIX}
      ENGINE = Distributed(${quote(cluster)}, ${quote(db)}, ${quote(name + LOCAL_SUFFIX)}, ${key})`;
}

/** Column changes must reach the Distributed table too; TTL, settings, indexes and projections only the storage. */
const COLUMN_CHANGE = /\b(ADD|DROP|MODIFY|RENAME|COMMENT|CLEAR)\s+COLUMN\b/i;

/**
 * One single-node statement → the statements for the topology, in order. `tables` are the MergeTree
 * tables of ALL migrations (see `mergeTreeTables`): a view created in version 5 on a table of version 1
 * must know that table became `_local`.
 */
export function forTopology(statement: string, t: ClickhouseTopology, db: string, tables: ReadonlySet<string>): string[] {
  if (t.kind === 'single') return [statement];
  const s = statement.trim();
  if (/^INSERT\s+INTO\b/i.test(s) || /^SELECT\b/i.test(s)) return [s]; // through the Distributed tables: the whole cluster, once
  if (t.kind === 'cloud') {
    if (/^(CREATE|ALTER|DROP|RENAME|EXCHANGE|OPTIMIZE|TRUNCATE)\b/i.test(s)) return [rewriteEngine(s, t)];
    throw new Error(`cluster DDL: do not know how to run this statement on ClickHouse Cloud: ${s.slice(0, 120)}`);
  }
  const { cluster } = t;
  const database = new RegExp(`^CREATE\\s+DATABASE\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?${escapeRegExp(db)}\\b`, 'i').exec(s);
  if (database) return [onCluster(s, database[0].length, cluster)];
  const table = createTableHead(s, db);
  if (table) {
    if (!engineOf(s)) throw new Error(`cluster DDL: table ${db}.${table.name} has no MergeTree-family engine; give it one or teach cluster-ddl.ts its engine`);
    const local = toLocal(s, db, tables, table.end);
    const head = `${s.slice(0, table.end)}${LOCAL_SUFFIX}`;
    return [rewriteEngine(onCluster(head + local.slice(table.end), head.length, cluster), t), distributedTable(db, table.name, s, cluster)];
  }
  const view = headOf('CREATE\\s+MATERIALIZED\\s+VIEW', s, db);
  if (view) return [rewriteEngine(onCluster(toLocal(s, db, tables, view.end), view.end, cluster), t)];
  const plainView = headOf('CREATE\\s+(?:OR\\s+REPLACE\\s+)?VIEW', s, db);
  if (plainView) return [onCluster(s, plainView.end, cluster)]; // reads the Distributed tables
  const alter = headOf('ALTER\\s+TABLE', s, db);
  if (alter) {
    if (!tables.has(alter.name)) return [onCluster(s, alter.end, cluster)];
    const storage = onCluster(`${s.slice(0, alter.end)}${LOCAL_SUFFIX}${s.slice(alter.end)}`, alter.end + LOCAL_SUFFIX.length, cluster);
    return COLUMN_CHANGE.test(s) ? [storage, onCluster(s, alter.end, cluster)] : [storage];
  }
  const drop = headOf('DROP\\s+(?:TABLE|VIEW)', s, db);
  if (drop) {
    const out = [onCluster(s, drop.end, cluster)];
    if (tables.has(drop.name)) out.push(onCluster(`${s.slice(0, drop.end)}${LOCAL_SUFFIX}${s.slice(drop.end)}`, drop.end + LOCAL_SUFFIX.length, cluster));
    return out;
  }
  const optimize = headOf('OPTIMIZE\\s+TABLE', s, db);
  if (optimize && tables.has(optimize.name)) {
    return [onCluster(`${s.slice(0, optimize.end)}${LOCAL_SUFFIX}${s.slice(optimize.end)}`, optimize.end + LOCAL_SUFFIX.length, cluster)];
  }
  throw new Error(`cluster DDL: do not know how to place this statement on a cluster: ${s.slice(0, 120)}`);
}
