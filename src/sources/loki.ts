import { z } from 'zod';
import type { LogLevel } from '../core/log-line.ts';
import {
  type LogQuery,
  type LogSource,
  levelFromText,
  nsToMs,
  type RemoteLogLine,
  SERVICE_LABELS,
  SourceError,
  streamService,
  toLevel,
} from '../core/log-source.ts';
import { fetchJson, splitCredentials } from './log-source.ts';

export { nsToMs, SERVICE_LABELS, streamService };

const CORRELATION_LABELS = ['correlationId', 'correlation_id', 'trace_id', 'traceId'];

// query_range and tail answers (https://grafana.com/docs/loki/latest/reference/loki-http-api/):
// { status: "success", data: { resultType: "streams", result: [{ stream: {labels}, values: [[ns, line, {metadata}?]] }] } }
const entry = z.union([
  z.tuple([z.string(), z.string()]),
  z.tuple([z.string(), z.string(), z.record(z.string(), z.unknown())]),
]);
export const lokiStreamSchema = z.object({
  stream: z.record(z.string(), z.string()).default({}),
  values: z.array(entry),
});
const queryRangeSchema = z.object({
  status: z.literal('success'),
  data: z.object({ resultType: z.literal('streams'), result: z.array(lokiStreamSchema) }),
});
export type LokiStream = z.infer<typeof lokiStreamSchema>;

export interface LokiOptions {
  url: string;
  tenant?: string;
  token?: string;
  selector: string;
  serviceLabel?: string;
}

/** LogQL string literal (backquoted strings cannot hold a backquote, so use a double-quoted one). */
export const logqlString = (s: string): string => JSON.stringify(s);

/** Headers for every Loki request: tenant, bearer token or Basic from the URL. */
export function lokiHeaders(o: LokiOptions): { base: string; headers: Record<string, string> } {
  const { base, authorization } = splitCredentials(o.url);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (o.tenant) headers['X-Scope-OrgID'] = o.tenant;
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  else if (authorization) headers.authorization = authorization;
  return { base, headers };
}

/** Lines of Loki streams, with level from the level or detected_level label, else from the text. */
export function linesOfStreams(streams: LokiStream[], serviceLabel?: string): RemoteLogLine[] {
  const out: RemoteLogLine[] = [];
  for (const s of streams) {
    const service = streamService(s.stream, serviceLabel);
    const labelLevel = s.stream.level ?? s.stream.detected_level;
    const level: LogLevel | null = labelLevel ? toLevel(labelLevel) : null;
    const streamCorr = CORRELATION_LABELS.map((l) => s.stream[l]).find(Boolean) ?? null;
    for (const v of s.values) {
      const meta = (v[2] ?? {}) as Record<string, unknown>;
      const metaLevel = typeof meta.level === 'string' ? toLevel(meta.level) : null;
      const metaCorr = CORRELATION_LABELS.map((l) => meta[l]).find((x) => typeof x === 'string') as
        | string
        | undefined;
      out.push({
        ts: nsToMs(v[0]),
        service,
        level: level ?? metaLevel ?? levelFromText(v[1]),
        message: v[1],
        correlationId: metaCorr ?? streamCorr,
      });
    }
  }
  return out;
}

/** Parses a query_range answer; a SourceError when it is not a streams answer. */
export function parseQueryRange(body: unknown): LokiStream[] {
  const r = queryRangeSchema.safeParse(body);
  if (!r.success) throw new SourceError('bad_answer', 'not a Loki streams answer');
  return r.data.data.result;
}

/** GET /loki/api/v1/query_range for one LogQL query, newest first. */
export async function queryRange(
  o: LokiOptions,
  query: string,
  range: { since: number; until: number; limit: number; direction?: 'backward' | 'forward' },
  signal: AbortSignal,
): Promise<LokiStream[]> {
  const { base, headers } = lokiHeaders(o);
  const params = new URLSearchParams({
    query,
    // Nanosecond epochs; end is inclusive for our window, Loki's end is exclusive, so +1 ms.
    start: `${range.since}000000`,
    end: `${range.until + 1}000000`,
    limit: String(range.limit),
    direction: range.direction ?? 'backward',
  });
  const body = await fetchJson(`${base}/loki/api/v1/query_range?${params}`, { headers, signal });
  return parseQueryRange(body);
}

/**
 * Builds the two trigger-time LogQL queries: the session's lines (a line filter on the correlation
 * id, from `sessionSince`) and the candidates' lines (from `since`) (a label filter on the service labels; levels are sorted out here,
 * because a level may live in a label, in structured metadata or only in the text).
 */
export function triggerQueries(
  o: LokiOptions,
  q: Pick<LogQuery, 'correlationId' | 'services' | 'since' | 'sessionSince'>,
): Array<{ query: string; since: number }> {
  const out: Array<{ query: string; since: number }> = [];
  if (q.correlationId)
    out.push({
      query: `${o.selector} |= ${logqlString(q.correlationId)}`,
      since: Math.min(q.since, q.sessionSince ?? q.since),
    });
  if (q.services.length) {
    const re = logqlString(
      `(?i)${[...new Set(q.services)].map((s) => s.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')).join('|')}`,
    );
    const labels = o.serviceLabel ? [o.serviceLabel] : [...SERVICE_LABELS];
    out.push({ query: `${o.selector} | ${labels.map((l) => `${l}=~${re}`).join(' or ')}`, since: q.since });
  }
  return out;
}

/** Loki as a trigger-time log source. */
export function createLokiSource(o: LokiOptions): LogSource {
  return {
    name: 'Loki',
    async query(q) {
      const answers = await Promise.all(
        triggerQueries(o, q).map(({ query, since }) => queryRange(o, query, { ...q, since }, q.signal)),
      );
      return answers.flatMap((streams) => linesOfStreams(streams, o.serviceLabel));
    },
  };
}
