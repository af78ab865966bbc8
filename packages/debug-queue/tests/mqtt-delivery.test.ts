import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import mqtt from 'mqtt';
import { createDebugQueue } from '../src/index.ts';
import { failure } from './helpers/fixtures.ts';
import { privateBroker } from './helpers/mosquitto.ts';
import { startTracePulse, type TracePulse, uniquePrefix, waitFor } from './helpers/tracepulse.ts';

// These tests start processes (TracePulse, Mosquitto, node, tsc): give them room on a loaded CI machine.
setDefaultTimeout(30_000);

const BROKER = 'mqtt://127.0.0.1:1883';
const fast = { retryInitialMs: 20, retryMaxMs: 300, timeoutMs: 2000, silent: true };

describe('MQTT transport through the real Mosquitto to the real TracePulse', () => {
  let tp: TracePulse;
  beforeAll(async () => {
    tp = await startTracePulse({ prefix: uniquePrefix('mqtt'), waitMqtt: true });
  }, 30_000);
  afterAll(async () => {
    await tp.dispose();
  });

  test('events and log lines arrive with every field', async () => {
    const q = createDebugQueue({ url: BROKER, topicPrefix: tp.prefix, ...fast });
    const before = Date.now();
    q.log(
      'SESSION_DROP',
      {
        service: 'evse_manager_1',
        errorCode: 'EVCommunicationError',
        correlationId: 'txn-mqtt-1',
        details: {
          userId: '123',
          sessionId: 'abc',
          edgeDevice: 'EV-Station-01',
          stopReason: 'EVDisconnected',
        },
        message: 'SLAC: Connection lost in matched state',
      },
      { priority: 'high' },
    );
    q.logLine('error', 'Power budget expired, falling back to 0', {
      service: 'evse_manager_1',
      correlationId: 'txn-mqtt-1',
      attributes: { evseId: 1 },
    });
    expect(await q.flush(5000)).toBe(true);
    const e = (
      await waitFor('the event in TracePulse', () =>
        tp.events({ correlationId: 'txn-mqtt-1' }).then((r) => (r.length > 0 ? r : undefined)),
      )
    )[0]!;
    expect(e.source).toBe('mqtt');
    expect(e.eventType).toBe('SESSION_DROP');
    expect(e.service).toBe('evse_manager_1');
    expect(e.errorCode).toBe('EVCommunicationError');
    expect(e.priority).toBe('high');
    expect(e.message).toBe('SLAC: Connection lost in matched state');
    expect(e.details).toEqual({
      userId: '123',
      sessionId: 'abc',
      edgeDevice: 'EV-Station-01',
      stopReason: 'EVDisconnected',
    });
    expect(e.id).toMatch(/^[0-9a-f-]{36}-[0-9a-z]+$/);
    expect(Date.parse(e.timestamp)).toBeGreaterThanOrEqual(before);
    const l = (
      await waitFor('the log line in TracePulse', () =>
        tp.logs({ correlationId: 'txn-mqtt-1' }).then((r) => (r.length > 0 ? r : undefined)),
      )
    )[0]!;
    expect(l).toMatchObject({
      level: 'error',
      service: 'evse_manager_1',
      message: 'Power budget expired, falling back to 0',
      source: 'mqtt',
    });
    expect(l.attributes).toEqual({ evseId: 1 });
    await q.close();
  });

  test('topics are PREFIX/events/SERVICE and PREFIX/logs/SERVICE at QoS 1, one JSON object each', async () => {
    const prefix = uniquePrefix('raw');
    const sub = await mqtt.connectAsync({ host: '127.0.0.1', port: 1883, protocol: 'mqtt' });
    const seen: Array<{ topic: string; qos: number; body: Record<string, unknown> }> = [];
    sub.on('message', (topic, payload, packet) =>
      seen.push({ topic, qos: packet.qos, body: JSON.parse(String(payload)) }),
    );
    await sub.subscribeAsync(`${prefix}/#`, { qos: 1 });
    const q = createDebugQueue({ url: BROKER, topicPrefix: prefix, ...fast });
    q.log('LOCK_FAILED', {
      service: 'connector/lock+1',
      errorCode: 'ConnectorLockFailure',
      correlationId: 'txn-raw',
    });
    q.logLine('warn', 'Plug unlocked before contactor open', { service: 'bsp' });
    expect(await q.flush(5000)).toBe(true);
    await waitFor('both messages', () => seen.length >= 2);
    const ev = seen.find((m) => m.topic.includes('/events/'))!;
    expect(ev.topic).toBe(`${prefix}/events/connector_lock_1`);
    expect(ev.qos).toBe(1);
    expect(ev.body).toMatchObject({
      eventType: 'LOCK_FAILED',
      service: 'connector/lock+1',
      errorCode: 'ConnectorLockFailure',
      correlationId: 'txn-raw',
    });
    expect(ev.body.priority).toBeUndefined(); // not given: TracePulse decides from its system map
    expect(typeof ev.body.id).toBe('string');
    expect(typeof ev.body.timestamp).toBe('number');
    const lg = seen.find((m) => m.topic.includes('/logs/'))!;
    expect(lg.topic).toBe(`${prefix}/logs/bsp`);
    expect(lg.body).toMatchObject({
      level: 'warn',
      service: 'bsp',
      message: 'Plug unlocked before contactor open',
    });
    await q.close();
    await sub.endAsync();
  });

  test('close() delivers what was logged just before it', async () => {
    const q = createDebugQueue({ url: BROKER, topicPrefix: tp.prefix, ...fast });
    for (let i = 0; i < 50; i++) {
      const f = failure(i, 'mqttclose');
      q.log(f.eventType, { ...f.fields, service: 'ocpp' });
    }
    expect(await q.close()).toBe(true);
    await waitFor('50 events', async () => {
      const events = await tp.events({ service: 'ocpp' });
      return events.filter((e) => e.correlationId?.startsWith('txn-mqttclose-')).length === 50;
    });
  });
});

describe('broker away and back', () => {
  test('events logged while the broker is down arrive after it restarts', async () => {
    const broker = await privateBroker();
    await broker.start();
    const tp = await startTracePulse({ mqttUrl: broker.url, prefix: uniquePrefix('down'), waitMqtt: true });
    const q = createDebugQueue({ url: broker.url, topicPrefix: tp.prefix, ...fast });
    try {
      q.log('WARMUP', { service: 'system', errorCode: 'NoError', correlationId: 'txn-down-warmup' });
      expect(await q.flush(5000)).toBe(true);
      await broker.stop();
      for (let i = 0; i < 30; i++) {
        q.log('OCPP_OFFLINE', {
          service: 'ocpp',
          errorCode: 'WebsocketPongTimeout',
          correlationId: `txn-down-${i}`,
        });
      }
      await waitFor('a failed attempt while the broker is down', () => (q.stats().primary?.retries ?? 0) > 0);
      expect(q.stats().primary?.delivered).toBe(1);
      await broker.start();
      expect(await q.flush(10_000)).toBe(true);
      await waitFor(
        'all 30 events in TracePulse',
        async () => {
          const events = await tp.events({ service: 'ocpp' });
          return new Set(events.map((e) => e.correlationId)).size === 30;
        },
        { timeoutMs: 10_000 },
      );
      expect(q.stats().primary?.dropped.total).toBe(0);
    } finally {
      await q.close(500);
      await tp.dispose();
      await broker.dispose();
    }
  }, 20_000);
});
