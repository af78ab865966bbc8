// kill -9 trials of the compiled executable under mixed load: HTTP events, HTTP log batches and MQTT
// QoS 1 events (the real Mosquitto on 127.0.0.1:1883) at once, killed at a random moment, restarted
// on the same data directory. At the end every record that was acknowledged (HTTP 200, or the
// broker's PUBACK for MQTT, whose persistent session delivers it later) must be in the store.
// Usage: bun scripts/soak-kill9.ts [--trials N] [--max-ms MS] [--seed S]   (build first: scripts/build x64)
import { Database } from 'bun:sqlite';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const trials = opt('trials', 20);
const maxMs = opt('max-ms', 2000);
let seed = opt('seed', 9) >>> 0;
const rnd = () => {
  // mulberry32: reproducible kill moments for a given --seed.
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const root = join(import.meta.dir, '..');
const bin = join(root, 'dist', 'tracepulse-linux-x64');
const dataDir = mkdtempSync(join(tmpdir(), 'tp-soak-kill9-'));
const port = 30000 + Math.floor(Math.random() * 20000);
const prefix = `tp-kill9-${process.pid}`;
const url = `http://127.0.0.1:${port}`;

const start = async () => {
  const proc = Bun.spawn([bin, 'serve'], {
    env: {
      PATH: process.env.PATH ?? '',
      TRACEPULSE_PORT: String(port),
      TRACEPULSE_HOST: '127.0.0.1',
      TRACEPULSE_DATA_DIR: dataDir,
      TRACEPULSE_SYSTEM_MAP: join(root, 'system-map.yaml'),
      TRACEPULSE_MQTT_URL: 'mqtt://127.0.0.1:1883',
      TRACEPULSE_MQTT_TOPIC_PREFIX: prefix,
      TRACEPULSE_MQTT_CLIENT_ID: `${prefix}-rx`,
      TRACEPULSE_LOG_LEVEL: 'error',
    },
    stdout: 'ignore',
    stderr: 'ignore',
  });
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) return proc;
    } catch {}
    if (proc.exitCode !== null) throw new Error(`the executable exited ${proc.exitCode} at start`);
    if (i > 400) throw new Error('the executable did not start');
    await Bun.sleep(25);
  }
};

const ackedEvents = new Set<string>();
const ackedMqtt = new Set<string>();
const ackedBatches = new Map<string, number>(); // correlationId of a log batch -> lines
let tried = 0;
let fiveXx = 0;
let crashes = 0;
let seq = 0;

const event = (id: string) => ({
  id,
  eventType: 'SESSION_DROP',
  service: 'evse_manager_1',
  errorCode: 'MREC14PilotFault',
  correlationId: `txn-${id}`,
  // Low priority: the load is ingest, not analysis.
  priority: 'low',
  details: { connector: '1', evseId: 'EV-Station-01' },
});

async function httpEvents(until: () => boolean) {
  while (!until()) {
    const id = `k9h-${seq++}`;
    tried++;
    try {
      const r = await fetch(`${url}/webhook/event`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(event(id)),
      });
      if (r.status === 200) ackedEvents.add(id);
      else if (r.status >= 500) fiveXx++;
      await r.arrayBuffer();
    } catch {
      // The connection died with the process: not acknowledged.
    }
  }
}

async function httpLogs(until: () => boolean) {
  while (!until()) {
    const cid = `k9l-${seq++}`;
    const lines = Array.from({ length: 50 }, (_, k) =>
      JSON.stringify({
        service: 'ocpp',
        level: k % 10 === 0 ? 'warn' : 'info',
        message: `WebsocketLibwebsockets: sent MeterValues for connector 1 (${k})`,
        correlationId: cid,
      }),
    );
    tried += lines.length;
    try {
      const r = await fetch(`${url}/api/logs`, { method: 'POST', body: lines.join('\n') });
      if (r.status === 200) ackedBatches.set(cid, ((await r.json()) as { accepted: number }).accepted);
      else {
        if (r.status >= 500) fiveXx++;
        await r.arrayBuffer();
      }
    } catch {}
  }
}

