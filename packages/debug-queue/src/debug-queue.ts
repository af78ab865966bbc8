import { type DebugQueueConfig, defaults, validateConfig } from './config.js';
import { correlationStorage } from './correlation.js';
import { createHttpTransport } from './http-transport.js';
import { createElasticsearchTransport } from './elasticsearch-transport.js';
import { createLokiTransport } from './loki-transport.js';
import { createMqttTransport } from './mqtt-transport.js';
import { writeNotice } from './notice.js';
import { Sink } from './sink.js';
import { Spool } from './spool.js';
import type { Transport } from './transport.js';
import {
  type DebugEvent,
  DebugQueueError,
  type DebugQueueStats,
  type EventFields,
  type LogLevel,
  type LogLineFields,
  type LogOptions,
  type LogRecord,
} from './types.js';

export interface DebugQueue {
  /** Tags a failure. Never throws, never waits: the event is queued and delivered in the background. */
  log(eventType: string, fields: EventFields, options?: LogOptions): void;
  /** Queues one log line (low priority) for TracePulse's /api/logs, PREFIX/logs/SERVICE and Loki. */
  logLine(level: LogLevel, message: string, fields: LogLineFields): void;
  /** Resolves true when everything queued so far is delivered, false if `timeoutMs` passes first. */
  flush(timeoutMs?: number): Promise<boolean>;
  /** Stops accepting, flushes for up to `timeoutMs`, spools the rest, closes connections. */
  close(timeoutMs?: number): Promise<boolean>;
  stats(): DebugQueueStats;
}

const levels: ReadonlySet<string> = new Set(['debug', 'info', 'warn', 'error', 'fatal']);
const MAX_NAME = 200;
const MAX_DETAIL_KEYS = 64;
const MAX_DETAIL_VALUE = 2048;
const MAX_EVENT_MESSAGE = 8192;
const MAX_LOG_MESSAGE = 16_384;

