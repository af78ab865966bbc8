import type { Database } from 'bun:sqlite';
import { type Config, ConfigError } from '../config/config.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import type { ChangeSource, ReportHooks } from '../core/ports.ts';
import type { SystemGraph } from '../map/graph.ts';
import type { LlmAdapter } from '../core/llm.ts';
import type { IngestQueries } from '../store/ingest-queries.ts';
import { createOutboxRepo, type OutboxRepo } from '../store/outbox-repo.ts';
import { envelopeOf, messageKey, sensitiveValues } from './envelope.ts';
import { describeOutboxMetrics } from './outbox-metrics.ts';
import type { RefinableReports } from './llm-refiner.ts';
import { createOutboxWorker, type OutboxWorker } from './outbox-worker.ts';
import { createRedactor } from './redact.ts';
import { checkConnectedConfig, sinkFactories } from './sink-registry.ts';
import { type NoticeEnvelope, outboxChannels, type Sink } from './sink.ts';

export interface ConnectedModeDeps {
  config: Config;
  db: Database;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  stationId: string;
  graph: () => SystemGraph;
  reports: ReportHooks & RefinableReports;
  changes?: ChangeSource | null;
  /** Stored events: the details of a report's session feed the redactor (values to blank in any text). */
  events?: Pick<IngestQueries, 'event' | 'events'> | null;
  /** The shared OpenAI-compatible adapter; LLM refinement is on when it is given. */
  llm?: LlmAdapter | null;
  /** Replaces the sinks built from config (tests). */
  sinks?: Sink[];
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
export async function startConnectedMode(d: ConnectedModeDeps): Promise<ConnectedMode> {
  const c = d.config;
  const problems = checkConnectedConfig(c);
  if (problems.length) throw new ConfigError(problems);
  const log = d.logger.child('outbox');
  const redact = createRedactor(c.TRACEPULSE_REDACT_FIELDS);
  const repo = createOutboxRepo(d.db);
  const sinks =
    d.sinks ??
    (await Promise.all(outboxChannels.map((ch) => sinkFactories[ch](d, redact)))).filter(
      (s): s is Sink => s !== null,
    );
  const worker = createOutboxWorker({
    repo,
    sinks,
    clock: d.clock,
    logger: log,
    metrics: d.metrics,
    maxAttempts: c.TRACEPULSE_OUTBOX_MAX_ATTEMPTS,
    backoff: {
      initialMs: c.TRACEPULSE_OUTBOX_BACKOFF_MS,
      maxMs: c.TRACEPULSE_OUTBOX_MAX_BACKOFF_MS,
      jitter: 0.5,
    },
    idlePollMs: d.idlePollMs,
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
      payload = envelopeOf(notice, redact, sensitiveValues(notice, c.TRACEPULSE_REDACT_FIELDS, d.events));
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
        c.TRACEPULSE_OUTBOX_MAX_PENDING,
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
      const n = repo.prune(d.clock.now() - c.TRACEPULSE_RETENTION_DAYS * 86_400_000);
      if (n) log.info('outbox history pruned', { rows: n });
    } catch (err) {
      log.error('outbox prune failed', { error: String(err) });
    }
  };
  const pruneTimer = setInterval(prune, 3_600_000);
  pruneTimer.unref();

  worker.start();
  log.info('connected mode', {
    sinks: sinks.map((s) => s.channel).join(',') || 'none',
    redacting: c.TRACEPULSE_REDACT_FIELDS.length,
  });
  return {
    repo,
    worker,
    sinks,
    stop: async () => {
      clearInterval(pruneTimer);
      await worker.stop();
    },
  };
}
