import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { connectAsync, type MqttClient } from 'mqtt';
import { startTestApp, type TestApp, tempDir, waitFor } from '../helpers/test-app.ts';

const BROKER = 'mqtt://127.0.0.1:1883';
const prefix = `tp-test-${process.pid}-${Date.now()}`;
let app: TestApp;
let pub: MqttClient;

const env = (dataDir: string) => ({
  TRACEPULSE_MQTT_URL: BROKER,
  TRACEPULSE_MQTT_TOPIC_PREFIX: prefix,
  TRACEPULSE_MQTT_CLIENT_ID: `${prefix}-receiver`,
  TRACEPULSE_DATA_DIR: dataDir,
});
const dataDir = tempDir();

beforeAll(async () => {
  app = await startTestApp(env(dataDir));
  pub = await connectAsync(BROKER, { clientId: `${prefix}-station`, protocolVersion: 4 });
  await waitFor(() => app.mqtt?.state().subscribed, 5000, 'MQTT subscription');
});
afterAll(async () => {
  await pub.endAsync();
  await app.close();
});

const getJson = async <T>(path: string): Promise<T> => (await (await fetch(`${app.url}${path}`)).json()) as T;

describe('MQTT receiver', () => {
  test('an event on PREFIX/events/<service> is stored with all fields', async () => {
    await pub.publishAsync(
      `${prefix}/events/ocpp`,
      JSON.stringify({
        id: 'mqtt-evt-1',
        eventType: 'OCPP_DISCONNECT',
        service: 'ocpp',
        errorCode: 'WebsocketPongTimeout',
        correlationId: 'txn-mqtt-1',
        details: { csms: 'wss://csms.example-fleet.net/ocpp/EV-Station-01' },
        priority: 'high',
        timestamp: '2026-11-25T07:59:58Z',
      }),
      { qos: 1 },
    );
    const events = await waitFor(async () => {
      const r = await getJson<{ events: Array<Record<string, unknown>> }>(
        '/api/events?correlationId=txn-mqtt-1',
      );
      return r.events.length ? r.events : null;
    });
    expect(events[0]).toMatchObject({
      id: 'mqtt-evt-1',
      service: 'ocpp',
      errorCode: 'WebsocketPongTimeout',
      source: 'mqtt',
      timestamp: '2026-11-25T07:59:58.000Z',
    });
  });

  test('log lines: JSON takes the topic service when missing; plain text gets service from topic and level from its tag', async () => {
    await pub.publishAsync(
      `${prefix}/logs/powermeter_ac`,
      JSON.stringify({
        level: 'warn',
        message: 'Modbus CRC error on read_register 0x5000',
        correlationId: 'txn-mqtt-log',
      }),
      { qos: 1 },
    );
    await pub.publishAsync(
      `${prefix}/logs/comm_hub`,
      'ERROR TinyModbusRTU::txrx timeout after 500 ms (slave 2)',
      { qos: 1 },
    );
    const logs = await waitFor(async () => {
      const r = await getJson<{ logs: Array<Record<string, unknown>> }>('/api/logs?service=comm_hub');
      return r.logs.length ? r.logs : null;
    });
    expect(logs[0]).toMatchObject({
      service: 'comm_hub',
      level: 'error',
      message: 'TinyModbusRTU::txrx timeout after 500 ms (slave 2)',
    });
    const pm = await getJson<{ logs: Array<Record<string, unknown>> }>(
      '/api/logs?correlationId=txn-mqtt-log',
    );
    expect(pm.logs[0]).toMatchObject({ service: 'powermeter_ac', level: 'warn' });
  });

  test('bad payloads go to the dead-letter table with topic and reason, and good ones still flow', async () => {
    await pub.publishAsync(`${prefix}/events/evse_manager_1`, '{"eventType": "SESSION_DROP"', { qos: 1 });
    await pub.publishAsync(
      `${prefix}/events/evse_manager_1`,
      JSON.stringify({ eventType: 'SESSION_DROP', correlationId: 'x' }),
      { qos: 1 },
    );
    await pub.publishAsync(`${prefix}/logs/slac`, Buffer.from([0xc3, 0x28, 0xff]), { qos: 1 });
    await pub.publishAsync(
      `${prefix}/events/evse_manager_1`,
      JSON.stringify({
        eventType: 'SESSION_DROP',
        service: 'evse_manager_1',
        errorCode: 'MREC9AuthorizationTimeout',
        correlationId: 'txn-after-bad',
      }),
      { qos: 1 },
    );
    await waitFor(
      async () =>
        (await getJson<{ events: unknown[] }>('/api/events?correlationId=txn-after-bad')).events.length,
    );
    const { deadLetters } = await getJson<{ deadLetters: Array<{ topic: string; reason: string }> }>(
      '/api/dead-letters',
    );
    const mine = deadLetters.filter((d) => d.topic.startsWith(prefix));
    expect(mine.map((d) => d.reason.split(':')[0]).sort()).toEqual([
      'bad_encoding',
      'bad_json',
      'invalid_event',
    ]);
    expect(mine.find((d) => d.reason.startsWith('invalid_event'))?.reason).toContain('service: required');
  });

  test('QoS 1 messages published while TracePulse is away are delivered when it comes back', async () => {
    expect(
      (await getJson<{ components: { mqtt: { connected: boolean } } }>('/healthz')).components.mqtt.connected,
    ).toBe(true);
    await app.stop();
    for (let i = 0; i < 20; i++) {
      await pub.publishAsync(
        `${prefix}/events/slac`,
        JSON.stringify({
          id: `away-${i}`,
          eventType: 'SLAC_LINK_LOST',
          service: 'slac',
          errorCode: 'MatchingFailed',
          correlationId: 'txn-away',
          priority: 'low',
        }),
        { qos: 1 },
      );
    }
    app = await startTestApp(env(dataDir));
    const events = await waitFor(
      async () => {
        const r = await getJson<{ events: unknown[] }>('/api/events?correlationId=txn-away&limit=100');
        return r.events.length === 20 ? r.events : null;
      },
      10_000,
      'all 20 queued events',
    );
    expect(events).toHaveLength(20);
  });
});

