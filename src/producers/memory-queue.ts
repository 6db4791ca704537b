/**
 * A FIFO with O(1) push and amortised O(1) take, bounded by the caller. `Array.prototype.shift` is O(n),
 * which at 50k queued events would make every take cost more than the emits it drains.
 */
export class MemoryQueue<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  peek(): T | undefined {
    return this.items[this.head];
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head] as T;
    this.items[this.head++] = undefined;
    this.compact();
    return item;
  }

  /** Removes and returns up to `max` items from the front, stopping early when `accept` says no. */
  take(max: number, accept?: (item: T, taken: number) => boolean): T[] {
    const out: T[] = [];
    while (out.length < max && this.head < this.items.length) {
      const item = this.items[this.head] as T;
      if (accept && out.length > 0 && !accept(item, out.length)) break;
      out.push(item);
      this.items[this.head] = undefined;
      this.head++;
    }
    this.compact();
    return out;
  }

  private compact(): void {
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
