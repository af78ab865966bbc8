// Issue 15: MQTT payloads are bounded before parsing, against the real Mosquitto.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { rmSync } from 'node:fs';
import { connectAsync, type MqttClient } from 'mqtt';
import { startTestApp, type TestApp, tempDir, waitFor } from '../helpers/test-app.ts';

const BROKER = 'mqtt://127.0.0.1:1883';
const prefix = `tp-limits-${process.pid}-${Date.now()}`;
const limit = 2048;
const dataDir = tempDir();
const env = {
  TRACEPULSE_MQTT_URL: BROKER,
  TRACEPULSE_MQTT_TOPIC_PREFIX: prefix,
  TRACEPULSE_MQTT_CLIENT_ID: `${prefix}-receiver`,
  TRACEPULSE_DATA_DIR: dataDir,
  TRACEPULSE_MQTT_MAX_PAYLOAD_BYTES: String(limit),
};
let app: TestApp;
let pub: MqttClient;

beforeAll(async () => {
  app = await startTestApp(env);
  pub = await connectAsync(BROKER, { clientId: `${prefix}-station`, protocolVersion: 5 });
  await waitFor(() => app.mqtt?.state().subscribed, 5000, 'MQTT subscription');
});
afterAll(async () => {
  await pub.endAsync();
  await app.close();
  rmSync(dataDir, { recursive: true, force: true });
});

interface Letter {
  id: number;
  topic: string;
  reason: string;
  payload: string;
  payloadBytes: number;
  truncated: boolean;
}
const letters = async (query = ''): Promise<{ deadLetters: Letter[]; next?: number | null }> =>
  (await (await fetch(`${app.url}/api/dead-letters${query}`)).json()) as {
    deadLetters: Letter[];
    next?: number | null;
  };
const mine = async () => (await letters('?limit=200')).deadLetters.filter((d) => d.topic.startsWith(prefix));
const eventsOf = async (correlationId: string) =>
  (
    (await (await fetch(`${app.url}/api/events?correlationId=${correlationId}`)).json()) as {
      events: unknown[];
    }
  ).events;

const bigEvent = (correlationId: string, bytes: number) =>
  JSON.stringify({
    eventType: 'OCPP_MESSAGE',
    service: 'ocpp',
    errorCode: 'InternalError',
    correlationId,
    details: { payload: 'x'.repeat(bytes) },
    priority: 'low',
  });

const goodEvent = (correlationId: string) =>
  JSON.stringify({
    eventType: 'SLAC_LINK_LOST',
    service: 'slac',
    errorCode: 'MatchingFailed',
    correlationId,
    priority: 'low',
  });

describe('MQTT payload limit', () => {
  test('a valid event over the limit is dead-lettered once with its size and a bounded prefix, not stored', async () => {
    const payload = bigEvent('txn-too-large', 10_000);
    await pub.publishAsync(`${prefix}/events/ocpp`, payload, { qos: 1 });
    const found = await waitFor(async () => (await mine()).find((d) => d.reason.startsWith('too_large')));
    expect(found.payloadBytes).toBe(Buffer.byteLength(payload));
    expect(found.reason).toContain(`${Buffer.byteLength(payload)} bytes`);
    expect(found.reason).toContain(String(limit));
    expect(found.truncated).toBe(true);
    expect(found.payload.length).toBeLessThanOrEqual(4096);
    expect(payload.startsWith(found.payload)).toBe(true);
    expect(await eventsOf('txn-too-large')).toEqual([]);

    // Acknowledged: a restart with the same persistent session gets no redelivery.
    await app.stop();
    app = await startTestApp(env);
    await waitFor(() => app.mqtt?.state().subscribed, 5000, 'MQTT subscription');
    await pub.publishAsync(`${prefix}/events/slac`, goodEvent('txn-after-restart'), { qos: 1 });
    await waitFor(async () => (await eventsOf('txn-after-restart')).length);
    expect((await mine()).filter((d) => d.reason.startsWith('too_large'))).toHaveLength(1);
  });

  test('the broker is told the Maximum Packet Size (MQTT 5): a huge message never reaches the receiver', async () => {
    await pub.publishAsync(`${prefix}/events/ocpp`, bigEvent('txn-huge', 2_000_000), { qos: 1 });
    await pub.publishAsync(`${prefix}/events/slac`, goodEvent('txn-after-huge'), { qos: 1 });
    await waitFor(async () => (await eventsOf('txn-after-huge')).length);
    expect(app.mqtt?.state().connected).toBe(true);
    expect((await mine()).filter((d) => d.payloadBytes > 1_000_000)).toEqual([]);
    expect(await eventsOf('txn-huge')).toEqual([]);
  });

  test('an empty JSON array of log lines is dead-lettered, not silently acknowledged', async () => {
    await pub.publishAsync(`${prefix}/logs/ocpp`, '[]', { qos: 1 });
    const found = await waitFor(async () => (await mine()).find((d) => d.topic === `${prefix}/logs/ocpp`));
    expect(found.reason).toStartWith('invalid_log');
  });
});

describe('GET /api/dead-letters', () => {
  test('is paged with a cursor and bounded', async () => {
    for (let i = 0; i < 5; i++) await pub.publishAsync(`${prefix}/events/ocpp`, `{bad ${i}`, { qos: 1 });
    await waitFor(async () => (await mine()).filter((d) => d.reason.startsWith('bad_json')).length === 5);
    const first = await letters('?limit=2');
    expect(first.deadLetters).toHaveLength(2);
    expect(typeof first.next).toBe('number');
    const second = await letters(`?limit=2&before=${first.next}`);
    expect(second.deadLetters).toHaveLength(2);
    expect(second.deadLetters[0]!.id).toBeLessThan(first.deadLetters[1]!.id);
    const over = await fetch(`${app.url}/api/dead-letters?limit=100000`);
    expect(over.status).toBe(400);
  });
});
