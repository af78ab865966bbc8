// Issue 13, through the compiled binary: three instances on one Mosquitto and one Redis act as one.
// Events and log lines are spread by round-robin HTTP and by MQTT shared subscriptions, every
// trigger is posted to two instances, one instance is killed with -9 mid-run and restarted. Every
// acknowledged event is stored, every trigger has exactly one report (whose evidence holds lines
// another instance took) and one Slack message, and a map PUT is in force on the others within 1 s.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { type FakeSlack, startFakeSlack } from '../deliver/support/fake-slack.ts';
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

const temp = createTempDirs('tp-cluster');
const procs = createProcessGroup();
const tag = `cl${process.pid}x${Date.now().toString(36)}`;
const TOPIC = `tp-test-${tag}`;
const PREFIX = `tp-test-${tag}:`;
const REDIS = 'redis://127.0.0.1:6379';

let exe: string;
let slack: FakeSlack;
let publisher: MqttClient;
const nodes: Array<{ name: string; dataDir: string; port: number; server: RunningServer | null }> = [];

const envFor = (name: string): Record<string, string> => ({
  REDIS_URL: REDIS,
  TRACEPULSE_REDIS_PREFIX: PREFIX,
  TRACEPULSE_INSTANCE_ID: name,
  // Unique per run: other runs of this test may be on the broker at the same time.
  TRACEPULSE_MQTT_CLIENT_ID: `${tag}-${name}`,
  TRACEPULSE_MQTT_URL: 'mqtt://127.0.0.1:1883',
  TRACEPULSE_MQTT_TOPIC_PREFIX: TOPIC,
  TRACEPULSE_CLAIM_TTL_MS: '1500',
  TRACEPULSE_STORM_WINDOW_S: '0',
  SLACK_BOT_TOKEN: slack.token,
  SLACK_API_URL: slack.url,
  TRACEPULSE_OUTBOX_BACKOFF_MS: '50',
  TRACEPULSE_OUTBOX_MAX_BACKOFF_MS: '500',
  TRACEPULSE_SYSTEM_MAP: join(repoRoot, 'system-map.yaml'),
});

const start = async (i: number) => {
  const n = nodes[i]!;
  n.server = await startServer(procs, [exe], { dataDir: n.dataDir, port: n.port, env: envFor(n.name) });
  await waitFor(
    `${n.name} subscribed and in the cluster`,
    async () => {
      const h = (await (await fetch(`${n.server!.url}/healthz`)).json()) as {
        components: { mqtt: { subscribed?: boolean }; cluster: { redis: { connected: boolean } } };
      };
      return h.components.mqtt.subscribed === true && h.components.cluster.redis.connected;
    },
    10_000,
  );
};

