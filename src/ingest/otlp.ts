import { Hono } from 'hono';
import { z } from 'zod';
import type { LogLevel, LogLine } from '../core/log-line.ts';
import { levelFromText, toLevel } from '../core/log-source.ts';
import { decodeUtf8 } from './normalize.ts';
import { checkLine, DECODED_FACTOR, readBody, reject, storePushed } from './push-common.ts';
import type { IngestIntake } from './intake.ts';

/** Record attributes that carry the correlation id, before the trace id is used. */
const CORRELATION_KEYS = [
  'correlationId',
  'correlation_id',
  'correlation.id',
  'session.id',
  'transaction.id',
];

// OTLP/HTTP JSON (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding): lowerCamelCase
// field names, 64-bit integers as strings or numbers, trace and span ids as hex strings.
const int64 = z.union([z.string().regex(/^\d{1,20}$/), z.number().int().nonnegative()]);
type AnyValue = {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  bytesValue?: string;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: Array<{ key: string; value?: AnyValue }> };
};
const anyValue: z.ZodType<AnyValue> = z.lazy(() =>
  z.object({
    stringValue: z.string().optional(),
    boolValue: z.boolean().optional(),
    intValue: z.union([z.string(), z.number()]).optional(),
    doubleValue: z.number().optional(),
    bytesValue: z.string().optional(),
    arrayValue: z.object({ values: z.array(anyValue).optional() }).optional(),
    kvlistValue: z
      .object({ values: z.array(z.object({ key: z.string(), value: anyValue.optional() })).optional() })
      .optional(),
  }),
);
const keyValues = z.array(z.object({ key: z.string(), value: anyValue.optional() })).optional();
const exportSchema = z.object({
  resourceLogs: z
    .array(
      z.object({
        resource: z.object({ attributes: keyValues }).optional(),
        scopeLogs: z
          .array(
            z.object({
              scope: z.object({ name: z.string().optional() }).optional(),
              logRecords: z
                .array(
                  z.object({
                    timeUnixNano: int64.optional(),
                    observedTimeUnixNano: int64.optional(),
                    severityNumber: z.number().int().min(0).max(24).optional(),
                    severityText: z.string().optional(),
                    body: anyValue.optional(),
                    attributes: keyValues,
                    traceId: z.string().optional(),
                    spanId: z.string().optional(),
                  }),
                )
                .optional(),
            }),
          )
          .optional(),
      }),
    )
    .optional(),
});

/** An AnyValue as plain JSON (strings stay strings; kvlists become objects). */
export function plain(v: AnyValue | undefined): unknown {
  if (!v) return null;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.bytesValue !== undefined) return v.bytesValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(plain);
  if (v.kvlistValue)
    return Object.fromEntries((v.kvlistValue.values ?? []).map((kv) => [kv.key, plain(kv.value)]));
  return null;
}
const attrs = (kvs: Array<{ key: string; value?: AnyValue }> | undefined): Record<string, unknown> =>
  Object.fromEntries((kvs ?? []).map((kv) => [kv.key, plain(kv.value)]));

/** SeverityNumber ranges of the OTel logs data model: 1-4 TRACE ... 21-24 FATAL. */
export function levelOfSeverity(n: number | undefined, text: string | undefined, body: string): LogLevel {
  if (n && n >= 1)
    return n <= 8 ? 'debug' : n <= 12 ? 'info' : n <= 16 ? 'warn' : n <= 20 ? 'error' : 'fatal';
  return (text && toLevel(text)) || levelFromText(body);
}

const nsToMs = (v: string | number | undefined): number | null => {
  if (v === undefined) return null;
  const s = String(v);
  const ms = s.length > 6 ? Number(s.slice(0, -6)) : 0;
  return ms > 0 ? ms : null;
};

