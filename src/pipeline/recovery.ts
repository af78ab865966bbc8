import type { Database } from 'bun:sqlite';
import type { DebugEvent } from '../core/event.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import { type EventRow, rowToEvent } from '../store/ingest-queries.ts';

/** How far back (in stored events, newest first) start-up looks for triggers that never got a report. */
const RECOVERY_ROWS = 20_000;

/**
 * Triggers are acknowledged once committed and analysed afterwards, so a crash (or a stop past its
 * grace period, or a full analysis queue) can leave a committed trigger without a report. At start-up
 * the newest stored events are searched for such triggers and they are analysed now, oldest first.
 * The window is counted in rows, not time: a gateway may have been down for days, and a clock that
 * jumped must not hide them. Bounded: at most `limit` are queued.
 */
export function recoverUnreportedTriggers(deps: {
  db: Database;
  enqueue: (event: DebugEvent) => void;
  logger: Logger;
  metrics: Metrics;
  limit: number;
}): number {
  deps.metrics.describe(
    'tracepulse_analysis_recovered_total',
    'Committed triggers found without a report at start-up, analysed then',
  );
  const rows = deps.db
    .query<EventRow, [number, number]>(
      `SELECT * FROM events e
       WHERE e.seq > (SELECT COALESCE(MAX(seq), 0) FROM events) - ?
         AND e.priority = 'high'
         AND NOT EXISTS (SELECT 1 FROM reports r WHERE r.event_id = e.id)
       ORDER BY e.seq LIMIT ?`,
    )
    .all(RECOVERY_ROWS, deps.limit);
  for (const r of rows) deps.enqueue(rowToEvent(r));
  if (rows.length) {
    deps.metrics.inc('tracepulse_analysis_recovered_total', undefined, rows.length);
    deps.logger.warn('triggers committed without a report (crash or overload); analysing them now', {
      count: rows.length,
      oldest: rows[0]?.id,
    });
  }
  return rows.length;
}
