import type { Database } from 'bun:sqlite';
import type { Config } from '../config/config.ts';
import type { Clock, Scheduler } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import type { IngestIntake } from '../ingest/intake.ts';
import type { EsFollower } from '../sources/es-follow.ts';
import type { LokiFollower } from '../sources/loki-follow.ts';
import { elasticsearchOptions, lokiOptions } from '../sources/log-sources.ts';
import { latestBatchKey } from '../store/follow-checkpoints.ts';

export interface LogFollowers {
  /** The /healthz components. */
  lokiHealth(): { enabled: false } | ({ enabled: true } & ReturnType<LokiFollower['state']>);
  elasticsearchHealth(): { enabled: false } | ({ enabled: true } & ReturnType<EsFollower['state']>);
  stop(): Promise<void>;
}

/**
 * Issue 12: Loki live follow and Elasticsearch follow into the normal ingest path, each resuming
 * from the checkpoint committed with its lines; each module is imported only when configured.
 */
export async function startLogFollowers(deps: {
  config: Config;
  stationId: string;
  db: Database;
  intake: IngestIntake;
  clock: Clock;
  scheduler: Scheduler;
  logger: Logger;
  metrics: Metrics;
}): Promise<LogFollowers> {
  const { config, db, intake, clock, scheduler, logger } = deps;
  const lokiFollow = config.TRACEPULSE_LOKI_FOLLOW ? lokiOptions(config, deps.stationId) : null;
  let loki: LokiFollower | null = null;
  if (lokiFollow) {
    const { startLokiFollower, KEY_PREFIX } = await import('../sources/loki-follow.ts');
    loki = startLokiFollower({
      options: lokiFollow,
      store: (lines, batch) => intake.logs(lines, batch),
      logger: logger.child('loki-follow'),
      metrics: deps.metrics,
      loadCheckpoint: () => latestBatchKey(db, KEY_PREFIX),
      now: () => clock.now(),
      scheduler,
    });
  }
  const esFollow = config.TRACEPULSE_ELASTICSEARCH_FOLLOW ? elasticsearchOptions(config) : null;
  let es: EsFollower | null = null;
  if (esFollow) {
    const { startEsFollower, KEY_PREFIX } = await import('../sources/es-follow.ts');
    es = startEsFollower({
      options: esFollow,
      store: (lines, batch) => intake.logs(lines, batch),
      logger: logger.child('es-follow'),
      loadCheckpoint: () => latestBatchKey(db, KEY_PREFIX),
      now: () => clock.now(),
      scheduler,
      intervalMs: config.TRACEPULSE_ELASTICSEARCH_FOLLOW_INTERVAL_MS,
    });
  }
  return {
    lokiHealth: () => (loki ? { enabled: true, ...loki.state() } : { enabled: false }),
    elasticsearchHealth: () => (es ? { enabled: true, ...es.state() } : { enabled: false }),
    async stop() {
      // In the order app.ts stopped them before (Elasticsearch, then Loki).
      await es?.stop();
      await loki?.stop();
    },
  };
}
