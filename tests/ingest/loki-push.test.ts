import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import protobuf from 'protobufjs';
import { gzipSync } from 'node:zlib';
import { compress } from 'snappyjs';
import { postJson, startTestApp, type TestApp } from '../helpers/test-app.ts';

let app: TestApp;
const KEY = 'promtail-key';
const auth = { authorization: `Bearer ${KEY}` };

interface StoredLog {
  service: string;
  level: string;
  message: string;
  correlationId: string | null;
  timestamp: string;
  attributes: Record<string, unknown> | null;
}
const logsOf = async (service: string): Promise<StoredLog[]> =>
  (
    (await (await fetch(`${app.url}/api/logs?service=${service}`, { headers: auth })).json()) as {
      logs: StoredLog[];
    }
  ).logs;

// Loki's own push.proto (grafana/loki@01a3f3fa:pkg/push/push.proto) without the gogoproto options,
// parsed here independently of the receiver's descriptor: what Promtail, Alloy and Fluent Bit encode.
const PROTO = `
syntax = "proto3";
package logproto;
message Timestamp { int64 seconds = 1; int32 nanos = 2; }
message PushRequest { repeated StreamAdapter streams = 1; string format = 2; }
message StreamAdapter { string labels = 1; repeated EntryAdapter entries = 2; uint64 hash = 3; }
message LabelPairAdapter { string name = 1; string value = 2; }
message EntryAdapter { Timestamp timestamp = 1; string line = 2; repeated LabelPairAdapter structuredMetadata = 3; }
`;
const PushRequest = protobuf.parse(PROTO).root.lookupType('logproto.PushRequest');
const encodePush = (streams: unknown[]): Uint8Array<ArrayBuffer> =>
  new Uint8Array(compress(PushRequest.encode(PushRequest.fromObject({ streams })).finish()));

beforeAll(async () => {
  app = await startTestApp({ TRACEPULSE_API_KEYS: KEY, TRACEPULSE_MAX_BODY_BYTES: '8192' });
});
afterAll(() => app.close());

