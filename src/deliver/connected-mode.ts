import { type Clock, type Scheduler, systemScheduler } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import type { ReportHooks } from '../core/ports.ts';
import type { IngestQueries } from '../store/ingest-queries.ts';
import type { OutboxRepo } from '../store/outbox-repo.ts';
import { envelopeOf, messageKey, sensitiveValues } from './envelope.ts';
import { describeOutboxMetrics } from './outbox-metrics.ts';
import type { BackoffOptions } from './outbox-retry.ts';
import { createOutboxWorker, type OutboxWorker } from './outbox-worker.ts';
import type { Redactor } from './redact.ts';
import type { NoticeEnvelope, Sink } from './sink.ts';

export interface ConnectedModeDeps {
  /** The outbox table; rows are written in the report's own transaction. */
  repo: OutboxRepo;
  /** The configured channels (app.ts builds them: src/app/sinks.ts). */
  sinks: Sink[];
  redact: Redactor;
  /** The configured field names to redact (TRACEPULSE_REDACT_FIELDS): their values are blanked in any text. */
  redactFields: readonly string[];
  maxAttempts: number;
  backoff: BackoffOptions;
  /** Pending rows per channel before new messages are dropped (TRACEPULSE_OUTBOX_MAX_PENDING). */
  maxPending: number;
  /** Delivered and dead rows older than this are pruned. */
  retentionMs: number;
  clock: Clock;
  /** The worker's back-off and idle waits and the hourly prune (system timers by default). */
  scheduler?: Scheduler;
  logger: Logger;
  metrics: Metrics;
  reports: ReportHooks;
  /** Stored events: the details of a report's session feed the redactor (values to blank in any text). */
  events?: Pick<IngestQueries, 'event' | 'events'> | null;
  /** Worker tuning (tests). */
  idlePollMs?: number;
  random?: () => number;
}

export interface ConnectedMode {
  repo: OutboxRepo;
  worker: OutboxWorker;
  sinks: Sink[];
  stop(): Promise<void>;
}

/**
 * Connected mode: Slack, email, MQTT fleet forwarding and LLM refinement, all through one durable
 * outbox. Rows are written inside the report's own transaction (so a report and its messages
 * commit together and nothing is sent for a report that was rolled back), then delivered by
 * the worker after the commit; the local report never waits for the network.
 */
export function startConnectedMode(d: ConnectedModeDeps): ConnectedMode {
  const { repo, sinks, redact } = d;
  const log = d.logger.child('outbox');
  const scheduler = d.scheduler ?? systemScheduler;
  const worker = createOutboxWorker({
    repo,
    sinks,
    clock: d.clock,
    logger: log,
    metrics: d.metrics,
    maxAttempts: d.maxAttempts,
    backoff: d.backoff,
    idlePollMs: d.idlePollMs,
    scheduler,
    random: d.random,
  });
  describeOutboxMetrics(
    d.metrics,
    repo,
    d.clock,
    worker,
    sinks.map((x) => x.channel),
  );

  d.reports.inReportTransaction((notice) => {
    const wanted = sinks.filter((s) => s.accepts(notice));
    if (!wanted.length) return;
    let payload: NoticeEnvelope;
    try {
      payload = envelopeOf(notice, redact, sensitiveValues(notice, d.redactFields, d.events));
    } catch (err) {
      // A bug here must not roll back the local report: record it and send nothing for it.
      d.metrics.inc('tracepulse_outbox_dropped_total', { channel: 'all', reason: 'build_failed' });
      log.error('could not build outbox message; report kept, nothing sent', {
        reportId: notice.report.id,
        error: String(err),
      });
      return;
    }
    const now = d.clock.now();
    for (const sink of wanted) {
      // Storage errors propagate: the report's transaction fails with them and nothing is half-written.
      const outcome = repo.enqueue(
        {
          channel: sink.channel,
          kind: notice.kind,
          reportId: notice.report.id,
          incidentId: notice.kind === 'incident' ? notice.incidentId : notice.report.incidentId,
          key: messageKey(sink.channel, notice),
          payload,
        },
        now,
        d.maxPending,
        sink.coalesceIncidents === true,
      );
      d.metrics.inc(
        outcome === 'dropped' ? 'tracepulse_outbox_dropped_total' : 'tracepulse_outbox_enqueued_total',
        outcome === 'dropped'
          ? { channel: sink.channel, reason: 'full' }
          : { channel: sink.channel, outcome },
      );
      if (outcome === 'dropped')
        log.warn('outbox full; message dropped', { channel: sink.channel, reportId: notice.report.id });
    }
  });
  d.reports.onReport(() => worker.wake());

  // Delivered and dead rows are history; they go with the rest of the data after the retention period.
  const prune = () => {
    try {
      const n = repo.prune(d.clock.now() - d.retentionMs);
      if (n) log.info('outbox history pruned', { rows: n });
    } catch (err) {
      log.error('outbox prune failed', { error: String(err) });
    }
  };
  const pruneTimer = scheduler.every(3_600_000, prune);

  worker.start();
  log.info('connected mode', {
    sinks: sinks.map((s) => s.channel).join(',') || 'none',
    redacting: d.redactFields.length,
  });
  return {
    repo,
    worker,
    sinks,
    stop: async () => {
      pruneTimer.cancel();
      await worker.stop();
    },
  };
}
