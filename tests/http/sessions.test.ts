import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { ingestCommand } from '../../src/cli/ingest.ts';
import { buildSessionTimeline } from '../../src/core/session-timeline.ts';
import type { LogLine } from '../../src/core/log-line.ts';
import { startTestApp, type TestApp, tempDir, waitFor } from '../helpers/test-app.ts';

// One 2.0.1 session seen twice: EvseManager's session_event (EVerest adapter) and OCPP TransactionEvent,
// joined because EVerest uses the session uuid as transactionId
// (EVerest/everest-core@23c9dac:modules/EVSE/OCPP201/conversions.cpp).
const BROKER = 'mqtt://127.0.0.1:1883';
const base = `tp-sessions-${process.pid}-${Date.now()}`;
let app: TestApp;
let pub: MqttClient;

beforeAll(async () => {
  app = await startTestApp({
    TRACEPULSE_DATA_DIR: tempDir(),
    TRACEPULSE_MQTT_URL: BROKER,
    TRACEPULSE_MQTT_TOPIC_PREFIX: `${base}/tp`,
    TRACEPULSE_MQTT_CLIENT_ID: `${base}-receiver`,
    TRACEPULSE_EVEREST: 'on',
    TRACEPULSE_EVEREST_PREFIX: `${base}/everest/`,
    TRACEPULSE_EVEREST_API_PREFIX: `${base}/everest_api/`,
  });
  pub = await connectAsync(BROKER, { clientId: `${base}-station`, protocolVersion: 4 });
  await waitFor(
    async () => {
      const h = (await (await fetch(`${app.url}/healthz`)).json()) as {
        components: { everest: { subscribed?: boolean }; mqtt: { subscribed?: boolean } };
      };
      return h.components.everest.subscribed && h.components.mqtt.subscribed;
    },
    5000,
    'subscriptions',
  );
});
afterAll(async () => {
  await pub?.endAsync();
  await app?.close();
});

type Timeline = {
  entries: Array<{ phase: string; source: string; message: string; eventType?: string }>;
  gaps: Array<{ kind: string; message: string }>;
};

describe('GET /api/sessions/:correlationId', () => {
  test('one session across EvseManager events and OCPP 2.0.1 frames, in order, ending in the stop', async () => {
    const tx = `f0e1d2c3-0000-4000-8000-${Date.now().toString().slice(-12)}`;
    const se = (event: string, timestamp: string, extra: Record<string, unknown> = {}) =>
      pub.publishAsync(
        `${base}/everest/modules/evse_manager_1/impl/evse/var/session_event`,
        JSON.stringify({ msg_type: 'Var', data: { data: { uuid: tx, event, timestamp, ...extra } } }),
        { qos: 1 },
      );
    // A bridge on the gateway publishes each frame with the time it saw it.
    const frame = (timestamp: string, f: unknown) =>
      pub.publishAsync(`${base}/tp/ocpp/cs-01`, JSON.stringify({ timestamp, frame: f }), { qos: 1 });
    await se('SessionStarted', '2026-11-25T11:00:00.000Z', { session_started: { reason: 'EVConnected' } });
    await frame('2026-11-25T11:00:00.500Z', [
      2,
      's-1',
      'TransactionEvent',
      {
        eventType: 'Started',
        timestamp: '2026-11-25T11:00:00.500Z',
        triggerReason: 'CablePluggedIn',
        seqNo: 0,
        transactionInfo: { transactionId: tx },
        evse: { id: 1, connectorId: 1 },
      },
    ]);
    await frame('2026-11-25T11:00:00.700Z', [3, 's-1', {}]);
    await frame('2026-11-25T11:00:05.000Z', [
      2,
      's-2',
      'Authorize',
      { idToken: { idToken: 'DEADBEEF', type: 'ISO14443' } },
    ]);
    await frame('2026-11-25T11:00:05.400Z', [3, 's-2', { idTokenInfo: { status: 'Accepted' } }]);
    await se('TransactionFinished', '2026-11-25T11:20:00.000Z', {
      transaction_finished: { reason: 'EmergencyStop' },
    });
    await frame('2026-11-25T11:20:00.300Z', [
      2,
      's-3',
      'TransactionEvent',
      {
        eventType: 'Ended',
        timestamp: '2026-11-25T11:20:00.300Z',
        triggerReason: 'AbnormalCondition',
        seqNo: 1,
        transactionInfo: { transactionId: tx, stoppedReason: 'EmergencyStop' },
      },
    ]);
    await frame('2026-11-25T11:20:00.500Z', [3, 's-3', {}]);
    const t = await waitFor(async () => {
      const r = await fetch(`${app.url}/api/sessions/${tx}`);
      if (r.status !== 200) return null;
      const body = (await r.json()) as Timeline;
      return body.entries.length >= 10 ? body : null;
    });
    expect(t.entries.map((e) => `${e.phase}/${e.source}/${e.eventType ?? e.message.split(' {')[0]}`)).toEqual(
      [
        'session/everest/EvseManager session event SessionStarted (reason EVConnected)',
        'ocpp/ocpp/OCPP CALL TransactionEvent',
        'ocpp/ocpp/OCPP CALLRESULT TransactionEvent',
        'authorization/ocpp/OCPP CALL Authorize',
        'authorization/ocpp/OCPP CALLRESULT Authorize',
        'stop/everest/EvseManager session event TransactionFinished (reason EmergencyStop)',
        'stop/everest/SESSION_DROP',
        'stop/ocpp/OCPP CALL TransactionEvent',
        'stop/ocpp/SESSION_DROP',
        'ocpp/ocpp/OCPP CALLRESULT TransactionEvent',
      ],
    );
    expect(
      t.entries
        .filter((e) => e.eventType === 'SESSION_DROP')
        .map((e) => e.source)
        .sort(),
    ).toEqual(['everest', 'ocpp']);
    expect((await fetch(`${app.url}/api/sessions/no-such-session`)).status).toBe(404);
  });

  test('a replayed libocpp log: the unanswered Authorize is marked as a gap', async () => {
    const out = { write: () => 0 };
    const file = join(import.meta.dir, '..', 'fixtures', 'ocpp', 'libocpp-16-session.log');
    expect(
      await ingestCommand(['ocpp-log', file, '--charge-point', 'cp-gap', '--url', app.url], {
        out,
        err: out,
      }),
    ).toBe(0);
    const t = (await (
      await fetch(`${app.url}/api/sessions/cp-gap:2f1a0c1e-8c1b-4c43-9c5d-1a2b3c4d5e0a`)
    ).json()) as Timeline;
    expect(t.gaps).toEqual([
      {
        kind: 'missing_response',
        time: '2026-11-25T08:05:30.000Z',
        message: expect.stringContaining('no response to Authorize'),
      } as never,
    ]);
  });

  test('MeterValues that stop are marked (pure timeline)', () => {
    const line = (s: number, action: string): LogLine => ({
      timestamp: s * 1000,
      service: 'ocpp',
      level: 'info',
      message: `OCPP CALL ${action}`,
      correlationId: 'x',
      attributes: { action, messageType: 'CALL' },
      source: 'ocpp',
    });
    const logs = [
      line(0, 'StartTransaction'),
      line(60, 'MeterValues'),
      line(120, 'MeterValues'),
      line(180, 'MeterValues'),
      line(900, 'StopTransaction'),
    ];
    const t = buildSessionTimeline('x', [], logs);
    expect(t.gaps.map((g) => g.kind)).toEqual(['meter_values_stopped']);
    expect(buildSessionTimeline('x', [], logs.slice(0, 4)).gaps).toEqual([]);
  });
});
