import { TracePulseError } from '../core/errors.ts';
import type { DebugEvent } from '../core/event.ts';
import type { ReportNotice } from '../core/ports.ts';
import type { Report } from '../core/report.ts';

/** Outbox channels: one per kind of destination, each with its own ordered queue and backoff. */
export const outboxChannels = ['slack', 'email', 'mqtt', 'llm'] as const;
export type OutboxChannel = (typeof outboxChannels)[number];

/**
 * What is stored in an outbox row: the notice that caused it, already redacted (nothing that
 * leaves the device carries configured detail fields), snapshotted in the report's transaction.
 */
export interface NoticeEnvelope {
  kind: ReportNotice['kind'];
  report: Report;
  /** The triggering event (created notices only). */
  event?: Pick<
    DebugEvent,
    'id' | 'eventType' | 'service' | 'errorCode' | 'details' | 'timestamp' | 'message'
  >;
  incident?: { id: string; count: number };
}

/** A message handed to a sink: one claimed outbox row. */
export interface OutboxMessage {
  id: number;
  channel: OutboxChannel;
  kind: ReportNotice['kind'];
  /** Idempotency key: the same for every try of this message. */
  key: string;
  reportId: string;
  incidentId: string | null;
  payload: NoticeEnvelope;
  /** 1 for the first try. */
  attempt: number;
  /**
   * True when an earlier try may have reached the receiver without us seeing the answer (time-out,
   * connection dropped after the request was written, process killed while in flight). The sink
   * must then check for an earlier delivery before sending again.
   */
  maybeSent: boolean;
  createdAt: number;
}

/** State of another message of the same channel, e.g. the Slack post a thread reply belongs to. */
export interface RelatedMessage {
  id: number;
  key: string;
  status: 'pending' | 'inflight' | 'sent' | 'dead';
  /** What the sink returned when it was delivered (e.g. Slack channel and ts). */
  result: unknown;
}

export interface SendContext {
  /** Aborted when the shared time-out fires or the worker stops. */
  signal: AbortSignal;
  /** Another message of this channel by its idempotency key. */
  related(key: string): RelatedMessage | null;
  /** The first delivered 'created' message of this channel for an incident (its thread anchor). */
  incidentAnchor(incidentId: string): RelatedMessage | null;
}

/**
 * A destination. Its author writes only `send()` (and says which notices it wants); queueing,
 * ordering, retry with backoff and jitter, Retry-After, time-outs and metrics are the worker's.
 */
export interface Sink {
  readonly channel: OutboxChannel;
  /** Upper bound of one send; past it the try is abandoned as "maybe sent". */
  readonly timeoutMs: number;
  /**
   * True when a storm update may replace a still-unsent update of the same incident (a human
   * channel wants the latest count, not one post per trigger); false to deliver every one.
   */
  readonly coalesceIncidents?: boolean;
  /** Which notices become messages of this sink. Pure and synchronous: it runs inside the report's transaction. */
  accepts(notice: ReportNotice): boolean;
  /** Delivers one message; resolves with what to remember (stored as JSON), throws DeliveryError otherwise. */
  send(message: OutboxMessage, ctx: SendContext): Promise<unknown>;
  close?(): Promise<void>;
}

export type FailureKind = 'permanent' | 'transient' | 'unreachable' | 'rate_limited' | 'deferred';

/**
 * A failed try, classified. `unreachable` (no answer at all) and `rate_limited` do not count
 * towards TRACEPULSE_OUTBOX_MAX_ATTEMPTS: an outage must not kill messages, it must only delay them.
 * `deferred` is not a try at all (e.g. the LLM hourly budget is spent).
 */
export class DeliveryError extends TracePulseError {
  readonly kind: FailureKind;
  readonly retryAfterMs: number | null;
  readonly maybeSent: boolean;
  constructor(
    kind: FailureKind,
    message: string,
    options: { cause?: unknown; retryAfterMs?: number | null; maybeSent?: boolean } = {},
  ) {
    super(kind === 'permanent' ? 'UPSTREAM_PERMANENT' : 'UPSTREAM_TRANSIENT', message, {
      cause: options.cause,
    });
    this.name = 'DeliveryError';
    this.kind = kind;
    this.retryAfterMs = options.retryAfterMs ?? null;
    this.maybeSent = options.maybeSent ?? false;
  }
}

export const permanent = (message: string, cause?: unknown) =>
  new DeliveryError('permanent', message, { cause });
export const transient = (message: string, options: { cause?: unknown; maybeSent?: boolean } = {}) =>
  new DeliveryError('transient', message, options);

/** Socket-level error codes meaning the request never reached the peer. */
const notSentCodes = new Set([
  'ECONNREFUSED',
  'ConnectionRefused',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EADDRNOTAVAIL',
  'FailedToOpenSocket',
]);
/** Codes meaning the connection broke or hung after (part of) the request may have been delivered. */
const maybeSentCodes = new Set([
  'ECONNRESET',
  'ConnectionClosed',
  'EPIPE',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'TimeoutError',
]);

/**
 * Classifies a network-level error by its code (or DOMException name), never by message text.
 * Returns null when the error is not a recognised network failure.
 */
export function networkFailure(err: unknown, what: string): DeliveryError | null {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    const name = (e as { name?: unknown }).name;
    for (const c of [code, name]) {
      if (typeof c !== 'string') continue;
      if (notSentCodes.has(c)) return new DeliveryError('unreachable', `${what}: ${c}`, { cause: err });
      if (maybeSentCodes.has(c) || c === 'AbortError')
        return new DeliveryError('unreachable', `${what}: ${c}`, { cause: err, maybeSent: true });
    }
    e = (e as { cause?: unknown }).cause ?? (e as { original?: unknown }).original;
  }
  return null;
}

/** Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP date; milliseconds from `now`, or null. */
export function parseRetryAfter(value: string | null | undefined, now: number): number | null {
  if (!value) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** Classification of an HTTP status: 408/425/429/5xx are worth retrying; other 4xx are not. */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}
