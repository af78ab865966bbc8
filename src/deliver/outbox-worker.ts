import { type Clock, type Scheduler, systemScheduler, type Timer } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import type { OutboxRepo, OutboxRow } from '../store/outbox-repo.ts';
import { type BackoffOptions, backoffDelay, classify } from './outbox-retry.ts';
import {
  DeliveryError,
  type NoticeEnvelope,
  type OutboxChannel,
  type OutboxMessage,
  type RelatedMessage,
  type Sink,
} from './sink.ts';

export interface ChannelState {
  /** Learnt from deliveries only: 'up' after a success, 'down' after a failure with no answer. */
  link: 'unknown' | 'up' | 'down';
  consecutiveFailures: number;
  lastSuccessAt: number | null;
  lastFailureAt: number | null;
  lastError: string | null;
  /** When the head of the channel is next tried (ms), null when idle. */
  nextAttemptAt: number | null;
}

export interface OutboxWorker {
  /** Re-queues what was in flight at a crash and starts one delivery loop per sink. */
  start(): void;
  /** Something new may be due (called after a report commits, or on a manual retry). */
  wake(channel?: OutboxChannel): void;
  channels(): Record<string, ChannelState>;
  /** Stops taking new messages, lets in-flight sends end (bounded by their time-out). */
  stop(): Promise<void>;
}

export interface OutboxWorkerOptions {
  repo: OutboxRepo;
  sinks: Sink[];
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /** Tries with a transient answer after which a message is dead. */
  maxAttempts: number;
  backoff: BackoffOptions;
  /** Safety re-check of an idle channel (a missed wake-up costs at most this). */
  idlePollMs?: number;
  /** Back-off, the idle poll, each send's time-out and the stop grace (system timers by default; tests advance a manual clock). */
  scheduler?: Scheduler;
  /** How long stop() lets an in-flight send finish before abandoning it. */
  stopGraceMs?: number;
  random?: () => number;
}

interface Lane {
  sink: Sink;
  state: ChannelState;
  wakeUp: (() => void) | null;
  woken: boolean;
  running: Promise<void> | null;
  abort: AbortController;
}

/**
 * Delivers outbox rows through sinks: one loop per channel, strictly in row order (a channel's
 * next message waits for its head), so a Slack thread reply never overtakes its parent post.
 * Connectivity is learnt from the deliveries themselves: a failure backs off the whole channel.
 */
