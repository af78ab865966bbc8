import type { Database } from 'bun:sqlite';
import type { Cluster } from '../cluster/cluster.ts';
import type { Config } from '../config/config.ts';
import type { Clock, Scheduler } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import type { SystemMapSource } from '../map/map-source.ts';
import type { ReportService } from '../pipeline/reports.ts';

/** Issue 13: sync to Redis, and several instances acting as one (docs/cluster.md); loaded only when configured. */
export async function clusterFromConfig(deps: {
  config: Config;
  instanceId: string;
  db: Database;
  maps: SystemMapSource;
  reports: ReportService;
  clock: Clock;
  scheduler: Scheduler;
  logger: Logger;
  metrics: Metrics;
}): Promise<Cluster | null> {
  const { config, clock } = deps;
  if (!config.REDIS_URL) return null;
  return (await import('../cluster/cluster.ts')).startCluster({
    url: config.REDIS_URL,
    prefix: config.TRACEPULSE_REDIS_PREFIX,
    mode: config.TRACEPULSE_CLUSTER,
    instanceId: deps.instanceId,
    db: deps.db,
    maps: deps.maps,
    mapPath: config.TRACEPULSE_SYSTEM_MAP,
    reports: deps.reports,
    claimTtlMs: config.TRACEPULSE_CLAIM_TTL_MS,
    evidenceMaxLen: config.TRACEPULSE_REDIS_EVIDENCE_MAXLEN,
    reportsMaxLen: config.TRACEPULSE_REDIS_REPORTS_MAXLEN,
    logger: deps.logger.child('cluster'),
    metrics: deps.metrics,
    now: () => clock.now(),
    scheduler: deps.scheduler,
  });
}
