// Issue 15: acknowledged events with old or implausible source timestamps are kept (retention by
// arrival time); implausible ones are flagged and placed at their arrival time.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { rmSync } from 'node:fs';
import { createManualClock } from '../../src/core/clock.ts';
import { postJson, sessionDrop, startTestApp, type TestApp, tempDir } from '../helpers/test-app.ts';

const dataDir = tempDir();
let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({ TRACEPULSE_DATA_DIR: dataDir });
});
afterAll(async () => {
  await app.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const stamps = {
  'txn-rtc-1970': '1970-01-02T00:00:00Z',
  'txn-rtc-0000': '0000-01-01T00:00:00Z',
  'txn-rtc-2020': '2020-01-01T00:00:00Z',
  'txn-rtc-future': 8.64e15,
};
const eventOf = async (correlationId: string) =>
  (
    (await (await fetch(`${app.url}/api/events?correlationId=${correlationId}`)).json()) as {
      events: Array<{ timestamp: string; receivedAt: string; details: Record<string, string> }>;
    }
  ).events[0];

test('events stamped 1970, year 0, 2020 and year 275760 survive a restart and its retention run', async () => {
  for (const [correlationId, timestamp] of Object.entries(stamps)) {
    const r = await postJson(
      `${app.url}/webhook/event`,
      sessionDrop({ correlationId, timestamp, priority: 'low' }),
    );
    expect(r.status).toBe(200);
  }
  await app.stop();
  const timers = createManualClock();
  app = await startTestApp({ TRACEPULSE_DATA_DIR: dataDir }, { scheduler: timers });
  // Retention runs 5 s after start (and deletes nothing but old data: the count says it ran).
  const before = app.logLines.length;
  timers.advance(5_000);
  expect(timers.now() - Date.UTC(2026, 10, 25, 8, 0, 0)).toBe(5_000);
  for (const id of Object.keys(stamps))
    expect({ id, kept: !!(await eventOf(id)) }).toEqual({ id, kept: true });
  expect(app.logLines.slice(before).some((l) => l.includes('retention failed'))).toBe(false);
});

test('an implausible source time is flagged and the arrival time is used; a plausible old one is kept as sent', async () => {
  for (const id of ['txn-rtc-1970', 'txn-rtc-0000', 'txn-rtc-future']) {
    const e = (await eventOf(id))!;
    expect(e.timestamp).toBe(e.receivedAt);
    expect(e.details.sourceTimestamp).toBeDefined();
  }
  expect((await eventOf('txn-rtc-1970'))!.details.sourceTimestamp).toBe('1970-01-02T00:00:00.000Z');
  const y2020 = (await eventOf('txn-rtc-2020'))!;
  expect(y2020.timestamp).toBe('2020-01-01T00:00:00.000Z');
  expect(y2020.details.sourceTimestamp).toBeUndefined();
});

test('a log line from a reset clock is placed at its arrival and keeps the source time as an attribute', async () => {
  const r = await postJson(`${app.url}/api/logs`, [
    {
      service: 'ocpp',
      level: 'error',
      message: 'WebsocketPongTimeout',
      timestamp: '1970-01-01T00:00:05Z',
      correlationId: 'txn-rtc-log',
    },
  ]);
  expect(r.status).toBe(200);
  const { logs } = (await (await fetch(`${app.url}/api/logs?correlationId=txn-rtc-log`)).json()) as {
    logs: Array<{ timestamp: string; attributes: Record<string, unknown> }>;
  };
  expect(Date.parse(logs[0]!.timestamp)).toBeGreaterThan(Date.UTC(2025, 0, 1));
  expect(logs[0]!.attributes.sourceTimestamp).toBe('1970-01-01T00:00:05.000Z');
});
