import { z } from 'zod';
import {
  type LogSource,
  levelFromText,
  type RemoteLogLine,
  SourceError,
  toLevel,
} from '../core/log-source.ts';
import { fetchJson, splitCredentials } from './log-source.ts';

/** Where each value lives in a document; ECS names by default (https://www.elastic.co/guide/en/ecs/current/). */
export interface EsFields {
  timestamp: string;
  service: string;
  level: string;
  message: string;
  /** Fields that may hold the correlation id, any of them. */
  correlation: string[];
}

export const ecsFields: EsFields = {
  timestamp: '@timestamp',
  service: 'service.name',
  level: 'log.level',
  message: 'message',
  correlation: ['labels.correlation_id', 'trace.id'],
};

export interface ElasticsearchOptions {
  url: string;
  index: string;
  apiKey?: string;
  fields: EsFields;
  /** Follow mode's unique sortable field for search_after; unset: the timestamp alone (es-follow.ts). */
  tiebreaker?: string;
}

// _search answer: { hits: { hits: [{ _id, _source, sort? }] } }
// (https://www.elastic.co/guide/en/elasticsearch/reference/current/search-search.html); OpenSearch is the same.
const searchSchema = z.object({
  hits: z.object({
    hits: z.array(
      z.object({
        _index: z.string().optional(),
        _id: z.string().optional(),
        _source: z.record(z.string(), z.unknown()).default({}),
        sort: z.array(z.unknown()).optional(),
      }),
    ),
  }),
});

/** Keyword fields are case-sensitive: the spellings of warn and above that shippers write. */
const WARN_PLUS = ['warn', 'warning', 'error', 'err', 'fatal', 'critical', 'crit', 'panic', 'alert', 'emerg'];
const levelTerms = WARN_PLUS.flatMap((l) => [l, l.toUpperCase(), l[0]!.toUpperCase() + l.slice(1)]);

/** A dotted field from a document, whether stored nested ({service: {name}}) or flat ("service.name"). */
export function field(doc: Record<string, unknown>, path: string): unknown {
  if (path in doc) return doc[path];
  let cur: unknown = doc;
  const parts = path.split('.');
  for (let i = 0; i < parts.length; i++) {
    if (!cur || typeof cur !== 'object') return undefined;
    const obj = cur as Record<string, unknown>;
    // A flat remainder ("log": {"level": ...} vs "log.level") at any depth.
    const rest = parts.slice(i).join('.');
    if (rest in obj) return obj[rest];
    cur = obj[parts[i]!];
  }
  return cur;
}

const str = (v: unknown): string | null =>
  typeof v === 'string' ? v : typeof v === 'number' ? String(v) : Array.isArray(v) ? str(v[0]) : null;

/** @timestamp as ISO 8601 or epoch ms to epoch ms; NaN when neither. */
export function parseTimestamp(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  return Number.NaN;
}

/** A document as a log line; null when it has no usable time or message. */
export function lineOfDocument(doc: Record<string, unknown>, f: EsFields): RemoteLogLine | null {
  const ts = parseTimestamp(field(doc, f.timestamp));
  const message = str(field(doc, f.message));
  if (!Number.isFinite(ts) || message === null) return null;
  const rawLevel = str(field(doc, f.level));
  return {
    ts,
    service: str(field(doc, f.service)) ?? 'unknown',
    level: (rawLevel && toLevel(rawLevel)) || levelFromText(message),
    message,
    correlationId: f.correlation.map((c) => str(field(doc, c))).find((x) => x !== null) ?? null,
  };
}

/** Headers for every request: an API key, else Basic from user:password in the URL. */
export function esHeaders(o: Pick<ElasticsearchOptions, 'url' | 'apiKey'>) {
  const { base, authorization } = splitCredentials(o.url);
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (o.apiKey) headers.authorization = `ApiKey ${o.apiKey}`;
  else if (authorization) headers.authorization = authorization;
  return { base, headers };
}

/**
 * The _search body for a trigger: (the correlation id in any field, from `sessionSince`) or (a
 * candidate service at warn+, from `since`), both up to `until`.
 */
export function triggerSearch(
  f: EsFields,
  q: {
    correlationId: string | null;
    services: string[];
    since: number;
    sessionSince?: number;
    until: number;
    limit: number;
  },
) {
  const range = (gte: number) => ({
    range: { [f.timestamp]: { gte, lte: q.until, format: 'epoch_millis' } },
  });
  const sessionSince = Math.min(q.since, q.sessionSince ?? q.since);
  const should: unknown[] = [];
  if (q.correlationId)
    should.push({
      bool: {
        filter: [range(sessionSince)],
        should: f.correlation.map((c) => ({ term: { [c]: q.correlationId } })),
        minimum_should_match: 1,
      },
    });
  if (q.services.length)
    should.push({
      bool: {
        filter: [
          range(q.since),
          { terms: { [f.service]: [...new Set(q.services)] } },
          { terms: { [f.level]: levelTerms } },
        ],
      },
    });
  return {
    size: q.limit,
    track_total_hits: false,
    sort: [{ [f.timestamp]: { order: 'desc' } }],
    query: {
      bool: {
        filter: [range(sessionSince)],
        should,
        minimum_should_match: 1,
      },
    },
  };
}

export type EsHit = z.infer<typeof searchSchema>['hits']['hits'][number] & { _index?: string };

/** POST INDEX/_search; the hits, or a SourceError. */
export async function search(o: ElasticsearchOptions, body: unknown, signal: AbortSignal) {
  const { base, headers } = esHeaders(o);
  const url = `${base}/${encodeURIComponent(o.index).replace(/%2C/g, ',').replace(/%2A/g, '*')}/_search?ignore_unavailable=true`;
  const answer = await fetchJson(url, { method: 'POST', headers, body: JSON.stringify(body), signal });
  const r = searchSchema.safeParse(answer);
  if (!r.success) throw new SourceError('bad_answer', 'not a _search answer');
  return r.data.hits.hits;
}

/** Elasticsearch or OpenSearch as a trigger-time log source. */
export function createElasticsearchSource(o: ElasticsearchOptions): LogSource {
  return {
    name: 'Elasticsearch',
    async query(q) {
      if (!q.correlationId && !q.services.length) return [];
      const hits = await search(o, triggerSearch(o.fields, q), q.signal);
      return hits.flatMap((h) => lineOfDocument(h._source, o.fields) ?? []);
    },
  };
}
