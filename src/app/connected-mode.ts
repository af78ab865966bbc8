import { type Config, ConfigError } from '../config/config.ts';
import type { Scheduler } from '../core/clock.ts';
import type { Metrics } from '../core/metrics.ts';
import type { ReportHooks } from '../core/ports.ts';
import { type ConnectedMode, startConnectedMode } from '../deliver/connected-mode.ts';
import { createRedactor } from '../deliver/redact.ts';
import { outboxChannels, type Sink } from '../deliver/sink.ts';
import { createOutboxRepo } from '../store/outbox-repo.ts';
import { checkConnectedConfig, type SinkContext, sinkFactories } from './sinks.ts';

/**
 * Connected mode as the settings describe it: the outbox, the configured sinks (their SDKs imported
 * only when configured) and the worker. Throws ConfigError listing every inconsistent setting.
 */
export async function connectedModeFromConfig(
  d: SinkContext & {
    metrics: Metrics;
    scheduler?: Scheduler;
    reports: ReportHooks & SinkContext['reports'];
    /** Replaces the sinks built from config (tests). */
    sinks?: Sink[];
    /** Worker tuning (tests). */
    idlePollMs?: number;
    random?: () => number;
  },
): Promise<ConnectedMode> {
  const c: Config = d.config;
  const problems = checkConnectedConfig(c);
  if (problems.length) throw new ConfigError(problems);
  const redact = createRedactor(c.TRACEPULSE_REDACT_FIELDS);
  const sinks =
    d.sinks ??
    (await Promise.all(outboxChannels.map((ch) => sinkFactories[ch](d, redact)))).filter(
      (s): s is Sink => s !== null,
    );
  return startConnectedMode({
    repo: createOutboxRepo(d.db),
    sinks,
    redact,
    redactFields: c.TRACEPULSE_REDACT_FIELDS,
    maxAttempts: c.TRACEPULSE_OUTBOX_MAX_ATTEMPTS,
    backoff: {
      initialMs: c.TRACEPULSE_OUTBOX_BACKOFF_MS,
      maxMs: c.TRACEPULSE_OUTBOX_MAX_BACKOFF_MS,
      jitter: 0.5,
    },
    maxPending: c.TRACEPULSE_OUTBOX_MAX_PENDING,
    retentionMs: c.TRACEPULSE_RETENTION_DAYS * 86_400_000,
    clock: d.clock,
    scheduler: d.scheduler,
    logger: d.logger,
    metrics: d.metrics,
    reports: d.reports,
    events: d.events,
    idlePollMs: d.idlePollMs,
    random: d.random,
  });
}