/** Creates an own queue; throws DebugQueueError('CONFIG') listing every problem with `config`. */
export function createDebugQueue(config: DebugQueueConfig = {}): DebugQueue {
  validateConfig(config);
  const c = { ...defaults, ...stripUndefined(config) };
  const notice = c.silent ? () => {} : writeNotice;
  const onError = (e: DebugQueueError) => config.onError?.(e);

  const sink = (name: string, transport: Transport, spoolFile: string | undefined) =>
    new Sink({
      name,
      transport,
      maxQueue: c.maxQueue,
      batchSize: c.batchSize,
      retryInitialMs: c.retryInitialMs,
      retryMaxMs: c.retryMaxMs,
      onDrop: config.onDrop,
      onError,
      notice,
      spool: spoolFile
        ? new Spool({
            file: spoolFile,
            intervalMs: c.spoolIntervalMs,
            fsync: c.spoolFsync,
            onError: (e) => onError(new DebugQueueError('SPOOL', e.message, { cause: e, destination: name })),
          })
        : undefined,
    });

  const transport: DebugQueueStats['transport'] = !c.url
    ? 'none'
    : c.url.startsWith('http')
      ? 'http'
      : 'mqtt';
  const primary = !c.url
    ? undefined
    : sink(
        'primary',
        transport === 'http'
          ? createHttpTransport({
              url: c.url,
              apiKey: c.apiKey,
              concurrency: c.concurrency,
              timeoutMs: c.timeoutMs,
              fetch: c.fetch,
            })
          : createMqttTransport({
              url: c.url,
              topicPrefix: c.topicPrefix,
              clientId: c.mqttClientId,
              timeoutMs: c.timeoutMs,
            }),
        c.spoolFile,
      );
  const loki = c.lokiUrl
    ? sink(
        'loki',
        createLokiTransport({
          url: c.lokiUrl,
          labels: c.lokiLabels,
          tenant: c.lokiTenant,
          timeoutMs: c.timeoutMs,
          fetch: c.fetch,
        }),
        c.spoolFile ? `${c.spoolFile}.loki` : undefined,
      )
    : undefined;
  const elasticsearch = c.elasticsearchUrl
    ? sink(
        'elasticsearch',
        createElasticsearchTransport({
          url: c.elasticsearchUrl,
          index: c.elasticsearchIndex,
          apiKey: c.elasticsearchApiKey,
          timeoutMs: c.timeoutMs,
          fetch: c.fetch,
        }),
        c.spoolFile ? `${c.spoolFile}.elasticsearch` : undefined,
      )
    : undefined;
  const sinks = [primary, loki, elasticsearch].filter((s): s is Sink => s !== undefined);

  // Ids are one random UUID per instance plus a counter: unique across stations and restarts
  // (TracePulse dedups retried deliveries by id) without a crypto call on every log().
  const instanceId = globalThis.crypto.randomUUID();
  const keyPrefix = `l-${instanceId}-`;
  let seq = 0;
  let closed = false;
  let accepted = 0;
  let discarded = 0;
  let invalid = 0;
  let toldNoDestination = false;
  let toldInvalid = false;

  const discard = (what: string) => {
    discarded++;
    if (toldNoDestination || closed) return;
    toldNoDestination = true;
    notice(
      `debug-queue: no destination for ${what} (set DEBUG_QUEUE_URL to TracePulse http(s)://host:port or a broker mqtt://host:1883); they are discarded`,
    );
  };
  const refuse = (why: string) => {
    invalid++;
    if (toldInvalid) return;
    toldInvalid = true;
    onError(new DebugQueueError('INVALID', `debug-queue: ${why}`));
  };

  return {
    log(eventType, fields, options) {
      try {
        if (closed || !primary) return discard('events');
        const service = fields?.service;
        const errorCode = fields?.errorCode;
        if (!isName(eventType) || !isName(service) || !isName(errorCode)) {
          return refuse('log() needs a non-empty eventType, service and errorCode');
        }
        // Unset on the wire lets TracePulse pick it from the system map's triggers; in the queue it counts as high.
        const wire =
          options?.priority === 'low' || options?.priority === 'high' ? options.priority : undefined;
        const priority = wire ?? 'high';
        const n = seq++;
        const body: DebugEvent = {
          id: `${instanceId}-${n.toString(36)}`,
          eventType: clip(eventType, MAX_NAME),
          service: clip(service, MAX_NAME),
          errorCode: clip(errorCode, MAX_NAME),
          details: copyDetails(fields.details),
          timestamp: Date.now(),
        };
        if (wire) body.priority = wire;
        const correlationId = fields.correlationId ?? correlationStorage.getStore();
        if (isName(correlationId)) body.correlationId = clip(correlationId, MAX_NAME);
        if (fields.message !== undefined) body.message = clip(String(fields.message), MAX_EVENT_MESSAGE);
        primary.enqueue({ kind: 'event', key: body.id, priority, seq: n, body });
        accepted++;
      } catch (e) {
        refuse(`log() failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    },

    logLine(level, message, fields) {
      try {
        if (closed || sinks.length === 0) return discard('log lines');
        if (!levels.has(level) || !isName(fields?.service)) {
          return refuse('logLine() needs a level (debug|info|warn|error|fatal) and a non-empty service');
        }
        const body: LogRecord = {
          timestamp: Date.now(),
          service: clip(fields.service, MAX_NAME),
          level,
          message: clip(String(message), MAX_LOG_MESSAGE),
        };
        const correlationId = fields.correlationId ?? correlationStorage.getStore();
        if (isName(correlationId)) body.correlationId = clip(correlationId, MAX_NAME);
        if (fields.attributes) body.attributes = snapshot(fields.attributes);
        const n = seq++;
        const item = { kind: 'log', key: keyPrefix + n.toString(36), priority: 'low', seq: n, body } as const;
        for (const s of sinks) s.enqueue(item);
        accepted++;
      } catch (e) {
        refuse(`logLine() failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    },

    async flush(timeoutMs = 10_000) {
      const results = await Promise.all(sinks.map((s) => s.flush(timeoutMs)));
      return results.every(Boolean);
    },

    async close(timeoutMs = 5000) {
      closed = true;
      const results = await Promise.all(sinks.map((s) => s.close(timeoutMs)));
      return results.every(Boolean);
    },

    stats() {
      return {
        transport,
        accepted,
        discarded,
        invalid,
        primary: primary?.stats(),
        loki: loki?.stats(),
        elasticsearch: elasticsearch?.stats(),
      };
    },
  };
}

function isName(x: unknown): x is string {
  return typeof x === 'string' && x.trim().length > 0;
}

function clip(s: string, max: number): string {
  return s.length > max ? s.slice(0, max) : s;
}

/** Snapshots details at log() time (the caller may mutate its object later); values become strings. */
function copyDetails(details: EventFields['details']): Record<string, string> {
  const out: Record<string, string> = {};
  if (!details || typeof details !== 'object') return out;
  let n = 0;
  for (const key in details) {
    if (n++ >= MAX_DETAIL_KEYS) break;
    const v: unknown = details[key];
    if (v === undefined || v === null) continue;
    out[key] = clip(typeof v === 'object' ? safeJson(v) : String(v), MAX_DETAIL_VALUE);
  }
  return out;
}

/** A JSON copy taken at call time, so a later mutation, a cycle or a BigInt cannot poison delivery. */
function snapshot(attributes: Record<string, unknown>): Record<string, unknown> {
  try {
    return JSON.parse(JSON.stringify(attributes)) as Record<string, unknown>;
  } catch (e) {
    return { unserializable: e instanceof Error ? e.message : String(e) };
  }
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
