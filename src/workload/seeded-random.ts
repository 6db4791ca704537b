/** mulberry32: a tiny, fast, seedable PRNG — the same seed gives the same workload on every machine. */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(minInclusive: number, maxExclusive: number): number {
    return minInclusive + Math.floor(this.next() * (maxExclusive - minInclusive));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  /** A UUIDv7 for `ms` whose random bits come from this generator (reproducible ids). */
  uuidV7(ms: number): string {
    const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
    const time = hex(ms, 12);
    const randA = hex(this.int(0, 0x1000), 3);
    const variant = hex(0x8000 | this.int(0, 0x4000), 4);
    const randB = hex(this.int(0, 0x1000000), 6) + hex(this.int(0, 0x1000000), 6);
    return `${time.slice(0, 8)}-${time.slice(8)}-7${randA}-${variant}-${randB}`;
  }
}
