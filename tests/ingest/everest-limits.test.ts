// The EVerest receiver bounds payloads like the DebugQueue one (TRACEPULSE_MQTT_MAX_PAYLOAD_BYTES),
// before parsing, against the real Mosquitto. Topic layout and error object as in
// EVerest/everest-core@23c9dac1682618ce1b7cb624903ca8f57af66b6c:lib/everest/framework/lib/everest.cpp
// (publish_raised_error: {prefix}modules/{module}/impl/{impl}/error/{type}, {msg_type: RaiseError, data}).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { rmSync } from 'node:fs';
import { connectAsync, type MqttClient } from 'mqtt';
import { startTestApp, type TestApp, tempDir, waitFor } from '../helpers/test-app.ts';

const BROKER = 'mqtt://127.0.0.1:1883';
const base = `tp-everest-limits-${process.pid}-${Date.now()}`;
const P = `${base}/everest/`;
const limit = 2048;
const dataDir = tempDir();
const env = {
  TRACEPULSE_DATA_DIR: dataDir,
  TRACEPULSE_EVEREST: 'on',
  TRACEPULSE_EVEREST_MQTT_URL: BROKER,
  TRACEPULSE_EVEREST_PREFIX: P,
  TRACEPULSE_EVEREST_API_PREFIX: `${base}/everest_api/`,
  TRACEPULSE_MQTT_CLIENT_ID: `${base}-receiver`,
  TRACEPULSE_MQTT_MAX_PAYLOAD_BYTES: String(limit),
};
let app: TestApp;
let pub: MqttClient;

const subscribed = () =>
  waitFor(
    async () => {
      const h = (await (await fetch(`${app.url}/healthz`)).json()) as {
        components: { everest: { subscribed?: boolean } };
      };
      return h.components.everest.subscribed;
    },
    5000,
    'EVerest subscription',
  );

beforeAll(async () => {
  app = await startTestApp(env);
  pub = await connectAsync(BROKER, { clientId: `${base}-station`, protocolVersion: 5 });
  await subscribed();
});
afterAll(async () => {
  await pub?.endAsync();
  await app?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

interface Letter {
  topic: string;
  reason: string;
  payload: string;
  payloadBytes: number;
  truncated: boolean;
}
const mine = async () =>
  (
    (await (await fetch(`${app.url}/api/dead-letters?limit=200`)).json()) as { deadLetters: Letter[] }
  ).deadLetters.filter((d) => d.topic.startsWith(base));
const eventsOf = async (id: string) =>
  (
    (await (await fetch(`${app.url}/api/events?service=yeti_driver`)).json()) as {
      events: Array<{ id: string }>;
    }
  ).events.filter((e) => e.id === `everest:${id}`);

/** A valid PilotFault raise whose message is `messageBytes` long. */
const raise = (uuid: string, messageBytes: number) =>
  JSON.stringify({
    msg_type: 'RaiseError',
    data: {
      type: 'evse_board_support/MREC14PilotFault',
      description: 'The control pilot voltage is out of range.',
      message: `CP voltage out of range ${'x'.repeat(messageBytes)}`,
      origin: { module_id: 'yeti_driver', implementation_id: 'board_support' },
      severity: 'High',
      timestamp: new Date().toISOString(),
      uuid,
      state: 'Active',
      sub_type: '',
      vendor_id: 'Pionix',
    },
  });
const topic = `${P}modules/yeti_driver/impl/board_support/error/evse_board_support/MREC14PilotFault`;

describe('EVerest MQTT payload limit', () => {
  test('a valid raise over the limit is dead-lettered with its size and a bounded prefix, before parsing, and not stored', async () => {
    const uuid = `big-${Date.now()}`;
    const payload = raise(uuid, 10_000);
    await pub.publishAsync(topic, payload, { qos: 1 });
    const found = await waitFor(async () => (await mine()).find((d) => d.reason.startsWith('too_large')));
    expect(found.topic).toBe(topic);
    expect(found.payloadBytes).toBe(Buffer.byteLength(payload));
    expect(found.reason).toContain(`${Buffer.byteLength(payload)} bytes`);
    expect(found.reason).toContain(`${limit} bytes (TRACEPULSE_MQTT_MAX_PAYLOAD_BYTES)`);
    expect(found.truncated).toBe(true);
    expect(found.payload.length).toBeLessThanOrEqual(4096);
    expect(payload.startsWith(found.payload)).toBe(true);
    expect(await eventsOf(uuid)).toEqual([]);
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toMatch(/tracepulse_rejected_total\{reason="too_large",source="everest"\} 1\b/);

    // A raise within the limit still flows.
    const ok = `small-${Date.now()}`;
    await pub.publishAsync(topic, raise(ok, 100), { qos: 1 });
    await waitFor(async () => (await eventsOf(ok)).length, 5000, 'the raise within the limit');
  });

  test('the broker is told the Maximum Packet Size (MQTT 5): a huge message never reaches the receiver', async () => {
    const huge = `huge-${Date.now()}`;
    await pub.publishAsync(topic, raise(huge, 2_000_000), { qos: 1 });
    const after = `after-${Date.now()}`;
    await pub.publishAsync(topic, raise(after, 100), { qos: 1 });
    await waitFor(async () => (await eventsOf(after)).length, 5000, 'the raise after the huge one');
    expect((await mine()).filter((d) => d.payloadBytes > 1_000_000)).toEqual([]);
    expect(await eventsOf(huge)).toEqual([]);
  });

  test('the session outlives a restart under MQTT 5: a raise published while TracePulse is away arrives', async () => {
    await app.stop();
    const away = `away-${Date.now()}`;
    await pub.publishAsync(topic, raise(away, 100), { qos: 1 });
    app = await startTestApp(env);
    await subscribed();
    await waitFor(async () => (await eventsOf(away)).length, 5000, 'the raise published while away');
  });
});
