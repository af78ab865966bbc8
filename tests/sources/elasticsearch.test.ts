import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import type { Report } from '../../src/core/report.ts';
import { createElasticsearchSource, ecsFields, lineOfDocument } from '../../src/sources/elasticsearch.ts';
import { startFakeEs, type FakeEs } from '../helpers/es-server.ts';
import { postJson, sessionDrop, startTestApp, type TestApp, waitFor } from '../helpers/test-app.ts';

let es: FakeEs;
let app: TestApp;

const reportFor = (correlationId: string) =>
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

const bulk = async (docs: Array<Record<string, unknown>>, index = 'logs-everest-default') => {
  const body = `${docs.map((d) => `${JSON.stringify({ create: { _index: index } })}\n${JSON.stringify(d)}`).join('\n')}\n`;
  const res = await fetch(`${es.url}/_bulk`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson' },
    body,
  });
  expect(res.status).toBe(200);
};

beforeAll(async () => {
  es = startFakeEs();
  app = await startTestApp({
    TRACEPULSE_STATION_ID: 'EV-Station-01',
    TRACEPULSE_ELASTICSEARCH_URL: es.url,
    TRACEPULSE_ELASTICSEARCH_API_KEY: 'VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==',
  });
});
afterAll(async () => {
  await app.close();
  es.stop();
});
beforeEach(() => {
  es.mode.delayMs = 0;
  es.mode.status = null;
  es.mode.garbage = false;
});

describe('Elasticsearch at trigger time', () => {
  test('a line that exists only in Elasticsearch reaches the report (ECS fields, nested and flat)', async () => {
    const now = Date.now();
    await bulk([
      {
        '@timestamp': new Date(now - 15_000).toISOString(),
        service: { name: 'PowerMeterDC' },
        log: { level: 'ERROR' },
        message: 'HTTP request to DCBM /v1/legal timed out after 3000 ms',
      },
      {
        '@timestamp': now - 2_000,
        'service.name': 'SessionManager',
        'log.level': 'error',
        message: 'stopping session: PowermeterTransactionStartFailed',
        labels: { correlation_id: 'txn-es-1' },
      },
      // Another day's line and a candidate's info line: not evidence.
      {
        '@timestamp': now - 3_600_000,
        service: { name: 'PowerMeterDC' },
        log: { level: 'error' },
        message: 'an hour ago',
      },
      {
        '@timestamp': now - 5_000,
        service: { name: 'PowerMeterDC' },
        log: { level: 'info' },
        message: 'meter value 231.2 V',
      },
    ]);
    const before = es.requests.length;
    await postJson(`${app.url}/webhook/event`, sessionDrop({ correlationId: 'txn-es-1', timestamp: now }));
    const report = await reportFor('txn-es-1');
    const text = JSON.stringify(report.hypotheses);
    expect(text).toContain('timed out after 3000 ms');
    expect(text).toContain('PowermeterTransactionStartFailed');
    expect(text).not.toContain('an hour ago');
    expect(text).not.toContain('meter value');
    expect(report.summary).toContain('Log sources: Elasticsearch answered (2 lines).');
    const req = es.requests.slice(before).find((r) => r.path.endsWith('/_search'))!;
    expect(req.path).toBe('/logs-*/_search');
    expect(req.headers.get('authorization')).toBe(
      'ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==',
    );
  });

  test('a session failing for 20 minutes, only in Elasticsearch, widens the window; candidates stay in the analysis window', async () => {
    const now = Date.now();
    await bulk([
      {
        '@timestamp': new Date(now - 20 * 60_000).toISOString(),
        service: { name: 'SessionManager' },
        log: { level: 'warn' },
        message: 'authorization retry 1 for the session',
        labels: { correlation_id: 'txn-es-long' },
      },
      // A candidate's error 18 minutes back, without the id: outside the candidates' window.
      {
        '@timestamp': new Date(now - 18 * 60_000).toISOString(),
        service: { name: 'PowerMeterDC' },
        log: { level: 'error' },
        message: 'eighteen minutes ago, uncorrelated',
      },
    ]);
    await postJson(`${app.url}/webhook/event`, sessionDrop({ correlationId: 'txn-es-long', timestamp: now }));
    const report = await reportFor('txn-es-long');
    const text = JSON.stringify(report.hypotheses);
    expect(text).toContain('authorization retry 1 for the session');
    expect(text).not.toContain('eighteen minutes ago');
  });

  for (const [what, set, label] of [
    [
      'slow (3 s)',
      () => {
        es.mode.delayMs = 3000;
      },
      'timeout',
    ],
    [
      'rejecting (429)',
      () => {
        es.mode.status = 429;
      },
      'http_429',
    ],
    [
      'answering garbage',
      () => {
        es.mode.garbage = true;
      },
      'bad_answer',
    ],
  ] as const) {
    test(`Elasticsearch ${what}: the report is not delayed past the deadline and says so`, async () => {
      set();
      const now = Date.now();
      const corr = `txn-es-${label}`;
      const t0 = performance.now();
      await postJson(`${app.url}/webhook/event`, sessionDrop({ correlationId: corr, timestamp: now }));
      const report = await reportFor(corr);
      expect(performance.now() - t0).toBeLessThan(2_900);
      expect(report.summary).toContain(`Log sources: Elasticsearch: ${label}, evidence is local only.`);
    });
  }
});

