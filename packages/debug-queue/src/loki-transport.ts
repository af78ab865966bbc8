import { errorOf, outcomeOfStatus, parseRetryAfter, type SendResult, type Transport } from './transport.js';
import type { Item } from './types.js';

export interface LokiTransportOptions {
  /** Loki base URL (`http://loki:3100`) or the full push URL; `user:password@` becomes basic auth. */
  url: string;
  /** Static labels added to every stream, e.g. `{ station: 'EV-Station-01' }`. */
  labels?: Record<string, string>;
  /** Sent as X-Scope-OrgID for multi-tenant Loki. */
  tenant?: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** Loki wants nanoseconds as a decimal string; the sequence number keeps same-millisecond lines in order. */
export function lokiTimestamp(ms: number, seq: number): string {
  return `${Math.trunc(ms)}${String(seq % 1_000_000).padStart(6, '0')}`;
}

/** Pushes log lines to Loki's POST /loki/api/v1/push, one stream per (service, level). Events are not sent. */
export function createLokiTransport({
  url,
  labels = {},
  tenant,
  timeoutMs = 5000,
  fetch: doFetch = globalThis.fetch,
}: LokiTransportOptions): Transport {
  const u = new URL(url);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (u.username || u.password) {
    const user = decodeURIComponent(u.username);
    const pass = decodeURIComponent(u.password);
    headers.authorization = `Basic ${btoa(`${user}:${pass}`)}`;
    u.username = '';
    u.password = '';
  }
  if (tenant) headers['x-scope-orgid'] = tenant;
  if (!u.pathname.endsWith('/loki/api/v1/push'))
    u.pathname = `${u.pathname.replace(/\/+$/, '')}/loki/api/v1/push`;
  const pushUrl = u.toString();

  return {
    kind: 'loki',
    async send(items: Item[], signal: AbortSignal): Promise<SendResult> {
      const streams = new Map<string, { stream: Record<string, string>; values: Array<[string, string]> }>();
      for (const item of items) {
        if (item.kind !== 'log') continue;
        const { service, level, message, correlationId, attributes, timestamp } = item.body;
        const id = `${service}\u0000${level}`;
        let s = streams.get(id);
        if (!s) {
          s = { stream: { ...labels, service, level, source: 'debug-queue' }, values: [] };
          streams.set(id, s);
        }
        s.values.push([
          lokiTimestamp(timestamp, item.seq),
          JSON.stringify({ level, message, correlationId, attributes }),
        ]);
      }
      const all = (outcome: 'ok' | 'retry' | 'reject') => items.map(() => outcome);
      if (streams.size === 0) return { outcomes: all('ok') };
      try {
        const res = await doFetch(pushUrl, {
          method: 'POST',
          headers,
          body: JSON.stringify({ streams: [...streams.values()] }),
          signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
        });
        const text = await res.text();
        const outcome = outcomeOfStatus(res.status);
        if (outcome === 'ok') return { outcomes: all('ok') };
        return {
          outcomes: all(outcome),
          error: new Error(`Loki push: HTTP ${res.status} ${text.slice(0, 300)}`),
          retryAfterMs: parseRetryAfter(res.headers.get('retry-after')),
        };
      } catch (e) {
        return { outcomes: all('retry'), error: new Error(`Loki push: ${errorOf(e).message}`, { cause: e }) };
      }
    },
    async close() {},
  };
}