const pub = await connectAsync('mqtt://127.0.0.1:1883', {
  clientId: `${prefix}-station`,
  protocolVersion: 5,
});
async function mqttEvents(until: () => boolean) {
  while (!until()) {
    const ids = Array.from({ length: 10 }, () => `k9m-${seq++}`);
    tried += ids.length;
    await Promise.all(
      ids.map((id) =>
        pub
          .publishAsync(`${prefix}/events/evse`, JSON.stringify(event(id)), { qos: 1 })
          .then(() => ackedMqtt.add(id)),
      ),
    );
    await Bun.sleep(5);
  }
}

const started = performance.now();
let proc = await start();
// Only the first start: until the receiver has subscribed once, the broker keeps nothing for it.
for (let i = 0; ; i++) {
  const h = (await (await fetch(`${url}/healthz`)).json()) as {
    components: { mqtt: { subscribed?: boolean } };
  };
  if (h.components.mqtt.subscribed) break;
  if (i > 200) throw new Error('the MQTT receiver did not subscribe');
  await Bun.sleep(25);
}
for (let t = 0; t < trials; t++) {
  const killAt = performance.now() + 200 + rnd() * (maxMs - 200);
  const until = () => performance.now() >= killAt || proc.exitCode !== null;
  const killer = (async () => {
    while (!until()) await Bun.sleep(5);
    if (proc.exitCode !== null) crashes++;
    else proc.kill('SIGKILL');
  })();
  await Promise.all([
    ...Array.from({ length: 8 }, () => httpEvents(until)),
    ...Array.from({ length: 2 }, () => httpLogs(until)),
    mqttEvents(until),
    killer,
  ]);
  await proc.exited;
  proc = await start();
}

// The broker still delivers what was published while the service was down: wait for it to drain.
const dbPath = join(dataDir, 'tracepulse.db');
const missing = (mqttOnly = false) => {
  const db = new Database(dbPath, { readonly: true });
  try {
    const has = db.query<{ n: number }, [string]>('SELECT count(*) AS n FROM events WHERE id = ?');
    const lines = db.query<{ n: number }, [string]>(
      'SELECT count(*) AS n FROM logs WHERE correlation_id = ?',
    );
    let events = 0;
    let mqtt = 0;
    let logLines = 0;
    for (const id of ackedMqtt) if (!has.get(id)?.n) mqtt++;
    if (mqttOnly) return { events, mqtt, logLines, integrity: 'not checked' };
    for (const id of ackedEvents) if (!has.get(id)?.n) events++;
    for (const [cid, n] of ackedBatches) logLines += Math.max(0, n - (lines.get(cid)?.n ?? 0));
    return {
      events,
      mqtt,
      logLines,
      integrity: db.query<{ integrity_check: string }, []>('PRAGMA integrity_check').get()?.integrity_check,
    };
  } finally {
    db.close();
  }
};
for (let i = 0; i < 100 && missing(true).mqtt > 0; i++) await Bun.sleep(100);
const health = (await (await fetch(`${url}/healthz`)).json()) as { status: string };
proc.kill('SIGTERM');
const exitCode = await proc.exited;
await pub.endAsync();
const lost = missing();
rmSync(dataDir, { recursive: true, force: true });

const logLinesAcked = [...ackedBatches.values()].reduce((a, b) => a + b, 0);
const recordsLost = lost.events + lost.mqtt + lost.logLines;
console.log(
  JSON.stringify(
    {
      trials,
      seconds: Math.round((performance.now() - started) / 1000),
      recordsTried: tried,
      acknowledged: { httpEvents: ackedEvents.size, logLines: logLinesAcked, mqttEvents: ackedMqtt.size },
      recordsAcknowledged: ackedEvents.size + logLinesAcked + ackedMqtt.size,
      recordsLost,
      lost: { httpEvents: lost.events, logLines: lost.logLines, mqttEvents: lost.mqtt },
      fiveXx,
      crashes,
      integrityCheck: lost.integrity,
      healthAfter: health.status,
      cleanStopExitCode: exitCode,
    },
    null,
    1,
  ),
);
process.exit(recordsLost || fiveXx || crashes || lost.integrity !== 'ok' || exitCode !== 0 ? 1 : 0);
