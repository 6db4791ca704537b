import { createServer, type IncomingMessage } from 'node:http';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import { chdbPath, clickhouseEngine, createClickhouse, ensureDatabase } from '../../src/platform/clickhouse-client.ts';

// This file runs in its own forked process (vitest pool: forks), so it may bind its own chDB folder.
describe('createClickhouse on the embedded engine (chDB)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'actionpulse-ch-'));
  const db = `ap_test_${Math.random().toString(36).slice(2, 8)}`;
  let client: ClickHouseClient;

  beforeAll(async () => {
    client = createClickhouse({ dataDir, database: db });
    await ensureDatabase(client, db);
  });

  afterAll(async () => {
    await client?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps its data under <dataDir>/chdb and answers ping', async () => {
    expect(clickhouseEngine({})).toBe('chdb');
    expect(existsSync(chdbPath(dataDir))).toBe(true);
    expect(chdbPath(dataDir)).toBe(join(dataDir, 'chdb'));
    expect((await client.ping()).success).toBe(true);
  });

  it('creates a table, inserts JSONEachRow rows and reads them back', async () => {
    await client.command({
      query: `CREATE TABLE ${db}.events (event_id String, node_type LowCardinality(String), duration_ms UInt32,
        ts DateTime64(3, 'UTC')) ENGINE = MergeTree ORDER BY (node_type, ts)`,
    });
    const rows = [
      { event_id: 'e1', node_type: 'qontak_crm_deal_create', duration_ms: 120, ts: 1_760_000_000_000 },
      { event_id: 'e2', node_type: 'qontak_chat_room_tag', duration_ms: 35, ts: 1_760_000_000_500 },
      { event_id: 'e3', node_type: 'qontak_crm_deal_create', duration_ms: 980, ts: 1_760_000_001_000 },
    ];
    await client.insert({ table: `${db}.events`, values: rows, format: 'JSONEachRow' });

    const result = await client.query({
      query: `SELECT event_id, node_type, duration_ms, toUnixTimestamp64Milli(ts) AS ts FROM ${db}.events ORDER BY event_id`,
      format: 'JSONEachRow',
    });
    // 64-bit results come back as numbers on both engines (SHARED_SETTINGS pins it).
    expect(await result.json()).toEqual(rows);
  });

  it('binds {name:Type} query parameters', async () => {
    const result = await client.query({
      query: `SELECT node_type, count() AS n, max(duration_ms) AS max_ms FROM ${db}.events
        WHERE node_type = {node_type:String} AND ts >= fromUnixTimestamp64Milli({since:Int64}, 'UTC')
        GROUP BY node_type`,
      query_params: { node_type: 'qontak_crm_deal_create', since: 1_760_000_000_000 },
      format: 'JSONEachRow',
    });
    expect(await result.json()).toEqual([{ node_type: 'qontak_crm_deal_create', n: 2, max_ms: 980 }]);

    // A parameter value is data, never SQL: a quote in it matches nothing instead of breaking the query.
    const injected = await client.query({
      query: `SELECT count() AS n FROM ${db}.events WHERE node_type = {node_type:String}`,
      query_params: { node_type: "x' OR 1=1 --" },
      format: 'JSONEachRow',
    });
    expect(await injected.json()).toEqual([{ n: 0 }]);
  });

  it('ensureDatabase is idempotent and refuses names that are not identifiers', async () => {
    await ensureDatabase(client, db);
    const dbs = await client.query({
      query: 'SELECT name FROM system.databases WHERE name = {db:String}',
      query_params: { db },
      format: 'JSONEachRow',
    });
    expect(await dbs.json()).toEqual([{ name: db }]);
    await expect(ensureDatabase(client, 'x; DROP DATABASE default')).rejects.toThrow(/invalid ClickHouse database name/);
  });

  it('shares one data folder per process: same folder sees the data, another folder is refused', async () => {
    const second = createClickhouse({ dataDir });
    try {
      const result = await second.query({ query: `SELECT count() AS n FROM ${db}.events`, format: 'JSONEachRow' });
      expect(await result.json()).toEqual([{ n: 3 }]);
    } finally {
      await second.close();
    }
    // The first client still works after the second one closed.
    expect((await client.ping()).success).toBe(true);

    const otherDir = mkdtempSync(join(tmpdir(), 'actionpulse-ch-other-'));
    try {
      expect(() => createClickhouse({ dataDir: otherDir })).toThrow(/one active data directory/);
    } finally {
      rmSync(otherDir, { recursive: true, force: true });
    }
  });
});

describe('createClickhouse over a URL', () => {
  // ClickHouse's HTTP interface is stood in for by a local server that records what the client
  // sends: this checks the wiring (address, credentials, shared settings), not ClickHouse itself.
  const seen: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    seen.push(req);
    res.setHeader('Content-Type', 'application/json');
    res.setHeader('X-ClickHouse-Summary', '{}');
    res.end(req.url?.startsWith('/ping') ? 'Ok.\n' : '{"n":1}\n');
  });
  let url = '';

  beforeAll(async () => {
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((done) => server.close(() => done()));
  });

  it('sends queries to the URL with the credentials and the shared settings', async () => {
    expect(clickhouseEngine({ url })).toBe('http');
    const client = createClickhouse({ url, username: 'ap_user', password: 's3cret', dataDir: '/nonexistent' });
    try {
      const result = await client.query({ query: 'SELECT 1 AS n', format: 'JSONEachRow' });
      expect(await result.json()).toEqual([{ n: 1 }]);
    } finally {
      await client.close();
    }
    const query = seen.find((r) => !r.url?.startsWith('/ping'));
    expect(query).toBeDefined();
    const params = new URL(query!.url ?? '/', url).searchParams;
    expect(params.get('output_format_json_quote_64bit_integers')).toBe('0');
    // No default database is bound: code qualifies table names the same way on both engines.
    expect(params.get('database')).toBeNull();
    const auth = String(query!.headers.authorization ?? '');
    expect(Buffer.from(auth.replace(/^Basic /, ''), 'base64').toString()).toBe('ap_user:s3cret');
    // The embedded engine was not touched: no chDB folder for this client.
    expect(existsSync('/nonexistent/chdb')).toBe(false);
  });
});
