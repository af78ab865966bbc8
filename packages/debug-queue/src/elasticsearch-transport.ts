import {
  errorOf,
  type Outcome,
  outcomeOfStatus,
  parseRetryAfter,
  type SendResult,
  type Transport,
} from './transport.js';
import type { Item } from './types.js';

export interface ElasticsearchTransportOptions {
  /** Elasticsearch or OpenSearch base URL (`https://es:9200`); `user:password@` becomes basic auth. */
  url: string;
  /** Index or data stream the lines are written to; default `logs-debugqueue-default` (a `logs-*` data stream). */
  index?: string;
  /** Elasticsearch API key (the base64 "encoded" value), sent as `Authorization: ApiKey`. */
  apiKey?: string;
  /** Fields added to every document, e.g. `{ 'host.name': 'EV-Station-01' }` (dotted names kept flat). */
  fields?: Record<string, string>;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

interface BulkItemResult {
  status?: number;
  error?: { type?: string; reason?: string };
}

/**
 * Writes log lines to Elasticsearch or OpenSearch with the _bulk API, one `create` action per line,
 * as ECS documents (`@timestamp`, `service.name`, `log.level`, `message`, `labels.correlation_id`,
 * `event.id`): what TracePulse's Elasticsearch source reads with its default field names, with
 * `event.id` as its follow mode's tiebreaker. The document id is the line's key, so a retried
 * batch is not stored twice (409 for a line already written counts as delivered). Events are not sent.
 */
export function createElasticsearchTransport({
  url,
  index = 'logs-debugqueue-default',
  apiKey,
  fields = {},
  timeoutMs = 5000,
  fetch: doFetch = globalThis.fetch,
}: ElasticsearchTransportOptions): Transport {
  const u = new URL(url);
  const headers: Record<string, string> = {
    'content-type': 'application/x-ndjson',
    accept: 'application/json',
  };
  if (apiKey) headers.authorization = `ApiKey ${apiKey}`;
  else if (u.username || u.password)
    headers.authorization = `Basic ${btoa(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`)}`;
  u.username = '';
  u.password = '';
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/_bulk`;
  const bulkUrl = u.toString();

  return {
    kind: 'elasticsearch',
    async send(items: Item[], signal: AbortSignal): Promise<SendResult> {
      const outcomes: Outcome[] = items.map(() => 'ok');
      const sent: number[] = [];
      let body = '';
      items.forEach((item, i) => {
        if (item.kind !== 'log') return;
        const { service, level, message, correlationId, attributes, timestamp } = item.body;
        sent.push(i);
        body += `${JSON.stringify({ create: { _index: index, _id: item.key } })}\n${JSON.stringify({
          ...fields,
          '@timestamp': new Date(timestamp).toISOString(),
          service: { name: service },
          log: { level },
          message,
          event: { id: item.key, dataset: 'debugqueue' },
          ...(correlationId ? { labels: { correlation_id: correlationId } } : {}),
          ...(attributes ? { 'debugqueue.attributes': attributes } : {}),
        })}\n`;
      });
      if (!sent.length) return { outcomes };
      try {
        const res = await doFetch(bulkUrl, {
          method: 'POST',
          headers,
          body,
          signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
        });
        const text = await res.text();
        const status = outcomeOfStatus(res.status);
        if (status !== 'ok') {
          for (const i of sent) outcomes[i] = status;
          return {
            outcomes,
            error: new Error(`Elasticsearch _bulk: HTTP ${res.status} ${text.slice(0, 300)}`),
            retryAfterMs: parseRetryAfter(res.headers.get('retry-after')),
          };
        }
        // 200 with per-item results: each line is delivered, worth retrying (429, 5xx) or refused (mapping).
        let results: BulkItemResult[];
        try {
          const parsed = JSON.parse(text) as { items?: Array<Record<string, BulkItemResult>> };
          results = (parsed.items ?? []).map((x) => Object.values(x)[0] ?? {});
        } catch {
          for (const i of sent) outcomes[i] = 'retry';
          return { outcomes, error: new Error('Elasticsearch _bulk: the answer is not JSON') };
        }
        if (results.length !== sent.length) {
          for (const i of sent) outcomes[i] = 'retry';
          return {
            outcomes,
            error: new Error(`Elasticsearch _bulk: ${results.length} results for ${sent.length} lines`),
          };
        }
        let error: Error | undefined;
        sent.forEach((i, k) => {
          const r = results[k]!;
          const s = r.status ?? 500;
          // 409: a line with this id was written by an earlier try.
          outcomes[i] = s === 409 ? 'ok' : s === 429 || s >= 500 ? 'retry' : outcomeOfStatus(s);
          if (outcomes[i] !== 'ok' && !error)
            error = new Error(
              `Elasticsearch _bulk: item ${s} ${r.error?.type ?? ''} ${r.error?.reason?.slice(0, 200) ?? ''}`.trim(),
            );
        });
        return { outcomes, error };
      } catch (e) {
        for (const i of sent) outcomes[i] = 'retry';
        return { outcomes, error: new Error(`Elasticsearch _bulk: ${errorOf(e).message}`, { cause: e }) };
      }
    },
    async close() {},
  };
}
