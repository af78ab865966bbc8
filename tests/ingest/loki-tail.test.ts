import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { rmSync } from 'node:fs';
import { createManualClock } from '../../src/core/clock.ts';
import { createMemoryLogger } from '../../src/core/logger.ts';
import type { LogLine } from '../../src/core/log-line.ts';
import { createMetrics } from '../../src/core/metrics.ts';
import { startLokiFollower } from '../../src/sources/loki-follow.ts';
import { type FakeLoki, startFakeLoki } from '../helpers/loki-server.ts';
import { startTestApp, type TestApp, tempDir, waitFor } from '../helpers/test-app.ts';

let loki: FakeLoki;
const dataDir = tempDir();
const station = { station: 'EV-Station-01', service_name: 'OCPP201' };

interface StoredLog {
  message: string;
  level: string;
  service: string;
}
const messages = async (app: TestApp): Promise<string[]> =>
  (
    (await (await fetch(`${app.url}/api/logs?service=OCPP201&limit=1000`)).json()) as { logs: StoredLog[] }
  ).logs
    .map((l) => l.message)
    .sort();
// The reconnect back-off is on a manual clock; the lines' times are real.
let timers = createManualClock();
const start = () => {
  timers = createManualClock();
  return startTestApp(
    {
      TRACEPULSE_DATA_DIR: dataDir,
      TRACEPULSE_STATION_ID: 'EV-Station-01',
      TRACEPULSE_LOKI_URL: loki.url,
      TRACEPULSE_LOKI_FOLLOW: 'true',
    },
    { scheduler: timers },
  );
};

const follow = async (app: TestApp) =>
  (
    (await (await fetch(`${app.url}/healthz`)).json()) as {
      components: { lokiFollow: { connected: boolean; reconnects: number } };
    }
  ).components.lokiFollow;

beforeAll(() => {
  loki = startFakeLoki();
});
afterAll(() => {
  loki.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('Loki live follow', () => {
  test('follows the tail, and resumes after a dropped connection and after a restart without a gap or a duplicate', async () => {
    const t0 = Date.now();
    // Before the first start: not imported (following starts now).
    loki.push(station, t0 - 60_000, 'before the first start');
    let app = await start();
    await waitFor(() => loki.tails() === 1, 5000, 'tail connection');
    loki.push(station, Date.now(), 'ERROR live 1');
    loki.push({ ...station, service_name: 'other' }, Date.now(), 'another service, same station');
    loki.push({ station: 'EV-Station-02', service_name: 'OCPP201' }, Date.now(), 'another station');
    await waitFor(async () => (await messages(app)).includes('ERROR live 1'), 5000, 'live line');

    // The connection drops; lines arrive while it is down; it comes back via catch-up + tail.
    loki.mode.refuseTail = true;
    loki.dropTails();
    await waitFor(() => loki.tails() === 0, 2000, 'tail closed');
    for (let i = 0; i < 5; i++) loki.push(station, Date.now() + i, `WARN while disconnected ${i}`);
    loki.mode.refuseTail = false;
    // The follower saw the close (its back-off timer is set once the stored frames are done).
    await waitFor(async () => (await follow(app)).reconnects === 1, 5000, 'close seen');
    // No reconnect before the back-off (at least 250 ms) has passed on the clock.
    timers.advance(249);
    expect(loki.tails()).toBe(0);
    expect(await messages(app)).toHaveLength(1);
    timers.advance(251);
    await waitFor(async () => (await messages(app)).length === 6, 15_000, 'catch-up after the drop');
    await waitFor(() => loki.tails() === 1, 15_000, 'tail re-opened');
    loki.push(station, Date.now() + 10, 'ERROR live 2');
    await waitFor(
      async () => (await messages(app)).includes('ERROR live 2'),
      5000,
      'live line after reconnect',
    );

    // A restart: lines that arrive while TracePulse is stopped are read at the next start, once.
    await app.stop();
    for (let i = 0; i < 3; i++) loki.push(station, Date.now() + 20 + i, `ERROR while stopped ${i}`);
    app = await start();
    await waitFor(async () => (await messages(app)).length === 10, 10_000, 'catch-up after the restart');
    await waitFor(() => loki.tails() === 1, 5000, 'tail after restart');
    loki.push(station, Date.now() + 30, 'ERROR live 3');
    await waitFor(
      async () => (await messages(app)).includes('ERROR live 3'),
      5000,
      'live line after restart',
    );
    await Bun.sleep(200);
    const all = await messages(app);
    expect(all).toEqual(
      [
        'ERROR live 1',
        ...[0, 1, 2, 3, 4].map((i) => `WARN while disconnected ${i}`),
        'ERROR live 2',
        ...[0, 1, 2].map((i) => `ERROR while stopped ${i}`),
        'ERROR live 3',
      ].sort(),
    );
    const health = (await (await fetch(`${app.url}/healthz`)).json()) as {
      components: Record<string, unknown>;
    };
    expect(health.components.lokiFollow).toMatchObject({ enabled: true, connected: true });
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toMatch(/tracepulse_logs_total\{source="loki-tail"\} \d+/);
    await app.stop();
  }, 60_000);

  test('a lost tail is re-opened when the back-off has passed on the injected clock', async () => {
    const clock = createManualClock();
    const stored: LogLine[] = [];
    const selector = '{station="EV-Station-07"}';
    const follower = startLokiFollower({
      options: { url: loki.url, selector, serviceLabel: 'service_name' },
      store: async (lines) => {
        stored.push(...lines);
      },
      logger: createMemoryLogger(),
      metrics: createMetrics(),
      loadCheckpoint: () => null,
      now: () => Date.now(),
      scheduler: clock,
      // A minute: a real timer would not reconnect within this test's waits.
      backoffMs: { min: 60_000, max: 60_000 },
    });
    try {
      await waitFor(() => follower.state().connected || undefined, 5000, 'tail connection');
      loki.dropTails();
      await waitFor(() => (follower.state().reconnects === 1 ? true : undefined), 5000, 'close seen');
      loki.push({ station: 'EV-Station-07', service_name: 'OCPP201' }, Date.now(), 'WARN while down');
      // The jittered wait is between half the back-off and all of it.
      clock.advance(29_999);
      expect(follower.state().connected).toBe(false);
      clock.advance(30_001);
      await waitFor(() => stored.some((l) => l.message === 'WARN while down') || undefined, 5000, 'catch-up');
      await waitFor(() => follower.state().connected || undefined, 5000, 'tail re-opened');
    } finally {
      await follower.stop();
    }
  });
});
