import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { gzipSync } from 'node:zlib';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as OTLPProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { postJson, startTestApp, type TestApp, waitFor } from '../helpers/test-app.ts';

let app: TestApp;
const KEY = 'otlp-test-key';
const auth = { authorization: `Bearer ${KEY}` };

interface StoredLog {
  service: string;
  level: string;
  message: string;
  correlationId: string | null;
  timestamp: string | number;
  attributes: Record<string, unknown> | null;
}
const logsOf = async (service: string): Promise<StoredLog[]> =>
  (
    (await (await fetch(`${app.url}/api/logs?service=${service}`, { headers: auth })).json()) as {
      logs: StoredLog[];
    }
  ).logs;

beforeAll(async () => {
  app = await startTestApp({ TRACEPULSE_API_KEYS: KEY, TRACEPULSE_MAX_BODY_BYTES: '4096' });
});
afterAll(() => app.close());

describe('POST /v1/logs (OTLP/HTTP, JSON)', () => {
  test('what the OpenTelemetry JS SDK exporter sends is stored: service.name, severity, correlation', async () => {
    const exporter = new OTLPLogExporter({ url: `${app.url}/v1/logs`, headers: auth });
    const provider = new LoggerProvider({
      resource: resourceFromAttributes({ 'service.name': 'OCPP201' }),
      processors: [new SimpleLogRecordProcessor({ exporter })],
    });
    const logger = provider.getLogger('everest-ocpp');
    const t = Date.now() - 1000;
    logger.emit({
      timestamp: t,
      severityNumber: SeverityNumber.ERROR,
      severityText: 'ERROR',
      body: 'WebsocketPongTimeout: no pong from CSMS in 30 s, closing connection',
      attributes: { correlationId: 'txn-otel-1', connector: 1 },
    });
    logger.emit({ severityNumber: SeverityNumber.WARN, body: 'reconnect attempt 1 of 5' });
    await provider.forceFlush();
    await provider.shutdown();
    const logs = await waitFor(async () => {
      const l = await logsOf('OCPP201');
      return l.length === 2 ? l : null;
    });
    const err = logs.find((l) => l.level === 'error')!;
    expect(err).toMatchObject({
      service: 'OCPP201',
      message: 'WebsocketPongTimeout: no pong from CSMS in 30 s, closing connection',
      correlationId: 'txn-otel-1',
    });
    expect(new Date(err.timestamp).getTime()).toBe(t);
    expect(err.attributes).toMatchObject({ connector: 1, 'otel.scope.name': 'everest-ocpp' });
    expect(logs.find((l) => l.level === 'warn')?.message).toBe('reconnect attempt 1 of 5');
  });

  const record = (over: Record<string, unknown> = {}) => ({
    timeUnixNano: `${Date.now() - 500}000000`,
    severityNumber: 17,
    body: { stringValue: 'relay K1 feedback mismatch' },
    traceId: '5b8efff798038103d269b633813fc60c',
    ...over,
  });
  const req = (records: unknown[], service = 'BSP') => ({
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeLogs: [{ logRecords: records }],
      },
    ],
  });

  test('the trace id is the correlation id when no correlation attribute is given; severityText alone sets the level', async () => {
    const res = await postJson(
      `${app.url}/v1/logs`,
      req(
        [
          record(),
          record({
            severityNumber: undefined,
            severityText: 'Warning',
            body: { stringValue: 'PWM duty 5 %' },
          }),
        ],
        'BSP-trace',
      ),
      auth,
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});
    const logs = await logsOf('BSP-trace');
    expect(logs.map((l) => [l.level, l.correlationId]).sort()).toEqual([
      ['error', '5b8efff798038103d269b633813fc60c'],
      ['warn', '5b8efff798038103d269b633813fc60c'],
    ]);
  });

  test('some bad records: a partial success naming them, the good ones stored', async () => {
    const res = await postJson(
      `${app.url}/v1/logs`,
      req(
        [record({ body: { stringValue: 'ok line' } }), record({ body: { stringValue: 'x'.repeat(17_000) } })],
        'BSP-partial',
      ),
      { ...auth },
    );
    // 4 KiB body limit: this one is too large, so check it is a 413 first, then send a small partial batch.
    expect(res.status).toBe(413);
    const bad = await postJson(
      `${app.url}/v1/logs`,
      {
        resourceLogs: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: 'BSP-partial' } }] },
            scopeLogs: [{ logRecords: [record({ body: { stringValue: 'ok line' } })] }],
          },
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: '' } }] },
            scopeLogs: [{ logRecords: [record()] }],
          },
        ],
      },
      auth,
    );
    expect(bad.status).toBe(200);
    const body = (await bad.json()) as {
      partialSuccess: { rejectedLogRecords: string; errorMessage: string };
    };
    expect(body.partialSuccess.rejectedLogRecords).toBe('1');
    expect(body.partialSuccess.errorMessage).toContain('resourceLogs[1].scopeLogs[0].logRecords[0] service');
    expect((await logsOf('BSP-partial')).map((l) => l.message)).toEqual(['ok line']);
  });

  test('bad input gets a 4xx listing the problems; no key gets 401; all counted', async () => {
    expect((await postJson(`${app.url}/v1/logs`, req([record()]))).status).toBe(401);
    const wrongType = await fetch(`${app.url}/v1/logs`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'text/plain' },
      body: 'hello',
    });
    expect(wrongType.status).toBe(415);
    expect(((await wrongType.json()) as { problems: string[] }).problems[0]).toContain(
      'application/x-protobuf',
    );
    const badProto = await fetch(`${app.url}/v1/logs`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/x-protobuf' },
      body: new Uint8Array([10, 200, 1, 3]),
    });
    expect(badProto.status).toBe(400);
    expect(((await badProto.json()) as { problems: string[] }).problems[0]).toContain('protobuf');
    const garbage = await fetch(`${app.url}/v1/logs`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: '{"resourceLogs": [',
    });
    expect(garbage.status).toBe(400);
    const wrong = await postJson(
      `${app.url}/v1/logs`,
      { resourceLogs: [{ scopeLogs: [{ logRecords: [{ severityNumber: 99 }] }] }] },
      auth,
    );
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as { problems: string[] }).problems[0]).toContain('severityNumber');
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toContain('tracepulse_rejected_total{reason="bad_content_type",source="otlp"} 1');
    expect(metrics).toContain('tracepulse_rejected_total{reason="bad_json",source="otlp"} 1');
    expect(metrics).toContain('tracepulse_rejected_total{reason="bad_protobuf",source="otlp"} 1');
    expect(metrics).toMatch(/tracepulse_logs_total\{source="otlp"\} \d+/);
  });
});

