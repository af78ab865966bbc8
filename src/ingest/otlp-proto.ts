import protobuf from 'protobufjs/light.js';
import { otlpLogsDescriptor } from './otlp-logs-descriptor.ts';

// The official OTLP messages (opentelemetry-proto), loaded on the first protobuf request.
const root = protobuf.Root.fromJSON(otlpLogsDescriptor);
const Request = root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');
const Response = root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse');

const hexOfBase64 = (b64: unknown): string | undefined =>
  typeof b64 === 'string' && b64 ? Buffer.from(b64, 'base64').toString('hex') : undefined;

/**
 * A protobuf ExportLogsServiceRequest as the OTLP JSON encoding's object (lowerCamelCase fields,
 * 64-bit integers as strings, trace and span ids as hex), so one schema checks both encodings.
 */
export function decodeExportRequest(
  bytes: Uint8Array,
): { ok: true; value: unknown } | { ok: false; problem: string } {
  let obj: {
    resourceLogs?: Array<{ scopeLogs?: Array<{ logRecords?: Array<Record<string, unknown>> }> }>;
  };
  try {
    obj = Request.toObject(Request.decode(bytes), {
      longs: String,
      bytes: String,
      enums: Number,
    }) as typeof obj;
  } catch (err) {
    return { ok: false, problem: `malformed ExportLogsServiceRequest protobuf: ${(err as Error).message}` };
  }
  for (const rl of obj.resourceLogs ?? [])
    for (const sl of rl.scopeLogs ?? [])
      for (const r of sl.logRecords ?? []) {
        r.traceId = hexOfBase64(r.traceId);
        r.spanId = hexOfBase64(r.spanId);
      }
  return { ok: true, value: obj };
}

/** An ExportLogsServiceResponse: empty on full success, else a partial success naming the rejected records. */
export function encodeExportResponse(rejected: number, errorMessage: string): Uint8Array {
  return Response.encode(
    Response.fromObject(rejected ? { partialSuccess: { rejectedLogRecords: rejected, errorMessage } } : {}),
  ).finish();
}
