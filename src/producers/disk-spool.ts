import { mkdir, open, readdir, readFile, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../platform/logger.ts';
import { decodeFrames, encodeFrames } from './spool-frame.ts';

/**
 * The emitter's overflow when Kafka is slow or down: append-only segment files of CRC-framed records,
 * written sequentially and drained oldest-first, so per-organization order survives an outage and a restart.
 *
 * - A segment is never appended to after a restart: recovery only reads, so a torn tail from a SIGKILL is
 *   skipped (and logged) without rewriting the file.
 * - `cursor.json` names the head segment and the offset drained so far; older segments are deleted once
 *   drained. A crash between a Kafka ack and the cursor write re-sends that one batch (at-least-once).
 */
export type FsyncPolicy = 'always' | 'interval' | 'never';

export interface DiskSpoolOptions {
  dir: string;
  fsync: FsyncPolicy;
  fsyncIntervalMs: number;
  maxBytes: number;
  segmentBytes: number;
  logger: Logger;
}

export interface SpoolBatch {
  segmentId: number;
  endOffset: number;
  records: Buffer[];
  bytes: number;
}

export type SpoolAppendResult = { ok: true; segmentId: number } | { ok: false; reason: 'spool_full' | 'write_failed'; error?: string };

interface Segment {
  id: number;
  /** Valid bytes: appended so far, or up to the first damaged record found at recovery. */
  size: number;
  readOffset: number;
  unread: number;
}

const SEGMENT_RE = /^(\d{20})\.seg$/;
const segmentName = (id: number) => `${String(id).padStart(20, '0')}.seg`;

export class DiskSpool {
  private segments: Segment[] = [];
  private tail: { seg: Segment; fh: FileHandle } | undefined;
  private nextId = 1;
  private appendChain: Promise<unknown> = Promise.resolve();
  private appending = 0;
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private unread = 0;
  private closed = false;

  private constructor(private readonly o: DiskSpoolOptions) {}

  static async open(o: DiskSpoolOptions): Promise<DiskSpool> {
    const spool = new DiskSpool(o);
    await spool.recover();
    if (o.fsync === 'interval') {
      spool.timer = setInterval(() => void spool.sync().catch(() => undefined), o.fsyncIntervalMs);
      spool.timer.unref();
    }
    return spool;
  }

  get dir(): string {
    return this.o.dir;
  }

  /** Records written and not yet drained. */
  get pendingRecords(): number {
    return this.unread;
  }

  /** Bytes held in segment files. */
  get bytes(): number {
    let total = 0;
    for (const s of this.segments) total += s.size;
    return total;
  }

  /** True while an append has not finished: a drained spool with a write in progress is not empty. */
  get busy(): boolean {
    return this.appending > 0;
  }

  private async recover(): Promise<void> {
    const { dir, logger } = this.o;
    await mkdir(dir, { recursive: true });
    let cursor = { segment: 0, offset: 0 };
    try {
      cursor = JSON.parse(await readFile(join(dir, 'cursor.json'), 'utf8')) as typeof cursor;
    } catch {
      // No cursor yet (fresh spool) or an unreadable one: start from the oldest segment.
    }
    const ids = (await readdir(dir))
      .map((f) => SEGMENT_RE.exec(f)?.[1])
      .filter((x): x is string => x !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    this.nextId = Math.max(cursor.segment, ids.at(-1) ?? 0) + 1;
    for (const id of ids) {
      const file = join(dir, segmentName(id));
      if (id < cursor.segment) {
        await rm(file, { force: true });
        continue;
      }
      const start = id === cursor.segment ? cursor.offset : 0;
      const data = await readFile(file);
      const decoded = decodeFrames(data.subarray(Math.min(start, data.length)));
      const size = start + decoded.consumed;
      if (decoded.problem) {
        logger.warn(
          { component: 'spool', segment: segmentName(id), problem: decoded.problem, validBytes: size, skippedBytes: data.length - size },
          'spool segment ends in a damaged record; it is skipped and the records before it are recovered',
        );
      }
      if (decoded.records.length === 0) {
        await rm(file, { force: true });
        continue;
      }
      this.segments.push({ id, size, readOffset: start, unread: decoded.records.length });
      this.unread += decoded.records.length;
    }
    if (this.unread > 0) logger.info({ component: 'spool', records: this.unread, segments: this.segments.length }, 'spool has records to drain');
  }

  /**
   * Appends records in order. `ownSegment` puts them alone in a fresh segment (the emitter's in-flight batch),
   * so that segment can be dropped or cut down whole once the send in flight has its answer.
   */
  append(payloads: readonly Buffer[], options: { ownSegment?: boolean } = {}): Promise<SpoolAppendResult> {
    this.appending++;
    const run = this.appendChain.then(() => this.doAppend(payloads, options.ownSegment ?? false));
    this.appendChain = run.catch(() => undefined);
    return run.finally(() => {
      this.appending--;
    });
  }

  private async doAppend(payloads: readonly Buffer[], ownSegment: boolean): Promise<SpoolAppendResult> {
    if (this.closed) return { ok: false, reason: 'write_failed', error: 'spool closed' };
    const frames = encodeFrames(payloads);
    if (this.bytes + frames.length > this.o.maxBytes) return { ok: false, reason: 'spool_full' };
    if (ownSegment || (this.tail && this.tail.seg.size + frames.length > this.o.segmentBytes)) await this.rotate();
    let tail = this.tail;
    try {
      if (!tail) tail = await this.openTail();
      await tail.fh.write(frames, 0, frames.length, tail.seg.size);
      if (this.o.fsync === 'always') await tail.fh.datasync();
      else this.dirty = true;
    } catch (err) {
      // A partial write (ENOSPC) leaves a torn record: cut it off and start a fresh segment next time.
      if (tail) await tail.fh.truncate(tail.seg.size).catch(() => undefined);
      await this.rotate().catch(() => undefined);
      return { ok: false, reason: 'write_failed', error: (err as Error).message };
    }
    tail.seg.size += frames.length;
    tail.seg.unread += payloads.length;
    this.unread += payloads.length;
    const segmentId = tail.seg.id;
    if (ownSegment) await this.rotate();
    return { ok: true, segmentId };
  }

  private async openTail(): Promise<{ seg: Segment; fh: FileHandle }> {
    const seg: Segment = { id: this.nextId++, size: 0, readOffset: 0, unread: 0 };
    const fh = await open(join(this.o.dir, segmentName(seg.id)), 'w');
    this.segments.push(seg);
    this.tail = { seg, fh };
    return this.tail;
  }

  private async rotate(): Promise<void> {
    const tail = this.tail;
    if (!tail) return;
    this.tail = undefined;
    if (this.o.fsync !== 'never') await tail.fh.datasync().catch(() => undefined);
    await tail.fh.close();
    if (tail.seg.readOffset >= tail.seg.size) await this.dropSegment(tail.seg);
  }

  /** The oldest undrained records, never spanning two segments. */
  async readBatch(maxRecords: number, maxBytes: number): Promise<SpoolBatch | undefined> {
    const seg = this.segments.find((s) => s.readOffset < s.size);
    if (!seg) return undefined;
    const length = Math.min(seg.size - seg.readOffset, Math.max(maxBytes, 64 * 1024));
    const fh = await open(join(this.o.dir, segmentName(seg.id)), 'r');
    let buf: Buffer;
    try {
      buf = Buffer.allocUnsafe(length);
      const { bytesRead } = await fh.read(buf, 0, length, seg.readOffset);
      buf = buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
    const decoded = decodeFrames(buf, maxRecords);
    if (decoded.records.length === 0) {
      // Only possible if the file changed under us: skip the rest of the segment rather than loop on it.
      this.o.logger.error({ component: 'spool', segment: segmentName(seg.id), problem: decoded.problem }, 'unreadable spool record; skipping the rest of the segment');
      this.unread -= seg.unread;
      seg.unread = 0;
      seg.size = seg.readOffset;
      await this.afterDrain(seg);
      return this.readBatch(maxRecords, maxBytes);
    }
    return { segmentId: seg.id, endOffset: seg.readOffset + decoded.consumed, records: decoded.records, bytes: decoded.consumed };
  }

  /** Marks a batch delivered: moves the cursor and deletes segments drained to the end. */
  async ack(batch: SpoolBatch): Promise<void> {
    const seg = this.segments.find((s) => s.id === batch.segmentId);
    if (!seg || batch.endOffset <= seg.readOffset) return;
    seg.readOffset = batch.endOffset;
    seg.unread -= batch.records.length;
    this.unread -= batch.records.length;
    await this.afterDrain(seg);
  }

  /**
   * Puts `payloads` in place of a batch's records: after a send that wrote some partitions and not others, the
   * spool then holds only what is still to send, so no process re-sends a written record. The segment file is
   * rewritten beside itself and renamed over it (a crash leaves the old file or the new one, each whole);
   * records before and after the batch keep their place and the cursor its offset. Returns the batch as it is now.
   */
  replaceBatch(batch: SpoolBatch, payloads: readonly Buffer[]): Promise<SpoolBatch> {
    return this.replaceRange(batch.segmentId, batch.endOffset - batch.bytes, batch.endOffset, batch.records.length, payloads).then((b) => b ?? batch);
  }

  /** Like replaceBatch, for a whole segment written with `ownSegment` and not read yet (the emitter's in-flight batch). */
  async replaceSegment(segmentId: number, payloads: readonly Buffer[]): Promise<void> {
    const seg = this.segments.find((s) => s.id === segmentId);
    if (!seg || seg.readOffset !== 0) return;
    await this.replaceRange(segmentId, 0, seg.size, seg.unread, payloads);
  }

  private replaceRange(segmentId: number, start: number, end: number, count: number, payloads: readonly Buffer[]): Promise<SpoolBatch | undefined> {
    // Behind the appends: the segment may be the tail, which an append must not write to while it is replaced.
    const run = this.appendChain.then(async () => {
      const seg = this.segments.find((s) => s.id === segmentId);
      if (!seg || seg.readOffset !== start || end > seg.size) return undefined;
      if (this.tail?.seg === seg) await this.rotate();
      const file = join(this.o.dir, segmentName(seg.id));
      const data = await readFile(file);
      const frames = encodeFrames(payloads);
      const next = Buffer.concat([data.subarray(0, start), frames, data.subarray(end, seg.size)]);
      await writeFile(`${file}.tmp`, next, { flush: this.o.fsync !== 'never' });
      await rename(`${file}.tmp`, file);
      const removed = count - payloads.length;
      seg.size = next.length;
      seg.unread -= removed;
      this.unread -= removed;
      return { segmentId: seg.id, endOffset: start + frames.length, records: [...payloads], bytes: frames.length };
    });
    this.appendChain = run.catch(() => undefined);
    return run;
  }

  /** Drops a whole segment written with `ownSegment` whose records reached Kafka by another path. */
  async discardSegment(segmentId: number): Promise<void> {
    const seg = this.segments.find((s) => s.id === segmentId);
    if (!seg) return;
    this.unread -= seg.unread;
    seg.unread = 0;
    seg.readOffset = seg.size;
    await this.afterDrain(seg);
  }

  private async afterDrain(seg: Segment): Promise<void> {
    if (seg.readOffset >= seg.size && this.tail?.seg !== seg) await this.dropSegment(seg);
    const head = this.segments[0];
    const cursor = head ? { segment: head.id, offset: head.readOffset } : { segment: this.nextId, offset: 0 };
    const file = join(this.o.dir, 'cursor.json');
    await writeFile(`${file}.tmp`, JSON.stringify(cursor), { flush: this.o.fsync === 'always' });
    await rename(`${file}.tmp`, file);
  }

  private async dropSegment(seg: Segment): Promise<void> {
    this.segments = this.segments.filter((s) => s !== seg);
    await rm(join(this.o.dir, segmentName(seg.id)), { force: true });
  }

  async sync(): Promise<void> {
    if (!this.dirty || !this.tail) return;
    this.dirty = false;
    await this.tail.fh.datasync();
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.appendChain;
    this.closed = true;
    await this.rotate();
  }
}
