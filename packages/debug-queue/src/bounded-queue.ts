import { Deque } from './deque.js';
import type { Item } from './types.js';

/**
 * Two FIFOs (high, low) under one bound that also counts items in flight, so a retry can always
 * put its items back. When full, the oldest low-priority item goes first; high ones go only when
 * no low one is left.
 */
export class BoundedQueue {
  private readonly high = new Deque<Item>(64);
  private readonly low = new Deque<Item>(64);
  private inFlightCount = 0;

  constructor(readonly capacity: number) {}

  get queued(): number {
    return this.high.length + this.low.length;
  }

  get inFlight(): number {
    return this.inFlightCount;
  }

  /** Adds `item`; returns the item that had to be dropped to respect the bound (maybe `item` itself). */
  push(item: Item): Item | undefined {
    let dropped: Item | undefined;
    if (this.high.length + this.low.length + this.inFlightCount >= this.capacity) {
      if (this.low.length > 0) dropped = this.low.shift();
      else if (item.priority === 'low' || this.high.length === 0) return item;
      else dropped = this.high.shift();
    }
    (item.priority === 'high' ? this.high : this.low).push(item);
    return dropped;
  }

  /** Moves up to `n` items, high priority first, into flight. */
  take(n: number): Item[] {
    const out: Item[] = [];
    while (out.length < n) {
      const next = this.high.shift() ?? this.low.shift();
      if (!next) break;
      out.push(next);
    }
    this.inFlightCount += out.length;
    return out;
  }

  /** Ends flight for `done` items and puts `retry` back at the front, in their original order. */
  settle(done: number, retry: Item[]): void {
    this.inFlightCount -= done + retry.length;
    for (let i = retry.length - 1; i >= 0; i--) {
      const item = retry[i]!;
      (item.priority === 'high' ? this.high : this.low).unshift(item);
    }
  }

  /** Everything not yet delivered, high first (a copy). */
  snapshot(): Item[] {
    return [...this.high.toArray(), ...this.low.toArray()];
  }
}
