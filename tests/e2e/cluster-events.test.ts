// Issue 13, through the compiled binary: a trigger analysed on one instance has in its evidence the
// events another instance took (the failing session's and its candidates'), read from Redis and
// merged by id with its own, even though its store never saw them.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import {
  compiledBinary,
  createProcessGroup,
  createTempDirs,
  freePort,
  type RunningServer,
  repoRoot,
  startServer,
  waitFor,
} from '../deploy/support.ts';

const temp = createTempDirs('tp-cluster-events');
const procs = createProcessGroup();
const tag = `ce${process.pid}x${Date.now().toString(36)}`;
const PREFIX = `tp-test-${tag}:`;
const REDIS = 'redis://127.0.0.1:6379';

const nodes: RunningServer[] = [];

beforeAll(async () => {
  const exe = await compiledBinary('x64');
  for (const name of ['e1', 'e2']) {
    const server = await startServer(procs, [exe], {
      dataDir: temp.make(),
      port: await freePort(),
      env: {
        REDIS_URL: REDIS,
        TRACEPULSE_REDIS_PREFIX: PREFIX,
        TRACEPULSE_INSTANCE_ID: name,
        TRACEPULSE_STORM_WINDOW_S: '0',
        TRACEPULSE_SYSTEM_MAP: join(repoRoot, 'system-map.yaml'),
      },
    });
    nodes.push(server);
  }
  for (const n of nodes)
    await waitFor(
      'in the cluster',
      async () => {
        const h = (await (await fetch(`${n.url}/healthz`)).json()) as {
          components: { cluster: { redis: { connected: boolean } } };
        };
        return h.components.cluster.redis.connected;
      },
      10_000,
    );
}, 60_000);

afterAll(async () => {
  await procs.killAll();
  temp.cleanup();
  // Our keys only: the shared Redis is used by other tests at the same time.
  const { RedisClient } = await import('bun');
  const r = new RedisClient(REDIS);
  const keys = (await r.send('KEYS', [`${PREFIX}*`])) as string[];
  if (keys.length) await r.send('DEL', keys);
  r.close();
});

const post = (n: RunningServer, path: string, body: unknown) =>
  fetch(`${n.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });

interface Report {
  eventId: string;
  summary: string;
  hypotheses: Array<{ service: string; evidence: Array<{ kind: string; text: string }> }>;
}

describe('events shared across instances', () => {
  test("a report's evidence includes a candidate's event that only another instance took", async () => {
    const [e1, e2] = nodes as [RunningServer, RunningServer];
    const correlationId = `txn-${tag}`;
    const code = `ImdSelfTest${tag}`;
    // The insulation monitor's fault, taken by e1 only (a low-priority event on the session).
    const ctx = await post(e1, '/webhook/event', {
      id: `${correlationId}-imd`,
      eventType: 'IMD_FAULT',
      service: 'imd',
      errorCode: code,
      priority: 'low',
      correlationId,
      message: 'insulation resistance below limit',
      details: { connector: 1 },
    });
    expect(ctx.status).toBe(200);
    // A second event of the same session on e2 itself: local and shared events are merged.
    expect(
      (
        await post(e2, '/webhook/event', {
          id: `${correlationId}-state`,
          eventType: 'EVSE_STATE',
          service: 'evse_manager_1',
          errorCode: 'Info',
          priority: 'low',
          correlationId,
          details: { connector: 1, state: 'Preparing' },
        })
      ).status,
    ).toBe(200);
    await Bun.sleep(200); // e1's commit reaches Redis (the settle delay covers the rest)
    // The trigger, taken by e2 only: e2 claims and analyses it.
    const trigger = {
      id: `${correlationId}-fault`,
      eventType: 'CABLE_CHECK_FAULT',
      service: 'evse_manager_1',
      errorCode: 'MREC11CableCheckFault',
      correlationId,
      details: { connector: 1, evseId: 'EV-Station-01' },
    };
    expect((await post(e2, '/webhook/event', trigger)).status).toBe(200);

    let report: Report | undefined;
    await waitFor(
      'the report on e2',
      async () => {
        const res = await fetch(`${e2.url}/api/reports?correlationId=${correlationId}`);
        report = ((await res.json()) as { reports: Report[] }).reports[0];
        return report !== undefined;
      },
      15_000,
    );
    // e2 never stored e1's event...
    const local = (await (await fetch(`${e2.url}/api/events?correlationId=${correlationId}`)).json()) as {
      events: Array<{ id: string }>;
    };
    expect(local.events.map((e) => e.id)).not.toContain(`${correlationId}-imd`);
    // ...yet the insulation monitor's hypothesis cites it.
    const imd = report!.hypotheses.find((h) => h.service === 'imd');
    expect(imd?.evidence.some((e) => e.text.includes(code))).toBe(true);
    // e1 made no report of its own.
    const onE1 = (await (await fetch(`${e1.url}/api/reports?correlationId=${correlationId}`)).json()) as {
      reports: Report[];
    };
    expect(onE1.reports).toEqual([]);
  }, 60_000);
});
