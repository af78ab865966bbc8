import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { exampleMap, repoRoot, sessionDrop, tempDir, waitFor } from '../helpers/test-app.ts';

const x64 = join(repoRoot, 'dist', 'tracepulse-linux-x64');
const arm64 = join(repoRoot, 'dist', 'tracepulse-linux-arm64');
const qemu = Bun.which('qemu-aarch64-static');

function build(arch: 'x64' | 'arm64') {
  const r = Bun.spawnSync(['bash', join(repoRoot, 'scripts', 'build'), arch], {
    stdout: 'pipe',
    stderr: 'pipe',
  });
  if (r.exitCode !== 0) throw new Error(`build ${arch} failed: ${r.stderr.toString()}`);
}

beforeAll(() => {
  // CI builds first; a developer running `bun test` alone gets the binaries built here.
  if (!existsSync(x64)) build('x64');
  if (!existsSync(arm64)) build('arm64');
}, 120_000);

async function startBinary(cmd: string[], env: Record<string, string>) {
  const port = 30000 + Math.floor(Math.random() * 20000);
  const dataDir = tempDir('tracepulse-e2e-');
  const proc = Bun.spawn(cmd, {
    env: {
      PATH: process.env.PATH ?? '',
      TRACEPULSE_PORT: String(port),
      TRACEPULSE_HOST: '127.0.0.1',
      TRACEPULSE_DATA_DIR: dataDir,
      TRACEPULSE_SYSTEM_MAP: exampleMap,
      ...env,
    },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    proc,
    ready: (timeoutMs: number) =>
      waitFor(
        async () => {
          try {
            return (await fetch(`${url}/healthz`)).status === 200;
          } catch {
            return false;
          }
        },
        timeoutMs,
        `${cmd[0]} /healthz`,
      ),
    stop: async () => {
      proc.kill('SIGTERM');
      await proc.exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

describe('compiled x64 executable', () => {
  const prefix = `tp-e2e-${process.pid}`;
  let svc: Awaited<ReturnType<typeof startBinary>>;
  beforeAll(async () => {
    svc = await startBinary([x64, 'serve'], {
      TRACEPULSE_MQTT_URL: 'mqtt://127.0.0.1:1883',
      TRACEPULSE_MQTT_TOPIC_PREFIX: prefix,
      TRACEPULSE_MQTT_CLIENT_ID: `${prefix}-rx`,
    });
    await svc.ready(10_000);
    await waitFor(
      async () => {
        const h = (await (await fetch(`${svc.url}/healthz`)).json()) as {
          components: { mqtt: { subscribed?: boolean } };
        };
        return h.components.mqtt.subscribed;
      },
      10_000,
      'MQTT subscribed',
    );
  }, 30_000);
  afterAll(() => svc.stop());

  test('prints its version and help', () => {
    const v = Bun.spawnSync([x64, '--version']);
    expect(v.stdout.toString().trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect(Bun.spawnSync([x64, '--help']).stdout.toString()).toContain('tracepulse map check FILE');
  });

  test('takes an event over HTTP and one over MQTT, and reads both back', async () => {
    const res = await fetch(`${svc.url}/webhook/event`, {
      method: 'POST',
      body: JSON.stringify(sessionDrop({ correlationId: 'txn-e2e-http' })),
    });
    expect(res.status).toBe(200);
    const mq = await connectAsync('mqtt://127.0.0.1:1883', { protocolVersion: 4 });
    await mq.publishAsync(
      `${prefix}/events/ocpp`,
      JSON.stringify({
        eventType: 'OCPP_DISCONNECT',
        service: 'ocpp',
        errorCode: 'WebsocketPongTimeout',
        correlationId: 'txn-e2e-mqtt',
      }),
      { qos: 1 },
    );
    await mq.endAsync();
    for (const id of ['txn-e2e-http', 'txn-e2e-mqtt']) {
      const events = await waitFor(
        async () => {
          const r = (await (await fetch(`${svc.url}/api/events?correlationId=${id}`)).json()) as {
            events: unknown[];
          };
          return r.events.length ? r.events : null;
        },
        5000,
        id,
      );
      expect(events).toHaveLength(1);
    }
  });

  test('map check exits 1 on errors and 0 on the example map', () => {
    expect(Bun.spawnSync([x64, 'map', 'check', exampleMap]).exitCode).toBe(0);
    const dir = tempDir();
    const bad = join(dir, 'bad.yaml');
    Bun.write(bad, 'services:\n  ocpp:\n    depends_on: [modem]\n');
    const r = Bun.spawnSync([x64, 'map', 'check', bad]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout.toString()).toContain("depends on unknown service 'modem'");
    rmSync(dir, { recursive: true, force: true });
  });

  test('invalid configuration stops start-up naming the variable', () => {
    const r = Bun.spawnSync([x64, 'serve'], {
      env: { TRACEPULSE_PORT: 'eighty', PATH: process.env.PATH ?? '' },
    });
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr.toString()).toContain('TRACEPULSE_PORT');
  });
});

describe.skipIf(!qemu)('compiled arm64 executable under qemu-user', () => {
  const cmd = (args: string[]) => [qemu!, '-L', '/usr/aarch64-linux-gnu', arm64, ...args];

  test('prints its version', () => {
    const r = Bun.spawnSync(cmd(['--version']));
    expect(r.stderr.toString()).toBe('');
    expect(r.stdout.toString().trim()).toMatch(/^\d+\.\d+\.\d+$/);
  }, 60_000);

  test('answers /healthz', async () => {
    const svc = await startBinary(cmd(['serve']), {});
    try {
      await svc.ready(100_000);
      const h = (await (await fetch(`${svc.url}/healthz`)).json()) as { status: string };
      expect(h.status).toBe('ok');
    } finally {
      await svc.stop();
    }
  }, 120_000);
});

test("the executable contains only the product: none of the scenario generator's template ids", async () => {
  const { faultTemplates } = await import('../../packages/scenarios/src/generator.ts');
  const bytes = await Bun.file(x64).bytes();
  const found = (s: string) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).indexOf(s) !== -1;
  expect(faultTemplates.length).toBeGreaterThan(20);
  // The bundle does contain the product's own strings (so the search would find a template id).
  expect(found('tracepulse_learn_gate_total')).toBe(true);
  expect(faultTemplates.map((t) => t.id).filter(found)).toEqual([]);
});
