#!/usr/bin/env bun
/**
 * EVerest error raise on the broker -> stored report, through the compiled binary (figures for
 * docs/everest.md; not a test).
 *   bash scripts/build x64 && npx bun scripts/bench-everest.ts [--raises 200]
 * Imports the map from config-CB-EVAL-DC.yaml, starts dist/tracepulse-linux-x64 with the EVerest
 * adapter on the local Mosquitto, then publishes trigger errors (power_supply_DC/HardwareFault,
 * framework wire format) one at a time and polls until each one's report is stored. Prints the
 * medians and p99 of publish -> report visible over HTTP, and of the report's own commit -> report.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connectAsync } from 'mqtt';

const { values } = parseArgs({ options: { raises: { type: 'string', default: '200' } } });
const N = Number(values.raises);
const root = join(import.meta.dir, '..');
const bin = join(root, 'dist', 'tracepulse-linux-x64');
const dir = mkdtempSync(join(tmpdir(), 'bench-everest-'));
const map = join(dir, 'map.yaml');
const base = `bench-everest-${process.pid}`;
const imp = Bun.spawnSync([
  bin,
  'map',
  'import',
  'everest',
  join(root, 'tests/fixtures/everest/config-CB-EVAL-DC.yaml'),
  '--out',
  map,
]);
if (imp.exitCode !== 0) throw new Error(imp.stderr.toString());
const port = 40000 + Math.floor(Math.random() * 10000);
const url = `http://127.0.0.1:${port}`;
const proc = Bun.spawn([bin], {
  env: {
    PATH: process.env.PATH ?? '',
    TRACEPULSE_PORT: String(port),
    TRACEPULSE_HOST: '127.0.0.1',
    TRACEPULSE_DATA_DIR: dir,
    TRACEPULSE_SYSTEM_MAP: map,
    TRACEPULSE_EVEREST: 'on',
    TRACEPULSE_EVEREST_MQTT_URL: 'mqtt://127.0.0.1:1883',
    TRACEPULSE_EVEREST_PREFIX: `${base}/everest/`,
    TRACEPULSE_EVEREST_API_PREFIX: `${base}/everest_api/`,
    TRACEPULSE_MQTT_CLIENT_ID: `${base}-receiver`,
    TRACEPULSE_STORM_WINDOW_S: '0',
  },
  stdout: 'ignore',
  stderr: 'ignore',
});
try {
  for (;;) {
    try {
      const h = (await (await fetch(`${url}/healthz`)).json()) as {
        components: { everest: { subscribed?: boolean } };
      };
      if (h.components.everest.subscribed) break;
    } catch {}
    await Bun.sleep(20);
  }
  const pub = await connectAsync('mqtt://127.0.0.1:1883', {
    clientId: `${base}-station`,
    protocolVersion: 4,
  });
  const e2e: number[] = [];
  const engine: number[] = [];
  let last = '';
  for (let i = 0; i < N; i++) {
    const uuid = `bench-${i}-${Date.now()}`;
    const t0 = performance.now();
    await pub.publishAsync(
      `${base}/everest/modules/powersupply_dc/impl/main/error/power_supply_DC/HardwareFault`,
      JSON.stringify({
        msg_type: 'RaiseError',
        data: {
          type: 'power_supply_DC/HardwareFault',
          description: 'Hardware fault',
          message: `module ${i % 8} reports fault bit 0x0400`,
          origin: { module_id: 'powersupply_dc', implementation_id: 'main' },
          severity: 'High',
          timestamp: new Date().toISOString(),
          uuid,
          state: 'Active',
          sub_type: '',
          vendor_id: 'InfyPower',
        },
      }),
      { qos: 1 },
    );
    for (;;) {
      const r = (await (await fetch(`${url}/api/reports?service=powersupply_dc&limit=1`)).json()) as {
        reports: Array<{ id: string; latencyMs?: number }>;
      };
      const top = r.reports[0];
      if (top && top.id !== last) {
        last = top.id;
        e2e.push(performance.now() - t0);
        if (typeof top.latencyMs === 'number') engine.push(top.latencyMs);
        break;
      }
    }
    await Bun.sleep(30);
  }
  await pub.endAsync();
  const q = (a: number[], p: number) =>
    [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(p * a.length))]?.toFixed(1);
  console.log(`| raises | publish -> report visible p50 / p99 | commit -> report p50 / p99 |`);
  console.log(`|---|---|---|`);
  console.log(
    `| ${e2e.length} | ${q(e2e, 0.5)} / ${q(e2e, 0.99)} ms | ${engine.length ? `${q(engine, 0.5)} / ${q(engine, 0.99)} ms` : 'n/a'} |`,
  );
} finally {
  proc.kill('SIGTERM');
  await proc.exited;
  rmSync(dir, { recursive: true, force: true });
}
