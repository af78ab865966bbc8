import type { Item } from './types.js';

/** What happened to one item: delivered, worth retrying, or refused for good. */
export type Outcome = 'ok' | 'retry' | 'reject';

export interface SendResult {
  /** One outcome per item, in the order given. */
  outcomes: Outcome[];
  /** The first error seen, for `lastError` and `onError`. */
  error?: Error;
  /** Set when the destination asked to wait (HTTP Retry-After). */
  retryAfterMs?: number;
}

/** A destination. Queueing, retry, backoff and spooling are the sink's job; a transport only sends. */
export interface Transport {
  readonly kind: 'http' | 'mqtt' | 'loki' | 'elasticsearch';
  send(items: Item[], signal: AbortSignal): Promise<SendResult>;
  close(): Promise<void>;
  /** Registers a callback for "reachable again" (MQTT reconnect), so a waiting retry can go at once. */
  onReady?(listener: () => void): void;
}

/** Thrown by a transport when it can never work (e.g. the mqtt package is missing): everything is rejected. */
export class FatalTransportError extends Error {
  constructor(
    readonly code: 'MQTT_MISSING' | 'CONFIG',
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
    this.name = 'FatalTransportError';
  }
}

/**
 * HTTP status to outcome. Only statuses that say "this body is wrong" are permanent: 401/403/404
 * are configuration problems of the destination, so items wait in the bounded queue for them to be fixed.
 */
export function outcomeOfStatus(status: number): Outcome {
  if (status >= 200 && status < 300) return 'ok';
  if (status === 400 || status === 413 || status === 415 || status === 422) return 'reject';
  return 'retry';
}

/** Parses Retry-After (seconds or HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Runs `fn` over `n` indexes with at most `limit` running at once. */
export async function forEachLimit(
  n: number,
  limit: number,
  fn: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
}

export function errorOf(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
