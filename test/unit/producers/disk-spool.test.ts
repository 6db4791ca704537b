import { mkdtemp, readdir, rm, stat, truncate, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, silentLogger } from '../../../src/platform/logger.ts';
import { DiskSpool, type DiskSpoolOptions } from '../../../src/producers/disk-spool.ts';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'spool-test-'));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

function opts(dir: string, extra: Partial<DiskSpoolOptions> = {}): DiskSpoolOptions {
  return { dir, fsync: 'always', fsyncIntervalMs: 100, maxBytes: 64 * 1024 * 1024, segmentBytes: 1024 * 1024, logger: silentLogger, ...extra };
}

function records(from: number, count: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => Buffer.from(JSON.stringify({ n: from + i, pad: 'x'.repeat(40) })));
}

async function drainAll(spool: DiskSpool): Promise<number[]> {
  const out: number[] = [];
  for (;;) {
    const batch = await spool.readBatch(7, 1024 * 1024);
    if (!batch) return out;
    for (const r of batch.records) out.push((JSON.parse(r.toString()) as { n: number }).n);
    await spool.ack(batch);
  }
}

function capturingLogger(): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { logger: createLogger({ level: 'info', destination }), lines };
}

describe('DiskSpool', () => {
  it('drains records in append order across segment rotations and deletes drained segments', async () => {
    const dir = await tempDir();
    const spool = await DiskSpool.open(opts(dir, { segmentBytes: 64 * 1024 }));
    for (let i = 0; i < 20; i++) expect((await spool.append(records(i * 100, 100))).ok).toBe(true);
    expect(spool.pendingRecords).toBe(2000);
    expect((await readdir(dir)).filter((f) => f.endsWith('.seg')).length).toBeGreaterThanOrEqual(2);
    const got = await drainAll(spool);
    expect(got).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    expect(spool.pendingRecords).toBe(0);
    await spool.close();
    expect((await readdir(dir)).filter((f) => f.endsWith('.seg'))).toEqual([]);
  });

  it('resumes after a restart from the persisted cursor without re-reading acknowledged records', async () => {
    const dir = await tempDir();
    const first = await DiskSpool.open(opts(dir));
    await first.append(records(0, 50));
    const batch = await first.readBatch(20, 1024 * 1024);
    await first.ack(batch!);
    await first.close();
    const second = await DiskSpool.open(opts(dir));
    expect(second.pendingRecords).toBe(30);
    await second.append(records(50, 10));
    expect(await drainAll(second)).toEqual(Array.from({ length: 40 }, (_, i) => i + 20));
    await second.close();
  });

  it('detects a truncated last record, logs it, and recovers every record before it', async () => {
    const dir = await tempDir();
    const spool = await DiskSpool.open(opts(dir));
    await spool.append(records(0, 10));
    await spool.close();
    const seg = (await readdir(dir)).find((f) => f.endsWith('.seg'))!;
    const { size } = await stat(join(dir, seg));
    await truncate(join(dir, seg), size - 5); // a torn write: the last record lost its tail
    const { logger, lines } = capturingLogger();
    const reopened = await DiskSpool.open(opts(dir, { logger }));
    expect(reopened.pendingRecords).toBe(9);
    const warning = lines.map((l) => JSON.parse(l) as { msg: string; problem?: string; segment?: string }).find((l) => l.problem);
    expect(warning).toMatchObject({ problem: 'truncated', segment: seg });
    expect(warning?.msg).toMatch(/damaged record/);
    await reopened.append(records(100, 2)); // new appends are not mixed with the damaged tail
    expect(await drainAll(reopened)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 100, 101]);
    await reopened.close();
  });

  it('stops at a record whose CRC does not match instead of replaying corrupted bytes', async () => {
    const dir = await tempDir();
    const spool = await DiskSpool.open(opts(dir));
    await spool.append(records(0, 5));
    await spool.close();
    const seg = join(dir, (await readdir(dir)).find((f) => f.endsWith('.seg'))!);
    const bytes = await readFile(seg);
    const recordLen = bytes.readUInt32BE(0) + 8;
    bytes[recordLen * 3 + 20] ^= 0xff; // flip a payload byte of the fourth record
    await writeFile(seg, bytes);
    const reopened = await DiskSpool.open(opts(dir));
    expect(await drainAll(reopened)).toEqual([0, 1, 2]);
    await reopened.close();
  });

  it('refuses appends beyond maxBytes with spool_full and keeps what it has', async () => {
    const dir = await tempDir();
    const spool = await DiskSpool.open(opts(dir, { maxBytes: 1024 * 1024 }));
    let refused = 0;
    for (let i = 0; i < 300; i++) {
      const r = await spool.append(records(i * 100, 100));
      if (!r.ok) {
        expect(r.reason).toBe('spool_full');
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(0);
    expect(spool.bytes).toBeLessThanOrEqual(1024 * 1024);
    expect(spool.pendingRecords).toBe((300 - refused) * 100);
    await spool.close();
  });

  it('a batch replaced by the part of it still to send keeps its place: records before and after it, and the cursor, survive a restart', async () => {
    const dir = await tempDir();
    const spool = await DiskSpool.open(opts(dir));
    await spool.append(records(0, 20));
    const first = (await spool.readBatch(5, 1024 * 1024))!;
    await spool.ack(first);
    // The tail segment is still being appended to: the replacement must not lose what comes after it.
    const batch = (await spool.readBatch(5, 1024 * 1024))!;
    expect(batch.records.map((r) => (JSON.parse(r.toString()) as { n: number }).n)).toEqual([5, 6, 7, 8, 9]);
    const replaced = await spool.replaceBatch(batch, [batch.records[1], batch.records[3]]);
    await spool.append(records(20, 3));
    expect(replaced.records).toHaveLength(2);
    expect(spool.pendingRecords).toBe(2 + 10 + 3);
    await spool.close();

    const reopened = await DiskSpool.open(opts(dir));
    expect(reopened.pendingRecords).toBe(15);
    expect(await drainAll(reopened)).toEqual([6, 8, ...Array.from({ length: 10 }, (_, i) => 10 + i), 20, 21, 22]);
    await reopened.close();
  });

  it('an own segment replaced by its unsent records is read back as exactly those, ahead of later segments', async () => {
    const dir = await tempDir();
    const spool = await DiskSpool.open(opts(dir));
    const own = await spool.append(records(0, 6), { ownSegment: true });
    await spool.append(records(6, 4));
    if (!own.ok) throw new Error('append failed');
    const all = records(0, 6);
    await spool.replaceSegment(own.segmentId, [all[0], all[2], all[4]]);
    expect(spool.pendingRecords).toBe(7);
    expect(await drainAll(spool)).toEqual([0, 2, 4, 6, 7, 8, 9]);
    await spool.close();
  });
});