export function createOutboxWorker(options: OutboxWorkerOptions): OutboxWorker {
  const { repo, clock, logger, metrics, maxAttempts, backoff } = options;
  const random = options.random ?? Math.random;
  const idlePollMs = options.idlePollMs ?? 30_000;
  const scheduler = options.scheduler ?? systemScheduler;
  const stopGraceMs = options.stopGraceMs ?? 2_000;
  const lanes = new Map<OutboxChannel, Lane>();
  for (const sink of options.sinks) {
    lanes.set(sink.channel, {
      sink,
      state: {
        link: 'unknown',
        consecutiveFailures: 0,
        lastSuccessAt: null,
        lastFailureAt: null,
        lastError: null,
        nextAttemptAt: null,
      },
      wakeUp: null,
      woken: false,
      running: null,
      abort: new AbortController(),
    });
  }
  let stopped = false;

  const idle = (lane: Lane, ms: number) =>
    new Promise<void>((resolve) => {
      if (lane.woken || stopped) {
        lane.woken = false;
        resolve();
        return;
      }
      const timer = scheduler.after(Math.max(0, Math.min(ms, 2 ** 31 - 1)), done);
      function done() {
        timer.cancel();
        lane.wakeUp = null;
        lane.woken = false;
        resolve();
      }
      lane.wakeUp = done;
    });

  const related = (row: OutboxRow | null): RelatedMessage | null =>
    row ? { id: row.id, key: row.key, status: row.status, result: row.result } : null;

  async function deliver(lane: Lane, row: OutboxRow): Promise<void> {
    const { sink, state } = lane;
    const channel = sink.channel;
    const message: OutboxMessage = {
      id: row.id,
      channel,
      kind: row.kind as OutboxMessage['kind'],
      key: row.key,
      reportId: row.reportId,
      incidentId: row.incidentId,
      payload: row.payload as NoticeEnvelope,
      attempt: row.attempts,
      maybeSent: row.maybeSent,
      createdAt: row.createdAt,
    };
    const ctrl = new AbortController();
    let timer: Timer | undefined;
    let onStop = () => {};
    // The shared time-out: a sink that ignores its signal is abandoned all the same.
    const timedOut = new Promise<never>((_, reject) => {
      const give = (err: DeliveryError) => {
        ctrl.abort(err);
        reject(err);
      };
      timer = scheduler.after(sink.timeoutMs, () =>
        give(new DeliveryError('unreachable', `no answer within ${sink.timeoutMs} ms`, { maybeSent: true })),
      );
      onStop = () => give(new DeliveryError('unreachable', 'abandoned at shutdown', { maybeSent: true }));
      lane.abort.signal.addEventListener('abort', onStop);
    });
    const started = performance.now();
    try {
      const result = await Promise.race([
        sink.send(message, {
          signal: ctrl.signal,
          related: (key) => related(repo.byKey(key)),
          incidentAnchor: (incidentId) => related(repo.incidentAnchor(channel, incidentId)),
        }),
        timedOut,
      ]);
      const now = clock.now();
      repo.markSent(row.id, now, result ?? null);
      metrics.inc('tracepulse_outbox_sent_total', { channel });
      metrics.inc('tracepulse_outbox_send_seconds_total', { channel }, (performance.now() - started) / 1000);
      if (state.link !== 'up')
        logger.info('channel delivering', { channel, after: state.consecutiveFailures });
      Object.assign(state, {
        link: 'up',
        consecutiveFailures: 0,
        lastSuccessAt: now,
        nextAttemptAt: null,
      } satisfies Partial<ChannelState>);
    } catch (err) {
      handleFailure(lane, row, classify(err));
    } finally {
      timer?.cancel();
      lane.abort.signal.removeEventListener('abort', onStop);
    }
  }

  function handleFailure(lane: Lane, row: OutboxRow, f: DeliveryError): void {
    const { state } = lane;
    const channel = lane.sink.channel;
    const now = clock.now();
    const reason = `${f.kind}: ${f.message}`;
    metrics.inc('tracepulse_outbox_failures_total', { channel, kind: f.kind });
    state.lastError = reason;
    state.lastFailureAt = now;
    if (f.kind === 'deferred') {
      const at = now + Math.max(f.retryAfterMs ?? backoff.initialMs, 0);
      repo.defer(row.id, at, reason);
      state.nextAttemptAt = at;
      return;
    }
    const maybeSent = row.maybeSent || f.maybeSent;
    if (f.kind === 'permanent') {
      repo.markDead(row.id, reason, maybeSent);
      metrics.inc('tracepulse_outbox_dead_total', { channel });
      logger.warn('message dead-lettered', { channel, id: row.id, key: row.key, reason });
      state.nextAttemptAt = null;
      return;
    }
    const countFailure = f.kind === 'transient';
    if (countFailure && row.failures + 1 >= maxAttempts) {
      repo.markDead(row.id, `${reason} (after ${row.failures + 1} failed tries)`, maybeSent);
      metrics.inc('tracepulse_outbox_dead_total', { channel });
      logger.warn('message dead-lettered', {
        channel,
        id: row.id,
        key: row.key,
        reason,
        tries: row.failures + 1,
      });
      state.nextAttemptAt = null;
      return;
    }
    state.consecutiveFailures++;
    let delay = backoffDelay(state.consecutiveFailures, backoff, random);
    if (f.kind === 'rate_limited' && f.retryAfterMs !== null)
      // Honour Retry-After exactly as a floor; a little jitter on top spreads callers out.
      delay = f.retryAfterMs + Math.round(Math.min(1000, f.retryAfterMs * 0.1) * random());
    if (f.kind === 'unreachable') {
      if (state.link !== 'down') logger.warn('channel unreachable; backing off', { channel, reason });
      state.link = 'down';
    }
    const at = now + delay;
    repo.markRetry(row.id, { nextAttemptAt: at, error: reason, countFailure, maybeSent });
    state.nextAttemptAt = at;
  }

  async function loop(lane: Lane): Promise<void> {
    const channel = lane.sink.channel;
    while (!stopped) {
      let head: OutboxRow | null;
      try {
        head = repo.head(channel);
      } catch (err) {
        logger.error('outbox read failed', { channel, error: String(err) });
        await idle(lane, backoff.maxMs);
        continue;
      }
      if (!head) {
        lane.state.nextAttemptAt = null;
        await idle(lane, idlePollMs);
        continue;
      }
      const wait = head.nextAttemptAt - clock.now();
      if (wait > 0) {
        lane.state.nextAttemptAt = head.nextAttemptAt;
        await idle(lane, wait);
        continue;
      }
      // A row still 'inflight' here was left by a send that outlived its time-out; it is ours.
      if (head.status === 'inflight')
        repo.markRetry(head.id, {
          nextAttemptAt: 0,
          error: 'abandoned try',
          countFailure: false,
          maybeSent: true,
        });
      if (!repo.claim(head.id, clock.now())) continue;
      const claimed = repo.get(head.id);
      if (claimed) await deliver(lane, claimed);
    }
  }

  return {
    start() {
      const n = repo.requeueInflight();
      if (n) logger.info('re-queued messages that were in flight at the last stop', { count: n });
      for (const lane of lanes.values()) {
        lane.running = loop(lane).catch((err) => {
          logger.error('outbox loop crashed', { channel: lane.sink.channel, error: String(err) });
        });
      }
      logger.info('outbox worker started', { channels: [...lanes.keys()].join(',') });
    },
    wake(channel) {
      for (const [name, lane] of lanes) {
        if (channel && name !== channel) continue;
        if (lane.wakeUp) lane.wakeUp();
        else lane.woken = true;
      }
    },
    channels() {
      return Object.fromEntries([...lanes].map(([k, l]) => [k, { ...l.state }]));
    },
    async stop() {
      stopped = true;
      for (const lane of lanes.values()) lane.wakeUp?.();
      // In-flight sends get a short grace, then are abandoned as "maybe sent" (checked before the next try).
      const grace = scheduler.after(stopGraceMs, () => {
        for (const lane of lanes.values()) lane.abort.abort();
      });
      await Promise.all([...lanes.values()].map((l) => l.running));
      grace.cancel();
      for (const lane of lanes.values()) await lane.sink.close?.();
      logger.info('outbox worker stopped');
    },
  };
}
