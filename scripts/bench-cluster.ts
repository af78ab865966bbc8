#!/usr/bin/env bun
/**
 * Cluster benchmark (issue 13; figures for docs/cluster.md, not a test). Needs the compiled binary
 * (bash scripts/build x64) and Redis on 127.0.0.1:6379 (keys under a fresh prefix, removed after).
 *   npx bun scripts/bench-cluster.ts [--seconds 5] [--rounds 3] [--connections 32] [--triggers 30] [--only ingest|latency]
 * 1. Ingest: POST /webhook/event (low priority) from one load generator, round-robin over 1, 2 and
 *    3 instances in cluster mode, plus 1 instance without Redis; events/s acknowledged, median of rounds.
 * 2. Trigger-to-report: a trigger posted, then GET /api/reports polled every 2 ms until its report
 *    is there; p50/p99 with cluster mode off, on with the default settle delay, and on with settle 0.
 * All instances, the load generator and Redis share this machine's cores: on 2 cores more instances
 * cannot add CPU, so the ingest figure shows the cost of cluster mode, not horizontal scaling.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
    triggers: { type: 'string', default: '30' },
    only: { type: 'string' },
  },
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const connections = Number(values.connections);
const triggers = Number(values.triggers);
const root = join(import.meta.dir, '..');
const binary = join(root, 'dist', 'tracepulse-linux-x64');
const prefix = `tp-bench-${process.pid}:`;
const dirs: string[] = [];
const freePort = () => 20000 + Math.floor(Math.random() * 30000);

interface Node {
  proc: ReturnType<typeof Bun.spawn>;
  url: string;
}

async function startNode(name: string, env: Record<string, string>): Promise<Node> {
  const dir = mkdtempSync(join(tmpdir(), 'tp-bench-cluster-'));
  dirs.push(dir);
  const port = freePort();
  const proc = Bun.spawn([binary, 'serve'], {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      HOME: dir,
      TRACEPULSE_PORT: String(port),
      TRACEPULSE_DATA_DIR: dir,
      TRACEPULSE_SYSTEM_MAP: join(root, 'system-map.yaml'),
      TRACEPULSE_LOG_LEVEL: 'warn',
      TRACEPULSE_INSTANCE_ID: name,
      TRACEPULSE_STORM_WINDOW_S: '0',
      ...env,
    },
    stdout: 'ignore',
    stderr: 'ignore',
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 400; i++) {
    if (proc.exitCode !== null) break;
    try {
      if ((await fetch(`${url}/healthz`)).ok) return { proc, url };
    } catch {}
    await Bun.sleep(50);
  }
  proc.kill('SIGKILL');
  throw new Error(`${name} did not start on ${port}`);
}

async function stopAll(nodes: Node[]) {
  for (const n of nodes) n.proc.kill('SIGTERM');
  await Promise.all(nodes.map((n) => n.proc.exited));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const quantile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

let seq = 0;
const lowEvent = () => ({
  id: `bench-${process.pid}-${seq++}`,
  eventType: 'EVSE_STATE',
  service: 'evse_manager_1',
  errorCode: 'Info',
  priority: 'low',
  correlationId: `txn-bench-${seq % 1000}`,
  details: { connector: 1, state: 'Charging' },
});

/** Events/s acknowledged over `seconds`, `connections` senders round-robin over the nodes. */
async function ingestRate(nodes: Node[]): Promise<number> {
  let acked = 0;
  const until = performance.now() + seconds * 1000;
  const worker = async (w: number) => {
    let i = w;
    while (performance.now() < until) {
      const n = nodes[i++ % nodes.length]!;
      const res = await fetch(`${n.url}/webhook/event`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(lowEvent()),
      });
      await res.arrayBuffer();
      if (res.ok) acked++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: connections }, (_, w) => worker(w)));
  return acked / ((performance.now() - t0) / 1000);
}

/** Milliseconds from POSTing a trigger to its report being readable, per trigger. */
async function triggerLatency(nodes: Node[]): Promise<number[]> {
  const out: number[] = [];
  for (let t = 0; t < triggers; t++) {
    const correlationId = `txn-lat-${process.pid}-${seq++}`;
    const n = nodes[t % nodes.length]!;
    const t0 = performance.now();
    await fetch(`${n.url}/webhook/event`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        eventType: 'CABLE_CHECK_FAULT',
        service: 'evse_manager_1',
        errorCode: 'MREC11CableCheckFault',
        correlationId,
      }),
    }).then((r) => r.arrayBuffer());
    for (;;) {
      const found = await Promise.all(
        nodes.map(async (m) => {
          const r = await fetch(`${m.url}/api/reports?correlationId=${correlationId}&limit=1`);
          return ((await r.json()) as { reports: unknown[] }).reports.length > 0;
        }),
      );
      if (found.some(Boolean)) break;
      await Bun.sleep(2);
    }
    out.push(performance.now() - t0);
    await Bun.sleep(20);
  }
  return out;
}

const cluster = (settle?: number) => ({
  REDIS_URL: 'redis://127.0.0.1:6379',
  TRACEPULSE_REDIS_PREFIX: prefix,
  ...(settle === undefined ? {} : { TRACEPULSE_CLUSTER_SETTLE_MS: String(settle) }),
});

try {
  console.log(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}; ${seconds} s × ${rounds} rounds, ${connections} senders`,
  );
  const rows: string[] = [];
  for (const [label, count, env] of (values.only === 'latency'
    ? []
    : [
        ['1 instance, no Redis', 1, {}],
        ['1 instance, cluster mode', 1, cluster()],
        ['2 instances, cluster mode', 2, cluster()],
        ['3 instances, cluster mode', 3, cluster()],
      ]) as Array<readonly [string, number, Record<string, string>]>) {
    const nodes = await Promise.all(Array.from({ length: count }, (_, i) => startNode(`b${i}`, env)));
    await ingestRate(nodes); // warm-up round
    const rates: number[] = [];
    for (let r = 0; r < rounds; r++) rates.push(await ingestRate(nodes));
    await stopAll(nodes);
    rows.push(`| ${label} | ${Math.round(median(rates))} | ${rates.map((x) => Math.round(x)).join(', ')} |`);
    console.log(rows[rows.length - 1]);
  }
  console.log('\n| ingest | events/s (median) | rounds |\n|---|---|---|');
  console.log(rows.join('\n'));

  const lat: string[] = [];
  for (const [label, count, env] of (values.only === 'ingest'
    ? []
    : [
        ['cluster mode off (1 instance)', 1, {}],
        ['cluster mode on, 2 instances, settle 50 ms (default)', 2, cluster()],
        ['cluster mode on, 2 instances, settle 0', 2, cluster(0)],
      ]) as Array<readonly [string, number, Record<string, string>]>) {
    const nodes = await Promise.all(Array.from({ length: count }, (_, i) => startNode(`l${i}`, env)));
    await triggerLatency(nodes.slice(0, 1)); // warm-up
    const ms = await triggerLatency(nodes);
    await stopAll(nodes);
    lat.push(`| ${label} | ${quantile(ms, 0.5).toFixed(1)} | ${quantile(ms, 0.99).toFixed(1)} |`);
    console.log(lat[lat.length - 1]);
  }
  console.log('\n| trigger to readable report | p50 ms | p99 ms |\n|---|---|---|');
  console.log(lat.join('\n'));
} finally {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  const { RedisClient } = await import('bun');
  const r = new RedisClient('redis://127.0.0.1:6379');
  const keys = (await r.send('KEYS', [`${prefix}*`])) as string[];
  if (keys.length) await r.send('DEL', keys);
  r.close();
}