describe('POST /v1/logs (OTLP/HTTP, protobuf and gzip)', () => {
  const emitTwo = async (exporter: OTLPProtoLogExporter | OTLPLogExporter, service: string, corr: string) => {
    const provider = new LoggerProvider({
      resource: resourceFromAttributes({ 'service.name': service }),
      processors: [new SimpleLogRecordProcessor({ exporter })],
    });
    const logger = provider.getLogger('everest-evse');
    const t = Date.now() - 2000;
    logger.emit({
      timestamp: t,
      severityNumber: SeverityNumber.FATAL,
      body: 'EvseManager: contactor welded, session aborted',
      attributes: { 'session.id': corr, evse: 2 },
    });
    logger.emit({ severityNumber: SeverityNumber.INFO, body: { phase: 'idle', evse: 2 } });
    await provider.forceFlush();
    await provider.shutdown();
    const logs = await waitFor(async () => {
      const l = await logsOf(service);
      return l.length === 2 ? l : null;
    });
    const fatal = logs.find((l) => l.level === 'fatal')!;
    expect(fatal).toMatchObject({
      service,
      message: 'EvseManager: contactor welded, session aborted',
      correlationId: corr,
    });
    expect(new Date(fatal.timestamp).getTime()).toBe(t);
    expect(fatal.attributes).toMatchObject({ evse: 2, 'otel.scope.name': 'everest-evse' });
    expect(logs.find((l) => l.level === 'info')?.message).toBe('{"phase":"idle","evse":2}');
  };

  test('the OpenTelemetry JS SDK protobuf exporter (@opentelemetry/exporter-logs-otlp-proto) is stored', async () => {
    const exporter = new OTLPProtoLogExporter({ url: `${app.url}/v1/logs`, headers: auth });
    await emitTwo(exporter, 'EvseManager-proto', 'txn-otel-proto');
  });

  test('the protobuf exporter with gzip compression, as the Collector sends by default, is stored', async () => {
    const exporter = new OTLPProtoLogExporter({
      url: `${app.url}/v1/logs`,
      headers: auth,
      compression: CompressionAlgorithm.GZIP,
    });
    await emitTwo(exporter, 'EvseManager-gzip', 'txn-otel-gzip');
  });

  test('the JSON exporter with gzip compression is stored', async () => {
    const exporter = new OTLPLogExporter({
      url: `${app.url}/v1/logs`,
      headers: auth,
      compression: CompressionAlgorithm.GZIP,
    });
    await emitTwo(exporter, 'EvseManager-jsongz', 'txn-otel-jsongz');
  });

  test('the trace id of a protobuf record (bytes) is the hex correlation id', async () => {
    const { decodeExportRequest } = await import('../../src/ingest/otlp-proto.ts');
    const protobuf = (await import('protobufjs/light.js')).default;
    const { otlpLogsDescriptor } = await import('../../src/ingest/otlp-logs-descriptor.ts');
    const T = protobuf.Root.fromJSON(otlpLogsDescriptor).lookupType(
      'opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest',
    );
    const traceId = '5b8efff798038103d269b633813fc60c';
    const bytes = T.encode(
      T.fromObject({
        resourceLogs: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: 'BSP-proto' } }] },
            scopeLogs: [
              {
                logRecords: [
                  {
                    timeUnixNano: `${Date.now() - 100}000000`,
                    severityText: 'ERR',
                    body: { stringValue: 'CP line stuck at state F' },
                    traceId: Buffer.from(traceId, 'hex'),
                  },
                ],
              },
            ],
          },
        ],
      }),
    ).finish();
    expect(decodeExportRequest(bytes).ok).toBe(true);
    const res = await fetch(`${app.url}/v1/logs`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/x-protobuf' },
      body: new Uint8Array(bytes),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-protobuf');
    expect((await res.arrayBuffer()).byteLength).toBe(0);
    const logs = await logsOf('BSP-proto');
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({
      level: 'error',
      correlationId: traceId,
      message: 'CP line stuck at state F',
    });
  });

  test('a gzip bomb gets 413 after inflating at most 16 x the body limit, counted; other encodings 415', async () => {
    // 4 KiB limit: a ~60 KB JSON body, gzipped below 4 KiB, inflates past 16 x 4 KiB.
    const lines = Array.from({ length: 2000 }, () => ({
      timeUnixNano: `${Date.now()}000000`,
      body: { stringValue: 'x' },
    }));
    const bomb = gzipSync(JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: lines }] }] }));
    expect(bomb.length).toBeLessThan(4096);
    const res = await fetch(`${app.url}/v1/logs`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: bomb,
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { problems: string[] }).problems[0]).toContain('after gzip decompression');
    const notGzip = await fetch(`${app.url}/v1/logs`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: '{}',
    });
    expect(notGzip.status).toBe(400);
    const zstd = await fetch(`${app.url}/v1/logs`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', 'content-encoding': 'zstd' },
      body: '{}',
    });
    expect(zstd.status).toBe(415);
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toContain('tracepulse_rejected_total{reason="too_large",source="otlp"} 1');
    expect(metrics).toContain('tracepulse_rejected_total{reason="bad_gzip",source="otlp"} 1');
    expect(metrics).toContain('tracepulse_rejected_total{reason="bad_encoding",source="otlp"} 1');
  });
});
