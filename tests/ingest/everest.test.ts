import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { importEverestConfig } from '../../src/map/everest-import.ts';
import { startTestApp, type TestApp, tempDir, waitFor } from '../helpers/test-app.ts';

// Topic layouts and payloads follow EVerest/everest-core@23c9dac1682618ce1b7cb624903ca8f57af66b6c:
//   lib/everest/framework/lib/everest.cpp publish_raised_error / publish_cleared_error (topic
//   {prefix}modules/{module}/impl/{impl}/error/{type}, payload {msg_type: RaiseError|ClearError, data}),
//   include/utils/error/error_json.hpp (the error object), lib/everest/framework/docs/MQTTCommunication.md
//   (the bare object with origin.evse), types/evse_manager.yaml (SessionEvent, StopTransactionReason),
//   modules/API/API/API.cpp (everest_api/errors/var/active_errors, everest_api/{evse}/var/session_info),
//   docs/source/reference/EVerest_API/evse_manager_consumer_API.yaml (everest_api/1/.../e2m/session_event).
// The map is imported from that snapshot's config/config-sil-ocpp.yaml, so module ids are real ones.

const BROKER = 'mqtt://127.0.0.1:1883';
const base = `tp-everest-${process.pid}-${Date.now()}`;
const P = `${base}/everest/`;
const A = `${base}/everest_api/`;
let app: TestApp;
let pub: MqttClient;
const dataDir = tempDir();

beforeAll(async () => {
  const cfg = readFileSync(
    join(import.meta.dir, '..', 'fixtures', 'everest', 'config-sil-ocpp.yaml'),
    'utf8',
  );
  const imported = importEverestConfig(cfg);
  if (!imported.ok) throw new Error(imported.problems.join('\n'));
  const mapFile = join(dataDir, 'map.yaml');
  writeFileSync(mapFile, imported.yaml);
  app = await startTestApp({
    TRACEPULSE_DATA_DIR: dataDir,
    TRACEPULSE_SYSTEM_MAP: mapFile,
    TRACEPULSE_EVEREST: 'on',
    TRACEPULSE_EVEREST_MQTT_URL: BROKER,
    TRACEPULSE_EVEREST_PREFIX: P,
    TRACEPULSE_EVEREST_API_PREFIX: A,
    TRACEPULSE_MQTT_CLIENT_ID: `${base}-receiver`,
  });
  pub = await connectAsync(BROKER, { clientId: `${base}-everest`, protocolVersion: 4 });
  await waitFor(
    async () => {
      const h = (await (await fetch(`${app.url}/healthz`)).json()) as {
        components: { everest: { subscribed?: boolean } };
      };
      return h.components.everest.subscribed;
    },
    5000,
    'EVerest subscription',
  );
});
afterAll(async () => {
  await pub?.endAsync();
  await app?.close();
});

const getJson = async <T>(path: string): Promise<T> => (await (await fetch(`${app.url}${path}`)).json()) as T;
type Ev = {
  id: string;
  eventType: string;
  service: string;
  errorCode: string;
  priority: string;
  correlationId: string | null;
  details: Record<string, string>;
};
type Log = {
  service: string;
  level: string;
  message: string;
  correlationId: string | null;
  attributes: Record<string, unknown> | null;
};
const events = (q: string) => getJson<{ events: Ev[] }>(`/api/events?${q}`).then((r) => r.events);
const logs = (q: string) => getJson<{ logs: Log[] }>(`/api/logs?${q}`).then((r) => r.logs);
const publish = (topic: string, body: unknown) =>
  pub.publishAsync(topic, typeof body === 'string' ? body : JSON.stringify(body), { qos: 1 });

/** The error object as error_json.hpp serialises it. */
const everestError = (o: {
  type: string;
  module: string;
  impl: string;
  uuid: string;
  state?: string;
  severity?: string;
  message?: string;
}) => ({
  type: o.type,
  description: 'The EV CP signal was faulty',
  message: o.message ?? 'CP voltage out of range in state C',
  origin: { module_id: o.module, implementation_id: o.impl, mapping: { evse: 1, connector: 1 } },
  severity: o.severity ?? 'High',
  timestamp: '2026-11-25T08:00:01.250Z',
  uuid: o.uuid,
  state: o.state ?? 'Active',
  sub_type: '',
  vendor_id: 'PIONIX',
});
const sessionEvent = (module: string, body: Record<string, unknown>) =>
  publish(`${P}modules/${module}/impl/evse/var/session_event`, { msg_type: 'Var', data: { data: body } });

