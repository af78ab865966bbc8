import type { Clock } from '../core/clock.ts';
import type { Metrics } from '../core/metrics.ts';
import { type OutboxRepo, outboxStatuses } from '../store/outbox-repo.ts';
import type { OutboxWorker } from './outbox-worker.ts';

/** Counters' help texts and the gauges read from the outbox at scrape time. */
export function describeOutboxMetrics(
  m: Metrics,
  repo: OutboxRepo,
  clock: Clock,
  worker: OutboxWorker,
  channels: string[],
): void {
  m.describe(
    'tracepulse_outbox_enqueued_total',
    'Outbox messages written with their report, by channel and outcome',
  );
  m.describe(
    'tracepulse_outbox_dropped_total',
    'Outbox messages not written (outbox full, or could not be built)',
  );
  m.describe('tracepulse_outbox_sent_total', 'Outbox messages delivered, by channel');
  m.describe('tracepulse_outbox_send_seconds_total', 'Time spent in successful sends, by channel');
  m.describe('tracepulse_outbox_failures_total', 'Failed delivery tries, by channel and kind');
  m.describe('tracepulse_outbox_dead_total', 'Outbox messages dead-lettered, by channel');
  m.gauge(
    'tracepulse_outbox_messages',
    'Outbox messages by channel and status (pending, inflight, sent, dead)',
    () => {
      const counts = new Map<string, number>();
      for (const ch of channels) for (const st of outboxStatuses) counts.set(`${ch}\t${st}`, 0);
      for (const r of repo.stats().counts) counts.set(`${r.channel}\t${r.status}`, r.n);
      return [...counts].map(([k, value]) => {
        const [channel = '', status = ''] = k.split('\t');
        return { labels: { channel, status }, value };
      });
    },
  );
  m.gauge(
    'tracepulse_outbox_oldest_pending_age_seconds',
    'Age of the oldest undelivered message, by channel',
    () => {
      const now = clock.now();
      const ages = new Map(channels.map((ch) => [ch, 0]));
      for (const o of repo.stats().oldestPending)
        ages.set(o.channel, Math.max(0, (now - o.createdAt) / 1000));
      return [...ages].map(([channel, value]) => ({ labels: { channel }, value }));
    },
  );
  m.gauge(
    'tracepulse_outbox_channel_up',
    '1 when the last delivery try of a channel got through, 0 after a failure with no answer',
    () =>
      Object.entries(worker.channels())
        .filter(([, st]) => st.link !== 'unknown')
        .map(([channel, st]) => ({ labels: { channel }, value: st.link === 'up' ? 1 : 0 })),
  );
}
