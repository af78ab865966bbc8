export type Priority = 'high' | 'low';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'fatal';
export type DetailValue = string | number | boolean;

/** What a caller passes to `log()` besides the event type. */
export interface EventFields {
  /** Emitting service, e.g. an EVerest module id such as `evse_manager_1` or `OCPP`. */
  service: string;
  /** OCPP or EVerest error code, e.g. `EVCommunicationError` or `MREC14PilotFault`. */
  errorCode: string;
  /** Ties the event to log lines and other events (OCPP transaction id, session id). Falls back to `withCorrelationId()`. */
  correlationId?: string;
  /** Flat key/value context; values are sent as strings. */
  details?: Record<string, DetailValue>;
  /** Optional free text. */
  message?: string;
}

export interface LogOptions {
  /**
   * `high` events trigger TracePulse's analysis; `low` ones are stored as evidence and are the first
   * dropped when the queue is full. Unset: TracePulse decides (high for the system map's trigger
   * event types), and the queue treats the event as high.
   */
  priority?: Priority;
}

/** Extra fields of a log line sent with `logLine()`. */
export interface LogLineFields {
  service: string;
  correlationId?: string;
  attributes?: Record<string, unknown>;
}

/** Wire form of an event: the body of TracePulse's POST /webhook/event and of PREFIX/events/SERVICE. */
export interface DebugEvent {
  id: string;
  eventType: string;
  service: string;
  errorCode: string;
  correlationId?: string;
  details: Record<string, string>;
  /** Only when the caller gave one. */
  priority?: Priority;
  /** Epoch milliseconds at `log()` time. */
  timestamp: number;
  message?: string;
}

/** Wire form of a log line: one NDJSON line of POST /api/logs and the payload of PREFIX/logs/SERVICE. */
export interface LogRecord {
  timestamp: number;
  service: string;
  level: LogLevel;
  message: string;
  correlationId?: string;
  attributes?: Record<string, unknown>;
}

interface ItemBase {
  /** Unique key: the event id, or a generated key for log lines (used by the spool). */
  key: string;
  priority: Priority;
  /** Per-instance sequence number; orders lines that share a millisecond (Loki). */
  seq: number;
}
export interface EventItem extends ItemBase {
  kind: 'event';
  body: DebugEvent;
}
export interface LogItem extends ItemBase {
  kind: 'log';
  body: LogRecord;
}
/** One queued thing to deliver. */
export type Item = EventItem | LogItem;

/** Closed set of problem codes reported through `onError`. */
export type DebugQueueErrorCode =
  | 'DESTINATION_DOWN'
  | 'REJECTED'
  | 'INVALID'
  | 'SPOOL'
  | 'MQTT_MISSING'
  | 'CONFIG';

/** A problem the queue noticed; it never throws these at the caller of `log()`. */
export class DebugQueueError extends Error {
  readonly code: DebugQueueErrorCode;
  /** Which destination: `primary` (TracePulse or broker), `loki` or `elasticsearch`. */
  readonly destination: string | undefined;
  constructor(
    code: DebugQueueErrorCode,
    message: string,
    options: { cause?: unknown; destination?: string } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'DebugQueueError';
    this.code = code;
    this.destination = options.destination;
  }
}

export interface DropInfo {
  destination: string;
  kind: Item['kind'];
  priority: Priority;
  /** Event id or log key of the dropped item. */
  key: string;
  /** What the dropped item was: the event type or the log message (clipped). */
  what: string;
  /** Drops so far on this destination. */
  dropped: number;
}

export type SinkState = 'idle' | 'sending' | 'backoff' | 'closed';

export interface SinkStats {
  destination: string;
  state: SinkState;
  /** Items waiting, not counting those in flight. */
  queued: number;
  inFlight: number;
  delivered: number;
  dropped: { high: number; low: number; total: number };
  /** Refused for good by the destination (4xx), not retried. */
  rejected: number;
  /** Failed delivery attempts that were retried. */
  retries: number;
  lastError: string | undefined;
  spool: { file: string; recovered: number; corruptLines: number; errors: number } | undefined;
}

export interface DebugQueueStats {
  /** `http`, `mqtt` or `none` (no destination for events). */
  transport: 'http' | 'mqtt' | 'none';
  /** Calls that were accepted into a queue. */
  accepted: number;
  /** Calls discarded because there was no destination or the queue was closed. */
  discarded: number;
  /** Calls refused locally (missing eventType, service or errorCode). */
  invalid: number;
  /** The events/logs destination (TracePulse or broker). */
  primary: SinkStats | undefined;
  /** Grafana Loki, when configured. */
  loki: SinkStats | undefined;
  /** Elasticsearch or OpenSearch, when configured. */
  elasticsearch: SinkStats | undefined;
}
