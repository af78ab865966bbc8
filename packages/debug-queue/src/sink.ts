import { BoundedQueue } from './bounded-queue.js';
import type { Spool } from './spool.js';
import { errorOf, FatalTransportError, type Outcome, type SendResult, type Transport } from './transport.js';
import { DebugQueueError, type DropInfo, type Item, type SinkState, type SinkStats } from './types.js';

export interface SinkOptions {
  /** `primary` (TracePulse or broker), `loki` or `elasticsearch`. */
  name: string;
  transport: Transport;
  maxQueue: number;
  batchSize: number;
  retryInitialMs: number;
  retryMaxMs: number;
  spool?: Spool;
  onDrop?: (info: DropInfo) => void;
  onError?: (error: DebugQueueError) => void;
  /** One line to stderr, for problems nobody configured a callback for (e.g. mqtt not installed). */
  notice: (line: string) => void;
  random?: () => number;
}

/** Longest wait a Retry-After may impose. */
const MAX_RETRY_AFTER_MS = 5 * 60_000;

/**
 * One destination: a bounded queue, one delivery loop, retry with exponential backoff and jitter,
 * and an optional spool. Everything a transport needs besides send() lives here.
 */
export class Sink {
  private readonly queue: BoundedQueue;
  private state: SinkState = 'idle';
  private running = false;
  private kickPending = false;
  private sleeper: { timer: ReturnType<typeof setTimeout>; wake: () => void } | undefined;
  private loop: Promise<void> = Promise.resolve();
  private readonly abort = new AbortController();
  private stopped = false;
  private failures = 0;
  private fatal: FatalTransportError | undefined;
  private waiters = new Set<() => void>();
  private readonly ready: Promise<void>;
  private delivered = 0;
  private rejected = 0;
  private retries = 0;
  private droppedHigh = 0;
  private droppedLow = 0;
  private lastError: string | undefined;

  constructor(private readonly o: SinkOptions) {
    this.queue = new BoundedQueue(o.maxQueue);
    // Destination reachable again (MQTT reconnected): retry now instead of sitting out the backoff.
    o.transport.onReady?.(() => {
      if (!this.stopped && !this.fatal) this.wakeUp();
    });
    this.ready = o.spool
      ? o.spool.ready.then((items) => {
          for (const item of items) this.accept(item, false);
          if (items.length > 0) this.kick();
        })
      : Promise.resolve();
  }

  /** Queues an item; never throws, never waits. */
  enqueue(item: Item): void {
    if (this.stopped) return;
    this.accept(item, true);
    this.kick();
  }

