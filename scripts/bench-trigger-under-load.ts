#!/usr/bin/env bun
/**
 * Trigger-to-report latency while HTTP ingest is saturated (figures for the README; not a test).
 * Needs wrk (apt-get install wrk) and the compiled binary (bash scripts/build x64).
 *   npx bun scripts/bench-trigger-under-load.ts [--seconds 10] [--connections 64] [--triggers 40] [--load events|logs]
 *     [--binary PATH]   (default dist/tracepulse-linux-x64; another build, to compare binaries in one hour)
 * First the triggers alone (idle), then the same while wrk saturates POST /webhook/event with
 * low-priority events. Each trigger is a SESSION_DROP with its own session; its report's latencyMs
 * (commit of the trigger -> report stored, measured inside the service) and the wall time from
 * sending it to seeing the report over HTTP are recorded. --load logs saturates POST /api/logs with
 * NDJSON batches of 100 warn lines instead (bulk log ingest: the heavier writes).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '64' },
    triggers: { type: 'string', default: '40' },
    load: { type: 'string', default: 'events' },
    binary: { type: 'string' },
  },
});
const seconds = Number(values.seconds);
const triggers = Number(values.triggers);
const root = join(import.meta.dir, '..');
const binary = values.binary ?? join(root, 'dist', 'tracepulse-linux-x64');
const port = 20000 + Math.floor(Math.random() * 30000);
const url = `http://127.0.0.1:${port}`;
const dataDir = mkdtempSync(join(tmpdir(), 'tp-bench-trigger-'));
const proc = Bun.spawn([binary, 'serve'], {
  env: {
    TRACEPULSE_PORT: String(port),
    TRACEPULSE_HOST: '127.0.0.1',
    TRACEPULSE_DATA_DIR: dataDir,
    TRACEPULSE_SYSTEM_MAP: join(root, 'system-map.yaml'),
    TRACEPULSE_LOG_LEVEL: 'warn',
  },
  stdout: 'ignore',
  stderr: 'inherit',
});
for (let t0 = performance.now(); ; await Bun.sleep(5)) {
  try {
    if ((await fetch(`${url}/healthz`)).status === 200) break;
  } catch {}
  if (performance.now() - t0 > 10_000) throw new Error('not ready');
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? Number.NaN;
};

async function runTriggers(tag: string): Promise<{ latency: number[]; wall: number[] }> {
  const latency: number[] = [];
  const wall: number[] = [];
  for (let i = 0; i < triggers; i++) {
    const corr = `bench-${tag}-${i}`;
    await fetch(`${url}/api/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        {
          service: 'powermeter_dc',
          level: 'error',
          message: 'Modbus timeout reading 0x3000 after 500 ms',
          correlationId: corr,
        },
      ]),
    });
    const t0 = performance.now();
    const r = await fetch(`${url}/webhook/event`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        eventType: 'SESSION_DROP',
        service: 'evse_manager_1',
        errorCode: 'PowermeterTransactionStartFailed',
        correlationId: corr,
        priority: 'high',
      }),
    });
    if (r.status !== 200) throw new Error(`trigger answered ${r.status}`);
    for (;;) {
      const answer = (await (await fetch(`${url}/api/reports?correlationId=${corr}`)).json()) as unknown;
      const list = (
        Array.isArray(answer) ? answer : ((answer as { reports?: unknown[] }).reports ?? [])
      ) as Array<{
        latencyMs: number;
      }>;
      if (list.length) {
        wall.push(performance.now() - t0);
        latency.push(list[0]!.latencyMs);
        break;
      }
      if (performance.now() - t0 > 10_000) throw new Error(`no report for ${corr}`);
      await Bun.sleep(2);
    }
    await Bun.sleep((seconds * 1000) / triggers / 2);
  }
  return { latency, wall };
}

const row = (name: string, r: { latency: number[]; wall: number[] }) =>
  `| ${name} | ${r.latency.length} | ${quantile(r.latency, 0.5).toFixed(1)} / ${quantile(r.latency, 0.99).toFixed(1)} | ${quantile(r.wall, 0.5).toFixed(1)} / ${quantile(r.wall, 0.99).toFixed(1)} |`;

try {
  console.log(
    `# bench-trigger-under-load on ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${process.arch}, bun ${Bun.version}\n`,
  );
  const idle = await runTriggers('idle');
  const luaDir = mkdtempSync(join(tmpdir(), 'tp-bench-lua-'));
  const lua = join(luaDir, 'post.lua');
  const logs = values.load === 'logs';
  const body = logs
    ? Array.from({ length: 100 }, (_, i) =>
        JSON.stringify({
          service: 'powermeter_ac',
          level: 'warn',
          message: `Modbus CRC error on register ${i}, retrying`,
        }),
      ).join('\n')
    : JSON.stringify({
        eventType: 'METER_VALUES_LATE',
        service: 'powermeter_ac',
        errorCode: 'CommunicationFault',
        priority: 'low',
        details: { connector: '2' },
      });
  const path = logs ? '/api/logs' : '/webhook/event';
  const type = logs ? 'application/x-ndjson' : 'application/json';
  writeFileSync(
    lua,
    `wrk.method = "POST"\nwrk.body = ${JSON.stringify(body)}\nwrk.headers["Content-Type"] = "${type}"\n`,
  );
  const load = Bun.spawn(
    ['wrk', '-t2', `-c${values.connections}`, `-d${seconds + 3}s`, '-s', lua, `${url}${path}`],
    { stdout: 'pipe' },
  );
  await Bun.sleep(1500);
  const loaded = await runTriggers('load');
  const out = await new Response(load.stdout).text();
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? '?';
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1];
  if (non2xx) console.log(`wrk: ${non2xx} answers were not 2xx`);
  console.log(
    '| | triggers | report latencyMs p50 / p99 | wall to visible report p50 / p99 (ms) |\n|---|---|---|---|',
  );
  console.log(row('idle', idle));
  console.log(
    row(`saturated ingest (${rps} req/s of POST ${path}${logs ? ', 100 lines each' : ''})`, loaded),
  );
  rmSync(luaDir, { recursive: true, force: true });
} finally {
  proc.kill('SIGTERM');
  await proc.exited;
  rmSync(dataDir, { recursive: true, force: true });
}
