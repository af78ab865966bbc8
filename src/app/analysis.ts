import type { Cluster } from '../cluster/cluster.ts';
import type { Config } from '../config/config.ts';
import type { Clock, Scheduler } from '../core/clock.ts';
import type { DebugEvent } from '../core/event.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import { type AnalysisPipeline, createAnalysisPipeline } from '../pipeline/analysis.ts';
import type { ReportService } from '../pipeline/reports.ts';
import { createLogSources } from '../sources/log-sources.ts';
import type { ChangeSources } from './change-sources.ts';
import type { AppStore } from './store.ts';

/**
 * The analysis stage: root-cause analysis of every committed trigger, reading the store, the change
 * sources, Loki/Elasticsearch and (cluster mode) the other instances' evidence. Returns the pipeline
 * and `analyse`, what a trigger goes through: in cluster mode only the instance holding its claim
 * analyses it (and so delivers), a moment after the claim so the peers' last lines are in Redis.
 */
export async function startAnalysis(deps: {
  config: Config;
  store: AppStore;
  reports: ReportService;
  changeSources: ChangeSources;
  cluster: Cluster | null;
  stationId: string;
  clock: Clock;
  scheduler: Scheduler;
  logger: Logger;
  metrics: Metrics;
}): Promise<{ analysis: AnalysisPipeline; analyse(event: DebugEvent): void }> {
  const { config, store, cluster, scheduler } = deps;
  const analysis = createAnalysisPipeline({
    db: store.db,
    clock: deps.clock,
    scheduler,
    logger: deps.logger,
    metrics: deps.metrics,
    maps: store.maps,
    reports: deps.reports,
    stationId: deps.stationId,
    loadEvent: (id) => store.queries.event(id),
    changes: deps.changeSources.changes,
    refresher: deps.changeSources.refresher,
    rulesFile: config.TRACEPULSE_RULES_FILE,
    lookbackDays: config.TRACEPULSE_CHANGE_LOOKBACK_DAYS,
    stormWindowS: config.TRACEPULSE_STORM_WINDOW_S,
    // Issue 12: Loki and Elasticsearch read at trigger time (docs/log-sources.md).
    logSources: [
      ...(await createLogSources(config, deps.stationId)),
      // Cluster mode: lines other instances took, read like Loki's (merged without duplicates).
      ...(cluster?.evidence ? [cluster.evidence.source] : []),
    ],
    // Cluster mode: events other instances took (merged by id).
    eventSources: cluster?.evidence ? [cluster.evidence.events] : [],
  });
  const settleMs = config.TRACEPULSE_CLUSTER_SETTLE_MS;
  const claims = cluster?.claims;
  const analyse = claims
    ? (e: DebugEvent) =>
        claims.offer(e, (won) =>
          settleMs ? void scheduler.after(settleMs, () => analysis.enqueue(won)) : analysis.enqueue(won),
        )
    : (e: DebugEvent) => analysis.enqueue(e);
  store.onTrigger(analyse);
  store.onCommitted(analysis.noteCommitted);
  return { analysis, analyse };
}
