import type { Database } from 'bun:sqlite';
import type { Config } from '../config/config.ts';
import type { Clock } from '../core/clock.ts';
import type { LlmAdapter } from '../core/llm.ts';
import type { Logger } from '../core/logger.ts';
import type { ChangeSource } from '../core/ports.ts';
import { sensitiveValues } from '../deliver/envelope.ts';
import type { RefinableReports } from '../deliver/llm-refiner.ts';
import type { Redactor } from '../deliver/redact.ts';
import type { OutboxChannel, Sink } from '../deliver/sink.ts';
import type { SystemGraph } from '../map/graph.ts';
import { createFeedbackStore } from '../store/feedback-store.ts';
import type { IngestQueries } from '../store/ingest-queries.ts';
import { createLlmUsageRepo } from '../store/llm-usage-repo.ts';

/** What the sink factories build the configured channels from. */
export interface SinkContext {
  config: Config;
  db: Database;
  clock: Clock;
  logger: Logger;
  stationId: string;
  graph: () => SystemGraph;
  reports: RefinableReports;
  changes?: ChangeSource | null;
  events?: Pick<IngestQueries, 'event' | 'events'> | null;
  /** The shared OpenAI-compatible adapter; LLM refinement is on when it is given. */
  llm?: LlmAdapter | null;
}

export type SinkFactory = (d: SinkContext, redact: Redactor) => Promise<Sink | null>;

/** One factory per channel; each returns null when its settings are absent, and imports its SDK only then. */
export const sinkFactories: Record<OutboxChannel, SinkFactory> = {
  slack: async ({ config: c, graph, logger }) =>
    c.SLACK_BOT_TOKEN
      ? (await import('../deliver/slack-sink.ts')).createSlackSink({
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
      ? (await import('../deliver/email-sink.ts')).createEmailSink({
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
      ? (await import('../deliver/mqtt-report-sink.ts')).createMqttReportSink({
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
    if (!d.llm) return null;
    const labels = createFeedbackStore(d.db);
    return (await import('../deliver/llm-refiner.ts')).createLlmRefiner({
      llm: d.llm,
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
      examples: {
        labels: (n) => labels.recentLabels(n),
        // Redacted as a notice of that report would be: its fields and its session's values.
        redact: (text, report) =>
          redact(text, sensitiveValues({ kind: 'revised', report }, c.TRACEPULSE_REDACT_FIELDS, d.events)),
      },
      exampleCount: c.TRACEPULSE_LLM_EXAMPLES,
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
