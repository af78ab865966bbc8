import type { Database } from 'bun:sqlite';
import { hostname } from 'node:os';
import type { Hono } from 'hono';
import { type Config, unknownVariableWarnings } from './config/config.ts';
import { type Clock, type Scheduler, systemClock, systemScheduler } from './core/clock.ts';
import type { DebugEvent } from './core/event.ts';
import { createLogger, type Logger } from './core/logger.ts';
import { createMetrics, type Metrics } from './core/metrics.ts';
import type { ChangeRefresher, ChangeSource } from './core/ports.ts';
import { connectedModeFromConfig } from './app/connected-mode.ts';
import { createChangeRoutes } from './http/change-routes.ts';
import { createOutboxRoutes } from './http/outbox-routes.ts';
import { createQueryRoutes } from './http/query-routes.ts';
import { createReportRoutes } from './http/report-routes.ts';
import { createHealthRoutes } from './http/health-routes.ts';
import { createHttpApp } from './http/server.ts';
import { createSessionRoutes } from './http/session-routes.ts';
import { createHttpIngestRoutes } from './ingest/http.ts';
import type { EverestReceiver } from './ingest/everest.ts';
import { type MqttReceiver, startMqttReceiver } from './ingest/mqtt.ts';
import { createIngestIntake, type IngestIntake } from './ingest/intake.ts';
import type { LogLine } from './core/log-line.ts';
import { createLazyOcppIngest } from './ingest/ocpp-lazy.ts';
import { createPushRoutes } from './ingest/push-routes.ts';
import { type AnalysisPipeline, createAnalysisPipeline } from './pipeline/analysis.ts';
import { recoverUnreportedTriggers } from './pipeline/recovery.ts';
import { createReportService, type ReportService } from './pipeline/reports.ts';
import { createChangeSources } from './app/change-sources.ts';
import { llmAdapterFromConfig } from './app/llm.ts';
import type { LlmAdapter } from './core/llm.ts';
import { createLogSources } from './sources/log-sources.ts';
import { createSystemMapSource, type SystemMapSource } from './sources/system-map-source.ts';
import { createIngestQueries, type IngestQueries } from './store/ingest-queries.ts';
import { createIngestWriter, type IngestWriter } from './store/ingest-writer.ts';
import { createSizeGuard, diskFreeBytes, scheduleRetention, storeBytes } from './store/retention.ts';
import { createChatFeature } from './app/chat.ts';
import { startLogFollowers } from './app/log-followers.ts';
import { StartupError } from './app/startup-error.ts';
import { openAppStore } from './app/store.ts';
import { listen } from './app/listen.ts';
import pkg from '../package.json' with { type: 'json' };

export const version: string = pkg.version;

/** Everything a feature needs to plug into the running service. */
export interface AppContext {
  config: Config;
  db: Database;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  maps: SystemMapSource;
  queries: IngestQueries;
  writer: IngestWriter;
  stationId: string;
  /** Change records (POST /api/changes) and cached GitHub commits, as evidence. */
  changes: ChangeSource;
  /** Refreshes the GitHub cache for a trigger's files; undefined when GitHub is not configured. */
  changeRefresher?: ChangeRefresher;
  /** Called after a new high-priority event is committed. Handlers must not throw. */
  onTrigger(handler: (event: DebugEvent) => void): void;
  /** Stored reports and incidents; hooks for the outbox (in-transaction) and listeners (after commit). */
  reports: ReportService;
  /** Root-cause analysis of triggers; analyzeStored() re-ranks a stored event without storing. */
  analysis: AnalysisPipeline;
  /** The one OpenAI-compatible adapter (chat answers, refinement); null when no OPENAI_* setting is given. */
  llm: LlmAdapter | null;
}

export interface RunningApp {
  ctx: AppContext;
  http: Hono;
  port: number;
  url: string;
  mqtt: MqttReceiver | null;
  /** Stops taking input, finishes what was acknowledged, closes the store. */
  stop(): Promise<void>;
}

export { StartupError };

