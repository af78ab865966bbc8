#!/usr/bin/env bun
/**
 * Figures for docs/log-sources.md (not a test).
 *   npx bun scripts/bench-log-sources.ts [--seconds 3] [--rounds 3] [--triggers 40]
 * 1. Push receivers: lines/s stored through POST /loki/api/v1/push (JSON, JSON+gzip, snappy
 *    protobuf) and POST /v1/logs (OTLP JSON, protobuf, protobuf+gzip) against POST /api/logs, batches of 100 lines from 8 concurrent
 *    clients, one service process (`bun src/main.ts`), endpoints alternating per round; medians.
 * 2. Trigger-to-report latency (report.latencyMs, medians and p90) with no source, and with Loki
 *    or Elasticsearch (local servers speaking their protocols) answering after 0 and 50 ms.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import protobuf from 'protobufjs';
import { gzipSync } from 'node:zlib';
import protobufLight from 'protobufjs/light.js';
import { compress } from 'snappyjs';
import { otlpLogsDescriptor } from '../src/ingest/otlp-logs-descriptor.ts';
import { startFakeEs } from '../tests/helpers/es-server.ts';
import { startFakeLoki } from '../tests/helpers/loki-server.ts';
import { sessionDrop, startTestApp, waitFor } from '../tests/helpers/test-app.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    triggers: { type: 'string', default: '40' },
  },
});
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const TRIGGERS = Number(values.triggers);
const BATCH = 100;
const CLIENTS = 8;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.floor((s.length - 1) / 2)]! + s[Math.ceil((s.length - 1) / 2)]!) / 2 : Number.NaN;
};
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))]!;

// --- 1. receivers ---------------------------------------------------------------------------------
const PushRequest = protobuf
  .parse(`syntax = "proto3"; package logproto;
message Timestamp { int64 seconds = 1; int32 nanos = 2; }
message PushRequest { repeated StreamAdapter streams = 1; }
message StreamAdapter { string labels = 1; repeated EntryAdapter entries = 2; }
message EntryAdapter { Timestamp timestamp = 1; string line = 2; }`)
  .root.lookupType('logproto.PushRequest');

const ExportRequest = protobufLight.Root.fromJSON(otlpLogsDescriptor).lookupType(
  'opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest',
);
const otlpRequest = () => ({
  resourceLogs: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'PowerMeterDC' } }] },
      scopeLogs: [
        {
          logRecords: Array.from({ length: BATCH }, () => ({
            timeUnixNano: `${Date.now()}000000`,
            severityNumber: 13,
            body: { stringValue: `HTTP request to DCBM /v1/legal slow: ${seq++} ms` },
          })),
        },
      ],
    },
  ],
});
const otlpProto = () => ExportRequest.encode(ExportRequest.fromObject(otlpRequest())).finish();
const lokiJson = () =>
  JSON.stringify({
    streams: [
      {
        stream: { station: 'EV-Station-01', service_name: 'PowerMeterDC', level: 'warn' },
        values: Array.from({ length: BATCH }, () => [
          `${Date.now()}000000`,
          `HTTP request to DCBM /v1/legal slow: ${seq++} ms`,
        ]),
      },
    ],
  });

let seq = 0;
type Body = { type: string; body: string | Uint8Array<ArrayBuffer>; encoding?: string };
const bodies: Record<string, () => Body> = {
  'POST /api/logs (NDJSON)': () => ({
    type: 'application/x-ndjson',
    body: Array.from({ length: BATCH }, () =>
      JSON.stringify({
        timestamp: Date.now(),
        service: 'PowerMeterDC',
        level: 'warn',
        message: `HTTP request to DCBM /v1/legal slow: ${seq++} ms`,
      }),
    ).join('\n'),
  }),
  'POST /loki/api/v1/push (JSON)': () => ({ type: 'application/json', body: lokiJson() }),
  'POST /loki/api/v1/push (JSON+gzip)': () => ({
    type: 'application/json',
    body: new Uint8Array(gzipSync(lokiJson())),
    encoding: 'gzip',
  }),
  'POST /loki/api/v1/push (protobuf+snappy)': () => {
    const t = Date.now();
    return {
      type: 'application/x-protobuf',
      body: new Uint8Array(
        compress(
          PushRequest.encode(
            PushRequest.fromObject({
              streams: [
                {
                  labels: '{station="EV-Station-01", service_name="PowerMeterDC", level="warn"}',
                  entries: Array.from({ length: BATCH }, () => ({
                    timestamp: { seconds: Math.floor(t / 1000), nanos: (t % 1000) * 1e6 },
                    line: `HTTP request to DCBM /v1/legal slow: ${seq++} ms`,
                  })),
                },
              ],
            }),
          ).finish(),
        ),
      ),
    };
  },
  'POST /v1/logs (OTLP JSON)': () => ({ type: 'application/json', body: JSON.stringify(otlpRequest()) }),
  'POST /v1/logs (OTLP protobuf)': () => ({
    type: 'application/x-protobuf',
    body: new Uint8Array(otlpProto()),
  }),
  'POST /v1/logs (OTLP protobuf+gzip)': () => ({
    type: 'application/x-protobuf',
    body: new Uint8Array(gzipSync(otlpProto())),
    encoding: 'gzip',
  }),
};
const paths: Record<string, string> = {
  'POST /api/logs (NDJSON)': '/api/logs',
  'POST /loki/api/v1/push (JSON)': '/loki/api/v1/push',
  'POST /loki/api/v1/push (JSON+gzip)': '/loki/api/v1/push',
  'POST /loki/api/v1/push (protobuf+snappy)': '/loki/api/v1/push',
  'POST /v1/logs (OTLP JSON)': '/v1/logs',
  'POST /v1/logs (OTLP protobuf)': '/v1/logs',
  'POST /v1/logs (OTLP protobuf+gzip)': '/v1/logs',
};

async function receivers() {
  const dir = mkdtempSync(join(tmpdir(), 'tp-bench-push-'));
  const probe = Bun.serve({ port: 0, fetch: () => new Response() });
  const port = probe.port;
  probe.stop(true);
  const proc = Bun.spawn(['bun', 'src/main.ts', 'serve'], {
    env: {
      ...process.env,
      TRACEPULSE_PORT: String(port),
      TRACEPULSE_HOST: '127.0.0.1',
      TRACEPULSE_DATA_DIR: dir,
      TRACEPULSE_MAX_BODY_BYTES: String(1024 * 1024),
      TRACEPULSE_LOG_LEVEL: 'warn',
    },
    stdout: 'ignore',
    stderr: 'inherit',
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${url}/healthz`).catch(() => null))?.ok, 15_000, 'service');
  const results: Record<string, number[]> = {};
  const run = async (name: string, seconds: number) => {
    const until = performance.now() + seconds * 1000;
    let lines = 0;
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (performance.now() < until) {
          const { type, body, encoding } = bodies[name]!();
          const res = await fetch(`${url}${paths[name]}`, {
            method: 'POST',
            headers: { 'content-type': type, ...(encoding ? { 'content-encoding': encoding } : {}) },
            body,
          });
          if (res.status >= 300) throw new Error(`${name}: HTTP ${res.status} ${await res.text()}`);
          await res.arrayBuffer();
          lines += BATCH;
        }
      }),
    );
    return lines / seconds;
  };
  for (const name of Object.keys(bodies)) await run(name, 1); // warm-up
  for (let r = 0; r < ROUNDS; r++)
    for (const name of Object.keys(bodies)) {
      const rate = await run(name, SECONDS);
      results[name] = [...(results[name] ?? []), rate];
    }
  proc.kill('SIGTERM');
  await proc.exited;
  rmSync(dir, { recursive: true, force: true });
  const base = median(results['POST /api/logs (NDJSON)']!);
  console.log(
    `\n| receiver (batches of ${BATCH}, ${CLIENTS} clients) | lines/s, median of ${ROUNDS} | share of POST /api/logs |`,
  );
  console.log('|---|---|---|');
  for (const [name, xs] of Object.entries(results))
    console.log(
      `| ${name} | ${Math.round(median(xs)).toLocaleString('en')} (${xs.map((x) => Math.round(x / 1000)).join(', ')}k) | ${((median(xs) / base) * 100).toFixed(0)} % |`,
    );
}

// --- 2. trigger-to-report latency ------------------------------------------------------------------
async function latency() {
  const loki = startFakeLoki();
  const es = startFakeEs();
  const now = Date.now();
  for (let i = 0; i < 200; i++) {
    loki.push(
      { station: 'EV-Station-01', service_name: 'PowerMeterDC', level: 'warn' },
      now - i * 1000,
      `DCBM slow ${i}`,
    );
  }
  await fetch(`${es.url}/_bulk`, {
    method: 'POST',
    body: `${Array.from(
      { length: 200 },
      (_, i) =>
        `{"create":{"_index":"logs-a"}}\n${JSON.stringify({ '@timestamp': now - i * 1000, service: { name: 'PowerMeterDC' }, log: { level: 'warn' }, message: `DCBM slow ${i}` })}`,
    ).join('\n')}\n`,
  });
  const configs: Array<[string, Record<string, string>, () => void]> = [
    ['no outside source', {}, () => {}],
    [
      'Loki, 0 ms',
      { TRACEPULSE_LOKI_URL: loki.url },
      () => {
        loki.mode.delayMs = 0;
      },
    ],
    [
      'Loki, 50 ms',
      { TRACEPULSE_LOKI_URL: loki.url },
      () => {
        loki.mode.delayMs = 50;
      },
    ],
    [
      'Elasticsearch, 0 ms',
      { TRACEPULSE_ELASTICSEARCH_URL: es.url },
      () => {
        es.mode.delayMs = 0;
      },
    ],
    [
      'Elasticsearch, 50 ms',
      { TRACEPULSE_ELASTICSEARCH_URL: es.url },
      () => {
        es.mode.delayMs = 50;
      },
    ],
  ];
  const rows: string[] = [];
  let baseline = 0;
  for (const [name, env, set] of configs) {
    set();
    const app = await startTestApp({
      TRACEPULSE_STATION_ID: 'EV-Station-01',
      TRACEPULSE_LOG_LEVEL: 'error',
      ...env,
    });
    const lat: number[] = [];
    for (let i = 0; i < TRIGGERS; i++) {
      const corr = `bench-${i}`;
      await fetch(`${app.url}/webhook/event`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(sessionDrop({ correlationId: corr, timestamp: Date.now() })),
      });
      const r = await waitFor(async () => {
        const j = (await (await fetch(`${app.url}/api/reports?correlationId=${corr}`)).json()) as {
          reports: Array<{ latencyMs: number }>;
        };
        return j.reports[0];
      }, 10_000);
      if (i >= 5) lat.push(r.latencyMs); // the first triggers warm the JIT
    }
    await app.close();
    const m = median(lat);
    if (!rows.length) baseline = m;
    rows.push(
      `| ${name} | ${m.toFixed(1)} ms | ${quantile(lat, 0.9).toFixed(1)} ms | ${rows.length ? `+${(m - baseline).toFixed(1)} ms` : '–'} |`,
    );
  }
  loki.stop();
  es.stop();
  console.log(`\n| trigger-to-report (${TRIGGERS - 5} triggers) | median | p90 | added |`);
  console.log('|---|---|---|---|');
  for (const r of rows) console.log(r);
}

await receivers();
await latency();
