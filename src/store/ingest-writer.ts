import type { Database, SQLQueryBindings, Statement } from 'bun:sqlite';
import { TracePulseError } from '../core/errors.ts';
import type { DebugEvent } from '../core/event.ts';
import { levelRank, type LogLine } from '../core/log-line.ts';

export interface DeadLetter {
  receivedAt: number;
  source: string;
  topic: string | null;
  reason: string;
  /** The payload as received; only its first DEAD_LETTER_PREFIX_BYTES are stored. */
  payload: Uint8Array | string;
  /** Size of the whole payload when `payload` is already only a prefix of it. */
  size?: number;
}

/** Bytes of a dead letter's payload that are kept: enough to see what it was, bounded per row. */
export const DEAD_LETTER_PREFIX_BYTES = 4096;

export interface EventWriteResult {
  event: DebugEvent;
  /** False when an event with the same id was already stored (idempotent redelivery). */
  inserted: boolean;
}

/** A sender's idempotency key for one batch of log lines (HTTP `Idempotency-Key`). */
export interface LogBatch {
  key: string;
  receivedAt: number;
}

export interface LogBatchResult {
  /** Lines stored by this batch, or by the first batch with its key when `duplicate`. */
  accepted: number;
  /** True when the key was already committed: nothing was stored this time. */
  duplicate: boolean;
}

/** Durable writes for the ingest hot path. Every promise resolves only after its rows are committed. */
export interface IngestWriter {
  writeEvent(event: DebugEvent): Promise<EventWriteResult>;
  /** Resolves with the number of lines stored. */
  writeLogs(lines: LogLine[]): Promise<number>;
  /** Stores the lines unless a batch with this key was committed before (then stores nothing). */
  writeLogs(lines: LogLine[], batch: LogBatch): Promise<LogBatchResult>;
  writeDeadLetter(letter: DeadLetter): Promise<void>;
  /** Commits whatever is queued now (used at shutdown). */
  flush(): void;
  /** Whether the last commit succeeded; a full disk makes every commit fail until space returns. */
  state(): { writable: boolean; lastError: string | null; failingSince: number | null };
  /**
   * While writes fail: one small write transaction (the header's user_version, rewritten as it is)
   * to learn whether space is back before the next real write comes. Returns the new state.
   */
  probe(): boolean;
}

/** Per row on top of its text: keys, timestamps and index entries (a rough figure, for the size bound). */
const ROW_OVERHEAD_BYTES = 120;
const eventBytes = (e: DebugEvent): number => {
  let n = ROW_OVERHEAD_BYTES + e.eventType.length + e.service.length + e.errorCode.length;
  n += (e.correlationId?.length ?? 0) + (e.message?.length ?? 0);
  for (const [k, v] of Object.entries(e.details)) n += k.length + String(v).length + 4;
  return n;
};
const logBytes = (l: LogLine): number => {
  let n = ROW_OVERHEAD_BYTES + l.service.length + l.message.length + (l.correlationId?.length ?? 0);
  if (l.attributes) n += JSON.stringify(l.attributes).length;
  return n;
};

/** Rows per INSERT statement: 32 x 11 parameters stays far below SQLite's limit of 32766. */
const MAX_ROWS_PER_INSERT = 32;

type Op =
  | { kind: 'event'; event: DebugEvent; resolve: (r: EventWriteResult) => void; reject: (e: unknown) => void }
  | {
      kind: 'logs';
      lines: LogLine[];
      batch: LogBatch | undefined;
      resolve: (r: LogBatchResult) => void;
      reject: (e: unknown) => void;
    }
  | { kind: 'dead'; letter: DeadLetter; resolve: () => void; reject: (e: unknown) => void };

/**
 * Group commit: writes queued within one turn of the event loop share one transaction, so
 * concurrent HTTP requests pay for one WAL commit instead of one each.
 */