describe('EVerest adapter', () => {
  test("a raised trigger error becomes a high event on the module's service and a report, correlated to the open session", async () => {
    const session = `a1b2c3d4-0000-4000-8000-${Date.now().toString().slice(-12)}`;
    await sessionEvent('evse_manager_1', {
      uuid: session,
      event: 'SessionStarted',
      timestamp: '2026-11-25T08:00:00.000Z',
      connector_id: 1,
      session_started: {
        reason: 'EVConnected',
        meter_value: { timestamp: '2026-11-25T08:00:00.000Z', energy_Wh_import: { total: 1200 } },
      },
    });
    const uuid = `err-${Date.now()}`;
    await publish(`${P}modules/yeti_driver_1/impl/board_support/error/evse_board_support/MREC14PilotFault`, {
      msg_type: 'RaiseError',
      data: everestError({
        type: 'evse_board_support/MREC14PilotFault',
        module: 'yeti_driver_1',
        impl: 'board_support',
        uuid,
      }),
    });
    const [ev] = await waitFor(async () => {
      const r = await events(`correlationId=${session}&service=yeti_driver_1`);
      return r.length ? r : null;
    });
    expect(ev).toMatchObject({
      id: `everest:${uuid}`,
      eventType: 'EVEREST_ERROR',
      service: 'yeti_driver_1',
      errorCode: 'evse_board_support/MREC14PilotFault',
      priority: 'high',
      correlationId: session,
      details: {
        everestModule: 'yeti_driver_1',
        implementation: 'board_support',
        severity: 'High',
        evse: '1',
        connector: '1',
      },
    });
    const reports = await waitFor(async () => {
      const r = await getJson<{ reports: unknown[] }>(`/api/reports?correlationId=${session}`);
      return r.reports.length ? r.reports : null;
    });
    expect(reports.length).toBe(1);
    // The session's log shows the session start and the raise.
    const lines = await logs(`correlationId=${session}`);
    expect(lines.map((l) => l.message)).toEqual(
      expect.arrayContaining([
        'EvseManager session event SessionStarted (reason EVConnected, connector 1)',
        'EVerest error raised: evse_board_support/MREC14PilotFault: CP voltage out of range in state C',
      ]),
    );

    // The clear is a log line (a fault that cleared itself), not an event.
    await publish(`${P}modules/yeti_driver_1/impl/board_support/error/evse_board_support/MREC14PilotFault`, {
      msg_type: 'ClearError',
      data: everestError({
        type: 'evse_board_support/MREC14PilotFault',
        module: 'yeti_driver_1',
        impl: 'board_support',
        uuid,
        state: 'ClearedByModule',
      }),
    });
    const cleared = await waitFor(async () => {
      const r = await logs(`service=yeti_driver_1&correlationId=${session}`);
      return r.find((l) => l.message.startsWith('EVerest error cleared')) ?? null;
    });
    expect(cleared).toMatchObject({ level: 'info', attributes: { state: 'ClearedByModule', errorId: uuid } });
    expect((await events(`correlationId=${session}`)).length).toBe(1);

    // An abnormal stop reason is a SESSION_DROP trigger with the reason as errorCode; a normal one is a log line.
    await sessionEvent('evse_manager_1', {
      uuid: session,
      event: 'TransactionFinished',
      timestamp: '2026-11-25T08:03:00.000Z',
      transaction_finished: {
        reason: 'PowerLoss',
        meter_value: { timestamp: '2026-11-25T08:03:00.000Z', energy_Wh_import: { total: 1800 } },
      },
    });
    const drop = await waitFor(
      async () =>
        (await events(`correlationId=${session}`)).find((e) => e.eventType === 'SESSION_DROP') ?? null,
    );
    expect(drop).toMatchObject({ service: 'evse_manager_1', errorCode: 'PowerLoss', priority: 'high' });
  });

  test('a normal stop, the older topic layout and a low-severity type: no trigger where none is due', async () => {
    const session = `b1b2c3d4-0000-4000-8000-${Date.now().toString().slice(-12)}`;
    await sessionEvent('evse_manager_2', {
      uuid: session,
      event: 'TransactionFinished',
      timestamp: '2026-11-25T09:00:00.000Z',
      transaction_finished: { reason: 'Local' },
    });
    // Older layout {prefix}{module}/{impl}/error/{type}, the documented bare object (origin.evse).
    const uuid = `old-${Date.now()}`;
    await publish(`${P}yeti_driver_2/board_support/error/evse_board_support/MREC18CableOverTempDerate`, {
      type: 'evse_board_support/MREC18CableOverTempDerate',
      message: 'Cable temperature 78 C, derating',
      severity: 'Medium',
      origin: { module_id: 'yeti_driver_2', evse: 2, connector: 1 },
      state: 'Active',
      timestamp: '2026-11-25T09:00:02.000Z',
      uuid,
    });
    const ev = await waitFor(
      async () => (await events('service=yeti_driver_2')).find((e) => e.id === `everest:${uuid}`) ?? null,
    );
    expect(ev).toMatchObject({
      errorCode: 'evse_board_support/MREC18CableOverTempDerate',
      priority: 'low',
      details: { evse: '2' },
    });
    const line = await waitFor(async () => (await logs(`correlationId=${session}`))[0] ?? null);
    expect(line).toMatchObject({
      service: 'evse_manager_2',
      level: 'info',
      message: 'EvseManager session event TransactionFinished (reason Local)',
    });
    expect(await events(`correlationId=${session}`)).toEqual([]);
  });

  test('everest_api: active_errors raise once per error and clear when gone; versioned session_event is read', async () => {
    const uuid = `api-${Date.now()}`;
    const list = [
      {
        type: 'powermeter/CommunicationFault',
        description: 'Modbus timeout',
        message: 'no answer from meter at address 1',
        origin: { module_id: 'yeti_driver_1', implementation_id: 'powermeter' },
        timestamp: '2026-11-25T10:00:00.000Z',
        uuid,
        severity: 'High',
        state: 'Active',
      },
    ];
    await publish(`${A}errors/var/active_errors`, list);
    await publish(`${A}errors/var/active_errors`, list);
    await publish(`${A}errors/var/active_errors`, []);
    await waitFor(
      async () => (await logs('service=everest_api')).find((l) => l.message.includes(uuid)) ?? null,
    );
    const mine = (await events('service=yeti_driver_1')).filter((e) => e.id === `everest:${uuid}`);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ errorCode: 'powermeter/CommunicationFault', priority: 'high' });

    const session = `c1b2c3d4-0000-4000-8000-${Date.now().toString().slice(-12)}`;
    await publish(`${A}1/evse_manager_consumer/evse_manager_1/e2m/session_event`, {
      uuid: session,
      event: 'PluginTimeout',
      timestamp: '2026-11-25T10:01:00.000Z',
      connector_id: 1,
    });
    const ev = await waitFor(async () => (await events(`correlationId=${session}`))[0] ?? null);
    expect(ev).toMatchObject({
      eventType: 'SESSION_DROP',
      errorCode: 'PluginTimeout',
      priority: 'low',
      service: 'evse_manager_1',
    });
  });

  test('bad payloads are dead letters with a reason and the next good one still flows', async () => {
    const t = `${P}modules/yeti_driver_1/impl/board_support/error/evse_board_support/DiodeFault`;
    await publish(t, '{"msg_type":"RaiseError","data":');
    await publish(t, { msg_type: 'RaiseError', data: { message: 'no type' } });
    await publish(t, {
      msg_type: 'RaiseError',
      data: {
        ...everestError({
          type: 'evse_board_support/DiodeFault',
          module: 'yeti_driver_1',
          impl: 'board_support',
          uuid: 'bad-ts',
        }),
        timestamp: 'yesterday',
      },
    });
    const uuid = `after-bad-${Date.now()}`;
    await publish(t, {
      msg_type: 'RaiseError',
      data: everestError({
        type: 'evse_board_support/DiodeFault',
        module: 'yeti_driver_1',
        impl: 'board_support',
        uuid,
      }),
    });
    await waitFor(async () =>
      (await events('service=yeti_driver_1')).some((e) => e.id === `everest:${uuid}`),
    );
    const { deadLetters } = await getJson<{ deadLetters: Array<{ topic: string; reason: string }> }>(
      '/api/dead-letters',
    );
    const reasons = deadLetters
      .filter((d) => d.topic === t)
      .map((d) => d.reason.split(':')[0])
      .sort();
    expect(reasons).toEqual(['bad_json', 'invalid_error', 'invalid_everest']);
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toContain('tracepulse_rejected_total{reason="invalid_error",source="everest"} 1');
  });
});
