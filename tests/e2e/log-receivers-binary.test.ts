// Issue 12 through the compiled executable: the lazily imported receivers (OTLP protobuf, gzip)
// are in the binary, and a misspelt source variable is named at start-up.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { exampleMap, repoRoot, tempDir, waitFor } from '../helpers/test-app.ts';

const x64 = join(repoRoot, 'dist', 'tracepulse-linux-x64');
const KEY = 'e2e-receivers-key';
const auth = { authorization: `Bearer ${KEY}` };
let proc: ReturnType<typeof Bun.spawn>;
let url = '';
let stderr = '';
const dataDir = tempDir('tracepulse-e2e-recv-');

beforeAll(async () => {
  if (!existsSync(x64)) {
    const r = Bun.spawnSync(['bash', join(repoRoot, 'scripts', 'build'), 'x64'], { stderr: 'pipe' });
    if (r.exitCode !== 0) throw new Error(`build failed: ${r.stderr.toString()}`);
  }
  const port = 30000 + Math.floor(Math.random() * 20000);
  url = `http://127.0.0.1:${port}`;
  proc = Bun.spawn([x64, 'serve'], {
    env: {
      PATH: process.env.PATH ?? '',
      TRACEPULSE_PORT: String(port),
      TRACEPULSE_HOST: '127.0.0.1',
      TRACEPULSE_DATA_DIR: dataDir,
      TRACEPULSE_SYSTEM_MAP: exampleMap,
      TRACEPULSE_API_KEYS: KEY,
      TRACEPULSE_MAX_BODY_BYTES: '4096',
      TRACEPULSE_LOKI_ULR: 'http://loki:3100',
    },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  void (async () => {
    const reader = (proc.stderr as ReadableStream<Uint8Array>).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      stderr += new TextDecoder().decode(value);
    }
  })();
  await waitFor(
    async () => (await fetch(`${url}/healthz`).catch(() => null))?.status === 200,
    15_000,
    'binary /healthz',
  );
}, 120_000);
afterAll(async () => {
  proc.kill('SIGTERM');
  await proc.exited;
  rmSync(dataDir, { recursive: true, force: true });
});

const logsOf = async (service: string) =>
  (
    (await (await fetch(`${url}/api/logs?service=${service}`, { headers: auth })).json()) as {
      logs: Array<{ level: string; message: string; correlationId: string | null }>;
    }
  ).logs;

test('start-up names a misspelt TRACEPULSE_* variable and the one meant', async () => {
  await waitFor(async () => stderr.includes('TRACEPULSE_LOKI_ULR'), 5000, 'the warning');
  expect(stderr).toContain('unknown variable TRACEPULSE_LOKI_ULR ignored; did you mean TRACEPULSE_LOKI_URL?');
});

test('the OpenTelemetry protobuf exporter with gzip is stored by the compiled binary', async () => {
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'OCPP201-bin' }),
    processors: [
      new SimpleLogRecordProcessor({
        exporter: new OTLPLogExporter({
          url: `${url}/v1/logs`,
          headers: auth,
          compression: CompressionAlgorithm.GZIP,
        }),
      }),
    ],
  });
  provider.getLogger('ocpp').emit({
    severityNumber: SeverityNumber.ERROR,
    body: 'WebsocketPongTimeout after 30 s',
    attributes: { correlationId: 'txn-bin-otlp' },
  });
  await provider.forceFlush();
  await provider.shutdown();
  const logs = await waitFor(
    async () => {
      const l = await logsOf('OCPP201-bin');
      return l.length ? l : null;
    },
    5000,
    'the OTLP line',
  );
  expect(logs).toMatchObject([
    { level: 'error', message: 'WebsocketPongTimeout after 30 s', correlationId: 'txn-bin-otlp' },
  ]);
});

test('gzip Loki push is stored; a gzip bomb gets 413', async () => {
  const body = JSON.stringify({
    streams: [
      {
        stream: { service_name: 'Evse-bin', level: 'warn' },
        values: [[`${Date.now()}000000`, 'lock retry']],
      },
    ],
  });
  const ok = await fetch(`${url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json', 'content-encoding': 'gzip' },
    body: gzipSync(body),
  });
  expect(ok.status).toBe(204);
  expect((await logsOf('Evse-bin')).map((l) => l.message)).toEqual(['lock retry']);
  const bomb = await fetch(`${url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json', 'content-encoding': 'gzip' },
    body: gzipSync(Buffer.alloc(2_000_000, 0x20)),
  });
  // Under the 4 KiB body limit as sent, 2 MB once inflated (the bound is 16 x 4 KiB).
  expect(gzipSync(Buffer.alloc(2_000_000, 0x20)).length).toBeLessThan(4096);
  expect(bomb.status).toBe(413);
  expect(((await bomb.json()) as { problems: string[] }).problems[0]).toContain('after gzip decompression');
});