export function createIngestWriter(
  db: Database,
  options: {
    onEventsCommitted?: (results: EventWriteResult[]) => void;
    /**
     * Rows (events, log lines, dead letters) in each commit, for the WAL checkpointer's load signal,
     * and roughly the bytes they hold (text and JSON lengths), for the size bound.
     */
    onCommitted?: (rows: number, bytes: number) => void;
    /** A commit failed (e.g. SQLITE_FULL); its writers got a STORAGE error. */
    onFailed?: (cause: unknown) => void;
    /** Why writes are known to fail from the start (the store was opened on a full disk). */
    failingAtStart?: string | null;
  } = {},
): IngestWriter {
  // One multi-row INSERT per power-of-two chunk of a batch instead of one statement per event: the
  // per-statement overhead was about a sixth of a committed row. RETURNING names the rows that were
  // new; an id already stored (or repeated within the batch) is not returned.
  const eventStatements = new Map<number, Statement<{ id: string }, SQLQueryBindings[]>>();
  const insertEvents = (n: number) => {
    let statement = eventStatements.get(n);
    if (!statement) {
      statement = db.prepare<{ id: string }, SQLQueryBindings[]>(
        `INSERT INTO events (id, event_type, service, error_code, correlation_id, details, priority, ts, received_at, message, source)
         VALUES ${Array.from({ length: n }, () => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}
         ON CONFLICT(id) DO NOTHING RETURNING id`,
      );
      eventStatements.set(n, statement);
    }
    return statement;
  };
  const writeEvents = (events: DebugEvent[]): Set<string> => {
    const inserted = new Set<string>();
    for (let i = 0; i < events.length; ) {
      let n = MAX_ROWS_PER_INSERT;
      while (n > events.length - i) n >>= 1;
      const params: SQLQueryBindings[] = [];
      for (let j = i; j < i + n; j++) {
        const e = events[j]!;
        params.push(
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
      }
      for (const row of insertEvents(n).all(...params)) inserted.add(row.id);
      i += n;
    }
    return inserted;
  };
  const insertLog = db.prepare(
    'INSERT INTO logs (ts, service, level, message, correlation_id, attributes, source) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  // The batch's key goes in before its lines, in the same transaction: a committed key always means
  // committed lines, and a batch that fails to commit leaves no key behind, so its retry is stored.
  const insertBatchKey = db.prepare<{ accepted: number }, [string, number, number]>(
    'INSERT INTO log_batches (key, accepted, received_at) VALUES (?, ?, ?) ON CONFLICT(key) DO NOTHING RETURNING accepted',
  );
  const storedBatch = db.prepare<{ accepted: number }, [string]>(
    'SELECT accepted FROM log_batches WHERE key = ?',
  );
  const writeLogBatch = (lines: LogLine[], batch: LogBatch | undefined): LogBatchResult => {
    // A key seen before (in an earlier commit or earlier in this one): the first batch wins.
    if (batch && !insertBatchKey.get(batch.key, lines.length, batch.receivedAt))
      return { accepted: storedBatch.get(batch.key)?.accepted ?? 0, duplicate: true };
    for (const l of lines)
      insertLog.run(
        l.timestamp,
        l.service,
        levelRank[l.level],
        l.message,
        l.correlationId,
        l.attributes ? JSON.stringify(l.attributes) : null,
        l.source,
      );
    return { accepted: lines.length, duplicate: false };
  };
  const insertDead = db.prepare(
    'INSERT INTO dead_letters (received_at, source, topic, reason, payload, size) VALUES (?, ?, ?, ?, ?, ?)',
  );

  let queue: Op[] = [];
  let scheduled = false;
  const health = {
    writable: !options.failingAtStart,
    lastError: options.failingAtStart ?? null,
    failingSince: options.failingAtStart ? Date.now() : null,
  };
  const fail = (cause: unknown) => {
    health.writable = false;
    health.lastError = String(cause);
    health.failingSince ??= Date.now();
  };
  const succeed = () => {
    health.writable = true;
    health.lastError = null;
    health.failingSince = null;
  };
  const probe = () => {
    try {
      const v = db.query<{ user_version: number }, []>('PRAGMA user_version').get()?.user_version ?? 0;
      db.exec(`PRAGMA user_version = ${v}`);
      succeed();
    } catch (cause) {
      fail(cause);
    }
    return health.writable;
  };

  const commit = db.transaction((ops: Op[]) => {
    const events: DebugEvent[] = [];
    for (const op of ops) if (op.kind === 'event') events.push(op.event);
    const inserted = events.length ? writeEvents(events) : new Set<string>();
    const out: unknown[] = [];
    for (const op of ops) {
      if (op.kind === 'event') {
        // delete(): the first of two events with one id in a batch is the inserted one.
        out.push({ event: op.event, inserted: inserted.delete(op.event.id) });
      } else if (op.kind === 'logs') {
        out.push(writeLogBatch(op.lines, op.batch));
      } else {
        const d = op.letter;
        const bytes = typeof d.payload === 'string' ? Buffer.from(d.payload) : d.payload;
        const prefix = bytes.subarray(0, DEAD_LETTER_PREFIX_BYTES);
        insertDead.run(d.receivedAt, d.source, d.topic, d.reason, prefix, d.size ?? bytes.length);
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
      fail(cause);
      for (const op of ops) op.reject(err);
      options.onFailed?.(cause);
      return;
    }
    succeed();
    const committedEvents: EventWriteResult[] = [];
    let rows = 0;
    let bytes = 0;
    ops.forEach((op, i) => {
      const r = results[i];
      if (op.kind === 'event') {
        committedEvents.push(r as EventWriteResult);
        op.resolve(r as EventWriteResult);
        rows++;
        bytes += eventBytes(op.event);
      } else if (op.kind === 'logs') {
        const batch = r as LogBatchResult;
        op.resolve(batch);
        if (!batch.duplicate) {
          rows += batch.accepted;
          for (const l of op.lines) bytes += logBytes(l);
        }
      } else {
        op.resolve();
        rows++;
        bytes += ROW_OVERHEAD_BYTES + Math.min(DEAD_LETTER_PREFIX_BYTES, op.letter.payload.length);
      }
    });
    options.onCommitted?.(rows, bytes);
    if (committedEvents.length) options.onEventsCommitted?.(committedEvents);
  };

  const enqueue = (op: Op) => {
    queue.push(op);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };

  function writeLogs(lines: LogLine[]): Promise<number>;
  function writeLogs(lines: LogLine[], batch: LogBatch): Promise<LogBatchResult>;
  function writeLogs(lines: LogLine[], batch?: LogBatch): Promise<number | LogBatchResult> {
    if (!lines.length) return Promise.resolve(batch ? { accepted: 0, duplicate: false } : 0);
    const written = new Promise<LogBatchResult>((resolve, reject) =>
      enqueue({ kind: 'logs', lines, batch, resolve, reject }),
    );
    return batch ? written : written.then((r) => r.accepted);
  }

  return {
    writeEvent: (event) =>
      new Promise((resolve, reject) => enqueue({ kind: 'event', event, resolve, reject })),
    writeLogs,
    writeDeadLetter: (letter) =>
      new Promise((resolve, reject) => enqueue({ kind: 'dead', letter, resolve, reject })),
    flush,
    state: () => ({ ...health }),
    probe,
  };
}
