import type { Database } from 'bun:sqlite';
import type { Scheduler } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import type { ReportBus } from '../core/ports.ts';
import type { Report } from '../core/report.ts';
import { reportIdsAfter, reportsAfter, type SyncState } from '../store/sync-state.ts';
import type { RedisLink } from './redis-link.ts';

/** Publishes every stored report to the capped stream `<prefix>reports`, in order, each once. */
export interface ReportStream {
  state(): { published: number; pending: number; lagMs: number | null; lastError: string | null };
  stop(): void;
}

/**
 * Appends a batch and moves this store's cursor (hash `<prefix>reports:cursors`) in one atomic
 * script, skipping rows at or below the cursor Redis already has: a crash between the script and
 * the SQLite cursor update cannot publish a report twice, and the SQLite cursor (ours, durable)
 * resumes after an outage or a Redis that lost its data.
 */
const APPEND = `local cur = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
for i = 3, #ARGV, 2 do
  local rowid = tonumber(ARGV[i])
  if rowid > cur then
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'store', ARGV[1], 'report', ARGV[i + 1])
    cur = rowid
  end
end
redis.call('HSET', KEYS[2], ARGV[1], tostring(cur))
return tostring(cur)`;

const BATCH = 100;
const CURSOR = 'reports_stream_rowid';

export function startReportStream(deps: {
  link: RedisLink;
  db: Database;
  sync: SyncState;
  storeId: string;
  instanceId: string;
  bus: ReportBus;
  getReport: (id: string) => Report | null;
  maxLen: number;
  logger: Logger;
  metrics: Metrics;
  now: () => number;
  /** The periodic drain, in case a wake-up was missed (tests advance a manual clock). */
  scheduler: Scheduler;
}): ReportStream {
  const { link, db, sync, metrics } = deps;
  const streamKey = `${link.prefix}reports`;
  const cursorsKey = `${link.prefix}reports:cursors`;
  let cursor = Number(sync.get(CURSOR) ?? 0);
  let published = 0;
  let lastError: string | null = null;
  let running = false;
  let again = false;
  metrics.describe(
    'tracepulse_cluster_reports_published_total',
    'Reports appended to the <prefix>reports stream',
  );

  const drain = async () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        while (link.connected()) {
          const rows = reportIdsAfter(db, cursor, BATCH);
          if (!rows.length) break;
          const args = [deps.storeId, String(deps.maxLen)];
          for (const r of rows) {
            const report = deps.getReport(r.id);
            args.push(
              String(r.rowid),
              JSON.stringify({ instance: deps.instanceId, ...(report ?? { id: r.id, deleted: true }) }),
            );
          }
          const next = Number(await link.send('EVAL', [APPEND, '2', streamKey, cursorsKey, ...args]));
          const moved = rows.filter((r) => r.rowid > cursor && r.rowid <= next).length;
          // Redis may be ahead of us (a crash after its append): take the larger cursor.
          cursor = Math.max(cursor, next, rows[rows.length - 1]!.rowid);
          sync.set(CURSOR, String(cursor));
          published += moved;
          metrics.inc('tracepulse_cluster_reports_published_total', undefined, moved);
          lastError = null;
        }
      } while (again);
    } catch (err) {
      lastError = String(err);
    } finally {
      running = false;
    }
  };

  deps.bus.onReport((n) => {
    if (n.kind !== 'revised') void drain();
  });
  link.onConnect(() => void drain());
  const timer = deps.scheduler.every(5000, () => void drain());
  void drain();

  return {
    state: () => {
      const after = reportsAfter(db, cursor);
      return {
        published,
        pending: after.count,
        lagMs: after.oldestAt === null ? null : deps.now() - after.oldestAt,
        lastError,
      };
    },
    stop: () => timer.cancel(),
  };
}
