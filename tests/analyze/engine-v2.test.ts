import { describe, expect, test } from 'bun:test';
import { poissonTail } from '../../src/analyze/novelty.ts';
import { change, DAY, graphOf, HOUR, log, MIN, run, T, trigger } from './fixtures.ts';

/** Two independent meters under one EvseManager; nothing else. */
const twoMeters = graphOf(`
services:
  evse_manager:
    module: EvseManager
    depends_on: [meter_grid, meter_car]
  meter_grid:
    module: CarloGavazzi_EM580
  meter_car:
    module: LemDCBM400600
`);

describe('engine v2', () => {
  test('equal evidence gets equal confidence, and the summary says the engine cannot separate them', () => {
    const r = run({
      graph: twoMeters,
      event: trigger({
        service: 'evse_manager',
        eventType: 'SESSION_DROP',
        errorCode: 'Other',
        message: null,
      }),
    });
    const [a, b] = r.hypotheses;
    expect(a?.service).toBe('evse_manager');
    const deps = r.hypotheses.filter((h) => h.service !== 'evse_manager');
    expect(deps).toHaveLength(2);
    expect(deps[0]!.confidence).toBe(deps[1]!.confidence);
    expect(b && a!.confidence).toBeGreaterThan(b!.confidence);
  });

  test('a failing service with one dependency and nothing else is not tied with it', () => {
    const single = graphOf('services:\n  powermeter_dc:\n    depends_on: [mqtt_broker]\n  mqtt_broker: {}\n');
    const r = run({
      graph: single,
      event: trigger({
        service: 'powermeter_dc',
        eventType: 'CHARGING_FAULT',
        errorCode: 'PowerMeterFailure',
        message: null,
      }),
    });
    expect(r.hypotheses[0]?.service).toBe('powermeter_dc');
    expect(r.hypotheses[0]!.confidence).toBeGreaterThan(r.hypotheses[1]!.confidence);
    expect(r.summary).not.toContain('cannot separate');
  });

  test('identical evidence on two candidates is reported as a tie with what would separate them', () => {
    const r = run({
      graph: twoMeters,
      event: trigger({
        service: 'evse_manager',
        eventType: 'SESSION_DROP',
        errorCode: 'Other',
        message: null,
      }),
      logs: [
        log('evse_manager', 'error', 'Charging stopped: energy meter values missing', 10),
        log('meter_grid', 'error', 'Modbus read of register 0x5000 failed: no response', 20),
        log('meter_car', 'error', 'Modbus read of register 0x5000 failed: no response', 20),
      ],
    });
    const [a, b] = r.hypotheses;
    expect(new Set([a?.service, b?.service])).toEqual(new Set(['meter_grid', 'meter_car']));
    expect(a!.confidence).toBe(b!.confidence);
    expect(r.summary).toContain('cannot separate');
  });

  test('a service outside the declared closure that logged first on the failing session is considered, with the missing edge proposed', () => {
    const r = run({
      graph: twoMeters,
      event: trigger({
        service: 'evse_manager',
        eventType: 'SESSION_DROP',
        errorCode: 'Other',
        correlationId: 'tx-1',
      }),
      logs: [
        log('grid_gateway', 'error', 'Modbus TCP connection to 192.168.10.20:502 refused', 40, true),
        log('evse_manager', 'error', 'Power budget expired, falling back to 0 A', 5, true),
      ],
    });
    expect(r.hypotheses[0]?.service).toBe('grid_gateway');
    expect(r.mapSuggestions).toContainEqual(
      expect.objectContaining({ service: 'evse_manager', dependsOn: 'grid_gateway' }),
    );
  });

  test('a dotted name is one identifier: "from \'ocpp.v201.enums\'" names the library whose alias it is (ocpp 2.0.0 on PyPI breaking the HA OCPP integration)', () => {
    const ha = graphOf(`
services:
  ha_ocpp:
    aliases: [custom_components.ocpp]
    depends_on: [ha_core]
  ocpp_lib:
    description: mobilityhouse ocpp package from PyPI
    aliases: [ocpp.v201.enums]
  ha_core: {}
`);
    const r = run({
      graph: ha,
      event: trigger({
        service: 'ha_ocpp',
        eventType: 'INTEGRATION_SETUP_FAILED',
        errorCode: 'ImportError',
        message:
          "Setup failed for custom integration 'ocpp': cannot import name 'ConnectorStatusType' from 'ocpp.v201.enums'",
      }),
      logs: [],
      changes: [
        change({
          id: 'deps-ocpp-2.0.0',
          service: 'ocpp_lib',
          kind: 'deploy',
          summary: 'ocpp 1.0.0 -> 2.0.0',
          agoMs: 9 * MIN,
        }),
      ],
    });
    expect(r.hypotheses.map((h) => h.service)).toContain('ocpp_lib');
    expect(r.mapSuggestions).toContainEqual(
      expect.objectContaining({ service: 'ha_ocpp', dependsOn: 'ocpp_lib' }),
    );
  });

  test("errors that name a quiet dependency changed just before report that dependency's trouble: they count as a symptom (evcc 0.127.0 EEBUS rework)", () => {
    const evcc = graphOf(`
services:
  evcc_core:
    aliases: [main]
    depends_on: [evcc_eebus, varta_meter]
  evcc_eebus:
    aliases: [eebus]
    depends_on: [elli_charger]
  elli_charger: {}
  varta_meter: {}
`);
    const fatal =
      "[main  ] FATAL cannot create charger 'wallboxElli': cannot create charger type 'template': cannot create charger type 'eebus': eebus not configured";
    const r = run({
      graph: evcc,
      event: trigger({ service: 'evcc_core', eventType: 'CHARGER_SETUP_FAILED', errorCode: 'ChargerSetup' }),
      logs: [log('evcc_core', 'fatal', fatal, 240), log('evcc_core', 'fatal', fatal, 60)],
      changes: [
        change({
          id: 'deploy-evcc-eebus',
          service: 'evcc_eebus',
          kind: 'deploy',
          summary: 'EEBUS server and device handling reworked',
          agoMs: 31 * MIN,
        }),
      ],
    });
    const core = r.hypotheses.find((h) => h.service === 'evcc_core');
    expect(core?.evidence.some((e) => e.explainedBy === 'evcc_eebus') ?? false).toBe(true);
    expect(r.hypotheses[0]?.service).toBe('evcc_eebus');
  });

  test('the only quiet dependency that changed before the first complaint explains it (a fuse limit lowered, then 0 A granted)', () => {
    const site = graphOf(`
services:
  evse_manager:
    module: EvseManager
    depends_on: [energy_manager]
  energy_manager:
    module: EnergyManager
    depends_on: [grid_connection_point]
  grid_connection_point:
    module: EnergyNode
`);
    const args = {
      graph: site,
      event: trigger({ service: 'evse_manager', eventType: 'CHARGING_FAULT', errorCode: 'OtherError' }),
      logs: [
        log('energy_manager', 'warn', 'Offer 5.3 A per EVSE below minimum 6 A, granting 0 A', 25),
        log('evse_manager', 'error', 'Power budget 0 A, pausing charging (ChargingPausedEVSE)', 2),
      ],
    };
    const fuse = change({
      id: 'cfg-fuse-16',
      service: 'grid_connection_point',
      kind: 'config',
      summary: 'fuse_limit_A 63 -> 16',
      agoMs: 2 * HOUR,
    });
    const r = run({ ...args, changes: [fuse] });
    expect(r.hypotheses[0]?.service).toBe('grid_connection_point');
    const em = r.hypotheses.find((h) => h.service === 'energy_manager');
    expect(em?.evidence.some((e) => e.explainedBy === 'grid_connection_point') ?? false).toBe(true);
    // Its own change explains it as well: then it is not called a symptom.
    const own = change({
      id: 'cfg-em-min-6',
      service: 'energy_manager',
      kind: 'config',
      summary: 'min_current_A 0 -> 6',
      agoMs: HOUR,
    });
    const both = run({ ...args, changes: [fuse, own] });
    expect(
      both.hypotheses.find((h) => h.service === 'energy_manager')?.evidence.some((e) => e.explainedBy) ??
        false,
    ).toBe(false);
  });

  test("OpenSSL's 'certificate is not yet valid' points at the clock, not the certificate store (a station booting with its RTC reset, libocpp#1156)", () => {
    const station16 = graphOf(`
services:
  ocpp:
    module: OCPP
    depends_on: [evse_security, time_sync, csms]
  evse_security:
    module: EvseSecurity
  time_sync:
    aliases: [chronyd, rtc]
  csms: {}
`);
    const r = run({
      graph: station16,
      event: trigger({
        service: 'ocpp',
        eventType: 'OCPP_DISCONNECT',
        errorCode: 'TLSHandshakeFailed',
        message: 'TLS handshake to CSMS rejected',
      }),
      logs: [
        log(
          'ocpp',
          'warn',
          "Invalid certificate error 'certificate is not yet valid' (at chain depth '0')",
          200,
        ),
        log('ocpp', 'warn', 'Connection failed: InvalidCSMSCertificate', 200),
        log('time_sync', 'warn', "chronyd: Can't synchronise: no selectable sources", 120),
        log(
          'ocpp',
          'warn',
          "Invalid certificate error 'certificate is not yet valid' (at chain depth '0')",
          20,
        ),
      ],
      changes: [
        change({
          id: 'csms-cert-renew',
          service: 'csms',
          kind: 'config',
          summary: 'CSMS server certificate renewed',
          agoMs: 5 * DAY,
        }),
      ],
    });
    expect(r.hypotheses[0]?.service).toBe('time_sync');
    expect(r.hypotheses[0]?.evidence.some((e) => e.ruleId === 'ev.log.cert-not-yet-valid') ?? false).toBe(
      true,
    );
  });

  test("another session's trouble counts half and does not date this failure (connector 1's EV error before connector 2's StopTransaction)", () => {
    const dual = graphOf(`
services:
  ocpp:
    depends_on: [evse_manager_1, evse_manager_2]
  evse_manager_1: {}
  evse_manager_2: {}
`);
    const other = {
      ...log('evse_manager_1', 'error', 'EV ended session: EVCommunicationError', 120),
      otherSession: true,
    };
    const r = run({
      graph: dual,
      event: trigger({
        service: 'ocpp',
        eventType: 'transaction.error',
        errorCode: 'CALLERROR',
        correlationId: 'sess-2',
      }),
      logs: [
        other,
        log('ocpp', 'warn', 'StopTransaction for connector with no transactionId, using -1', 100, true),
        log(
          'ocpp',
          'error',
          'CALLERROR for StopTransaction: PropertyConstraintViolation "unknown transactionId -1"',
          80,
        ),
      ],
    });
    const em1 = r.hypotheses.find((h) => h.service === 'evse_manager_1');
    expect(em1?.evidence.some((e) => e.ruleId === 'logs.onset') ?? false).toBe(false);
    const errors = em1?.evidence.find((e) => e.ruleId === 'logs.errors');
    expect(errors?.weight).toBeCloseTo(0.5, 3);
  });

  test('a service considered only for speaking on the failing session is not dated by its other warnings', () => {
    const station16 = graphOf(`
services:
  ocpp:
    depends_on: [evse_manager_1, csms]
  evse_manager_1: {}
  csms: {}
  energy_manager: {}
`);
    const cid = 'CP-DE-CGN-4953-975019';
    const r = run({
      graph: station16,
      event: trigger({
        service: 'ocpp',
        eventType: 'TRANSACTION_ERROR',
        errorCode: 'CALLERROR',
        correlationId: cid,
      }),
      logs: [
        log('energy_manager', 'warn', 'Optimizer took 789 ms', 180),
        log('ocpp', 'warn', 'StopTransaction for connector with no transactionId, using -1', 130, true),
        log(
          'ocpp',
          'error',
          'CALLERROR for StopTransaction: PropertyConstraintViolation "unknown transactionId -1"',
          110,
          true,
        ),
        log(
          'energy_manager',
          'error',
          'EVSE 1 reports Faulted, dropping it from the energy schedule',
          2,
          true,
        ),
      ],
    });
    const em = r.hypotheses.find((h) => h.service === 'energy_manager');
    expect(em).toBeDefined();
    expect(em?.evidence.some((e) => e.ruleId === 'logs.onset') ?? false).toBe(false);
  });

  test('an earlier diagnosis on a linked service is cited (cascade) and its root ranked', () => {
    const r = run({
      graph: twoMeters,
      event: trigger({
        service: 'evse_manager',
        eventType: 'SESSION_DROP',
        errorCode: 'Other',
        correlationId: 'tx-2',
      }),
      recentReports: [
        {
          reportId: 'rep-1',
          ts: T - 90_000,
          eventType: 'METER_FAULT',
          service: 'meter_car',
          errorCode: 'CommunicationFault',
          correlationId: null,
          rootService: 'meter_car',
          confidence: 0.7,
          changeId: null,
          createdAt: new Date(T - 89_000).toISOString(),
        },
      ],
    });
    expect(r.hypotheses[0]?.service).toBe('meter_car');
    expect(r.relatedReports.map((x) => x.reportId)).toEqual(['rep-1']);
    expect(r.hypotheses[0]?.reasons.join(' ')).toContain('was diagnosed as meter_car');
  });

  test("the reporter's own errors count half: it logs the failure whatever the root (CitrineOS FK violations, citrineos#156)", () => {
    const depot = graphOf(`
services:
  depot_scheduler:
    description: pushes the night charging plan through the CitrineOS API
    depends_on: [citrineos]
  citrineos:
    description: CSMS, OCPP 2.0.1
    depends_on: [citrine_postgres]
    functions: [TransactionsModule, MonitoringModule]
  citrine_postgres:
    description: CitrineOS database
`);
    const fk =
      'insert or update on table "VariableAttributes" violates foreign key constraint "VariableAttributes_stationId_fkey"';
    const logs = [0, 45, 90, 135].flatMap((s) => [
      log(
        'citrineos',
        'error',
        `CitrineOS Logger:MonitoringModule setVariables DEPOT-E-14: ${fk}`,
        211 - s,
        true,
      ),
      log('depot_scheduler', 'error', `[{"success": false, "payload": "${fk}"}]`, 210.98 - s, true),
    ]);
    logs.push(
      log('depot_scheduler', 'error', 'night plan not applied for 2 chargers: 4 requests refused', 1, true),
    );
    const r = run({
      graph: depot,
      event: trigger({
        service: 'depot_scheduler',
        eventType: 'SCHEDULE_REJECTED',
        errorCode: 'VariableAttributes_stationId_fkey',
        message: 'Depot night charging plan rejected by CitrineOS',
      }),
      logs,
      changes: [
        change({
          id: 'deploy-depot-scheduler-4.2',
          service: 'depot_scheduler',
          kind: 'deploy',
          summary: 'depot-scheduler 4.2: push limits with setVariables before setChargingProfiles',
          agoMs: 6 * HOUR,
        }),
      ],
    });
    expect(r.hypotheses[0]?.service).toBe('citrineos');
    expect(r.hypotheses.find((h) => h.service === 'depot_scheduler')?.reasons.join(' ')).toContain(
      'it reported the failure, so its own lines count half',
    );
  });

  test("the reporter's lines count in full when a commit edited its own files (libocpp reconnect regression)", () => {
    const station2 = graphOf(`
services:
  ocpp:
    files: [lib/ocpp/common/websocket/]
    depends_on: [system]
  system:
    files: [modules/System/]
`);
    const r = run({
      graph: station2,
      event: trigger({ service: 'ocpp', eventType: 'OCPP_DISCONNECT', errorCode: 'WebsocketPongTimeout' }),
      logs: [
        log('ocpp', 'error', 'Websocket closed after pong timeout, reconnect not scheduled', 20),
        log('system', 'warn', 'NTP offset 0.9 s', 25),
      ],
      changes: [
        change({
          id: 'c0ffee1',
          sha: 'c0ffee1a2b3c',
          service: null,
          summary: 'websocket: do not schedule a reconnect while the connection still looks up',
          files: ['lib/ocpp/common/websocket/websocket_libwebsockets.cpp'],
          agoMs: 20 * HOUR,
        }),
      ],
    });
    const own = r.hypotheses.find((h) => h.service === 'ocpp');
    expect(r.hypotheses[0]?.service).toBe('ocpp');
    expect(own?.reasons.join(' ')).not.toContain('count half');
  });

  test('a Modbus exception 2 is the device answering a request it has no register for: the updated requester, not the device (evcc#10665)', () => {
    const home = graphOf(`
services:
  evcc:
    files: [charger/vestel.go, cmd/setup.go]
    depends_on: [vestel_evc04, shelly_3em]
  vestel_evc04:
    description: Vestel EVC04 wallbox, Modbus TCP server (HEMS mode)
  shelly_3em:
    description: grid meter
`);
    const logs = [600, 300, 0].flatMap((s) => [
      log(
        'vestel_evc04',
        'warn',
        'modbus: exception 2 (illegal data address) for function 4 from 192.168.178.5',
        20.4 + s,
        true,
      ),
      log(
        'evcc',
        'fatal',
        "FATAL cannot create charger 'vestel': failsafe timeout: modbus: exception '2' (illegal data address), function '4'",
        20 + s,
        true,
      ),
    ]);
    const r = run({
      graph: home,
      event: trigger({
        service: 'evcc',
        eventType: 'CHARGER_SETUP_FAILED',
        errorCode: 'ModbusIllegalDataAddress',
        message: 'evcc does not start: Vestel answers illegal data address',
      }),
      logs,
      changes: [
        change({
          id: 'deploy-evcc-0.122.0',
          service: 'evcc',
          kind: 'deploy',
          summary: 'evcc add-on 0.121.5 -> 0.122.0 (vestel: failsafe timeout handling)',
          files: ['charger/vestel.go'],
          agoMs: 12 * MIN,
        }),
        change({
          id: 'cfg-vestel-hems',
          service: 'vestel_evc04',
          kind: 'config',
          summary: 'Vestel web UI: HEMS Modbus TCP enabled, failsafe current 6 A',
          agoMs: 24 * HOUR,
        }),
      ],
    });
    expect(r.hypotheses[0]?.service).toBe('evcc');
    const device = r.hypotheses.find((h) => h.service === 'vestel_evc04')?.reasons.join(' ') ?? '';
    expect(device).not.toContain('stated the ModbusIllegalDataAddress condition itself');
    expect(device).not.toContain('reports Modbus/serial errors');
  });

  test('a server that refuses a request names what the failure is about, even a station that depends on it (OCPP.Core#43)', () => {
    const carPark = graphOf(`
services:
  ocpp_server:
    description: OCPP.Core.Server (OCPPMiddleware)
    depends_on: [ocpp_db]
  ocpp_db: {}
  station_l2_u1:
    aliases: [L2-U1]
    depends_on: [ocpp_server]
  station_l2_u2:
    aliases: [L2-U2]
    depends_on: [ocpp_server]
`);
    const r = run({
      graph: carPark,
      event: trigger({
        service: 'ocpp_server',
        eventType: 'STATION_CONNECT_REJECTED',
        errorCode: 'NoSupportedSubProtocol',
        correlationId: 'l2u2-0912',
        message:
          "L2-U2 cannot connect: OCPPMiddleware rejects the upgrade (No supported sub-protocol in ''), HTTP 400",
        details: { chargePointId: 'L2-U2' },
      }),
      logs: [
        log(
          'ocpp_server',
          'warn',
          "OCPPMiddleware => No supported sub-protocol in '' from charge station 'L2-U2'",
          60,
          true,
        ),
        log(
          'station_l2_u2',
          'warn',
          'websocket handshake failed: HTTP 400 Bad Request, retry in 180 s',
          59.8,
          true,
        ),
      ],
      changes: [
        change({
          id: 'cfg-l2-u2-commissioning',
          service: 'station_l2_u2',
          kind: 'config',
          summary: 'L2-U2 commissioned: OCPP backend URL set by the installer',
          agoMs: 3 * HOUR,
        }),
      ],
    });
    expect(r.hypotheses[0]?.service).toBe('station_l2_u2');
    // It depends on the server already: no edge back is proposed.
    expect(r.mapSuggestions).toEqual([]);
  });

  test('a server left waiting by the charger its event names suspects the charger, not its own quiet host (lbbrhzn/ocpp#1503)', () => {
    const home = graphOf(`
services:
  ha_ocpp:
    description: Home Assistant OCPP integration (the CSMS)
    aliases: [custom_components.ocpp]
    depends_on: [ha_core]
  ha_core:
    description: Home Assistant core
  wallbox_cmx2:
    description: Wallbox Commander 2, OCPP 1.6J client
    aliases: [wallbox]
    depends_on: [ha_ocpp]
`);
    const cid = 'ha-ocpp-wallbox-bootloop-20250208';
    const r = run({
      graph: home,
      event: trigger({
        service: 'ha_ocpp',
        eventType: 'CHARGER_BOOT_LOOP',
        errorCode: 'BootNotificationLoop',
        correlationId: cid,
        message:
          'Wallbox Commander 2 keeps reconnecting and sending BootNotification; charger never becomes available',
        details: { chargePoint: 'wallbox' },
      }),
      logs: [
        log('ha_core', 'info', 'Home Assistant started', 3 * 3600),
        log(
          'ha_ocpp',
          'warn',
          'wallbox: timeout waiting for response to GetConfiguration (SupportedFeatureProfiles)',
          600,
          true,
        ),
        log(
          'ha_ocpp',
          'warn',
          'wallbox: timeout waiting for response to GetConfiguration (SupportedFeatureProfiles)',
          300,
          true,
        ),
      ],
      changes: [
        change({
          id: 'fw-wallbox-6.7.17',
          service: 'wallbox_cmx2',
          kind: 'firmware',
          summary: 'Wallbox firmware 6.7.15 -> 6.7.17',
          agoMs: 29 * HOUR,
        }),
        change({
          id: 'deploy-ha-2025.2.1',
          service: 'ha_core',
          kind: 'deploy',
          summary: 'Home Assistant 2025.1.4 -> 2025.2.1',
          agoMs: 12 * HOUR,
        }),
      ],
    });
    expect(r.hypotheses[0]?.service).toBe('wallbox_cmx2');
    // The timeouts name the wallbox: they are no word about the host that merely went quiet.
    const host = r.hypotheses.find((h) => h.service === 'ha_core');
    expect(host?.evidence.some((e) => e.ruleId === 'logs.silent') ?? false).toBe(false);
  });

  test("another service's line about the failing one reports its trouble, not its own (OpenEVSE WiFi 4.1.5, openevse_esp32_firmware#459)", () => {
    const home = graphOf(`
services:
  openevse_wifi:
    description: OpenEVSE WiFi gateway (scheduler, current shaper)
    aliases: [openevse]
    files: [src/scheduler.cpp, src/evse_man.cpp]
    depends_on: [openevse_controller, mosquitto]
  openevse_controller:
    aliases: [evse]
  mosquitto: {}
  ha_energy:
    description: Home Assistant energy automations reading the charger over MQTT
    depends_on: [mosquitto]
  ha_core: {}
`);
    const cid = 'openevse-sched-20221026-0130';
    const r = run({
      graph: home,
      event: trigger({
        service: 'openevse_wifi',
        eventType: 'CHARGE_RATE_UNSTABLE',
        errorCode: 'ChargeRateFlapping',
        correlationId: cid,
        message: 'Timed charge flipping from min to max power after the V4.1.5 update',
        details: { wifiFirmware: '4.1.5' },
      }),
      logs: [
        log(
          'ha_energy',
          'warn',
          'EV overnight: charge current now 6.1 A (expected 32 A during timer)',
          1800,
          true,
        ),
        log(
          'ha_energy',
          'warn',
          'EV overnight: charge current now 6.1 A (expected 32 A during timer)',
          900,
          true,
        ),
        log(
          'ha_energy',
          'error',
          'EV overnight: OpenEVSE charge rate flipped 13 times between 6 A and 32 A during the timed charge',
          40,
          true,
        ),
      ],
      changes: [
        change({
          id: 'fw-openevse-wifi-4.1.5',
          service: 'openevse_wifi',
          kind: 'firmware',
          summary: 'OpenEVSE WiFi firmware 4.1.4 -> 4.1.5 (web update)',
          agoMs: 29 * HOUR,
        }),
        change({
          id: 'deploy-ha-2022.10.5',
          service: 'ha_core',
          kind: 'deploy',
          summary: 'Home Assistant 2022.10.4 -> 2022.10.5',
          agoMs: 31 * HOUR,
        }),
      ],
    });
    expect(r.hypotheses[0]?.service).toBe('openevse_wifi');
    const energy = r.hypotheses.find((h) => h.service === 'ha_energy');
    expect(energy?.evidence.some((e) => String(e.text).includes('about openevse_wifi'))).toBe(true);
  });

  test('a first anomaly that only reports losing a peer is no sign its reporter failed first (SmartEVSE contactor EMP, SmartEVSE-3#47)', () => {
    const garage = graphOf(`
services:
  smartevse_1:
    description: SmartEVSE master, load balancing over Modbus
    depends_on: [sensorbox, smartevse_2, mqtt_broker]
  smartevse_2:
    description: SmartEVSE node 2
    depends_on: [contactor_2]
  contactor_2: {}
  sensorbox: {}
  mqtt_broker: {}
  home_assistant:
    depends_on: [mqtt_broker]
`);
    const cid = 'smartevse2-20230905-1741';
    const modbusTimeouts = [62, 52, 42, 32, 22, 12].map((s) =>
      log(
        'smartevse_1',
        'warn',
        '(MBhandleError) Error response: E0 - Timeout, address: 02, function: 03, reg: 00a0.',
        s,
        true,
      ),
    );
    const r = run({
      graph: garage,
      event: trigger({
        service: 'smartevse_2',
        eventType: 'NODE_OFFLINE',
        errorCode: 'NodeNotResponding',
        correlationId: cid,
        message:
          'SmartEVSE node 2 stuck showing Charging after the EV left; no Modbus answer to the master, no MQTT, buttons unresponsive',
      }),
      logs: [
        log('mqtt_broker', 'warn', 'Client SmartEVSE-8841 has exceeded timeout, disconnecting.', 70, true),
        log(
          'home_assistant',
          'warn',
          'SmartEVSE-8841 state topic stale: last update 17:38:20 (state Charging)',
          65,
          true,
        ),
        ...modbusTimeouts,
      ],
    });
    expect(r.hypotheses[0]?.service).toBe('contactor_2');
    expect(r.hypotheses.some((h) => h.reasons.some((t) => t.startsWith('failed first')))).toBe(false);
  });

  test('descriptions of one change count once: a config push that alters an interval and an OCPP key is not three observations', () => {
    const station2 = graphOf(`
services:
  evse_manager:
    depends_on: [ocpp, powermeter]
  ocpp: {}
  powermeter: {}
`);
    const r = run({
      graph: station2,
      event: trigger({
        service: 'evse_manager',
        errorCode: 'EmergencyStop',
        message: 'emergency stop pressed',
      }),
      changes: [
        // timeouts (interval) and ocpp-config (MeterValueSampleInterval) both describe it
        change({
          id: 'cfg-mvsi-30',
          service: 'ocpp',
          kind: 'config',
          summary: 'MeterValueSampleInterval 60 -> 30',
          agoMs: 6 * HOUR,
        }),
        change({
          // ... and this one only timeouts
          id: 'cfg-modbus-timeout',
          service: 'powermeter',
          kind: 'config',
          summary: 'Modbus response timeout 500 ms -> 1000 ms',
          agoMs: 6 * HOUR,
        }),
      ],
    });
    const conf = (s: string) => r.hypotheses.find((h) => h.service === s)?.confidence;
    expect(conf('ocpp')).toBeGreaterThan(0);
    expect(conf('ocpp')).toBe(conf('powermeter'));
    expect(r.hypotheses.find((h) => h.service === 'ocpp')?.reasons.join(' ')).toContain(
      'OCPP configuration key',
    );
  });

  test('novelty is a rate test: 3 where 0.01 were expected is surprising, 30 where 20 were expected is not', () => {
    expect(poissonTail(3, 0.01)).toBeLessThan(1e-3);
    expect(poissonTail(30, 20)).toBeGreaterThan(1e-3);
    expect(poissonTail(0, 5)).toBe(1);
  });
});