describe('Elasticsearch down', () => {
  test('a source that is down yields no lines and its outcome, at once', async () => {
    const { queryLogSources } = await import('../../src/pipeline/query-log-sources.ts');
    const down = createElasticsearchSource({ url: 'http://127.0.0.1:1', index: 'logs-*', fields: ecsFields });
    const t0 = performance.now();
    const r = await queryLogSources(
      [down],
      { correlationId: 'x', services: ['ocpp'], since: 0, until: 1, limit: 10 },
      2000,
    );
    expect(r).toEqual({
      lines: [],
      outcomes: [{ source: 'Elasticsearch', ok: false, lines: 0, error: 'down' }],
    });
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

describe('Elasticsearch documents', () => {
  test('field names are overridable; basic auth from the URL; the correlation id in any listed field', async () => {
    const now = Date.now();
    await bulk(
      [
        {
          ts: now - 1000,
          svc: 'ocpp',
          sev: 'warning',
          msg: 'WebsocketPongTimeout',
          tx: { id: 'txn-custom' },
        },
        { ts: now - 1000, svc: 'ocpp', sev: 'warning', msg: 'other session', tx: { id: 'txn-other' } },
      ],
      'station-logs',
    );
    const fields = { timestamp: 'ts', service: 'svc', level: 'sev', message: 'msg', correlation: ['tx.id'] };
    const src = createElasticsearchSource({
      url: es.url.replace('://', '://elastic:ch%40nge@'),
      index: 'station-logs',
      fields,
    });
    const before = es.requests.length;
    const lines = await src.query({
      correlationId: 'txn-custom',
      services: [],
      since: now - 60_000,
      until: now,
      limit: 100,
      signal: AbortSignal.timeout(2000),
    });
    expect(lines).toEqual([
      {
        ts: now - 1000,
        service: 'ocpp',
        level: 'warn',
        message: 'WebsocketPongTimeout',
        correlationId: 'txn-custom',
      },
    ]);
    expect(es.requests[before]!.headers.get('authorization')).toBe(`Basic ${btoa('elastic:ch@nge')}`);
  });

  test('a document without a time or message is skipped; level falls back to the text', () => {
    expect(lineOfDocument({ message: 'x' }, ecsFields)).toBeNull();
    expect(
      lineOfDocument({ '@timestamp': '2026-11-25T08:00:00Z', message: 'ERROR relay stuck' }, ecsFields),
    ).toEqual({
      ts: Date.parse('2026-11-25T08:00:00Z'),
      service: 'unknown',
      level: 'error',
      message: 'ERROR relay stuck',
      correlationId: null,
    });
  });
});
