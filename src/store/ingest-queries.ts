import type { Database } from 'bun:sqlite';
import type { DebugEvent, IngestSource, Priority } from '../core/event.ts';
import { type LogLevel, type LogLine, logLevels } from '../core/log-line.ts';

export interface EventQuery {
  correlationId?: string;
  service?: string;
  since?: number;
  until?: number;
  limit?: number;
}

export interface LogQuery extends EventQuery {
  /** Minimum level (inclusive). */
  minLevel?: LogLevel;
  services?: string[];
}

export interface EventRow {
  id: string;
  event_type: string;
  service: string;
  error_code: string;
  correlation_id: string | null;
  details: string;
  priority: string;
  ts: number;
  received_at: number;
  message: string | null;
  source: string;
}

interface LogRow {
  ts: number;
  service: string;
  level: number;
  message: string;
  correlation_id: string | null;
  attributes: string | null;
  source: string;
}

export const rowToEvent = (r: EventRow): DebugEvent => ({
  id: r.id,
  eventType: r.event_type,
  service: r.service,
  errorCode: r.error_code,
  correlationId: r.correlation_id,
  details: JSON.parse(r.details),
  priority: r.priority as Priority,
  timestamp: r.ts,
  receivedAt: r.received_at,
  message: r.message,
  source: r.source as IngestSource,
});

const rowToLog = (r: LogRow): LogLine => ({
  timestamp: r.ts,
  service: r.service,
  level: logLevels[r.level] ?? 'info',
  message: r.message,
  correlationId: r.correlation_id,
  attributes: r.attributes ? JSON.parse(r.attributes) : null,
  source: r.source as IngestSource,
});

function where(q: LogQuery): { sql: string; params: (string | number)[] } {
  const clauses: string[] = [];
  const params: (string | number)[] = [];
  if (q.correlationId !== undefined) {
    clauses.push('correlation_id = ?');
    params.push(q.correlationId);
  }
  if (q.service !== undefined) {
    clauses.push('service = ?');
    params.push(q.service);
  }
  if (q.services?.length) {
    clauses.push(`service IN (${q.services.map(() => '?').join(',')})`);
    params.push(...q.services);
  }
  if (q.since !== undefined) {
    clauses.push('ts >= ?');
    params.push(q.since);
  }
  if (q.until !== undefined) {
    clauses.push('ts <= ?');
    params.push(q.until);
  }
  if (q.minLevel !== undefined) {
    clauses.push('level >= ?');
    params.push(logLevels.indexOf(q.minLevel));
  }
  return { sql: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

/** Read side of events, logs and dead letters (newest first). */
export function createIngestQueries(db: Database) {
  return {
    events(q: EventQuery = {}): DebugEvent[] {
      const w = where(q);
      return db
        .query<EventRow, (string | number)[]>(
          `SELECT * FROM events ${w.sql} ORDER BY ts DESC, seq DESC LIMIT ?`,
        )
        .all(...w.params, q.limit ?? 100)
        .map(rowToEvent);
    },
    event(id: string): DebugEvent | null {
      const r = db.query<EventRow, [string]>('SELECT * FROM events WHERE id = ?').get(id);
      return r ? rowToEvent(r) : null;
    },
    logs(q: LogQuery = {}): LogLine[] {
      const w = where(q);
      return db
        .query<LogRow, (string | number)[]>(`SELECT * FROM logs ${w.sql} ORDER BY ts DESC, id DESC LIMIT ?`)
        .all(...w.params, q.limit ?? 100)
        .map(rowToLog);
    },
    /** Newest first, `limit` at a time; `before` (an id) pages back. Payloads are bounded prefixes. */
    deadLetters(q: { limit?: number; before?: number } = {}) {
      return db
        .query<
          {
            id: number;
            received_at: number;
            source: string;
            topic: string | null;
            reason: string;
            payload: Uint8Array | string;
            size: number | null;
          },
          [number, number]
        >('SELECT * FROM dead_letters WHERE id < ? ORDER BY id DESC LIMIT ?')
        .all(q.before ?? Number.MAX_SAFE_INTEGER, q.limit ?? 100)
        .map((r) => {
          const stored = typeof r.payload === 'string' ? Buffer.byteLength(r.payload) : r.payload.byteLength;
          const size = r.size ?? stored;
          return {
            id: r.id,
            receivedAt: new Date(r.received_at).toISOString(),
            source: r.source,
            topic: r.topic,
            reason: r.reason,
            payloadBytes: size,
            truncated: size > stored,
            payload:
              typeof r.payload === 'string'
                ? r.payload
                : new TextDecoder('utf-8', { fatal: false }).decode(r.payload),
          };
        });
    },
  };
}
export type IngestQueries = ReturnType<typeof createIngestQueries>;