const url = (i: number) => `http://127.0.0.1:${nodes[i]!.port}`;
const post = (i: number, path: string, body: unknown) =>
  fetch(`${url(i)}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });

beforeAll(async () => {
  exe = await compiledBinary('x64');
  slack = await startFakeSlack();
  for (const name of ['n1', 'n2', 'n3'])
    nodes.push({ name, dataDir: temp.make(), port: await freePort(), server: null });
  await Promise.all(nodes.map((_, i) => start(i)));
  publisher = await connectAsync('mqtt://127.0.0.1:1883', {
    clientId: `pub-${tag}`,
    protocolVersion: 5,
  });
}, 60_000);

afterAll(async () => {
  await publisher?.endAsync();
  await procs.killAll();
  // End the instances' persistent sessions (clean start with each client id): the broker would
  // otherwise keep queueing their share of the group.
  for (const n of nodes)
    await (
      await connectAsync('mqtt://127.0.0.1:1883', {
        clientId: `${tag}-${n.name}`,
        clean: true,
        protocolVersion: 5,
      })
    ).endAsync();
  await slack?.stop();
  temp.cleanup();
  // Our keys only: the shared Redis is used by other tests at the same time.
  const { RedisClient } = await import('bun');
  const r = new RedisClient(REDIS);
  const keys = (await r.send('KEYS', [`${PREFIX}*`])) as string[];
  if (keys.length) await r.send('DEL', keys);
  r.close();
});

interface Report {
  id: string;
  eventId: string;
  summary: string;
  hypotheses: Array<{ service: string; evidence: Array<{ kind: string; correlated?: boolean }> }>;
}
const reportsOf = async (correlationId: string): Promise<Array<Report & { on: string }>> => {
  const out: Array<Report & { on: string }> = [];
  for (const [i, n] of nodes.entries()) {
    if (!n.server) continue;
    const res = await fetch(`${url(i)}/api/reports?correlationId=${correlationId}&limit=50`);
    const body = (await res.json()) as { reports: Report[] };
    for (const r of body.reports) out.push({ ...r, on: n.name });
  }
  return out;
};

describe('three instances of the compiled binary on one broker and one Redis', () => {
  test('each acknowledged event stored, one report and one Slack message per trigger, shared evidence, kill -9 mid-run', async () => {
    const triggers: Array<{ id: string; correlationId: string; linesOn: string }> = [];
    const ackedEvents = new Set<string>();
    const N = 12;
    let killed = false;
    for (let t = 0; t < N; t++) {
      const correlationId = `txn-${tag}-${t}`;
      const logTo = t % 3;
      const line = `IMD self test failed: insulation resistance ${80 + t} kOhm below limit`;
      // The session's log lines: over HTTP to one instance, and over MQTT (the shared group picks one).
      const alive = (i: number) => nodes[i]!.server !== null;
      const httpTo = alive(logTo) ? logTo : (logTo + 1) % 3;
      const res = await post(httpTo, '/api/logs', [
        { service: 'imd', level: 'error', message: line, correlationId },
        {
          service: 'evse_manager_1',
          level: 'info',
          message: `cable check started (session ${t})`,
          correlationId,
        },
      ]);
      expect(res.status).toBe(200);
      await publisher.publishAsync(
        `${TOPIC}/logs/powersupply_dc`,
        JSON.stringify({ level: 'warn', message: `DC supply ramp slow (session ${t})`, correlationId }),
        { qos: 1 },
      );
      // Low-priority context events, round-robin over HTTP.
      for (let k = 0; k < 3; k++) {
        const id = `${correlationId}-ctx-${k}`;
        const to = (t + k) % 3;
        if (!alive(to)) continue;
        const r = await post(to, '/webhook/event', {
          id,
          eventType: 'EVSE_STATE',
          service: 'evse_manager_1',
          errorCode: 'Info',
          priority: 'low',
          correlationId,
          details: { connector: 1, state: 'Preparing' },
        });
        if (r.ok) ackedEvents.add(id);
      }
      // The trigger, on a different instance than the lines, and seen twice: by two instances over
      // HTTP (even t) or once over HTTP and once over MQTT (odd t).
      const id = `${correlationId}-fault`;
      const event = {
        id,
        eventType: 'CABLE_CHECK_FAULT',
        service: 'evse_manager_1',
        errorCode: 'MREC11CableCheckFault',
        correlationId,
        details: { connector: 1, evseId: 'EV-Station-01' },
      };
      await Bun.sleep(150); // the lines reach Redis (the settle delay covers the rest)
      const first = [(t + 1) % 3, (t + 2) % 3].find(alive)!;
      const r1 = await post(first, '/webhook/event', event);
      expect(r1.status).toBe(200);
      ackedEvents.add(id);
      if (t % 2 === 0) {
        const second = [(t + 2) % 3, t % 3].find((i) => alive(i) && i !== first);
        if (second !== undefined) expect((await post(second, '/webhook/event', event)).status).toBe(200);
      } else await publisher.publishAsync(`${TOPIC}/events/imd`, JSON.stringify(event), { qos: 1 });
      triggers.push({ id, correlationId, linesOn: nodes[httpTo]!.name });
      if (t === 5 && !killed) {
        // Mid-run: n3 dies without a chance to finish anything.
        killed = true;
        nodes[2]!.server!.proc.kill('SIGKILL');
        await nodes[2]!.server!.proc.exited;
        nodes[2]!.server = null;
      }
    }
    // n3 comes back on its data (its persistent MQTT session and its committed triggers).
    await start(2);

    for (const trig of triggers) {
      await waitFor(
        `a report for ${trig.id}`,
        async () => (await reportsOf(trig.correlationId)).length > 0,
        15_000,
      );
    }
    // Past the claim expiry and takeover window: no late duplicate appears.
    await Bun.sleep(2500);
    let fromOthers = 0;
    const reportIds = new Map<string, string>();
    for (const trig of triggers) {
      const reports = await reportsOf(trig.correlationId);
      expect(reports.map((r) => `${r.eventId}@${r.on}`)).toEqual([`${trig.id}@${reports[0]!.on}`]);
      const report = reports[0]!;
      reportIds.set(trig.id, report.id);
      // The session's imd error is evidence wherever the report was made.
      const imd = report.hypotheses.find((h) => h.service === 'imd');
      expect(imd?.evidence.some((e) => e.kind === 'log' && e.correlated === true)).toBe(true);
      if (report.on !== trig.linesOn) {
        // Those lines were only ever posted to another instance: they came through Redis.
        expect(report.summary).toMatch(/Redis \(other instances\) answered \([1-9]\d* lines?\)/);
        fromOthers++;
      }
    }
    // The trigger goes to other instances than the lines, so most reports need them from Redis.
    expect(fromOthers).toBeGreaterThan(N / 3);

    // Every acknowledged event is stored on some instance (n3's too, after its restart).
    const stored = new Set<string>();
    for (const trig of triggers)
      for (const i of [0, 1, 2]) {
        const r = await fetch(`${url(i)}/api/events?correlationId=${trig.correlationId}&limit=100`);
        for (const e of ((await r.json()) as { events: Array<{ id: string }> }).events) stored.add(e.id);
      }
    expect([...ackedEvents].filter((id) => !stored.has(id))).toEqual([]);

    // Exactly one Slack message per trigger (its metadata carries the report's id), and no other.
    await waitFor(
      'one Slack message per trigger',
      () =>
        triggers.every((t) =>
          slack.topLevel().some((m) => JSON.stringify(m.metadata).includes(reportIds.get(t.id)!)),
        ),
      15_000,
    );
    await Bun.sleep(1000);
    for (const trig of triggers)
      expect(
        slack.topLevel().filter((m) => JSON.stringify(m.metadata).includes(reportIds.get(trig.id)!)).length,
      ).toBe(1);
    expect(slack.topLevel().length).toBe(N);
  }, 120_000);

  test('a map PUT on one instance is in force on the others within a second', async () => {
    const base = await Bun.file(join(repoRoot, 'system-map.yaml')).text();
    const yaml = `${base}\n  dc_meter_${tag}:\n    module: DcMeter\n    files: [modules/Meters/]\n`;
    const put = await fetch(`${url(0)}/api/system-map`, {
      method: 'PUT',
      headers: { 'content-type': 'application/yaml' },
      body: yaml,
    });
    expect(put.status).toBe(200);
    const t0 = performance.now();
    await waitFor(
      'the map on n2 and n3',
      async () => {
        for (const i of [1, 2]) {
          const m = await (await fetch(`${url(i)}/api/system-map`)).text();
          if (!m.includes(`dc_meter_${tag}`)) return false;
        }
        return true;
      },
      1000,
      20,
    );
    expect(performance.now() - t0).toBeLessThan(1000);
    // /healthz shows every peer.
    const h = (await (await fetch(`${url(1)}/healthz`)).json()) as {
      components: { cluster: { peers: Array<{ instance: string }>; mode: string } };
    };
    expect(h.components.cluster.mode).toBe('redis');
    expect(h.components.cluster.peers.map((p) => p.instance).sort()).toEqual(['n1', 'n2', 'n3']);
  }, 30_000);
});
