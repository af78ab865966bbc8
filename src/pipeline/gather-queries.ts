import type { Database } from 'bun:sqlite';

/** Log rows read per query for one trigger: keeps the trigger path linear and bounded whatever the store holds. */
export const MAX_LOG_ROWS = 500;
export const EVENT_CAP = 200;
const FAILURE_ROWS = 1000;
const IN_CHUNK = 500;

export interface LogRow {
  ts: number;
  service: string;
  level: number;
  message: string;
  correlation_id: string | null;
}

export interface EventRow {
  id: string;
  ts: number;
  event_type: string;
  service: string;
  error_code: string;
  message: string | null;
  correlation_id: string | null;
}

const chunks = <T>(list: T[], n: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += n) out.push(list.slice(i, i + n));
  return out;
};
const marks = (n: number) => Array.from({ length: n }, () => '?').join(',');

/**
 * The reads of a trigger's evidence, each on an index (see migration 0001): logs by
 * (correlation_id, ts) and by the partial (service, level, ts) index, events by (service, ts) and
 * (service, error_code, ts). Every read is capped; name lists go in chunks of IN_CHUNK.
 */
export function createGatherQueries(db: Database) {
  const corrLogs = db.prepare<LogRow, [string, number, number, number]>(
    `SELECT ts, service, level, message, correlation_id FROM logs
     WHERE correlation_id = ? AND ts >= ? AND ts <= ? ORDER BY ts DESC LIMIT ?`,
  );
  const firstSessionWarning = db.prepare<{ ts: number | null }, [string, number, number]>(
    `SELECT MIN(ts) AS ts FROM logs WHERE correlation_id = ? AND ts >= ? AND ts <= ? AND level >= 2`,
  );
  const corrEvents = db.prepare<EventRow, [string, number, number, number]>(
    `SELECT id, ts, event_type, service, error_code, message, correlation_id FROM events
     WHERE correlation_id = ? AND ts >= ? AND ts <= ? ORDER BY ts DESC LIMIT ?`,
  );
  const serviceWarnings = db.prepare<{ ts: number }, [string, number, number, number]>(
    `SELECT ts FROM logs INDEXED BY logs_service_level
     WHERE service = ? AND level >= 2 AND level IN (2, 3, 4) AND ts >= ? AND ts <= ? ORDER BY ts DESC LIMIT ?`,
  );
  const firstLine = db.prepare<{ ts: number | null }, [string, number]>(
    'SELECT MIN(ts) AS ts FROM logs WHERE service = ? AND ts >= ?',
  );
  const eventHistory = db.prepare<
    { n: number; first: number | null },
    [string, string, string, number, number]
  >(
    `SELECT COUNT(*) AS n, MIN(ts) AS first FROM events
     WHERE service = ? AND error_code = ? AND event_type = ? AND ts >= ? AND ts < ?`,
  );

  // Earlier triggers' diagnoses, by event time: a later trigger of a cascade cites them.
  const recentReports = db.prepare<
    {
      id: string;
      event_ts: number;
      event_type: string;
      service: string;
      error_code: string;
      correlation_id: string | null;
      top_service: string | null;
      hypotheses: string;
      created_at: number;
    },
    [number, number, string, number]
  >(
    `SELECT id, event_ts, event_type, service, error_code, correlation_id, top_service, hypotheses, created_at FROM reports
     INDEXED BY reports_event_ts WHERE event_ts >= ? AND event_ts <= ? AND event_id != ?
     ORDER BY event_ts DESC LIMIT ?`,
  );

  const recentWarnings = db.prepare<LogRow, [number, number, number]>(
    `SELECT ts, service, level, message, correlation_id FROM logs INDEXED BY logs_ts
     WHERE ts >= ? AND ts <= ? AND level >= 2 ORDER BY ts DESC LIMIT ?`,
  );
  const lastLine = db.prepare<{ ts: number }, [string, number]>(
    `SELECT ts FROM logs INDEXED BY logs_service WHERE service = ? AND ts <= ? ORDER BY ts DESC LIMIT 1`,
  );
  const latestFeedback = db.prepare<{ root_service: string; change_id: string | null }, [string]>(
    `SELECT root_service, change_id FROM feedback WHERE report_id = ? ORDER BY id DESC LIMIT 1`,
  );

  /** One `service IN (...)` query over every chunk of names (SQLite bounds a statement's parameters). */
  const inChunks = <R>(names: string[], sql: (list: string) => string, ...rest: (string | number)[]): R[] =>
    chunks(names, IN_CHUNK).flatMap((part) =>
      db.query<R, (string | number)[]>(sql(marks(part.length))).all(...part, ...rest),
    );

  const candidateLogs = (names: string[], since: number, until: number): LogRow[] =>
    inChunks<LogRow>(
      names,
      (list) =>
        `SELECT ts, service, level, message, correlation_id FROM logs INDEXED BY logs_service_level
         WHERE service IN (${list}) AND level >= 2 AND level IN (2, 3, 4) AND ts >= ? AND ts <= ?
         ORDER BY ts DESC LIMIT ?`,
      since,
      until,
      MAX_LOG_ROWS,
    );

  const candidateEvents = (names: string[], since: number, until: number): EventRow[] =>
    inChunks<EventRow>(
      names,
      (list) =>
        `SELECT id, ts, event_type, service, error_code, message, correlation_id FROM events
         INDEXED BY events_service_ts WHERE service IN (${list}) AND ts >= ? AND ts <= ?
         ORDER BY ts DESC LIMIT ?`,
      since,
      until,
      EVENT_CAP,
    );

  const failureOccurrences = (
    names: string[],
    code: string,
    since: number,
    until: number,
    exceptId: string,
  ) => {
    let count = 0;
    let timestamps: number[] = [];
    for (const part of chunks(names, IN_CHUNK)) {
      const where = `service IN (${marks(part.length)}) AND error_code = ? AND ts >= ? AND ts < ? AND id != ?`;
      const params = [...part, code, since, until, exceptId];
      count +=
        db
          .query<{ n: number }, (string | number)[]>(
            `SELECT COUNT(*) AS n FROM events INDEXED BY events_service_ts WHERE ${where}`,
          )
          .get(...params)?.n ?? 0;
      timestamps.push(
        ...db
          .query<{ ts: number }, (string | number)[]>(
            `SELECT ts FROM events INDEXED BY events_service_ts WHERE ${where} ORDER BY ts DESC LIMIT ?`,
          )
          .all(...params, FAILURE_ROWS)
          .map((r) => r.ts),
      );
    }
    timestamps = timestamps.sort((a, b) => a - b).slice(-FAILURE_ROWS);
    return { count, firstTs: timestamps[0] ?? null, lastTs: timestamps.at(-1) ?? null, timestamps };
  };

  return {
    corrLogs,
    firstSessionWarning,
    corrEvents,
    eventHistory,
    firstLine,
    serviceWarnings,
    recentReports,
    recentWarnings,
    lastLine,
    latestFeedback,
    candidateLogs,
    candidateEvents,
    failureOccurrences,
  };
}

export type GatherQueries = ReturnType<typeof createGatherQueries>;
