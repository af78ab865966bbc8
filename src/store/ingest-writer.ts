import type { Database } from 'bun:sqlite';
import { TracePulseError } from '../core/errors.ts';
import type { DebugEvent } from '../core/event.ts';
import { levelRank, type LogLine } from '../core/log-line.ts';

export interface DeadLetter {
  receivedAt: number;
  source: string;
  topic: string | null;
  reason: string;
  payload: Uint8Array | string;
}

export interface EventWriteResult {
  event: DebugEvent;
  /** False when an event with the same id was already stored (idempotent redelivery). */
  inserted: boolean;
}

/** Durable writes for the ingest hot path. Every promise resolves only after its rows are committed. */
export interface IngestWriter {
  writeEvent(event: DebugEvent): Promise<EventWriteResult>;
  writeLogs(lines: LogLine[]): Promise<number>;
  writeDeadLetter(letter: DeadLetter): Promise<void>;
  /** Commits whatever is queued now (used at shutdown). */
  flush(): void;
}

type Op =
  | { kind: 'event'; event: DebugEvent; resolve: (r: EventWriteResult) => void; reject: (e: unknown) => void }
  | { kind: 'logs'; lines: LogLine[]; resolve: (n: number) => void; reject: (e: unknown) => void }
  | { kind: 'dead'; letter: DeadLetter; resolve: () => void; reject: (e: unknown) => void };

/**
 * Group commit: writes queued within one turn of the event loop share one transaction, so
 * concurrent HTTP requests pay for one WAL commit instead of one each.
 */
export function createIngestWriter(
  db: Database,
  options: {
    onEventsCommitted?: (results: EventWriteResult[]) => void;
    /** Rows (events, log lines, dead letters) in each commit, for the WAL checkpointer's load signal. */
    onCommitted?: (rows: number) => void;
  } = {},
): IngestWriter {
  const insertEvent = db.prepare(
    `INSERT INTO events (id, event_type, service, error_code, correlation_id, details, priority, ts, received_at, message, source)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING`,
  );
  const insertLog = db.prepare(
    'INSERT INTO logs (ts, service, level, message, correlation_id, attributes, source) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const insertDead = db.prepare(
    'INSERT INTO dead_letters (received_at, source, topic, reason, payload) VALUES (?, ?, ?, ?, ?)',
  );

  let queue: Op[] = [];
  let scheduled = false;

  const commit = db.transaction((ops: Op[]) => {
    const out: unknown[] = [];
    for (const op of ops) {
      if (op.kind === 'event') {
        const e = op.event;
        const r = insertEvent.run(
          e.id,
          e.eventType,
          e.service,
          e.errorCode,
          e.correlationId,
          JSON.stringify(e.details),
          e.priority,
          e.timestamp,
          e.receivedAt,
          e.message,
          e.source,
        );
        out.push({ event: e, inserted: r.changes > 0 });
      } else if (op.kind === 'logs') {
        for (const l of op.lines)
          insertLog.run(
            l.timestamp,
            l.service,
            levelRank[l.level],
            l.message,
            l.correlationId,
            l.attributes ? JSON.stringify(l.attributes) : null,
            l.source,
          );
        out.push(op.lines.length);
      } else {
        const d = op.letter;
        insertDead.run(d.receivedAt, d.source, d.topic, d.reason, d.payload);
        out.push(undefined);
      }
    }
    return out;
  });

  const flush = () => {
    scheduled = false;
    if (!queue.length) return;
    const ops = queue;
    queue = [];
    let results: unknown[];
    try {
      results = commit(ops);
    } catch (cause) {
      const err = new TracePulseError('STORAGE', 'could not commit to the store', { cause });
      for (const op of ops) op.reject(err);
      return;
    }
    const committedEvents: EventWriteResult[] = [];
    let rows = 0;
    ops.forEach((op, i) => {
      const r = results[i];
      if (op.kind === 'event') {
        committedEvents.push(r as EventWriteResult);
        op.resolve(r as EventWriteResult);
        rows++;
      } else if (op.kind === 'logs') {
        op.resolve(r as number);
        rows += r as number;
      } else {
        op.resolve();
        rows++;
      }
    });
    options.onCommitted?.(rows);
    if (committedEvents.length) options.onEventsCommitted?.(committedEvents);
  };

  const enqueue = (op: Op) => {
    queue.push(op);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };

  return {
    writeEvent: (event) =>
      new Promise((resolve, reject) => enqueue({ kind: 'event', event, resolve, reject })),
    writeLogs: (lines) =>
      lines.length
        ? new Promise((resolve, reject) => enqueue({ kind: 'logs', lines, resolve, reject }))
        : Promise.resolve(0),
    writeDeadLetter: (letter) =>
      new Promise((resolve, reject) => enqueue({ kind: 'dead', letter, resolve, reject })),
    flush,
  };
}