describe('POST /loki/api/v1/push', () => {
  test('JSON: 204 like Loki; service, level and correlation id from labels and structured metadata', async () => {
    const t = Date.now() - 2000;
    const res = await postJson(
      `${app.url}/loki/api/v1/push`,
      {
        streams: [
          {
            stream: { station: 'EV-Station-01', service_name: 'EvseManager', level: 'error' },
            values: [
              [`${t}000000`, 'Charger::error_shutdown: OverCurrent on L1', { trace_id: 'txn-push-1' }],
              [`${t + 1}000000`, 'raise_inoperative_error MREC_4'],
            ],
          },
          { stream: { job: 'slac' }, values: [[`${t}123456`, 'level=warn msg="CM_SLAC_MATCH timeout"']] },
        ],
      },
      auth,
    );
    expect(res.status).toBe(204);
    const evse = await logsOf('EvseManager');
    expect(evse.map((l) => [l.level, l.message, l.correlationId]).sort()).toEqual([
      ['error', 'Charger::error_shutdown: OverCurrent on L1', 'txn-push-1'],
      ['error', 'raise_inoperative_error MREC_4', null],
    ]);
    expect(evse[0]?.attributes).toMatchObject({ station: 'EV-Station-01' });
    const slac = await logsOf('slac');
    expect(slac.map((l) => [l.level, new Date(l.timestamp).getTime()])).toEqual([['warn', t]]);
  });

  test('protobuf + snappy, as Promtail sends it, is stored the same way', async () => {
    const t = Date.now() - 1000;
    const body = encodePush([
      {
        labels: '{station="EV-Station-01", service_name="OCPP201", detected_level="warn"}',
        entries: [
          {
            timestamp: { seconds: Math.floor(t / 1000), nanos: (t % 1000) * 1_000_000 + 42 },
            line: 'WebsocketPongTimeout after 30 s',
            structuredMetadata: [{ name: 'correlationId', value: 'txn-pb-1' }],
          },
        ],
      },
    ]);
    const res = await fetch(`${app.url}/loki/api/v1/push`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/x-protobuf' },
      body,
    });
    expect(res.status).toBe(204);
    const logs = await logsOf('OCPP201');
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({
      level: 'warn',
      message: 'WebsocketPongTimeout after 30 s',
      correlationId: 'txn-pb-1',
    });
    expect(new Date(logs[0]!.timestamp).getTime()).toBe(t);
  });

  test('bad input: 400 or 415 listing the problems, 401 without a key, 413 over the limit; partial batches keep good lines', async () => {
    expect((await postJson(`${app.url}/loki/api/v1/push`, { streams: [] })).status).toBe(401);
    const notSnappy = await fetch(`${app.url}/loki/api/v1/push`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/x-protobuf' },
      body: new TextEncoder().encode('definitely not snappy'),
    });
    expect(notSnappy.status).toBe(400);
    expect(((await notSnappy.json()) as { problems: string[] }).problems[0]).toContain('protobuf');
    const badTs = await postJson(
      `${app.url}/loki/api/v1/push`,
      { streams: [{ stream: { app: 'x' }, values: [['yesterday', 'line']] }] },
      auth,
    );
    expect(badTs.status).toBe(400);
    expect(((await badTs.json()) as { problems: string[] }).problems[0]).toContain('streams.0.values.0');
    const type = await fetch(`${app.url}/loki/api/v1/push`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'text/plain' },
      body: 'x',
    });
    expect(type.status).toBe(415);
    const big = await postJson(
      `${app.url}/loki/api/v1/push`,
      { streams: [{ stream: { app: 'big' }, values: [[`${Date.now()}000000`, 'x'.repeat(9000)]] }] },
      auth,
    );
    expect(big.status).toBe(413);
    const partial = await postJson(
      `${app.url}/loki/api/v1/push`,
      {
        streams: [
          { stream: { app: 'PowerMeterDC' }, values: [[`${Date.now()}000000`, 'ERROR meter timeout']] },
          // A service name over 200 characters is rejected, as on POST /api/logs.
          { stream: { app: 'm'.repeat(201) }, values: [[`${Date.now()}000000`, 'ERROR meter timeout']] },
        ],
      },
      auth,
    );
    expect(partial.status).toBe(200);
    expect(await partial.json()).toMatchObject({ accepted: 1, rejected: 1 });
    expect((await logsOf('PowerMeterDC')).map((l) => [l.level, l.message])).toEqual([
      ['error', 'ERROR meter timeout'],
    ]);
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toContain('tracepulse_rejected_total{reason="bad_protobuf",source="loki-push"} 1');
    expect(metrics).toMatch(/tracepulse_logs_total\{source="loki-push"\} 5/);
  });

  test('gzip JSON, as Fluent Bit sends with compress gzip, is stored; gzip and snappy bombs get 413, counted', async () => {
    const t = Date.now() - 1500;
    const body = JSON.stringify({
      streams: [
        {
          stream: { service_name: 'EvseManager-gz', level: 'error' },
          values: [[`${t}000000`, 'lock motor stalled', { correlation_id: 'txn-gz-1' }]],
        },
      ],
    });
    const res = await fetch(`${app.url}/loki/api/v1/push`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(body),
    });
    expect(res.status).toBe(204);
    const logs = await logsOf('EvseManager-gz');
    expect(logs.map((l) => [l.level, l.message, l.correlationId])).toEqual([
      ['error', 'lock motor stalled', 'txn-gz-1'],
    ]);
    // 8 KiB limit: 16 x 8 KiB = 128 KiB after decompression.
    const bomb = gzipSync(
      JSON.stringify({ streams: [{ stream: { app: 'x' }, values: [[`${t}000000`, 'y'.repeat(200_000)]] }] }),
    );
    expect(bomb.length).toBeLessThan(8192);
    const gz = await fetch(`${app.url}/loki/api/v1/push`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: bomb,
    });
    expect(gz.status).toBe(413);
    // A snappy block that states 2^30 bytes: refused before anything is inflated.
    const snappyBomb = new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x04, 0x00]);
    const sn = await fetch(`${app.url}/loki/api/v1/push`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/x-protobuf' },
      body: snappyBomb,
    });
    expect(sn.status).toBe(413);
    expect(((await sn.json()) as { problems: string[] }).problems[0]).toContain('after snappy decompression');
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toContain('tracepulse_rejected_total{reason="too_large",source="loki-push"} 2');
  });
});
