import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { postJson, sessionDrop, startTestApp, type TestApp } from '../helpers/test-app.ts';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.close());

const events = async (query: string) =>
  ((await (await fetch(`${app.url}/api/events?${query}`)).json()) as { events: Record<string, unknown>[] })
    .events;

describe('POST /webhook/event', () => {
  test('a flat event is stored and read back with all fields', async () => {
    const res = await postJson(
      `${app.url}/webhook/event`,
      sessionDrop({
        correlationId: 'txn-flat',
        timestamp: '2026-11-25T08:00:00Z',
        message: 'EV stopped responding',
      }),
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; eventId: string };
    expect(body.status).toBe('processed');
    const [e] = await events('correlationId=txn-flat');
    expect(e).toMatchObject({
      id: body.eventId,
      eventType: 'SESSION_DROP',
      service: 'SessionManager',
      errorCode: 'TIMEOUT',
      correlationId: 'txn-flat',
      priority: 'high',
      timestamp: '2026-11-25T08:00:00.000Z',
      message: 'EV stopped responding',
      source: 'http',
      details: { userId: '123', sessionId: 'abc', edgeDevice: 'EV-Station-01', connector: '1' },
    });
  });

  test('the nested form takes service and errorCode from details', async () => {
    const res = await postJson(`${app.url}/webhook/event`, {
      eventType: 'METER_FAULT',
      correlationId: 'txn-nested',
      timestamp: 1764057600000,
      details: { service: 'powermeter_dc', errorCode: 'PowerMeterFailure', meterId: 'LEM-DCBM-4471' },
    });
    expect(res.status).toBe(200);
    const [e] = await events('correlationId=txn-nested');
    expect(e).toMatchObject({
      service: 'powermeter_dc',
      errorCode: 'PowerMeterFailure',
      details: { meterId: 'LEM-DCBM-4471' },
      timestamp: '2025-11-25T08:00:00.000Z',
    });
  });

  test('priority defaults to high for the map triggers and low otherwise', async () => {
    await postJson(`${app.url}/webhook/event`, {
      ...sessionDrop({ correlationId: 'txn-prio-1' }),
      priority: undefined,
    });
    await postJson(`${app.url}/webhook/event`, {
      eventType: 'HEARTBEAT_LATE',
      service: 'ocpp',
      errorCode: 'Heartbeat',
      correlationId: 'txn-prio-2',
    });
    expect((await events('correlationId=txn-prio-1'))[0]?.priority).toBe('high');
    expect((await events('correlationId=txn-prio-2'))[0]?.priority).toBe('low');
  });

  test('the same id twice is stored once', async () => {
    const a = await postJson(
      `${app.url}/webhook/event`,
      sessionDrop({ id: 'evt-dup-1', correlationId: 'txn-dup' }),
    );
    const b = await postJson(
      `${app.url}/webhook/event`,
      sessionDrop({ id: 'evt-dup-1', correlationId: 'txn-dup' }),
    );
    expect(((await a.json()) as { eventId: string }).eventId).toBe('evt-dup-1');
    expect(((await b.json()) as { duplicate: boolean }).duplicate).toBe(true);
    expect(await events('correlationId=txn-dup')).toHaveLength(1);
  });

  test('bad input gets 400 with the problems listed', async () => {
    const cases: Array<[BodyInit, RegExp]> = [
      ['{"eventType": "SESSION_DROP",', /malformed JSON/],
      ['', /body is empty/],
      [JSON.stringify({ eventType: 'SESSION_DROP', correlationId: 'x' }), /service: required/],
      [JSON.stringify({ ...sessionDrop(), priority: 'urgent' }), /priority/],
      [JSON.stringify({ ...sessionDrop(), timestamp: 'yesterday' }), /timestamp/],
      // Nested details are taken as JSON text (issue 15), within a size bound.
      [JSON.stringify({ ...sessionDrop(), details: { nested: { a: 'x'.repeat(5000) } } }), /details\.nested/],
      [new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), /not valid UTF-8/],
    ];
    for (const [body, problem] of cases) {
      const res = await fetch(`${app.url}/webhook/event`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      expect(res.status).toBe(400);
      const json = (await res.json()) as { problems: string[] };
      expect(json.problems.join('\n')).toMatch(problem);
    }
  });

  test('a body over the limit gets 413, and the service keeps working', async () => {
    const big = JSON.stringify({ ...sessionDrop(), message: 'x'.repeat(10 * 1024 * 1024) });
    const res = await fetch(`${app.url}/webhook/event`, {
      method: 'POST',
      body: big,
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(413);
    expect(
      (await postJson(`${app.url}/webhook/event`, sessionDrop({ correlationId: 'txn-after-413' }))).status,
    ).toBe(200);
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toContain('tracepulse_rejected_total{reason="too_large",source="http"} 1');
  });
});

describe('POST /api/logs', () => {
  const line = (i: number, over: Record<string, unknown> = {}) => ({
    timestamp: 1764057600000 + i,
    service: 'ocpp',
    level: 'error',
    message: `WebsocketPongTimeout: no pong within 30 s (attempt ${i})`,
    correlationId: 'txn-logs',
    ...over,
  });

  test('NDJSON and JSON arrays are both accepted', async () => {
    const ndjson = [line(1), line(2)].map((l) => JSON.stringify(l)).join('\n');
    const a = await fetch(`${app.url}/api/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: ndjson,
    });
    expect(await a.json()).toEqual({ accepted: 2 });
    const b = await postJson(`${app.url}/api/logs`, [line(3, { attributes: { connector: 1 } })]);
    expect(await b.json()).toEqual({ accepted: 1 });
    const logs = (
      (await (await fetch(`${app.url}/api/logs?correlationId=txn-logs`)).json()) as {
        logs: Array<{ message: string; attributes: unknown }>;
      }
    ).logs;
    expect(logs).toHaveLength(3);
    expect(logs[0]?.attributes).toEqual({ connector: 1 });
  });

  test('a partly bad batch keeps the good lines and lists the bad ones', async () => {
    const res = await postJson(`${app.url}/api/logs`, [
      line(10, { correlationId: 'txn-partial' }),
      line(11, { level: 'verbose', correlationId: 'txn-partial' }),
    ]);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { accepted: number; rejected: number; problems: string[] };
    expect(body).toMatchObject({ accepted: 1, rejected: 1 });
    expect(body.problems[0]).toMatch(/^\[1\] level/);
  });

  test('one malformed NDJSON line is rejected alone; the good lines are kept (issue 15)', async () => {
    const body = [
      JSON.stringify(line(20, { correlationId: 'txn-ndjson-bad-line' })),
      '{"service": "ocpp", "level": "error", "message": "cut off',
      JSON.stringify(line(21, { correlationId: 'txn-ndjson-bad-line' })),
    ].join('\n');
    const res = await fetch(`${app.url}/api/logs`, { method: 'POST', body });
    expect(res.status).toBe(200);
    const answer = (await res.json()) as { accepted: number; rejected: number; problems: string[] };
    expect(answer).toMatchObject({ accepted: 2, rejected: 1 });
    expect(answer.problems[0]).toMatch(/^line 2: malformed JSON/);
    const stored = (await (await fetch(`${app.url}/api/logs?correlationId=txn-ndjson-bad-line`)).json()) as {
      logs: unknown[];
    };
    expect(stored.logs).toHaveLength(2);
  });

  test('an all-bad batch is a 400', async () => {
    const res = await fetch(`${app.url}/api/logs`, { method: 'POST', body: '{"service": "ocpp"}\nnot json' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { problems: string[] }).problems[0]).toMatch(/line 2: malformed JSON/);
  });

  test('GET filters by service and time window', async () => {
    await postJson(`${app.url}/api/logs`, [
      line(100, { service: 'slac', correlationId: 'txn-window', timestamp: '2026-11-25T09:00:00Z' }),
      line(101, { service: 'slac', correlationId: 'txn-window', timestamp: '2026-11-25T09:10:00Z' }),
    ]);
    const res = await fetch(
      `${app.url}/api/logs?service=slac&since=2026-11-25T09:05:00Z&until=${Date.parse('2026-11-25T09:20:00Z')}`,
    );
    const logs = ((await res.json()) as { logs: Array<{ timestamp: string }> }).logs;
    expect(logs.map((l) => l.timestamp)).toEqual(['2026-11-25T09:10:00.000Z']);
    expect((await fetch(`${app.url}/api/logs?limit=0`)).status).toBe(400);
  });
});

describe('POST /api/logs with an Idempotency-Key', () => {
  // Lines of one LTE drop as a station's debug-queue batches them; the key is the sender's per batch.
  const batch = (correlationId: string) =>
    [
      { service: 'network', level: 'error', message: 'wwan0: modem lost registration (creg 0,2)' },
      { service: 'ocpp', level: 'warn', message: 'WebsocketPongTimeout: no pong within 30 s' },
      { service: 'ocpp', level: 'info', message: 'Reconnecting to wss://csms.example-cpo.eu/ocpp/HUB07' },
    ].map((l, i) => ({ ...l, timestamp: 1764057600000 + i * 1000, correlationId }));
  const stored = async (correlationId: string) =>
    (
      (await (await fetch(`${app.url}/api/logs?correlationId=${correlationId}`)).json()) as {
        logs: unknown[];
      }
    ).logs.length;
  const metric = async (line: string) =>
    Number(
      (await (await fetch(`${app.url}/metrics`)).text())
        .split('\n')
        .find((l) => l.startsWith(`${line} `))
        ?.split(' ')[1] ?? 0,
    );

  test('a batch repeated with its key answers like the first time and is stored once', async () => {
    const key = { 'Idempotency-Key': '5d0c1f8e-2b7a-4e39-9c61-0a4f7d2e8b13' };
    const before = await metric('tracepulse_logs_duplicate_batches_total{source="http"}');
    const first = await postJson(`${app.url}/api/logs`, batch('txn-lte-retry'), key);
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ accepted: 3 });
    const retry = await postJson(`${app.url}/api/logs`, batch('txn-lte-retry'), key);
    expect(retry.status).toBe(200);
    expect(await retry.json()).toEqual({ accepted: 3, duplicate: true });
    expect(await stored('txn-lte-retry')).toBe(3);
    expect(await metric('tracepulse_logs_duplicate_batches_total{source="http"}')).toBe(before + 1);
    // Without a key, or with another one, the same lines are a new batch.
    await postJson(`${app.url}/api/logs`, batch('txn-lte-retry'));
    await postJson(`${app.url}/api/logs`, batch('txn-lte-retry'), { 'Idempotency-Key': 'HUB07-0002' });
    expect(await stored('txn-lte-retry')).toBe(9);
  });

  test('two requests with one key at the same time: one is stored, the other is the duplicate', async () => {
    const key = { 'Idempotency-Key': 'HUB07:logs:0193a2f4' };
    const answers = await Promise.all(
      [0, 1, 2].map(async () => (await postJson(`${app.url}/api/logs`, batch('txn-lte-race'), key)).json()),
    );
    expect(answers.filter((a) => (a as { duplicate?: boolean }).duplicate)).toHaveLength(2);
    expect(answers.every((a) => (a as { accepted: number }).accepted === 3)).toBe(true);
    expect(await stored('txn-lte-race')).toBe(3);
  });

  test('a partly bad batch repeated with its key names the bad line again and stores nothing', async () => {
    const key = { 'Idempotency-Key': 'HUB07:logs:0193a2f5' };
    const lines = [...batch('txn-lte-partial'), { service: 'ocpp', level: 'verbose', message: 'x' }];
    const first = (await (await postJson(`${app.url}/api/logs`, lines, key)).json()) as Record<
      string,
      unknown
    >;
    const retry = (await (await postJson(`${app.url}/api/logs`, lines, key)).json()) as Record<
      string,
      unknown
    >;
    expect(first).toMatchObject({ accepted: 3, rejected: 1 });
    expect(first.duplicate).toBeUndefined();
    expect(retry).toMatchObject({ accepted: 3, rejected: 1, duplicate: true, problems: first.problems });
    expect(await stored('txn-lte-partial')).toBe(3);
  });

  test('a bad key is a 400 that lists the problem, and nothing is stored', async () => {
    for (const bad of ['', 'x'.repeat(201), 'HUB07\tlogs', 'Ladesäule-07']) {
      const res = await postJson(`${app.url}/api/logs`, batch('txn-lte-badkey'), { 'Idempotency-Key': bad });
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: string; problems: string[] };
      expect(body.error).toBe('invalid input');
      expect(body.problems).toHaveLength(1);
      expect(body.problems[0]).toStartWith('Idempotency-Key: ');
    }
    expect(await stored('txn-lte-badkey')).toBe(0);
    expect(await metric('tracepulse_rejected_total{reason="bad_idempotency_key",source="http"}')).toBe(4);
    const longest = await postJson(`${app.url}/api/logs`, batch('txn-lte-badkey'), {
      'Idempotency-Key': 'k'.repeat(200),
    });
    expect(longest.status).toBe(200);
  });
});

describe('system map API', () => {
  test('PUT validates (422 with problems), applies at once, and GET shows it', async () => {
    const bad = await fetch(`${app.url}/api/system-map`, {
      method: 'PUT',
      body: 'services:\n  ocpp:\n    depends_on: [modem]\n',
    });
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as { problems: Array<{ message: string }> }).problems[0]?.message).toContain(
      "unknown service 'modem'",
    );
    const good = await fetch(`${app.url}/api/system-map`, {
      method: 'PUT',
      body: 'triggers: [OCPP_DISCONNECT]\nservices:\n  ocpp:\n    depends_on: [modem]\n  modem: {}\n',
    });
    expect(good.status).toBe(200);
    const map = (await (await fetch(`${app.url}/api/system-map`)).json()) as {
      origin: string;
      triggers: string[];
      services: unknown[];
    };
    expect(map).toMatchObject({ origin: 'api', triggers: ['OCPP_DISCONNECT'] });
    expect(map.services).toHaveLength(2);
  });
});

describe('API keys', () => {
  test('when set, /api and /webhook need a Bearer key; /healthz and /metrics stay open', async () => {
    const guarded = await startTestApp({ TRACEPULSE_API_KEYS: 'gw-key-1,fleet-key-2' });
    try {
      expect((await postJson(`${guarded.url}/webhook/event`, sessionDrop())).status).toBe(401);
      expect(
        (await fetch(`${guarded.url}/api/events`, { headers: { authorization: 'Bearer wrong' } })).status,
      ).toBe(401);
      expect(
        (
          await postJson(`${guarded.url}/webhook/event`, sessionDrop(), {
            authorization: 'Bearer fleet-key-2',
          })
        ).status,
      ).toBe(200);
      expect((await fetch(`${guarded.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${guarded.url}/metrics`)).status).toBe(200);
    } finally {
      await guarded.close();
    }
  });
});
