import type { Database } from 'bun:sqlite';
import { hostname } from 'node:os';
import type { Hono } from 'hono';
import type { Config } from './config/config.ts';
import { type Clock, type Scheduler, systemClock, systemScheduler } from './core/clock.ts';
import type { DebugEvent } from './core/event.ts';
import type { LlmAdapter } from './core/llm.ts';
import { createLogger, type Logger } from './core/logger.ts';
import { createMetrics, type Metrics } from './core/metrics.ts';
import type { ChangeRefresher, ChangeSource } from './core/ports.ts';
import type { MqttReceiver } from './ingest/mqtt.ts';
import type { AnalysisPipeline } from './pipeline/analysis.ts';
import { recoverUnreportedTriggers } from './pipeline/recovery.ts';
import { createReportService, type ReportService } from './pipeline/reports.ts';
import type { SystemMapSource } from './sources/system-map-source.ts';
import type { IngestQueries } from './store/ingest-queries.ts';
import type { IngestWriter } from './store/ingest-writer.ts';
import { startAnalysis } from './app/analysis.ts';
import { createChangeSources } from './app/change-sources.ts';
import { createChatFeature } from './app/chat.ts';
import { clusterFromConfig } from './app/cluster.ts';
import { connectedModeFromConfig } from './app/connected-mode.ts';
import { apiRoutes, createAppHttp } from './app/http.ts';
import { createAppIntake, createReceivers } from './app/ingest.ts';
import { logReady, withGrace } from './app/lifecycle.ts';
import { listen } from './app/listen.ts';
import { llmAdapterFromConfig } from './app/llm.ts';
import { startLogFollowers } from './app/log-followers.ts';
import { StartupError } from './app/startup-error.ts';
import { startStore } from './app/store.ts';
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

/**
 * Composition root: builds every stage from config, in pipeline order (store, ingest, cluster,
 * change sources, delivery, analysis, chat, HTTP, receivers), and wires them; the only place that
 * knows the whole graph. Each stage's wiring is in src/app/.
 */
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
  const instanceId = config.TRACEPULSE_INSTANCE_ID ?? hostname();
  const base = { config, clock, scheduler, logger, metrics };

  const store = startStore(base);
  const { db, maps } = store;
  const intake = createAppIntake({ ...base, store });
  const reports = createReportService({ db, clock, logger: logger.child('reports'), metrics });
  const cluster = await clusterFromConfig({ ...base, instanceId, db, maps, reports });
  const changeSources = await createChangeSources({
    ...base,
    db,
    maps,
    version,
    wrapGitHub: cluster?.shareGitHub,
  });
  // One adapter for both LLM features; the SDK itself is imported on the first call.
  const llm = llmAdapterFromConfig(config);
  // Connected mode (issue 4): registers its outbox hook on the reports before any report can be made.
  const connected = await connectedModeFromConfig({
    ...base,
    db,
    stationId,
    graph: () => maps.current().graph,
    reports,
    changes: changeSources.changes,
    events: store.queries,
    llm,
  });
  const { analysis, analyse } = await startAnalysis({
    ...base,
    store,
    reports,
    changeSources,
    cluster,
    stationId,
  });
  if (cluster?.evidence) intake.shareWith(cluster.evidence);

  const ctx: AppContext = {
    config,
    db,
    clock,
    logger,
    metrics,
    maps,
    queries: store.queries,
    writer: store.writer,
    stationId,
    changes: changeSources.changes,
    changeRefresher: changeSources.refresher,
    onTrigger: store.onTrigger,
    reports,
    analysis,
    llm,
  };
  // Chat UI (issue 7): sessions, live updates, questions, feedback and learning.
  const chat = createChatFeature(ctx, scheduler);
  const routes = apiRoutes({ ...base, store, intake, changeSources, reports, connected, chat });

  // Stopped in reverse order, after the input is closed.
  const stopHooks: Array<() => Promise<void> | void> = [];
  changeSources.start();
  stopHooks.push(() => changeSources.stop());
  stopHooks.push(() => analysis.stop());
  stopHooks.push(() => connected.stop());
  stopHooks.push(() => chat.stop());
  stopHooks.push(() => intake.ocpp.stop());
  const followers = await startLogFollowers({ ...base, stationId, db, intake: intake.intake });
  stopHooks.push(() => followers.stop());

  const receivers = createReceivers({
    ...base,
    intake,
    store,
    stationId,
    instanceId,
    clustered: Boolean(cluster?.claims),
  });
  const http = createAppHttp({
    ...base,
    store,
    routes,
    components: {
      ...receivers.health,
      github: () => changeSources.health(),
      rules: () => analysis.rulesStatus(),
      outbox: () => connected.worker.channels(),
      lokiFollow: followers.lokiHealth,
      elasticsearchFollow: followers.elasticsearchHealth,
      cluster: () => cluster?.health() ?? { enabled: false },
    },
    mqttSubscribed: () => receivers.mqtt()?.state().subscribed === true,
    alternativeAuth: chat.alternativeAuth,
    version,
    stationId,
  });
  const server = listen({ config, http, intake: intake.intake, websocket: chat.websocket, logger });
  await receivers.start();
  store.startRetention();
  // Committed triggers a crash or an overload left without a report (src/pipeline/recovery.ts).
  recoverUnreportedTriggers({ db, enqueue: analyse, logger, metrics, limit: 500 });

  const port = server.port ?? config.TRACEPULSE_PORT;
  logReady({
    config,
    env: options.env ?? {},
    port,
    version,
    readyMs: Math.round(performance.now() - startedAt),
    logger,
  });

  let stopping: Promise<void> | null = null;
  return {
    ctx,
    http,
    port,
    url: `http://127.0.0.1:${port}`,
    mqtt: receivers.mqtt(),
    stop: () => {
      stopping ??= (async () => {
        store.stopBounds();
        // Order matters: stop taking input, let in-flight requests and PUBACKs finish, then close the store.
        await receivers.stop((p, what) => withGrace(p, 5_000, () => logger.warn(what)));
        // In-flight requests get a grace period; idle keep-alive clients must not hold shutdown hostage.
        await withGrace(server.stop(false), 5_000, () =>
          logger.warn('HTTP connections still open; closing them'),
        );
        await server.stop(true);
        for (const h of stopHooks.reverse()) await h();
        await store.flush();
        cluster?.stop();
        store.close();
        logger.info('TracePulse stopped');
      })();
      return stopping;
    },
  };
}
