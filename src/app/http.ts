import type { Hono } from 'hono';
import type { Config } from '../config/config.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import type { ConnectedMode } from '../deliver/connected-mode.ts';
import { createChangeRoutes } from '../http/change-routes.ts';
import { createHealthRoutes } from '../http/health-routes.ts';
import { createOutboxRoutes } from '../http/outbox-routes.ts';
import { createQueryRoutes } from '../http/query-routes.ts';
import { createReportRoutes } from '../http/report-routes.ts';
import { createHttpApp } from '../http/server.ts';
import { createSessionRoutes } from '../http/session-routes.ts';
import { createHttpIngestRoutes } from '../ingest/http.ts';
import { createPushRoutes } from '../ingest/push-routes.ts';
import type { ReportService } from '../pipeline/reports.ts';
import { diskFreeBytes, storeBytes } from '../store/retention.ts';
import type { ChangeSources } from './change-sources.ts';
import type { ChatFeature } from './chat.ts';
import type { AppIntake } from './ingest.ts';
import type { AppStore } from './store.ts';

/** Every feature's routes behind the API guard, in the order they are matched. */
export function apiRoutes(deps: {
  config: Config;
  store: AppStore;
  intake: AppIntake;
  changeSources: ChangeSources;
  reports: ReportService;
  connected: ConnectedMode;
  chat: ChatFeature;
  clock: Clock;
  metrics: Metrics;
}): Hono[] {
  const { config, store, intake, clock } = deps;
  return [
    // First: role checks for browser sessions on /api and /webhook (API keys are unaffected).
    deps.chat.guard,
    createHttpIngestRoutes(intake.intake),
    intake.ocpp.routes,
    // Issue 12: Loki push and OTLP/HTTP logs receivers, into the same intake as POST /api/logs.
    createPushRoutes(intake.intake, {
      serviceLabel: config.TRACEPULSE_LOKI_SERVICE_LABEL,
      maxBodyBytes: config.TRACEPULSE_MAX_BODY_BYTES,
    }),
    createQueryRoutes({
      queries: store.queries,
      maps: store.maps,
      maxBodyBytes: config.TRACEPULSE_MAX_BODY_BYTES,
    }),
    createChangeRoutes({ changes: deps.changeSources.repo, clock, metrics: deps.metrics }),
    createReportRoutes({ reports: deps.reports, maps: store.maps }),
    createOutboxRoutes({ repo: deps.connected.repo, worker: deps.connected.worker, clock }),
    createSessionRoutes({ queries: store.queries }),
    ...deps.chat.routes,
  ];
}

/**
 * The HTTP application: the API routes behind the guard and body limit, and /healthz and /metrics
 * open, with each component's health read at request time and the store's gauges.
 */
export function createAppHttp(deps: {
  config: Config;
  store: AppStore;
  routes: Hono[];
  components: Record<string, () => unknown>;
  mqttSubscribed: () => boolean;
  alternativeAuth: (req: Request) => Promise<boolean>;
  version: string;
  stationId: string;
  logger: Logger;
  metrics: Metrics;
}): Hono {
  const { config, store, metrics } = deps;
  const { db, writer } = store;
  const health = createHealthRoutes({
    db,
    store: () => ({ ...writer.state(), freeBytes: diskFreeBytes(config.TRACEPULSE_DATA_DIR) }),
    maps: store.maps,
    metrics,
    version: deps.version,
    stationId: deps.stationId,
    components: deps.components,
  });

  metrics.gauge('tracepulse_store_bytes', 'Bytes used by the SQLite store', () => [
    { value: storeBytes(db) },
  ]);
  metrics.gauge('tracepulse_store_writable', '1 when the last commit succeeded, 0 while writes fail', () => [
    { value: writer.state().writable ? 1 : 0 },
  ]);
  metrics.gauge('tracepulse_disk_free_bytes', 'Free bytes on the data directory file system', () => {
    const free = diskFreeBytes(config.TRACEPULSE_DATA_DIR);
    return free === null ? [] : [{ value: free }];
  });
  metrics.gauge('tracepulse_mqtt_connected', '1 when the MQTT receiver is connected and subscribed', () =>
    config.TRACEPULSE_MQTT_URL ? [{ value: deps.mqttSubscribed() ? 1 : 0 }] : [],
  );

  return createHttpApp({
    apiKeys: config.TRACEPULSE_API_KEYS,
    maxBodyBytes: config.TRACEPULSE_MAX_BODY_BYTES,
    logger: deps.logger.child('http'),
    metrics,
    routes: deps.routes,
    openRoutes: [health],
    alternativeAuth: deps.alternativeAuth,
  });
}