/** Composition root: builds every stage from config and wires them; the only place that knows the whole graph. */
export async function startApp(
  config: Config,
  options: {
    clock?: Clock;
    /** Every timer of the service's own periods, delays and deadlines (tests pass a manual clock and advance it). */
    scheduler?: Scheduler;
    logger?: Logger;
    env?: Record<string, string | undefined>;
  } = {},
): Promise<RunningApp> {
  const startedAt = performance.now();
  const clock = options.clock ?? systemClock;
  const scheduler = options.scheduler ?? systemScheduler;
  const logger = options.logger ?? createLogger({ level: config.TRACEPULSE_LOG_LEVEL });
  const metrics = createMetrics();
  const stationId = config.TRACEPULSE_STATION_ID ?? hostname();

  const { db, dbPath, fullAtStart, checkpointer } = openAppStore({
    config,
    clock,
    scheduler,
    logger,
    metrics,
  });
  const queries = createIngestQueries(db);
  const maps = createSystemMapSource({ path: config.TRACEPULSE_SYSTEM_MAP, db, logger: logger.child('map') });

  const retentionPolicy = {
    maxAgeMs: config.TRACEPULSE_RETENTION_DAYS * 86_400_000,
    maxBytes: config.TRACEPULSE_MAX_DB_MB * 1024 * 1024,
  };
  const sizeGuard = createSizeGuard(db, {
    policy: retentionPolicy,
    walPath: `${dbPath}-wal`,
    dir: config.TRACEPULSE_DATA_DIR,
    reserveBytes: config.TRACEPULSE_DISK_RESERVE_MB * 1024 * 1024,
    clock,
    scheduler,
    logger: logger.child('store'),
    probe: () => writer.probe(),
  });
  const triggerHandlers: Array<(e: DebugEvent) => void> = [];
  // Told the rows of each ingest commit: the WAL checkpointer (load), the size bound and pattern indexing.
  const commitHandlers: Array<(rows: number, bytes: number) => void> = [
    checkpointer.noteCommitted,
    sizeGuard.noteCommitted,
  ];
  const writer = createIngestWriter(db, {
    onFailed: sizeGuard.noteFailed,
    failingAtStart: fullAtStart,
    onCommitted: (rows, bytes) => {
      for (const h of commitHandlers) h(rows, bytes);
    },
    onEventsCommitted: (results) => {
      for (const r of results) {
        if (!r.inserted || r.event.priority !== 'high') continue;
        for (const h of triggerHandlers) {
          try {
            h(r.event);
          } catch (err) {
            logger.error('trigger handler failed', { eventId: r.event.id, error: String(err) });
          }
        }
      }
    },
  });

  // Learn as soon as space is back, not only at the next write.
  if (fullAtStart) sizeGuard.noteFailed();

  const localIntake = createIngestIntake({
    writer,
    metrics,
    clock,
    triggers: () => maps.current().graph.triggers,
  });
  // Cluster mode: committed log lines are also appended to the shared evidence streams (after the
  // commit, never holding the acknowledgement). Set once the cluster is up, before any input is taken.
  let shareLines: ((lines: LogLine[]) => void) | null = null;
  let shareEvent: ((event: DebugEvent) => void) | null = null;
  const intake: IngestIntake = {
    ...localIntake,
    event: async (event) => {
      const r = await localIntake.event(event);
      if (shareEvent && r.inserted) shareEvent(r.event);
      return r;
    },
    logs: async (lines, batch) => {
      const r = await localIntake.logs(lines, batch);
      if (shareLines && !r.duplicate) shareLines(lines);
      return r;
    },
  };

  // OCPP-J frames (issue 14): POST /api/ocpp/:chargePointId and MQTT PREFIX/ocpp/<chargePointId>.
  const ocpp = createLazyOcppIngest(async () =>
    (await import('./ingest/ocpp.ts')).createOcppIngest({
      sink: intake,
      graph: () => maps.current().graph,
      responseTimeoutMs: config.TRACEPULSE_OCPP_RESPONSE_TIMEOUT_S * 1000,
      logger: logger.child('ocpp'),
      metrics,
      scheduler,
    }),
  );

  const reports = createReportService({ db, clock, logger: logger.child('reports'), metrics });
  // Issue 13: sync to Redis, and several instances acting as one (docs/cluster.md); loaded only when configured.
  const instanceId = config.TRACEPULSE_INSTANCE_ID ?? hostname();
  const cluster = config.REDIS_URL
    ? await (await import('./cluster/cluster.ts')).startCluster({
        url: config.REDIS_URL,
        prefix: config.TRACEPULSE_REDIS_PREFIX,
        mode: config.TRACEPULSE_CLUSTER,
        instanceId,
        db,
        maps,
        mapPath: config.TRACEPULSE_SYSTEM_MAP,
        reports,
        claimTtlMs: config.TRACEPULSE_CLAIM_TTL_MS,
        evidenceMaxLen: config.TRACEPULSE_REDIS_EVIDENCE_MAXLEN,
        reportsMaxLen: config.TRACEPULSE_REDIS_REPORTS_MAXLEN,
        logger: logger.child('cluster'),
        metrics,
        now: () => clock.now(),
        scheduler,
      })
    : null;
  const changeSources = await createChangeSources({
    config,
    db,
    clock,
    scheduler,
    logger,
    metrics,
    maps,
    version,
    wrapGitHub: cluster?.shareGitHub,
  });

  // One adapter for both LLM features; the SDK itself is imported on the first call.
  const llm = llmAdapterFromConfig(config);
  // Connected mode (issue 4): registers its outbox hook on the reports before any report can be made.
  const connected = await connectedModeFromConfig({
    config,
    db,
    clock,
    scheduler,
    logger,
    metrics,
    stationId,
    graph: () => maps.current().graph,
    reports,
    changes: changeSources.changes,
    events: queries,
    llm,
  });
  const analysis = createAnalysisPipeline({
    db,
    clock,
    scheduler,
    logger,
    metrics,
    maps,
    reports,
    stationId,
    loadEvent: (id) => queries.event(id),
    changes: changeSources.changes,
    refresher: changeSources.refresher,
    rulesFile: config.TRACEPULSE_RULES_FILE,
    lookbackDays: config.TRACEPULSE_CHANGE_LOOKBACK_DAYS,
    stormWindowS: config.TRACEPULSE_STORM_WINDOW_S,
    // Issue 12: Loki and Elasticsearch read at trigger time (docs/log-sources.md).
    logSources: [
      ...(await createLogSources(config, stationId)),
      // Cluster mode: lines other instances took, read like Loki's (merged without duplicates).
      ...(cluster?.evidence ? [cluster.evidence.source] : []),
    ],
    // Cluster mode: events other instances took (merged by id).
    eventSources: cluster?.evidence ? [cluster.evidence.events] : [],
  });
  // Cluster mode: a trigger is analysed (and so delivered) only by the instance holding its claim,
  // a moment after it, so the peers' last lines are in Redis.
  const settleMs = config.TRACEPULSE_CLUSTER_SETTLE_MS;
  const claims = cluster?.claims;
  const analyse = claims
    ? (e: DebugEvent) =>
        claims.offer(e, (won) =>
          settleMs ? void scheduler.after(settleMs, () => analysis.enqueue(won)) : analysis.enqueue(won),
        )
    : (e: DebugEvent) => analysis.enqueue(e);
  triggerHandlers.push(analyse);
  if (cluster?.evidence) {
    shareLines = cluster.evidence.append;
    shareEvent = cluster.evidence.appendEvent;
  }
  commitHandlers.push(analysis.noteCommitted);

  const ctx: AppContext = {
    config,
    db,
    clock,
    logger,
    metrics,
    maps,
    queries,
    writer,
    stationId,
    changes: changeSources.changes,
    changeRefresher: changeSources.refresher,
    onTrigger: (h) => {
      triggerHandlers.push(h);
    },
    reports,
    analysis,
    llm,
  };

  // Chat UI (issue 7): sessions, live updates, questions, feedback and learning.
  const chat = createChatFeature(ctx, scheduler);

  // Features register their routes, trigger handlers and stop hooks here, in dependency order.
  const routes: Hono[] = [
    // First: role checks for browser sessions on /api and /webhook (API keys are unaffected).
    chat.guard,
    createHttpIngestRoutes(intake),
    ocpp.routes,
    // Issue 12: Loki push and OTLP/HTTP logs receivers, into the same intake as POST /api/logs.
    createPushRoutes(intake, {
      serviceLabel: config.TRACEPULSE_LOKI_SERVICE_LABEL,
      maxBodyBytes: config.TRACEPULSE_MAX_BODY_BYTES,
    }),
    createQueryRoutes({ queries, maps, maxBodyBytes: config.TRACEPULSE_MAX_BODY_BYTES }),
    createChangeRoutes({ changes: changeSources.repo, clock, metrics }),
    createReportRoutes({ reports, maps }),
    createOutboxRoutes({ repo: connected.repo, worker: connected.worker, clock }),
    createSessionRoutes({ queries }),
    ...chat.routes,
  ];
  const stopHooks: Array<() => Promise<void> | void> = [];
  changeSources.start();
  stopHooks.push(() => changeSources.stop());
  stopHooks.push(() => analysis.stop());
  stopHooks.push(() => connected.stop());
  stopHooks.push(() => chat.stop());
  stopHooks.push(() => ocpp.stop());

  const followers = await startLogFollowers({
    config,
    stationId,
    db,
    intake,
    clock,
    scheduler,
    logger,
    metrics,
  });
  stopHooks.push(() => followers.stop());

  let mqtt: MqttReceiver | null = null;
  let everest: EverestReceiver | null = null;
  const everestUrl = config.TRACEPULSE_EVEREST
    ? (config.TRACEPULSE_EVEREST_MQTT_URL ?? config.TRACEPULSE_MQTT_URL)
    : undefined;
  if (config.TRACEPULSE_EVEREST && !everestUrl)
    logger.warn(
      'TRACEPULSE_EVEREST=on needs TRACEPULSE_EVEREST_MQTT_URL or TRACEPULSE_MQTT_URL; EVerest adapter off',
    );
  const health = createHealthRoutes({
    db,
    store: () => ({ ...writer.state(), freeBytes: diskFreeBytes(config.TRACEPULSE_DATA_DIR) }),
    maps,
    metrics,
    version,
    stationId,
    components: {
      mqtt: () => (config.TRACEPULSE_MQTT_URL ? { enabled: true, ...mqtt?.state() } : { enabled: false }),
      everest: () => (everestUrl ? { enabled: true, ...everest?.state() } : { enabled: false }),
      github: () => changeSources.health(),
      rules: () => analysis.rulesStatus(),
      outbox: () => connected.worker.channels(),
      lokiFollow: followers.lokiHealth,
      elasticsearchFollow: followers.elasticsearchHealth,
      cluster: () => cluster?.health() ?? { enabled: false },
    },
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
    config.TRACEPULSE_MQTT_URL ? [{ value: mqtt?.state().subscribed ? 1 : 0 }] : [],
  );

  const http = createHttpApp({
    apiKeys: config.TRACEPULSE_API_KEYS,
    maxBodyBytes: config.TRACEPULSE_MAX_BODY_BYTES,
    logger: logger.child('http'),
    metrics,
    routes,
    openRoutes: [health],
    alternativeAuth: chat.alternativeAuth,
  });

  const server = listen({ config, http, intake, websocket: chat.websocket, logger });

  if (config.TRACEPULSE_MQTT_URL) {
    mqtt = await startMqttReceiver({
      url: config.TRACEPULSE_MQTT_URL,
      prefix: config.TRACEPULSE_MQTT_TOPIC_PREFIX,
      // Cluster mode: one persistent session per instance, all in one shared-subscription group.
      clientId:
        config.TRACEPULSE_MQTT_CLIENT_ID ??
        (claims ? `tracepulse-${stationId}-${instanceId}` : `tracepulse-${stationId}`).slice(0, 128),
      shareGroup: claims ? config.TRACEPULSE_MQTT_SHARE_GROUP : undefined,
      intake,
      logger: logger.child('mqtt'),
      maxPayloadBytes: config.TRACEPULSE_MQTT_MAX_PAYLOAD_BYTES,
      ocpp: ocpp.mqtt,
    });
  }

  if (everestUrl) {
    // EVerest adapter (issue 14): errors and session events from the station's own topics.
    const { startEverestReceiver } = await import('./ingest/everest.ts');
    everest = await startEverestReceiver({
      url: everestUrl,
      prefix: config.TRACEPULSE_EVEREST_PREFIX,
      apiPrefix: config.TRACEPULSE_EVEREST_API_PREFIX,
      clientId: `${config.TRACEPULSE_MQTT_CLIENT_ID ?? `tracepulse-${stationId}`}-everest`.slice(0, 128),
      sink: intake,
      graph: () => maps.current().graph,
      logger: logger.child('everest'),
      metrics,
      maxPayloadBytes: config.TRACEPULSE_MQTT_MAX_PAYLOAD_BYTES,
    });
  }

  const retention = scheduleRetention(db, {
    policy: retentionPolicy,
    clock,
    scheduler,
    logger,
  });

  // Committed triggers a crash or an overload left without a report (src/pipeline/recovery.ts).
  recoverUnreportedTriggers({ db, enqueue: analyse, logger, metrics, limit: 500 });

  const port = server.port ?? config.TRACEPULSE_PORT;
  for (const w of unknownVariableWarnings(options.env ?? {})) logger.warn(w);
  const loopback = /^(127\.|::1$|localhost$)/.test(config.TRACEPULSE_HOST);
  if (!config.TRACEPULSE_API_KEYS.length)
    logger.warn(
      loopback
        ? `no API keys: listening on ${config.TRACEPULSE_HOST} only; set TRACEPULSE_API_KEYS to take events from the network`
        : `no API keys: anyone who reaches ${config.TRACEPULSE_HOST}:${port} can write (TRACEPULSE_HOST was set); set TRACEPULSE_API_KEYS`,
    );
  logger.info('TracePulse ready', {
    version,
    url: `http://${config.TRACEPULSE_HOST}:${port}`,
    mqtt: config.TRACEPULSE_MQTT_URL ? 'on' : 'off',
    readyMs: Math.round(performance.now() - startedAt),
  });

  let stopping: Promise<void> | null = null;
  return {
    ctx,
    http,
    port,
    url: `http://127.0.0.1:${port}`,
    mqtt,
    stop: () => {
      stopping ??= (async () => {
        retention.stop();
        sizeGuard.stop();
        // Order matters: stop taking input, let in-flight requests and PUBACKs finish, then close the store.
        await withGrace(mqtt?.stop(), 5_000, () => logger.warn('MQTT did not close in time'));
        await withGrace(everest?.stop(), 5_000, () => logger.warn('EVerest MQTT did not close in time'));
        // In-flight requests get a grace period; idle keep-alive clients must not hold shutdown hostage.
        await withGrace(server.stop(false), 5_000, () =>
          logger.warn('HTTP connections still open; closing them'),
        );
        await server.stop(true);
        for (const h of stopHooks.reverse()) await h();
        writer.flush();
        await checkpointer.stop();
        maps.stop();
        cluster?.stop();
        db.close();
        logger.info('TracePulse stopped');
      })();
      return stopping;
    },
  };
}

/** Waits for `p`, but at most `ms`; then calls `onTimeout` and goes on. */
async function withGrace(p: Promise<unknown> | undefined, ms: number, onTimeout: () => void): Promise<void> {
  if (!p) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), ms);
  });
  if ((await Promise.race([p, late])) === 'late') onTimeout();
  clearTimeout(timer);
}