describe('MQTT receiver with a broker that goes away', () => {
  test('reconnects with backoff when the broker restarts and keeps taking events', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const startBroker = () =>
      Bun.spawn(['mosquitto', '-p', String(port)], { stdout: 'ignore', stderr: 'ignore' });
    let broker = startBroker();
    const dir = tempDir();
    const url = `mqtt://127.0.0.1:${port}`;
    await waitFor(
      async () => {
        try {
          await (await connectAsync(url, { reconnectPeriod: 0, connectTimeout: 500 })).endAsync();
          return true;
        } catch {
          return false;
        }
      },
      5000,
      'private broker',
    );
    const local = await startTestApp({
      TRACEPULSE_MQTT_URL: url,
      TRACEPULSE_DATA_DIR: dir,
      TRACEPULSE_MQTT_CLIENT_ID: `${prefix}-flaky`,
    });
    try {
      await waitFor(() => local.mqtt?.state().subscribed, 5000, 'subscription');
      broker.kill('SIGKILL');
      await broker.exited;
      await waitFor(() => !local.mqtt?.state().connected, 5000, 'disconnect noticed');
      const health = (await (await fetch(`${local.url}/healthz`)).json()) as {
        components: { mqtt: { connected: boolean } };
      };
      expect(health.components.mqtt.connected).toBe(false);
      broker = startBroker();
      await waitFor(() => local.mqtt?.state().subscribed, 10_000, 'resubscribed after broker restart');
      const client = await connectAsync(url, { protocolVersion: 4 });
      await client.publishAsync(
        'tracepulse/events/bsp',
        JSON.stringify({
          eventType: 'CHARGING_FAULT',
          service: 'bsp',
          errorCode: 'MREC14PilotFault',
          correlationId: 'txn-flaky',
        }),
        { qos: 1 },
      );
      await client.endAsync();
      await waitFor(
        async () => {
          const r = (await (await fetch(`${local.url}/api/events?correlationId=txn-flaky`)).json()) as {
            events: unknown[];
          };
          return r.events.length === 1;
        },
        5000,
        'event after broker restart',
      );
    } finally {
      await local.close();
      broker.kill('SIGKILL');
    }
  }, 30_000);
});
