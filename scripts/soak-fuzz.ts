// Fuzzes the compiled executable over HTTP and MQTT (the real Mosquitto on 127.0.0.1:1883) and
// prints what a user needs to know: payloads tried, 5xx answers, crashes, and whether every valid
// event that was acknowledged can be read back.
// Usage: bun scripts/soak-fuzz.ts [--http N] [--mqtt N] [--seed S]   (build first: scripts/build x64)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const httpN = opt('http', 6000);
const mqttN = opt('mqtt', 2750);
let seed = opt('seed', 15) >>> 0;
const rnd = () => {
  // mulberry32: reproducible runs for a given --seed.
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;

const bin = join(import.meta.dir, '..', 'dist', 'tracepulse-linux-x64');
const dataDir = mkdtempSync(join(tmpdir(), 'tp-soak-fuzz-'));
const port = 30000 + Math.floor(Math.random() * 20000);
const prefix = `tp-soak-${process.pid}`;
const proc = Bun.spawn([bin, 'serve'], {
  env: {
    PATH: process.env.PATH ?? '',
    TRACEPULSE_PORT: String(port),
    TRACEPULSE_HOST: '127.0.0.1',
    TRACEPULSE_DATA_DIR: dataDir,
    TRACEPULSE_SYSTEM_MAP: join(import.meta.dir, '..', 'system-map.yaml'),
    TRACEPULSE_MQTT_URL: 'mqtt://127.0.0.1:1883',
    TRACEPULSE_MQTT_TOPIC_PREFIX: prefix,
    TRACEPULSE_MQTT_CLIENT_ID: `${prefix}-rx`,
    TRACEPULSE_LOG_LEVEL: 'error',
  },
  stdout: 'ignore',
  stderr: 'pipe',
});
const url = `http://127.0.0.1:${port}`;
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${url}/healthz`)).ok) break;
  } catch {}
  if (i > 200) throw new Error('the executable did not start');
  await Bun.sleep(50);
}

const valid = (i: number) => ({
  id: `soak-${i}`,
  eventType: pick(['SESSION_DROP', 'OCPP_DISCONNECT', 'CHARGING_FAULT']),
  service: pick(['evse_manager_1', 'ocpp', 'bsp', 'powermeter_dc']),
  errorCode: pick(['MREC14PilotFault', 'WebsocketPongTimeout', 'MREC4OverCurrentFailure']),
  correlationId: `txn-soak-${i % 97}`,
  priority: 'low',
  details: { connector: String(1 + (i % 2)) },
});
const junkValues: unknown[] = [
  null,
  true,
  0,
  -1,
  1e308,
  '',
  'x'.repeat(70_000),
  [],
  {},
  [[[[[[[[[[1]]]]]]]]]],
];
const mutate = (i: number): { body: string | Uint8Array<ArrayBuffer>; validId?: string } => {
  const e = valid(i) as Record<string, unknown>;
  switch (Math.floor(rnd() * 8)) {
    case 0:
      return { body: JSON.stringify(e), validId: e.id as string };
    case 1: {
      const s = JSON.stringify(e);
      return { body: s.slice(0, Math.floor(rnd() * s.length)) };
    }
    case 2: {
      const b = new TextEncoder().encode(JSON.stringify(e));
      for (let k = 0; k < 3; k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      return { body: b };
    }
    case 3:
      e[pick(Object.keys(e))] = pick(junkValues);
      return { body: JSON.stringify(e) };
    case 4:
      e.details = { deep: pick(junkValues), n: rnd(), b: rnd() > 0.5 };
      return { body: JSON.stringify(e) };
    case 5:
      e.timestamp = pick([0, 8.64e15, '0000-01-01', '1970-01-02T00:00:00Z', 'yesterday', -5]);
      return { body: JSON.stringify(e) };
    case 6:
      return { body: JSON.stringify(pick(junkValues)) };
    default:
      return { body: `${JSON.stringify(e)}\n${JSON.stringify(e)}` };
  }
};
const headerSets: Array<Record<string, string>> = [
  {},
  { cookie: 'tp_session=%zz' },
  { cookie: 'tp_session=eyJhbGciOiJub25lIn0.e30.' },
  { origin: 'not a url', cookie: 'tp_session=x' },
  { 'content-type': 'text/plain' },
];

let tried = 0;
let fiveXx = 0;
let htmlAnswers = 0;
const acked = new Set<string>();
const statuses = new Map<number, number>();
for (let i = 0; i < httpN; i++) {
  const m = mutate(i);
  const path = rnd() < 0.8 ? '/webhook/event' : '/api/logs';
  const r = await fetch(`${url}${path}`, { method: 'POST', headers: pick(headerSets), body: m.body });
  tried++;
  statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
  if (r.status >= 500) fiveXx++;
  if ((r.headers.get('content-type') ?? '').includes('text/html')) htmlAnswers++;
  if (r.status === 200 && m.validId && path === '/webhook/event') acked.add(m.validId);
  await r.arrayBuffer();
}

const pub = await connectAsync('mqtt://127.0.0.1:1883', {
  clientId: `${prefix}-station`,
  protocolVersion: 5,
});
for (let i = 0; i < mqttN; i++) {
  const m = mutate(httpN + i);
  const topic = pick([`${prefix}/events/ocpp`, `${prefix}/logs/ocpp`, `${prefix}/nowhere`]);
  const body = rnd() < 0.02 ? Buffer.alloc(200_000, 0x7b) : m.body;
  await pub.publishAsync(topic, typeof body === 'string' ? body : Buffer.from(body), { qos: 1 });
  tried++;
}
await pub.endAsync();
await Bun.sleep(500);

const crashed = proc.exitCode !== null;
let lost = 0;
if (!crashed)
  for (const id of acked) {
    const r = await fetch(`${url}/api/events?correlationId=txn-soak-${Number(id.slice(5)) % 97}&limit=1000`);
    const { events } = (await r.json()) as { events: Array<{ id: string }> };
    if (!events.some((e) => e.id === id)) lost++;
  }
const health = crashed ? 'down' : (await (await fetch(`${url}/healthz`)).json()).status;
proc.kill('SIGTERM');
await proc.exited;
rmSync(dataDir, { recursive: true, force: true });

console.log(
  JSON.stringify(
    {
      payloadsTried: tried,
      http: httpN,
      mqtt: mqttN,
      statuses: Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])),
      fiveXx,
      htmlAnswers,
      crashes: crashed ? 1 : 0,
      acknowledgedValidEvents: acked.size,
      acknowledgedLost: lost,
      healthAfter: health,
    },
    null,
    1,
  ),
);
process.exit(fiveXx || htmlAnswers || crashed || lost ? 1 : 0);
