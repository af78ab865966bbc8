// Issue 15 (first-user friction): DebugQueue details as stations send them, and every problem at once.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { postJson, startTestApp, type TestApp } from '../helpers/test-app.ts';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.close());

describe('POST /webhook/event details', () => {
  test('numbers, booleans and nested objects (OCPP payloads) are stored; nested ones as JSON text', async () => {
    const r = await postJson(`${app.url}/webhook/event`, {
      eventType: 'OCPP_CALL_ERROR',
      service: 'ocpp',
      errorCode: 'FormationViolation',
      correlationId: 'txn-nested-details',
      priority: 'low',
      details: {
        connector: 1,
        retry: false,
        request: { action: 'StartTransaction', payload: { connectorId: 1, meterStart: 1200, idTag: 'X' } },
      },
    });
    expect(r.status).toBe(200);
    const { events } = (await (
      await fetch(`${app.url}/api/events?correlationId=txn-nested-details`)
    ).json()) as {
      events: Array<{ details: Record<string, string> }>;
    };
    expect(events[0]!.details.connector).toBe('1');
    expect(events[0]!.details.retry).toBe('false');
    expect(JSON.parse(events[0]!.details.request!)).toEqual({
      action: 'StartTransaction',
      payload: { connectorId: 1, meterStart: 1200, idTag: 'X' },
    });
  });
  test('nesting deeper than 8 levels or a value over 4 KiB is a 400 naming the detail', async () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 10; i++) deep = { d: deep };
    const r = await postJson(`${app.url}/webhook/event`, {
      eventType: 'X',
      service: 'ocpp',
      errorCode: 'E',
      details: { deep, big: { s: 'x'.repeat(5000) } },
    });
    expect(r.status).toBe(400);
    const { problems } = (await r.json()) as { problems: string[] };
    expect(problems.join('\n')).toContain('details.deep');
    expect(problems.join('\n')).toContain('details.big');
  });
});

describe('POST /webhook/event problems', () => {
  test('a bad field and a missing errorCode are listed together', async () => {
    const r = await postJson(`${app.url}/webhook/event`, {
      eventType: 'SESSION_DROP',
      service: 'ocpp',
      priority: 'urgent',
    });
    expect(r.status).toBe(400);
    const { problems } = (await r.json()) as { problems: string[] };
    expect(problems.some((p) => p.startsWith('priority'))).toBe(true);
    expect(problems.some((p) => p.startsWith('errorCode'))).toBe(true);
  });
});
