import { WINDOW_MS } from '../../src/pipeline/gather.ts';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import type { Report } from '../../src/core/report.ts';
import { createLokiSource, linesOfStreams, triggerQueries } from '../../src/sources/loki.ts';
import { levelFromText } from '../../src/core/log-source.ts';
import { queryLogSources } from '../../src/pipeline/query-log-sources.ts';
import { startFakeLoki, type FakeLoki } from '../helpers/loki-server.ts';
import { postJson, sessionDrop, startTestApp, type TestApp, waitFor } from '../helpers/test-app.ts';

let loki: FakeLoki;
let app: TestApp;
const station = { station: 'EV-Station-01' };

const reportFor = (app: TestApp, correlationId: string) =>
  waitFor(
    async () =>
      (
        (await (await fetch(`${app.url}/api/reports?correlationId=${correlationId}`)).json()) as {
          reports: Report[];
        }
      ).reports[0],
    8000,
    `report ${correlationId}`,
  );

beforeAll(async () => {
  loki = startFakeLoki();
  app = await startTestApp({
    TRACEPULSE_STATION_ID: 'EV-Station-01',
    TRACEPULSE_LOKI_URL: loki.url,
    TRACEPULSE_LOKI_TENANT: 'fleet-eu',
    TRACEPULSE_LOKI_TOKEN: 'glc_test_token',
  });
});
afterAll(async () => {
  await app.close();
  loki.stop();
});
beforeEach(() => {
  loki.mode.delayMs = 0;
  loki.mode.status = null;
  loki.mode.garbage = false;
});

describe('Loki at trigger time', () => {
  test('a line that exists only in Loki reaches the report, and the report says Loki answered', async () => {
    const now = Date.now();
    // Only in Loki: the meter's timeouts (candidate warn+, no correlation id) and the session's own line.
    loki.push(
      { ...station, service_name: 'PowerMeterDC', level: 'error' },
      now - 20_000,
      'HTTP request to DCBM /v1/legal timed out after 3000 ms',
    );
    loki.push(
      { ...station, service_name: 'PowerMeterDC', level: 'error' },
      now - 12_000,
      'HTTP request to DCBM /v1/legal timed out after 3004 ms',
    );
    loki.push(
      { ...station, app: 'SessionManager' },
      now - 3_000,
      'level=error msg="PowermeterTransactionStartFailed" session=txn-loki-1',
    );
    // Another station's line must not be read.
    loki.push(
      { station: 'EV-Station-02', service_name: 'PowerMeterDC', level: 'error' },
      now - 5_000,
      'other station: DCBM firmware panic',
    );
    // Info from a candidate without the correlation id: not evidence.
    loki.push(
      { ...station, service_name: 'PowerMeterDC', level: 'info' },
      now - 4_000,
      'meter value 231.2 V',
    );
    const before = loki.requests.length;
    await postJson(`${app.url}/webhook/event`, sessionDrop({ correlationId: 'txn-loki-1', timestamp: now }));
    const report = await reportFor(app, 'txn-loki-1');
    const text = JSON.stringify(report.hypotheses);
    expect(text).toContain('timed out after 3000 ms');
    expect(text).toContain('PowermeterTransactionStartFailed');
    expect(text).not.toContain('other station');
    expect(text).not.toContain('meter value');
    expect(report.hypotheses[0]?.service).toBe('powermeter_dc');
    expect(report.summary).toContain('Log sources: Loki answered (3 lines).');

    const reqs = loki.requests.slice(before).filter((r) => r.path === '/loki/api/v1/query_range');
    expect(reqs.length).toBe(2);
    for (const r of reqs) {
      expect(r.headers.get('x-scope-orgid')).toBe('fleet-eu');
      expect(r.headers.get('authorization')).toBe('Bearer glc_test_token');
      expect(r.params.get('query')).toStartWith('{station="EV-Station-01"}');
      expect(r.params.get('direction')).toBe('backward');
      expect(BigInt(r.params.get('end')!)).toBe(BigInt(now + 1) * 1_000_000n);
    }
    // The candidates: the analysis window (WINDOW_MS); the session: as far back as the window
    // can stretch (an hour), in nanoseconds.
    const startOf = (q: string) =>
      BigInt(reqs.find((r) => r.params.get('query') === q)!.params.get('start')!);
    expect(startOf('{station="EV-Station-01"} |= "txn-loki-1"')).toBe(BigInt(now - 3_600_000) * 1_000_000n);
    const cands = reqs.find((r) => r.params.get('query')!.includes('service_name=~'))!;
    expect(BigInt(cands.params.get('start')!)).toBe(BigInt(now - WINDOW_MS) * 1_000_000n);
  });

  test('a session failing for 20 minutes, only in Loki, widens the window: its first warning reaches the report', async () => {
    const now = Date.now();
    loki.push(
      { ...station, app: 'SessionManager', level: 'warn' },
      now - 20 * 60_000,
      'session txn-loki-long: PowermeterTransactionStartFailed, retrying',
    );
    await postJson(
      `${app.url}/webhook/event`,
      sessionDrop({ correlationId: 'txn-loki-long', timestamp: now }),
    );
    const report = await reportFor(app, 'txn-loki-long');
    expect(JSON.stringify(report.hypotheses)).toContain('txn-loki-long: PowermeterTransactionStartFailed');
  });

  test('with the window widened by local session warnings, the candidates are read from the widened start', async () => {
    const now = Date.now();
    const res = await postJson(`${app.url}/api/logs`, [
      {
        timestamp: now - 15 * 60_000,
        service: 'SessionManager',
        level: 'warn',
        message: 'authorization slow',
        correlationId: 'txn-loki-wide',
      },
    ]);
    expect(res.status).toBe(200);
    const before = loki.requests.length;
    await postJson(
      `${app.url}/webhook/event`,
      sessionDrop({ correlationId: 'txn-loki-wide', timestamp: now }),
    );
    await reportFor(app, 'txn-loki-wide');
    const cands = loki.requests
      .slice(before)
      .find(
        (r) => r.path === '/loki/api/v1/query_range' && r.params.get('query')!.includes('service_name=~'),
      )!;
    // 15 minutes back plus the 2-minute lead, as the local evidence window.
    expect(BigInt(cands.params.get('start')!)).toBe(BigInt(now - 17 * 60_000) * 1_000_000n);
  });

  for (const [what, set, label] of [
    [
      'slow (3 s)',
      () => {
        loki.mode.delayMs = 3000;
      },
      'timeout',
    ],
    [
      'rate-limited (429)',
      () => {
        loki.mode.status = 429;
      },
      'http_429',
    ],
    [
      'answering garbage',
      () => {
        loki.mode.garbage = true;
      },
      'bad_answer',
    ],
  ] as const) {
    test(`Loki ${what} delays no report past the deadline, and the report says the evidence is local only`, async () => {
      set();
      const now = Date.now();
      const corr = `txn-loki-${label}`;
      await postJson(`${app.url}/api/logs`, [
        {
          service: 'PowerMeterDC',
          level: 'error',
          message: 'DCBM answered HTTP 500 on /v1/legal',
          timestamp: now - 8_000,
          correlationId: corr,
        },
      ]);
      const t0 = performance.now();
      await postJson(`${app.url}/webhook/event`, sessionDrop({ correlationId: corr, timestamp: now }));
      const report = await reportFor(app, corr);
      const waited = performance.now() - t0;
      expect(waited).toBeLessThan(2_900);
      expect(report.summary).toContain(`Log sources: Loki: ${label}, evidence is local only.`);
      // Local evidence is still there.
      expect(JSON.stringify(report.hypotheses)).toContain('DCBM answered HTTP 500');
      const metrics = await (await fetch(`${app.url}/metrics`)).text();
      expect(metrics).toContain(`tracepulse_log_source_queries_total{outcome="${label}",source="Loki"}`);
    });
  }
});