/** An OTLP ExportLogsServiceRequest as log lines: service.name, severity, trace id or a correlation attribute. */
export function linesOfExport(
  body: z.infer<typeof exportSchema>,
  now: number,
  problems: string[],
): { good: LogLine[]; total: number } {
  const good: LogLine[] = [];
  let total = 0;
  (body.resourceLogs ?? []).forEach((rl, i) => {
    const resource = attrs(rl.resource?.attributes);
    const service =
      typeof resource['service.name'] === 'string' ? resource['service.name'] : 'unknown_service';
    (rl.scopeLogs ?? []).forEach((sl, j) => {
      (sl.logRecords ?? []).forEach((r, k) => {
        total++;
        const a = attrs(r.attributes);
        const b = plain(r.body);
        const message = typeof b === 'string' ? b : b === null ? '' : JSON.stringify(b);
        const traceId = r.traceId && !/^0*$/.test(r.traceId) ? r.traceId : null;
        const corr = CORRELATION_KEYS.map((key) => a[key]).find((x) => typeof x === 'string' && x) as
          | string
          | undefined;
        const line = checkLine(
          {
            timestamp: nsToMs(r.timeUnixNano) ?? nsToMs(r.observedTimeUnixNano) ?? now,
            service,
            level: levelOfSeverity(r.severityNumber, r.severityText, message),
            message,
            correlationId: corr ?? traceId,
            attributes: {
              ...a,
              ...(traceId ? { traceId } : {}),
              ...(r.spanId ? { spanId: r.spanId } : {}),
              ...(sl.scope?.name ? { 'otel.scope.name': sl.scope.name } : {}),
            },
          },
          'otlp',
          `resourceLogs[${i}].scopeLogs[${j}].logRecords[${k}]`,
          problems,
        );
        if (line) good.push(line);
      });
    });
  });
  return { good, total };
}

/**
 * POST /v1/logs, the OTLP/HTTP logs endpoint (what OTel SDKs and the Collector's otlphttp exporter
 * send), in the JSON and the protobuf encoding, plain or gzip. Answers an ExportLogsServiceResponse
 * in the request's encoding; some bad records make a partial success naming them.
 */
export function createOtlpRoutes(sink: IngestIntake, options: { maxBodyBytes: number }): Hono {
  const app = new Hono();
  const maxDecoded = options.maxBodyBytes * DECODED_FACTOR;
  app.post('/v1/logs', async (c) => {
    const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    const proto = type === 'application/x-protobuf';
    if (!proto && type !== 'application/json')
      return reject(
        sink,
        'otlp',
        [
          `unsupported Content-Type ${type || '(none)'}; use application/x-protobuf or application/json (OTLP/HTTP)`,
        ],
        'bad_content_type',
        415,
      );
    const bytes = await readBody(c.req.raw, sink, 'otlp', maxDecoded);
    if (bytes instanceof Response) return bytes;
    let body: unknown;
    let codec: typeof import('./otlp-proto.ts') | null = null;
    if (proto) {
      codec = await import('./otlp-proto.ts');
      const d = codec.decodeExportRequest(bytes);
      if (!d.ok) return reject(sink, 'otlp', [d.problem], 'bad_protobuf');
      body = d.value;
    } else {
      const text = decodeUtf8(bytes);
      if (text === null) return reject(sink, 'otlp', ['body is not valid UTF-8'], 'bad_encoding');
      try {
        body = JSON.parse(text);
      } catch (e) {
        return reject(sink, 'otlp', [`malformed JSON: ${(e as Error).message}`], 'bad_json');
      }
    }
    const r = exportSchema.safeParse(body);
    if (!r.success)
      return reject(
        sink,
        'otlp',
        r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
        'invalid_log',
      );
    const answer = (rejected: number, errorMessage: string) =>
      codec
        ? new Response(codec.encodeExportResponse(rejected, errorMessage) as Uint8Array<ArrayBuffer>, {
            headers: { 'content-type': 'application/x-protobuf' },
          })
        : Response.json(
            rejected ? { partialSuccess: { rejectedLogRecords: String(rejected), errorMessage } } : {},
          );
    const problems: string[] = [];
    const { good, total } = linesOfExport(r.data, sink.context('otlp').now, problems);
    if (!total) return answer(0, '');
    const res = await storePushed(sink, 'otlp', good, total, problems, () => answer(0, ''));
    if (res.status !== 200 || good.length === total) return res;
    return answer(total - good.length, problems.join('; '));
  });
  return app;
}