  /** Resolves true once everything queued so far is delivered (or refused), false after `timeoutMs`. */
  async flush(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    if (this.o.spool) await Promise.race([this.ready, delay(timeoutMs)]); // recovered items count too
    if (this.isEmpty()) return true;
    this.kick();
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(onEmpty);
        resolve(ok);
      };
      const onEmpty = () => done(true);
      const timer = setTimeout(() => done(this.isEmpty()), Math.max(0, deadline - Date.now()));
      this.waiters.add(onEmpty);
    });
  }

  /** Flushes for up to `timeoutMs`, then stops, spools what is left and closes the transport. */
  async close(timeoutMs: number): Promise<boolean> {
    if (this.stopped) return this.isEmpty();
    if (this.sleeper && !this.fatal) this.wakeUp(); // one prompt last attempt instead of sitting out a backoff
    const flushed = await this.flush(timeoutMs);
    this.stopped = true;
    this.abort.abort();
    this.wakeUp();
    await this.loop;
    await this.o.spool?.close();
    await this.o.transport.close().catch((e: unknown) => this.report('DESTINATION_DOWN', errorOf(e)));
    this.state = 'closed';
    return flushed;
  }

  stats(): SinkStats {
    const spool = this.o.spool;
    return {
      destination: this.o.name,
      state: this.state,
      queued: this.queue.queued,
      inFlight: this.queue.inFlight,
      delivered: this.delivered,
      dropped: { high: this.droppedHigh, low: this.droppedLow, total: this.droppedHigh + this.droppedLow },
      rejected: this.rejected,
      retries: this.retries,
      lastError: this.lastError,
      spool: spool && {
        file: spool.file,
        recovered: spool.recoveredCount,
        corruptLines: spool.corruptLines,
        errors: spool.errors,
      },
    };
  }

  /** `spool` is false for items recovered from the spool file (already written there). */
  private accept(item: Item, spool: boolean): void {
    if (this.fatal) {
      this.rejected++;
      return;
    }
    const dropped = this.queue.push(item);
    if (dropped !== item && spool) this.o.spool?.add(item);
    if (!dropped) return;
    // A recovered item is already in the spool file, so it needs a done record even when it is the one dropped.
    if (dropped !== item || !spool) this.o.spool?.done(dropped.key);
    if (dropped.priority === 'high') this.droppedHigh++;
    else this.droppedLow++;
    if (this.o.onDrop) {
      try {
        this.o.onDrop({
          destination: this.o.name,
          kind: dropped.kind,
          priority: dropped.priority,
          key: dropped.key,
          what: dropped.kind === 'event' ? dropped.body.eventType : dropped.body.message.slice(0, 120),
          dropped: this.droppedHigh + this.droppedLow,
        });
      } catch {
        // a throwing callback must not reach the caller of log()
      }
    }
  }

  private isEmpty(): boolean {
    return this.queue.queued === 0 && this.queue.inFlight === 0;
  }

  private kick(): void {
    if (this.running || this.kickPending || this.stopped) return;
    // A microtask: cheaper for the caller than a timer, and it still runs after the caller's
    // synchronous code, so a burst of log() calls lands in one batch.
    this.kickPending = true;
    queueMicrotask(() => {
      this.kickPending = false;
      if (!this.running && !this.stopped) this.loop = this.run().catch((e: unknown) => this.crashed(e));
    });
  }

  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (!this.stopped && this.queue.queued > 0) {
        const batch = this.queue.take(this.o.batchSize);
        this.state = 'sending';
        const result = await this.attempt(batch);
        const retry: Item[] = [];
        const error = result.error;
        for (let i = 0; i < batch.length; i++) {
          const item = batch[i]!;
          const outcome: Outcome = result.outcomes[i] ?? 'retry';
          if (outcome === 'retry') {
            retry.push(item);
            continue;
          }
          if (outcome === 'ok') this.delivered++;
          else this.rejected++;
          this.o.spool?.done(item.key);
        }
        this.queue.settle(batch.length - retry.length, retry);
        if (error) this.lastError = error.message;
        if (result.outcomes.includes('reject') && error) this.report('REJECTED', error);
        if (retry.length > 0) {
          this.retries += retry.length;
          this.failures++;
          if (this.failures === 1) this.report('DESTINATION_DOWN', error ?? new Error('delivery failed'));
          this.state = 'backoff';
          if (!this.stopped) await this.sleep(this.backoff(result.retryAfterMs));
        } else {
          this.failures = 0;
        }
        if (this.isEmpty()) this.notifyEmpty();
      }
    } finally {
      this.running = false;
      if (!this.stopped) this.state = 'idle';
      if (this.isEmpty()) this.notifyEmpty();
    }
  }

  /**
   * A bug in the loop must not become an unhandled rejection (Node would end the station service):
   * record it; the next log() starts the loop again.
   */
  private crashed(e: unknown): void {
    this.running = false;
    this.lastError = `delivery loop failed: ${errorOf(e).message}`;
    this.report('DESTINATION_DOWN', errorOf(e));
  }

  private async attempt(batch: Item[]): Promise<SendResult> {
    if (this.fatal) return { outcomes: batch.map(() => 'reject'), error: this.fatal };
    try {
      return await this.o.transport.send(batch, this.abort.signal);
    } catch (e) {
      if (e instanceof FatalTransportError) {
        this.fatal = e;
        this.o.notice(e.message);
        this.report(e.code, e);
        return { outcomes: batch.map(() => 'reject'), error: e };
      }
      return { outcomes: batch.map(() => 'retry'), error: errorOf(e) };
    }
  }

  /** Full-jitter-ish exponential backoff: half fixed, half random, so stations do not retry in step. */
  private backoff(retryAfterMs: number | undefined): number {
    const exp = Math.min(this.o.retryMaxMs, this.o.retryInitialMs * 2 ** Math.min(this.failures - 1, 30));
    const jittered = exp / 2 + (this.o.random ?? Math.random)() * (exp / 2);
    return retryAfterMs === undefined
      ? jittered
      : Math.max(jittered, Math.min(retryAfterMs, MAX_RETRY_AFTER_MS));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.sleeper = undefined;
        resolve();
      }, ms);
      // Waiting to retry must not keep the station process alive; the spool's exit hook saves the rest.
      timer.unref?.();
      this.sleeper = { timer, wake: resolve };
    });
  }

  private wakeUp(): void {
    const s = this.sleeper;
    if (!s) return;
    this.sleeper = undefined;
    clearTimeout(s.timer);
    s.wake();
  }

  private notifyEmpty(): void {
    for (const w of [...this.waiters]) w();
  }

  private report(code: DebugQueueError['code'], cause: Error): void {
    if (!this.o.onError) return;
    try {
      this.o.onError(new DebugQueueError(code, cause.message, { cause, destination: this.o.name }));
    } catch {
      // callbacks must not break delivery
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => {
    setTimeout(resolve, ms).unref?.();
  });
}
