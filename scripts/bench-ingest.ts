#!/usr/bin/env bun
/**
 * Ingest benchmark (figures for the README; not a test). Needs wrk (apt-get install wrk), the
 * compiled binary (bash scripts/build x64) and Mosquitto on 127.0.0.1:1883.
 *   npx bun scripts/bench-ingest.ts [--seconds 10] [--connections 64] [--rounds 3] [--warmup 3] [--mqtt 50000]
 * Each measurement follows a warm-up (HTTP: --warmup seconds of load; MQTT: 40 % of --mqtt events).
 * Prints: bare Bun.serve req/s vs TracePulse POST /webhook/event req/s (ratio, same run), p50/p99
 * acknowledgement latency, MQTT QoS 1 events/s with 100 in flight, idle RSS, time to /healthz 200.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connectAsync } from 'mqtt';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '64' },
    mqtt: { type: 'string', default: '50000' },
    rounds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '3' },
  },
});
const seconds = Number(values.seconds);
const connections = Number(values.connections);
// Sustained throughput is the steady state: each server gets this much load before it is measured.
// TracePulse needs it most: the executable starts with the JIT's tier-up thresholds raised (scripts/build)
// and code that also ran during start-up tiers up only after its first 50,000 or so calls.
const warmup = Number(values.warmup);
const root = join(import.meta.dir, '..');
const binary = join(root, 'dist', 'tracepulse-linux-x64');
const freePort = () => 20000 + Math.floor(Math.random() * 30000);

async function waitHttp(url: string, timeoutMs = 10_000) {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    try {
      if ((await fetch(url)).status === 200) return performance.now() - t0;
    } catch {}
    await Bun.sleep(2);
  }
  throw new Error(`${url} not ready`);
}

function wrk(url: string, script?: string, runSeconds = seconds): { rps: number; p50: string; p99: string } {
  const args = [
    'wrk',
    '-t2',
    `-c${connections}`,
    `-d${runSeconds}s`,
    '--latency',
    ...(script ? ['-s', script] : []),
    url,
  ];
  const out = Bun.spawnSync(args).stdout.toString();
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const p50 = /\s50%\s+(\S+)/.exec(out)?.[1] ?? '?';
  const p99 = /\s99%\s+(\S+)/.exec(out)?.[1] ?? '?';
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1];
  if (non2xx) throw new Error(`wrk saw ${non2xx} non-2xx answers:\n${out}`);
  return { rps, p50, p99 };
}

/** Resident memory in MB: total, and the part that is anonymous (heap, not the executable's own pages). */
function rssMb(pid: number): { total: number; anon: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { total: kb('VmRSS') / 1024, anon: kb('RssAnon') / 1024 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function startTracePulse(extra: Record<string, string> = {}) {
  const port = freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'tp-bench-'));
  const t0 = performance.now();
  const proc = Bun.spawn([binary, 'serve'], {
    env: {
      TRACEPULSE_PORT: String(port),
      TRACEPULSE_HOST: '127.0.0.1',
      TRACEPULSE_DATA_DIR: dataDir,
      TRACEPULSE_SYSTEM_MAP: join(root, 'system-map.yaml'),
      TRACEPULSE_LOG_LEVEL: 'warn',
      ...extra,
    },
    stdout: 'ignore',
    stderr: 'inherit',
  });
  const url = `http://127.0.0.1:${port}`;
  await waitHttp(`${url}/healthz`);
  const readyMs = performance.now() - t0;
  return {
    url,
    proc,
    readyMs,
    stop: async () => {
      proc.kill('SIGTERM');
      await proc.exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const machine = `${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${process.arch}, bun ${Bun.version}`;
console.log(`# bench-ingest on ${machine}; wrk ${connections} connections, ${seconds} s per run\n`);

// 1. Bare Bun.serve baseline and TracePulse HTTP ingest, alternated over several rounds in the same
// run so machine noise hits both; the figure is the median of the per-round ratios.
// Priority low: this measures ingest (validate + durable commit), not analysis.
const body = JSON.stringify({
  eventType: 'METER_VALUES_LATE',
  service: 'powermeter_dc',
  errorCode: 'CommunicationFault',
  correlationId: 'txn-bench',
  priority: 'low',
  details: { connector: '1', meterId: 'LEM-DCBM-4471' },
});
const luaDir = mkdtempSync(join(tmpdir(), 'tp-bench-lua-'));
const lua = join(luaDir, 'post.lua');
writeFileSync(
  lua,
  `wrk.method = "POST"\nwrk.body = ${JSON.stringify(body)}\nwrk.headers["Content-Type"] = "application/json"\n`,
);
console.log(
  '| round | bare Bun.serve req/s (p50, p99) | TracePulse POST /webhook/event req/s (p50, p99) | ratio |\n|---|---|---|---|',
);
const ratios: number[] = [];
for (let round = 1; round <= Number(values.rounds); round++) {
  const helloPort = freePort();
  const hello = Bun.spawn([process.execPath, join(import.meta.dir, 'bench', 'hello.ts')], {
    env: { PORT: String(helloPort) },
    stdout: 'ignore',
  });
  await waitHttp(`http://127.0.0.1:${helloPort}/`);
  wrk(`http://127.0.0.1:${helloPort}/`, undefined, warmup);
  const bare = wrk(`http://127.0.0.1:${helloPort}/`);
  hello.kill('SIGTERM');
  await hello.exited;

  const tp = await startTracePulse();
  wrk(`${tp.url}/webhook/event`, lua, warmup);
  const ingest = wrk(`${tp.url}/webhook/event`, lua);
  const stored = Number(
    ((await (await fetch(`${tp.url}/metrics`)).text()).match(
      /tracepulse_events_total\{priority="low",source="http"\} (\d+)/,
    ) ?? [])[1] ?? 0,
  );
  await tp.stop();
  if (stored < ingest.rps * seconds * 0.9) throw new Error(`only ${stored} events stored`);
  ratios.push(ingest.rps / bare.rps);
  console.log(
    `| ${round} | ${bare.rps.toFixed(0)} (${bare.p50}, ${bare.p99}) | ${ingest.rps.toFixed(0)} (${ingest.p50}, ${ingest.p99}) | ${((ingest.rps / bare.rps) * 100).toFixed(1)}% |`,
  );
}
rmSync(luaDir, { recursive: true, force: true });
console.log(
  `\nHTTP ingest = ${(median(ratios) * 100).toFixed(1)}% of bare Bun.serve (median of ${ratios.length} rounds)\n`,
);

// 2. MQTT QoS 1 with 100 messages in flight from the broker to TracePulse. A private Mosquitto with an
// unbounded queue: the stock config drops QoS 1 messages past 1000 queued per client, which would
// measure the broker's limit instead of TracePulse.
async function mqttRound(): Promise<number> {
  const brokerPort = freePort();
  const brokerDir = mkdtempSync(join(tmpdir(), 'tp-bench-broker-'));
  writeFileSync(
    join(brokerDir, 'mosquitto.conf'),
    `listener ${brokerPort} 127.0.0.1\nallow_anonymous true\nmax_inflight_messages 100\nmax_queued_messages 0\n`,
  );
  const broker = Bun.spawn(['mosquitto', '-c', join(brokerDir, 'mosquitto.conf')], {
    stdout: 'ignore',
    stderr: 'ignore',
  });
  await Bun.sleep(300);
  const brokerUrl = `mqtt://127.0.0.1:${brokerPort}`;
  const prefix = `bench-${process.pid}`;
  const tpm = await startTracePulse({
    TRACEPULSE_MQTT_URL: brokerUrl,
    TRACEPULSE_MQTT_TOPIC_PREFIX: prefix,
    TRACEPULSE_MQTT_CLIENT_ID: `${prefix}-rx`,
  });
  const mqttCount = Number(values.mqtt);
  while (
    !((await (await fetch(`${tpm.url}/healthz`)).json()) as { components: { mqtt: { subscribed: boolean } } })
      .components.mqtt.subscribed
  )
    await Bun.sleep(20);
  const pub = await connectAsync(brokerUrl, { protocolVersion: 4, clientId: `${prefix}-pub` });
  const payload = Buffer.from(body);
  // Publishes `count` events with 100 unacknowledged at a time; resolves once all are PUBACKed.
  const publish = (count: number) =>
    new Promise<void>((resolve, reject) => {
      let inflight = 0;
      let sent = 0;
      const pump = () => {
        while (inflight < 100 && sent < count) {
          inflight++;
          sent++;
          pub.publish(`${prefix}/events/powermeter_dc`, payload, { qos: 1 }, (err) => {
            if (err) return reject(err);
            inflight--;
            if (sent === count && inflight === 0) resolve();
            else pump();
          });
        }
      };
      pump();
    });
  const readStored = async () =>
    Number(
      ((await (await fetch(`${tpm.url}/metrics`)).text()).match(
        /tracepulse_events_total\{priority="low",source="mqtt"\} (\d+)/,
      ) ?? [])[1] ?? 0,
    );
  const storedReaches = async (n: number) => {
    const deadline = performance.now() + 120_000;
    while ((await readStored()) < n && performance.now() < deadline) await Bun.sleep(5);
    return readStored();
  };
  const warmupCount = Math.round(mqttCount * 0.4);
  await publish(warmupCount);
  await storedReaches(warmupCount);
  const t0 = performance.now();
  await publish(mqttCount);
  const stored = (await storedReaches(warmupCount + mqttCount)) - warmupCount;
  const mqttSeconds = (performance.now() - t0) / 1000;
  await pub.endAsync();
  await tpm.stop();
  broker.kill('SIGTERM');
  await broker.exited;
  rmSync(brokerDir, { recursive: true, force: true });
  if (stored < mqttCount) throw new Error(`only ${stored}/${mqttCount} MQTT events stored`);
  return stored / mqttSeconds;
}
const mqttRates: number[] = [];
for (let round = 1; round <= Number(values.rounds); round++) mqttRates.push(await mqttRound());
console.log(
  `MQTT QoS 1, 100 in flight, ${values.mqtt} events per round (each acknowledged to the broker after its commit): median ${median(mqttRates).toFixed(0)} events/s (${mqttRates.map((r) => r.toFixed(0)).join(', ')})\n`,
);

// 3. Idle RSS and time to ready (median of 7 starts).
const readies: number[] = [];
const rss: number[] = [];
const anon: number[] = [];
for (let i = 0; i < 7; i++) {
  const s = await startTracePulse();
  readies.push(s.readyMs);
  await Bun.sleep(1000);
  const m = rssMb(s.proc.pid);
  rss.push(m.total);
  anon.push(m.anon);
  await s.stop();
}
console.log(
  `Idle RSS (compiled, after 1 s): median ${median(rss).toFixed(1)} MB (anonymous ${median(anon).toFixed(1)} MB, the rest is the executable's own file-backed pages); time from spawn to /healthz 200: median ${median(readies).toFixed(0)} ms`,
);
