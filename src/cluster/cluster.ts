import type { Database } from 'bun:sqlite';
import type { Scheduler } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import type { ReportBus } from '../core/ports.ts';
import type { Report } from '../core/report.ts';
import type { SystemMapSource } from '../map/map-source.ts';
import { createSyncState } from '../store/sync-state.ts';
import { createEvidenceStreams, type EvidenceStreams } from './evidence-streams.ts';
import { startMapSync } from './map-sync.ts';
import { createRedisLink, type RedisLink } from './redis-link.ts';
import { startReportStream } from './report-stream.ts';
import { createTriggerClaims, type TriggerClaims } from './trigger-claims.ts';
import type { GitHubApi } from '../sources/github-api.ts';
import { shareGitHub } from './shared-github.ts';

/** Sync to Redis and, in cluster mode, the parts that make several instances act as one. */
export interface Cluster {
  link: RedisLink;
  /** Cluster mode only: who analyses each trigger. */
  claims: TriggerClaims | null;
  /** Cluster mode only: shared window evidence (append after commit; a trigger-time log source). */
  evidence: EvidenceStreams | null;
  /** Shares the GitHub commit and listing cache through Redis (sync mode and cluster mode). */
  shareGitHub(api: GitHubApi): GitHubApi;
  health(): Record<string, unknown>;
  stop(): void;
}

const HEARTBEAT_MS = 1000;
const PEER_TTL_MS = 5000;
const STARTUP_WAIT_MS = 1000;

export async function startCluster(deps: {
  url: string;
  prefix: string;
  mode: 'redis' | 'off';
  instanceId: string;
  db: Database;
  maps: SystemMapSource;
  mapPath: string;
  reports: ReportBus & { get(id: string): Report | null };
  claimTtlMs: number;
  evidenceMaxLen: number;
  reportsMaxLen: number;
  logger: Logger;
  metrics: Metrics;
  now: () => number;
  /** Every cluster period: heartbeat, watchdog, renewals, re-checks (tests advance a manual clock). */
  scheduler: Scheduler;
}): Promise<Cluster> {
  const { logger, metrics, now, instanceId, scheduler } = deps;
  const link = await createRedisLink({
    url: deps.url,
    prefix: deps.prefix,
    logger: logger.child('redis'),
    scheduler,
  });
  // A moment for the first connection, so start-up recovery claims its triggers (bounded: Redis
  // being down must not hold start-up; claims then wait for it a little, see trigger-claims.ts).
  for (let waited = 0; !link.connected() && waited < STARTUP_WAIT_MS; waited += 20) await Bun.sleep(20);
  const sync = createSyncState(deps.db);
  const storeId = sync.ensure('store_id', () => Bun.randomUUIDv7());
  const cluster = deps.mode === 'redis';

  const mapSync = startMapSync({
    link,
    maps: deps.maps,
    mapPath: deps.mapPath,
    instanceId,
    logger: logger.child('map-sync'),
    metrics,
    now,
    scheduler,
  });
  const reportStream = startReportStream({
    link,
    db: deps.db,
    sync,
    storeId,
    instanceId,
    bus: deps.reports,
    getReport: (id) => deps.reports.get(id),
    maxLen: deps.reportsMaxLen,
    logger,
    metrics,
    now,
    scheduler,
  });
  const claims = cluster
    ? createTriggerClaims({
        link,
        instanceId,
        ttlMs: deps.claimTtlMs,
        logger: logger.child('claims'),
        metrics,
        now,
        scheduler,
      })
    : null;
  const evidence = cluster
    ? createEvidenceStreams({ link, instanceId, maxLen: deps.evidenceMaxLen, metrics, now })
    : null;
  if (claims)
    deps.reports.onReport((n) => {
      if (n.kind !== 'revised') claims.reported(n.report.eventId);
    });

  // Heartbeat: a sorted set of instance -> last beat; peers are those seen in the last few seconds.
  const peersKey = `${deps.prefix}peers`;
  let peers: Array<{ instance: string; lastSeenMs: number }> = [];
  let beating = false;
  const beat = async () => {
    if (beating || !link.connected()) return;
    beating = true;
    try {
      const t = now();
      await link.send('ZADD', [peersKey, String(t), instanceId]);
      await link.send('ZREMRANGEBYSCORE', [peersKey, '-inf', String(t - 10 * PEER_TTL_MS)]);
      const raw = (await link.send('ZRANGEBYSCORE', [
        peersKey,
        String(t - PEER_TTL_MS),
        '+inf',
        'WITHSCORES',
      ])) as unknown[] | null;
      peers = pairs(raw ?? []).map(([instance, at]) => ({ instance, lastSeenMs: t - Number(at) }));
    } catch {
      // counted by the link state; the next beat tries again
    } finally {
      beating = false;
    }
  };
  const timer = scheduler.every(HEARTBEAT_MS, () => void beat());
  link.onConnect(() => void beat());

  logger.info(cluster ? 'cluster mode on (Redis)' : 'Redis sync on (cluster mode off)', {
    instance: instanceId,
    prefix: deps.prefix,
  });

  return {
    link,
    claims,
    evidence,
    shareGitHub: (api) => shareGitHub(api, { link, instanceId, metrics, now }),
    health: () => ({
      enabled: true,
      mode: deps.mode,
      instance: instanceId,
      prefix: deps.prefix,
      redis: link.state(),
      peers: link.connected() ? peers : [],
      claims: claims?.state() ?? null,
      evidence: evidence?.state() ?? null,
      map: mapSync.state(),
      reports: reportStream.state(),
    }),
    stop() {
      timer.cancel();
      claims?.stop();
      reportStream.stop();
      mapSync.stop();
      if (link.connected()) void link.send('ZREM', [peersKey, instanceId]).catch(() => {});
      link.close();
    },
  };
}

/** RESP2 gives [member, score, ...]; RESP3 may give [[member, score], ...]. */
function pairs(raw: unknown[]): Array<[string, string]> {
  if (raw.length && Array.isArray(raw[0]))
    return (raw as unknown[][]).map((p) => [String(p[0]), String(p[1])]);
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([String(raw[i]), String(raw[i + 1])]);
  return out;
}
