import { Hono } from 'hono';
import { z } from 'zod';
import type { LogLine } from '../core/log-line.ts';
import { levelFromText, nsToMs, streamService, toLevel } from '../core/log-source.ts';
import { decodeUtf8 } from './normalize.ts';
import { checkLine, DECODED_FACTOR, readBody, reject, storePushed } from './push-common.ts';
import type { IngestIntake } from './intake.ts';

const CORRELATION_KEYS = ['correlationId', 'correlation_id', 'trace_id', 'traceId'];

// The push API's JSON body (https://grafana.com/docs/loki/latest/reference/loki-http-api/#ingest-logs):
// { streams: [{ stream: {label: value}, values: [["<unix ns>", "<line>", {structured metadata}?]] }] }
const pushSchema = z.object({
  streams: z.array(
    z.object({
      stream: z.record(z.string(), z.string()),
      values: z.array(
        z.union([
          z.tuple([z.string().regex(/^\d{1,19}$/, 'expected a unix epoch in ns'), z.string()]),
          z.tuple([z.string().regex(/^\d{1,19}$/), z.string(), z.record(z.string(), z.string())]),
        ]),
      ),
    }),
  ),
});

export interface PushOptions {
  serviceLabel?: string;
  /** TRACEPULSE_MAX_BODY_BYTES; a body may be DECODED_FACTOR times that once decompressed. */
  maxBodyBytes: number;
}

export interface PushedStream {
  labels: Record<string, string>;
  entries: Array<{ ns: string; line: string; metadata?: Record<string, string> }>;
}

/** Loki streams as log lines: service and level as for the Loki source, labels kept as attributes. */
export function linesOfPush(
  streams: PushedStream[],
  serviceLabel: string | undefined,
  problems: string[],
): { good: LogLine[]; total: number } {
  const good: LogLine[] = [];
  let total = 0;
  streams.forEach((s, i) => {
    const service = streamService(s.labels, serviceLabel);
    const labelLevel = s.labels.level ?? s.labels.detected_level;
    s.entries.forEach((e, j) => {
      total++;
      const meta = e.metadata ?? {};
      const level =
        (labelLevel && toLevel(labelLevel)) || (meta.level && toLevel(meta.level)) || levelFromText(e.line);
      const corr = CORRELATION_KEYS.map((k) => meta[k] ?? s.labels[k]).find(Boolean) ?? null;
      const line = checkLine(
        {
          timestamp: nsToMs(e.ns),
          service,
          level,
          message: e.line,
          correlationId: corr,
          attributes: { ...s.labels, ...meta },
        },
        'loki-push',
        `streams[${i}].values[${j}]`,
        problems,
      );
      if (line) good.push(line);
    });
  });
  return { good, total };
}

/**
 * POST /loki/api/v1/push: what Promtail, Grafana Alloy and Fluent Bit's loki output send. JSON,
 * and protobuf+snappy (application/x-protobuf) decoded by a lazily loaded codec. Answers 204 like
 * Loki when every line was stored.
 */
export function createLokiPushRoutes(sink: IngestIntake, options: PushOptions): Hono {
  const app = new Hono();
  const maxDecoded = options.maxBodyBytes * DECODED_FACTOR;
  app.post('/loki/api/v1/push', async (c) => {
    const type = (c.req.header('content-type') ?? 'application/json').split(';')[0]!.trim().toLowerCase();
    const bytes = await readBody(c.req.raw, sink, 'loki-push', maxDecoded);
    if (bytes instanceof Response) return bytes;
    let streams: PushedStream[];
    const problems: string[] = [];
    let skipped = 0;
    if (type === 'application/x-protobuf') {
      const { decodePushRequest } = await import('./loki-push-proto.ts');
      const r = decodePushRequest(bytes, maxDecoded);
      if (!r.ok) return reject(sink, 'loki-push', r.problems, r.reason, r.reason === 'too_large' ? 413 : 400);
      streams = r.streams;
      problems.push(...r.problems);
      skipped = r.skipped;
    } else if (type === 'application/json') {
      const text = decodeUtf8(bytes);
      if (text === null) return reject(sink, 'loki-push', ['body is not valid UTF-8'], 'bad_encoding');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (e) {
        return reject(sink, 'loki-push', [`malformed JSON: ${(e as Error).message}`], 'bad_json');
      }
      const r = pushSchema.safeParse(json);
      if (!r.success)
        return reject(
          sink,
          'loki-push',
          r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
          'invalid_log',
        );
      streams = r.data.streams.map((s) => ({
        labels: s.stream,
        entries: s.values.map((v) => ({ ns: v[0], line: v[1], metadata: v[2] })),
      }));
    } else {
      return reject(
        sink,
        'loki-push',
        [`unsupported Content-Type ${type}; use application/json or application/x-protobuf`],
        'bad_content_type',
        415,
      );
    }
    const { good, total } = linesOfPush(streams, options.serviceLabel, problems);
    return storePushed(
      sink,
      'loki-push',
      good,
      total + skipped,
      problems,
      () => new Response(null, { status: 204 }),
    );
  });
  return app;
}
