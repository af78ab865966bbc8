import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { connectAsync, type MqttClient } from 'mqtt';
import { repoRoot, tempDir, waitFor } from '../helpers/test-app.ts';

// The compiled binary on a real EVerest config (EVerest/everest-core@23c9dac:config/config-CB-EVAL-DC.yaml):
// map import, then the EVerest adapter on the real Mosquitto, then a libocpp log through `ingest ocpp-log`.
const bin = join(repoRoot, 'dist', 'tracepulse-linux-x64');
const config = join(repoRoot, 'tests', 'fixtures', 'everest', 'config-CB-EVAL-DC.yaml');
const libocppLog = join(repoRoot, 'tests', 'fixtures', 'ocpp', 'libocpp-16-session.log');
const BROKER = 'mqtt://127.0.0.1:1883';
const base = `tp-e2e-everest-${process.pid}-${Date.now()}`;
const dataDir = tempDir('tracepulse-e2e-everest-');
const mapFile = join(dataDir, 'map.yaml');
const port = 30000 + Math.floor(Math.random() * 20000);
const url = `http://127.0.0.1:${port}`;
let proc: ReturnType<typeof Bun.spawn> | null = null;
let pub: MqttClient;

const run = (args: string[]) => {
  const r = Bun.spawnSync([bin, ...args], {
    stdout: 'pipe',
    stderr: 'pipe',
    env: { PATH: process.env.PATH ?? '' },
  });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
};

beforeAll(async () => {
  if (!existsSync(bin)) {
    const b = Bun.spawnSync(['bash', join(repoRoot, 'scripts', 'build'), 'x64'], {
      stdout: 'pipe',
      stderr: 'pipe',
    });
    if (b.exitCode !== 0) throw new Error(`build failed: ${b.stderr.toString()}`);
  }
}, 120_000);
afterAll(async () => {
  await pub?.endAsync();
  if (proc) {
    proc.kill('SIGTERM');
    await proc.exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
});

describe('compiled binary: EVerest and OCPP', () => {
  test('map import everest writes a map that map check accepts', () => {
    const r = run(['map', 'import', 'everest', config, '--out', mapFile, '--repo', 'EVerest/everest-core']);
    expect(r.code).toBe(0);
    expect(r.err).toContain('ok: 17 services, 16 edges');
    const check = run(['map', 'check', mapFile]);
    expect(check.code).toBe(0);
    expect(check.out).toContain('ok: 17 services');
    // The map's edges are the config's connections, read from the config independently.
    const cfg = load(readFileSync(config, 'utf8'), { json: true }) as {
      active_modules: Record<string, { connections?: Record<string, Array<{ module_id: string }>> | null }>;
    };
    const written = load(readFileSync(mapFile, 'utf8')) as {
      services: Record<string, { depends_on?: string[] }>;
    };
    for (const [id, m] of Object.entries(cfg.active_modules)) {
      const deps = new Set(
        Object.values(m.connections ?? {})
          .flatMap((list) => list ?? [])
          .map((c) => c.module_id)
          .filter((d) => d !== id),
      );
      expect(new Set(written.services[id]?.depends_on ?? [])).toEqual(deps);
    }
  });

  test('an EVerest error raise on the broker becomes a report; a libocpp log replayed gives the session', async () => {
    proc = Bun.spawn([bin], {
      env: {
        PATH: process.env.PATH ?? '',
        TRACEPULSE_PORT: String(port),
        TRACEPULSE_HOST: '127.0.0.1',
        TRACEPULSE_DATA_DIR: dataDir,
        TRACEPULSE_SYSTEM_MAP: mapFile,
        TRACEPULSE_EVEREST: 'on',
        TRACEPULSE_EVEREST_MQTT_URL: BROKER,
        TRACEPULSE_EVEREST_PREFIX: `${base}/everest/`,
        TRACEPULSE_EVEREST_API_PREFIX: `${base}/everest_api/`,
        TRACEPULSE_MQTT_CLIENT_ID: `${base}-receiver`,
      },
      stdout: 'pipe',
      stderr: 'pipe',
    });
    await waitFor(
      async () => {
        try {
          const h = (await (await fetch(`${url}/healthz`)).json()) as {
            components: { everest: { subscribed?: boolean } };
          };
          return h.components.everest.subscribed;
        } catch {
          return false;
        }
      },
      10_000,
      'binary EVerest subscription',
    );
    pub = await connectAsync(BROKER, { clientId: `${base}-station`, protocolVersion: 4 });
    const uuid = `e2e-${Date.now()}`;
    await pub.publishAsync(
      `${base}/everest/modules/powersupply_dc/impl/main/error/power_supply_DC/HardwareFault`,
      JSON.stringify({
        msg_type: 'RaiseError',
        data: {
          type: 'power_supply_DC/HardwareFault',
          description: 'Hardware fault',
          message: 'module 3 reports fault bit 0x0400',
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
    const report = await waitFor(
      async () => {
        const r = (await (await fetch(`${url}/api/reports?service=powersupply_dc`)).json()) as {
          reports: Array<{ trigger?: { errorCode?: string } }>;
        };
        return r.reports[0] ?? null;
      },
      5000,
      'report',
    );
    expect(JSON.stringify(report)).toContain('power_supply_DC/HardwareFault');

    const ingest = run(['ingest', 'ocpp-log', libocppLog, '--charge-point', 'cp001', '--url', url]);
    expect(ingest.code).toBe(0);
    expect(ingest.out).toBe('sent 21 frames and 7 log lines; 0 rejected\n');
    const t = (await (
      await fetch(`${url}/api/sessions/cp001:2f1a0c1e-8c1b-4c43-9c5d-1a2b3c4d5e03`)
    ).json()) as { entries: Array<{ eventType?: string; errorCode?: string }> };
    expect(t.entries.filter((e) => e.eventType).map((e) => `${e.eventType}/${e.errorCode}`)).toEqual([
      'OCPP_STATUS_ERROR/GroundFailure',
      'SESSION_DROP/EmergencyStop',
    ]);
    // The abnormal stop is a report that carries the session's story, from the Authorize to the stop.
    const stopReport = await waitFor(
      async () => {
        const r = (await (
          await fetch(`${url}/api/reports?correlationId=cp001:2f1a0c1e-8c1b-4c43-9c5d-1a2b3c4d5e03`)
        ).json()) as {
          reports: Array<{
            errorCode: string;
            eventId: string;
            session?: { entries: Array<{ phase: string; message: string; eventId?: string }> };
          }>;
        };
        return r.reports.find((x) => x.errorCode === 'EmergencyStop');
      },
      5000,
      'the EmergencyStop report',
    );
    const story = stopReport.session?.entries ?? [];
    expect(story[0]?.message).toStartWith('OCPP cp->csms CALL Authorize');
    expect(story.find((e) => e.eventId === stopReport.eventId)?.phase).toBe('stop');
  }, 30_000);
});
