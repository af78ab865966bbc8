// Issue 13: Redis stopped and restarted mid-run (a private redis-server on a free port, so the
// shared one is not disturbed). Two compiled instances keep taking events and making their own
// reports while it is away; when it is back, the reports made meanwhile reach the <prefix>reports
// stream from each store's cursor (every report once, in order), and a map PUT made during the
// outage reaches the other instance.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import type { Subprocess } from 'bun';
import {
  compiledBinary,
  createProcessGroup,
  createTempDirs,
  freePort,
  portOpen,
  type RunningServer,
  repoRoot,
  startServer,
  waitFor,
} from '../deploy/support.ts';

const temp = createTempDirs('tp-cluster-outage');
const procs = createProcessGroup();
const tag = `out${process.pid}x${Date.now().toString(36)}`;
const PREFIX = `tp-test-${tag}:`;

let exe: string;
let redisPort: number;
let redisDir: string;
let redis: Subprocess | null = null;
const servers: RunningServer[] = [];

const startRedis = async () => {
  // Durable (AOF, fsync always): what was published before the stop must still be there after it.
  redis = procs.spawn(
    [
      'redis-server',
      '--port',
      String(redisPort),
      '--bind',
      '127.0.0.1',
      '--dir',
      redisDir,
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--save',
      '',
    ],
    {},
  );
  await waitFor('redis-server', () => portOpen(redisPort), 5000);
};
const stopRedis = async () => {
  redis?.kill('SIGTERM');
  await redis?.exited;
  redis = null;
};

const post = (s: RunningServer, path: string, body: unknown) =>
  fetch(`${s.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
const trigger = (n: number) => ({
  id: `${tag}-fault-${n}`,
  eventType: 'POWER_MODULE_FAULT',
  service: 'powersupply_dc',
  errorCode: 'OverTemperature',
  correlationId: `txn-${tag}-${n}`,
  details: { connector: 1, moduleTempC: 92 },
});
const health = async (s: RunningServer) =>
  (
    (await (await fetch(`${s.url}/healthz`)).json()) as {
      components: { cluster: { redis: { connected: boolean }; reports: { pending: number } } };
    }
  ).components.cluster;
const reportsOn = async (s: RunningServer) =>
  (
    (await (await fetch(`${s.url}/api/reports?limit=200`)).json()) as {
      reports: Array<{ id: string; eventId: string; createdAt: string }>;
    }
  ).reports;

beforeAll(async () => {
  exe = await compiledBinary('x64');
  redisPort = await freePort();
  redisDir = temp.make();
  await startRedis();
  for (const name of ['a1', 'a2']) {
    const dataDir = temp.make();
    servers.push(
      await startServer(procs, [exe], {
        dataDir,
        env: {
          REDIS_URL: `redis://127.0.0.1:${redisPort}`,
          TRACEPULSE_REDIS_PREFIX: PREFIX,
          TRACEPULSE_INSTANCE_ID: name,
          TRACEPULSE_CLAIM_TTL_MS: '1500',
          TRACEPULSE_STORM_WINDOW_S: '0',
          TRACEPULSE_SYSTEM_MAP: join(repoRoot, 'system-map.yaml'),
        },
      }),
    );
  }
  await waitFor(
    'both connected',
    async () => (await Promise.all(servers.map(health))).every((h) => h.redis.connected),
    5000,
  );
}, 60_000);

afterAll(async () => {
  await procs.killAll();
  temp.cleanup();
});

describe('Redis stopped and restarted mid-run', () => {
  test('nothing lost, nothing doubled, local reports unaffected, the stream catches up from the cursor', async () => {
    const [a1, a2] = servers as [RunningServer, RunningServer];
    let n = 0;
    // Before: each trigger seen by both instances.
    for (; n < 4; n++)
      for (const s of [a1, a2]) expect((await post(s, '/webhook/event', trigger(n))).status).toBe(200);
    await waitFor(
      '4 reports',
      async () => (await reportsOn(a1)).length + (await reportsOn(a2)).length === 4,
      10_000,
    );

    await stopRedis();
    await waitFor(
      'both see Redis gone',
      async () => (await Promise.all(servers.map(health))).every((h) => !h.redis.connected),
      5000,
    );
    // During: each trigger reaches one instance, which still reports it on its own.
    const during = [];
    for (; n < 8; n++) {
      const s = n % 2 ? a2 : a1;
      const t0 = performance.now();
      expect((await post(s, '/webhook/event', trigger(n))).status).toBe(200);
      during.push({ s, id: trigger(n).id, t0 });
    }
    for (const d of during)
      await waitFor(
        `local report of ${d.id}`,
        async () => (await reportsOn(d.s)).some((r) => r.eventId === d.id),
        10_000,
      );
    const base = await Bun.file(join(repoRoot, 'system-map.yaml')).text();
    const put = await fetch(`${a1.url}/api/system-map`, {
      method: 'PUT',
      headers: { 'content-type': 'application/yaml' },
      body: `${base}\n  dc_fan_${tag}:\n    module: FanControl\n    files: [modules/Fan/]\n`,
    });
    expect(put.status).toBe(200);
    expect((await health(a1)).reports.pending).toBeGreaterThan(0);

    await startRedis();
    // After: seen by both again.
    await waitFor(
      'both reconnected',
      async () => (await Promise.all(servers.map(health))).every((h) => h.redis.connected),
      10_000,
    );
    for (; n < 12; n++)
      for (const s of [a1, a2]) expect((await post(s, '/webhook/event', trigger(n))).status).toBe(200);
    await waitFor(
      '12 reports',
      async () => (await reportsOn(a1)).length + (await reportsOn(a2)).length === 12,
      10_000,
    );
    await waitFor(
      'nothing pending',
      async () => (await Promise.all(servers.map(health))).every((h) => h.reports.pending === 0),
      10_000,
    );
    await Bun.sleep(2500); // past any claim expiry

    const local = [...(await reportsOn(a1)), ...(await reportsOn(a2))];
    // One report per trigger, none doubled.
    expect(local.map((r) => r.eventId).sort()).toEqual(
      Array.from({ length: 12 }, (_, i) => trigger(i).id).sort(),
    );

    const { RedisClient } = await import('bun');
    const r = new RedisClient(`redis://127.0.0.1:${redisPort}`);
    const entries = (await r.send('XRANGE', [`${PREFIX}reports`, '-', '+'])) as Array<[string, string[]]>;
    r.close();
    const published = entries.map(([, f]) => {
      const m = new Map<string, string>();
      for (let i = 0; i + 1 < f.length; i += 2) m.set(f[i]!, f[i + 1]!);
      const rep = JSON.parse(m.get('report')!) as { id: string; instance: string; createdAt: string };
      return { store: m.get('store')!, ...rep };
    });
    // Every report once, those of the outage included.
    expect(published.map((p) => p.id).sort()).toEqual(local.map((l) => l.id).sort());
    // In each store's order.
    for (const store of new Set(published.map((p) => p.store))) {
      const times = published.filter((p) => p.store === store).map((p) => p.createdAt);
      expect(times).toEqual([...times].sort());
    }
    // The PUT made while Redis was away reached a2 once it was back.
    await waitFor(
      'the map on a2',
      async () => (await (await fetch(`${a2.url}/api/system-map`)).text()).includes(`dc_fan_${tag}`),
      3000,
    );
  }, 90_000);
});
