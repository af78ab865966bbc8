import type { Database } from 'bun:sqlite';
import type { Hono } from 'hono';
import { type Config, ConfigError } from '../config/config.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import type { ChangeSource, ReportHooks, ReportNotice } from '../core/ports.ts';
import { createOutboxRoutes } from '../http/outbox-routes.ts';
import type { SystemGraph } from '../map/graph.ts';
import type { IngestQueries } from '../store/ingest-queries.ts';
import { createLlmUsageRepo } from '../store/llm-usage-repo.ts';
import { createOutboxRepo, type OutboxRepo, outboxStatuses } from '../store/outbox-repo.ts';
import type { RefinableReports } from './llm-refiner.ts';
import { createOutboxWorker, type OutboxWorker } from './outbox-worker.ts';
import { createRedactor, type Redactor } from './redact.ts';
import { type NoticeEnvelope, type OutboxChannel, outboxChannels, type Sink } from './sink.ts';

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
  /** Replaces the sinks built from config (tests). */
  sinks?: Sink[];
  /** Worker tuning (tests). */
  idlePollMs?: number;
  random?: () => number;
}

export interface ConnectedMode {
  repo: OutboxRepo;
  worker: OutboxWorker;
  routes: Hono;
  sinks: Sink[];
  stop(): Promise<void>;
}

type SinkFactory = (d: ConnectedModeDeps, redact: Redactor) => Promise<Sink | null>;

/** One factory per channel; each returns null when its settings are absent, and imports its SDK only then. */
export const sinkFactories: Record<OutboxChannel, SinkFactory> = {
  slack: async ({ config: c, graph, logger }) =>
    c.SLACK_BOT_TOKEN
      ? (await import('./slack-sink.ts')).createSlackSink({
          token: c.SLACK_BOT_TOKEN,
          apiUrl: c.SLACK_API_URL,
          defaultChannel: c.SLACK_CHANNEL,
          publicUrl: publicUrl(c),
          graph,
          timeoutMs: c.TRACEPULSE_OUTBOX_TIMEOUT_MS,
          logger: logger.child('slack'),
        })
      : null,
  email: async ({ config: c, logger }) =>
    c.SMTP_URL
      ? (await import('./email-sink.ts')).createEmailSink({
          smtpUrl: c.SMTP_URL,
          to: c.TRACEPULSE_EMAIL_TO,
          from: c.TRACEPULSE_EMAIL_FROM,
          publicUrl: publicUrl(c),
          timeoutMs: c.TRACEPULSE_OUTBOX_TIMEOUT_MS,
          logger: logger.child('email'),
        })
      : null,
  mqtt: async ({ config: c, logger, stationId }) =>
    c.TRACEPULSE_MQTT_URL
      ? (await import('./mqtt-report-sink.ts')).createMqttReportSink({
          url: c.TRACEPULSE_MQTT_URL,
          prefix: c.TRACEPULSE_MQTT_TOPIC_PREFIX,
          stationId,
          clientId: `${c.TRACEPULSE_MQTT_CLIENT_ID ?? `tracepulse-${stationId}`}-reports`.slice(0, 128),
          timeoutMs: c.TRACEPULSE_OUTBOX_TIMEOUT_MS,
          logger: logger.child('mqtt-reports'),
        })
      : null,
  llm: async (d, redact) => {
    const c = d.config;
    if (!c.OPENAI_API_KEY && !c.OPENAI_BASE_URL) return null;
    return (await import('./llm-refiner.ts')).createLlmRefiner({
      apiKey: c.OPENAI_API_KEY ?? null,
      baseUrl: c.OPENAI_BASE_URL ?? null,
      model: c.TRACEPULSE_LLM_MODEL,
      timeoutMs: c.TRACEPULSE_LLM_TIMEOUT_MS,
      hourlyRequests: c.TRACEPULSE_LLM_HOURLY_BUDGET,
      hourlyTokens: c.TRACEPULSE_LLM_HOURLY_TOKENS,
      promptTokens: c.TRACEPULSE_LLM_PROMPT_TOKENS,
      reports: d.reports,
      graph: d.graph,
      changes: d.changes ?? null,
      usage: createLlmUsageRepo(d.db),
      redact,
      clock: d.clock,
      logger: d.logger.child('llm'),
      changeLookbackMs: c.TRACEPULSE_CHANGE_LOOKBACK_DAYS * 86_400_000,
    });
  },
};

const publicUrl = (c: Config) =>
  c.TRACEPULSE_PUBLIC_URL ? c.TRACEPULSE_PUBLIC_URL.replace(/\/+$/, '') : null;

/** Settings that only make sense together; every problem at once, like the schema's. */
export function checkConnectedConfig(c: Config): string[] {
  const problems: string[] = [];
  if (c.SMTP_URL && !c.TRACEPULSE_EMAIL_TO.length)
    problems.push('TRACEPULSE_EMAIL_TO: required when SMTP_URL is set');
  if (c.TRACEPULSE_EMAIL_TO.length && !c.SMTP_URL)
    problems.push('SMTP_URL: required when TRACEPULSE_EMAIL_TO is set');
  if (c.TRACEPULSE_OUTBOX_MAX_BACKOFF_MS < c.TRACEPULSE_OUTBOX_BACKOFF_MS)
    problems.push('TRACEPULSE_OUTBOX_MAX_BACKOFF_MS: must be at least TRACEPULSE_OUTBOX_BACKOFF_MS');
  return problems;
}

/** The idempotency key of a notice's message on a channel: the same notice always gives the same key. */
export function messageKey(channel: OutboxChannel, n: ReportNotice): string {
  if (n.kind === 'created') return `${channel}:${n.report.id}:created`;
  if (n.kind === 'revised') return `${channel}:${n.report.id}:revised:${n.report.revision}`;
  return `${channel}:incident:${n.incidentId}:${n.count}`;
}

/**
 * Values of redacted fields in the details of the report's own event and of its session's
 * events: a revision or an incident notice carries no event, yet its evidence may quote them.
 */
export function sensitiveValues(
  n: ReportNotice,
  fields: readonly string[],
  events: Pick<IngestQueries, 'event' | 'events'> | null | undefined,
): string[] {
  const keys = new Set(fields);
  const all = [n.kind === 'created' ? n.event : null];
  if (events) {
    all.push(events.event(n.report.eventId));
    if (n.report.correlationId)
      all.push(...events.events({ correlationId: n.report.correlationId, limit: 200 }));
  }
  const out = new Set<string>();
  for (const e of all)
    for (const [k, v] of Object.entries(e?.details ?? {})) if (keys.has(k) && v) out.add(v);
  return [...out];
}

/** The redacted snapshot stored in the outbox (nothing leaves the device unredacted). */
export function envelopeOf(n: ReportNotice, redact: Redactor, knownValues: string[] = []): NoticeEnvelope {
  const env: NoticeEnvelope = { kind: n.kind, report: n.report };
  if (n.kind === 'created') {
    const e = n.event;
    env.event = {
      id: e.id,
      eventType: e.eventType,
      service: e.service,
      errorCode: e.errorCode,
      details: e.details,
      timestamp: e.timestamp,
      message: e.message,
    };
  }
  if (n.kind === 'incident') env.incident = { id: n.incidentId, count: n.count };
  return redact(env, knownValues);
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
  describe(
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
    routes: createOutboxRoutes({ repo, worker, clock: d.clock }),
    stop: async () => {
      clearInterval(pruneTimer);
      await worker.stop();
    },
  };
}

function describe(
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