describe('Loki lines', () => {
  test('level from the level or detected_level label, else logfmt, JSON or a leading tag', () => {
    const lines = linesOfStreams([
      {
        stream: { service_name: 'ocpp', detected_level: 'warn' },
        values: [['1764579600000000000', 'pong late']],
      },
      {
        stream: { job: 'everest' },
        values: [
          ['1764579600001000000', 'ts=1 level=error msg="contactor welded"'],
          ['1764579600002000000', '{"level":"FATAL","msg":"panic"}'],
          ['1764579600003000000', '[WARNING] slow PWM'],
          ['1764579600004000000', 'plain line'],
        ],
      },
    ]);
    expect(lines.map((l) => [l.service, l.level, l.ts])).toEqual([
      ['ocpp', 'warn', 1764579600000],
      ['everest', 'error', 1764579600001],
      ['everest', 'fatal', 1764579600002],
      ['everest', 'warn', 1764579600003],
      ['everest', 'info', 1764579600004],
    ]);
    expect(levelFromText('E: something')).toBe('info');
  });

  test('the candidates query filters on the service labels and escapes names; the session query reaches further back', () => {
    const [corr, cands] = triggerQueries(
      { url: 'http://x', selector: '{station="A"}' },
      { correlationId: 'txn "q"', services: ['ocpp.201', 'OCPP'], since: 5000, sessionSince: 1000 },
    );
    expect(corr).toEqual({ query: '{station="A"} |= "txn \\"q\\""', since: 1000 });
    expect(cands?.since).toBe(5000);
    expect(cands?.query).toBe(
      '{station="A"} | service_name=~"(?i)ocpp\\\\.201|OCPP" or service=~"(?i)ocpp\\\\.201|OCPP" or app=~"(?i)ocpp\\\\.201|OCPP" or job=~"(?i)ocpp\\\\.201|OCPP"',
    );
  });

  test('a source that is down yields no lines and its outcome, at once', async () => {
    const down = createLokiSource({ url: 'http://127.0.0.1:1', selector: '{a="b"}' });
    const r = await queryLogSources(
      [down],
      { correlationId: 'x', services: [], since: 0, until: 1, limit: 10 },
      2000,
    );
    expect(r).toEqual({ lines: [], outcomes: [{ source: 'Loki', ok: false, lines: 0, error: 'down' }] });
  });

  test('user:password in the URL becomes Basic auth and is not sent in the URL', async () => {
    const src = createLokiSource({
      url: `${loki.url.replace('://', '://tp:s%40cret@')}`,
      selector: '{station="B"}',
    });
    const before = loki.requests.length;
    await src.query({
      correlationId: 'c',
      services: [],
      since: 0,
      until: 1,
      limit: 5,
      signal: AbortSignal.timeout(2000),
    });
    const r = loki.requests[before]!;
    expect(r.headers.get('authorization')).toBe(`Basic ${btoa('tp:s@cret')}`);
  });
});
