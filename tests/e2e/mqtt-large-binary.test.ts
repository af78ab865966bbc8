// Issue 15 defect 1, through the compiled executable and the real Mosquitto: a large valid event over
// MQTT neither crash-loops the service nor takes its memory; it is dead-lettered once with its size.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { exampleMap, repoRoot, tempDir, waitFor } from '../helpers/test-app.ts';

const x64 = join(repoRoot, 'dist', 'tracepulse-linux-x64');
const prefix = `tp-e2e-large-${process.pid}`;
const dataDir = tempDir('tracepulse-e2e-large-');
const port = 30000 + Math.floor(Math.random() * 20000);
const url = `http://127.0.0.1:${port}`;
let proc: ReturnType<typeof Bun.spawn>;

beforeAll(async () => {
  if (!existsSync(x64)) {
    const r = Bun.spawnSync(['bash', join(repoRoot, 'scripts', 'build'), 'x64'], { stderr: 'pipe' });
    if (r.exitCode !== 0) throw new Error(`build failed: ${r.stderr.toString()}`);
  }
  proc = Bun.spawn([x64, 'serve'], {
    env: {
      PATH: process.env.PATH ?? '',
      TRACEPULSE_PORT: String(port),
      TRACEPULSE_HOST: '127.0.0.1',
      TRACEPULSE_DATA_DIR: dataDir,
      TRACEPULSE_SYSTEM_MAP: exampleMap,
      TRACEPULSE_MQTT_URL: 'mqtt://127.0.0.1:1883',
      TRACEPULSE_MQTT_TOPIC_PREFIX: prefix,
      TRACEPULSE_MQTT_CLIENT_ID: `${prefix}-rx`,
    },
    stdout: 'ignore',
    stderr: 'ignore',
  });
  await waitFor(
    async () => {
      try {
        const h = (await (await fetch(`${url}/healthz`)).json()) as {
          components: { mqtt: { subscribed?: boolean } };
        };
        return h.components.mqtt.subscribed === true;
      } catch {
        return false;
      }
    },
    15_000,
    'binary subscribed',
  );
}, 150_000);
afterAll(async () => {
  proc?.kill('SIGTERM');
  await proc?.exited;
  rmSync(dataDir, { recursive: true, force: true });
});

const rssMb = () => {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) / 1024;
};

test('a 900 KB and a 40 MB valid event: one dead letter with its size, no crash, memory bounded, then normal service', async () => {
  const pub = await connectAsync('mqtt://127.0.0.1:1883', {
    clientId: `${prefix}-station`,
    protocolVersion: 5,
  });
  const event = (bytes: number) =>
    JSON.stringify({
      eventType: 'SESSION_DROP',
      service: 'evse_manager_1',
      errorCode: 'MREC14PilotFault',
      correlationId: `txn-large-${bytes}`,
      details: { ocppPayload: 'x'.repeat(bytes) },
    });
  // 900 KB passes the broker (under the Maximum Packet Size of 16 x 64 KiB) and reaches the receiver;
  // 40 MB is dropped by Mosquitto before it is sent to TracePulse.
  await pub.publishAsync(`${prefix}/events/evse`, event(900_000), { qos: 1 });
  await pub.publishAsync(`${prefix}/events/evse`, event(40 * 1024 * 1024), { qos: 1 });
  await pub.publishAsync(
    `${prefix}/events/evse`,
    JSON.stringify({
      eventType: 'SESSION_DROP',
      service: 'evse_manager_1',
      errorCode: 'TIMEOUT',
      correlationId: 'txn-after-large',
    }),
    { qos: 1 },
  );
  await pub.endAsync();
  await waitFor(
    async () =>
      (
        (await (await fetch(`${url}/api/events?correlationId=txn-after-large`)).json()) as {
          events: unknown[];
        }
      ).events.length === 1,
    10_000,
    'the next event stored',
  );
  expect(proc.exitCode).toBeNull();
  expect(rssMb()).toBeLessThan(200);
  const res = await fetch(`${url}/api/dead-letters?limit=5`);
  const body = await res.text();
  // Bounded: the prefix, not the payload.
  expect(body.length).toBeLessThan(64 * 1024);
  const { deadLetters } = JSON.parse(body) as {
    deadLetters: Array<{ topic: string; reason: string; payloadBytes: number }>;
  };
  const mine = deadLetters.filter((d) => d.topic.startsWith(prefix));
  expect(mine).toHaveLength(1);
  expect(mine[0]!.reason).toStartWith('too_large');
  expect(mine[0]!.payloadBytes).toBeGreaterThan(900_000);
  const stored = (await (await fetch(`${url}/api/events?correlationId=txn-large-900000`)).json()) as {
    events: unknown[];
  };
  expect(stored.events).toHaveLength(0);
}, 60_000);
