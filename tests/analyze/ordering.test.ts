import { describe, expect, test } from 'bun:test';
import type { PatternHistory } from '../../src/analyze/evidence.ts';
import { messagePattern } from '../../src/analyze/text.ts';
import { RELAY, UNTIED_CHANGE } from '../../src/analyze/weights.ts';
import { change, chronic, DAY, graphOf, HOUR, log, MIN, run, T, trigger } from './fixtures.ts';

/** A charger's OCPP client and the CSMS it talks to (another machine, another clock). */
const ocppToCsms = graphOf(`
services:
  ocpp:
    module: OCPP201
    depends_on: [csms]
  csms:
    description: CitrineOS CSMS
`);

/** A DC dispenser library that talks Modbus to the power cabinet. */
const dispenser = graphOf(`
services:
  evse_manager_1:
    module: EvseManager
    depends_on: [huawei_dispenser, imd_1]
  huawei_dispenser:
    module: Huawei_V100R023C10
    depends_on: [huawei_pu]
  huawei_pu:
    description: Huawei power cabinet (power unit)
  imd_1:
    module: Bender_isoCHA425HV
`);

const rulesOf = (r: ReturnType<typeof run>, service: string) =>
  r.hypotheses.find((h) => h.service === service)?.evidence.map((e) => e.ruleId) ?? [];

describe('ordering across clocks', () => {
  test('anomalies closer than the clock skew are not ordered: the later one is not called a symptom', () => {
    const r = run({
      graph: ocppToCsms,
      event: trigger({ service: 'ocpp', eventType: 'TRANSACTION_STOP_FAILED', errorCode: 'CallError' }),
      logs: [
        log('csms', 'error', 'Sending: [4,"5b0c","InternalError","transaction -1 not found",{}]', 60.005),
        log('ocpp', 'warn', 'Could not update CSMS_ACK of transaction with transactionId -1', 60),
      ],
    });
    expect(rulesOf(r, 'ocpp')).not.toContain('logs.symptom');
    expect(rulesOf(r, 'ocpp')).toContain('logs.onset');
    expect(rulesOf(r, 'csms')).toContain('logs.onset');
  });

  test('an anomaly earlier by more than the skew still makes the later service its symptom', () => {
    const r = run({
      graph: ocppToCsms,
      event: trigger({ service: 'ocpp', eventType: 'TRANSACTION_STOP_FAILED', errorCode: 'CallError' }),
      logs: [
        log('csms', 'error', 'Sending: [4,"5b0c","InternalError","transaction -1 not found",{}]', 65),
        log('ocpp', 'warn', 'Could not update CSMS_ACK of transaction with transactionId -1', 60),
      ],
    });
    expect(rulesOf(r, 'ocpp')).toContain('logs.symptom');
    expect(rulesOf(r, 'ocpp')).not.toContain('logs.onset');
  });

  test('a lost-contact report is explained by its peer failing at about the same time, even a moment later', () => {
    const r = run({
      graph: ocppToCsms,
      event: trigger({ service: 'ocpp', eventType: 'OCPP_DISCONNECT', errorCode: 'ConnectionLost' }),
      logs: [
        log('ocpp', 'error', 'OCPP client connection to server failed', 60.5),
        log(
          'csms',
          'fatal',
          'Unhandled promise rejection in DeviceModelService, node process exiting with code 1',
          60,
        ),
      ],
    });
    expect(r.hypotheses[0]?.service).toBe('csms');
    expect(rulesOf(r, 'ocpp')).toContain('logs.symptom');
  });
});

describe('silence', () => {
  const pduLost = log(
    'huawei_dispenser',
    'error',
    'No Modbus PDU received from power unit for 60000 ms, communication with PU lost',
    3,
    true,
  );
  const event = trigger({
    service: 'evse_manager_1',
    eventType: 'POWER_MODULE_FAULT',
    errorCode: 'power_supply_DC/CommunicationFault',
  });

  test('a dependency that normally talks and went quiet while its dependent reports losing it is pointed at', () => {
    const r = run({
      graph: dispenser,
      event,
      logs: [pduLost],
      wentQuiet: ['huawei_pu'],
    });
    expect(rulesOf(r, 'huawei_pu')).toContain('logs.silent');
    const pu = r.hypotheses.find((h) => h.service === 'huawei_pu');
    expect(pu?.reasons.join(' ')).toContain('huawei_dispenser reports losing it');
  });

  test('a dependency that never logs is what its unchanged reporter lost (a device behind a driver, go-eCharger API v2 #212)', () => {
    const r = run({ graph: dispenser, event, logs: [pduLost], wentQuiet: [] });
    expect(rulesOf(r, 'huawei_pu')).toContain('logs.silent');
    expect(r.hypotheses.find((h) => h.service === 'huawei_pu')?.reasons.join(' ')).toContain(
      'no logs of its own',
    );
  });

  test('a reporter that just changed may have lost its peer by its own update: a voiceless peer is not blamed', () => {
    const r = run({
      graph: dispenser,
      event,
      logs: [pduLost],
      wentQuiet: [],
      changes: [
        change({ id: 'fw-dispenser-2.4', service: 'huawei_dispenser', kind: 'firmware', agoMs: 2 * HOUR }),
      ],
    });
    expect(rulesOf(r, 'huawei_pu')).not.toContain('logs.silent');
  });

  test('a dependency with warnings of its own before the window is not voiceless', () => {
    const r = run({
      graph: dispenser,
      event,
      logs: [pduLost],
      wentQuiet: [],
      history: [chronic('huawei_pu', 'PU fan speed low <n> rpm', 40)],
    });
    expect(rulesOf(r, 'huawei_pu')).not.toContain('logs.silent');
  });

  test('a dependency that logged in the window is not silent', () => {
    const r = run({
      graph: dispenser,
      event,
      logs: [pduLost, log('huawei_pu', 'info', 'cabinet heartbeat ok', 30)],
      wentQuiet: ['huawei_pu'],
    });
    expect(rulesOf(r, 'huawei_pu')).not.toContain('logs.silent');
  });

  // dingo35/SmartEVSE-3.5#302: the SensorBox Modbus tunnelled over RS485-Ethernet converters.
  const farm = graphOf(`
services:
  smartevse:
    depends_on: [modbus_master, ch32_cp]
  modbus_master:
    depends_on: [rs485_bridge]
  rs485_bridge:
    description: USR-DR302 RS485-Ethernet converter pair
  ch32_cp:
    description: CH32 control pilot co-processor
`);
  const noSerialCom = (s: number) => log('smartevse', 'error', 'ERROR NO SERIAL COM CHECK CFG OR WIRING', s);
  const e0Timeout = (s: number) =>
    log(
      'modbus_master',
      'warn',
      '(MBhandleError)(C0) Error response: E0 - Timeout, address: 0A, function: 04, reg: 0000.',
      s,
    );

  test("a loss its dependency had already reported goes down the chain to the silent end, not to the reporter's other quiet dependency", () => {
    const r = run({
      graph: farm,
      event: trigger({ service: 'smartevse', eventType: 'CHARGING_FAULT', errorCode: 'NoSerialCom' }),
      logs: [e0Timeout(150), noSerialCom(106), e0Timeout(105), e0Timeout(60), noSerialCom(19), e0Timeout(18)],
      wentQuiet: [],
    });
    expect(r.hypotheses[0]?.service).toBe('rs485_bridge');
    expect(rulesOf(r, 'ch32_cp')).not.toContain('logs.silent');
    const bridge = r.hypotheses.find((h) => h.service === 'rs485_bridge');
    expect(bridge?.reasons.join(' ')).toContain(
      'smartevse reports losing it (through modbus_master, which lost it first)',
    );
  });

  test('a lost peer that fell silent after its own dependency logged trouble points at that dependency (openeo on a Pi whose Wi-Fi went to power save)', () => {
    const home = graphOf(`
services:
  ha_openeo:
    depends_on: [openeo]
  openeo:
    aliases: [openeo.service]
    depends_on: [pi_wlan, eo_board]
  pi_wlan:
    aliases: [wlan0, brcmfmac]
  eo_board: {}
`);
    const r = run({
      graph: home,
      event: trigger({
        service: 'ha_openeo',
        eventType: 'CHARGER_OFFLINE',
        errorCode: 'Unreachable',
        message: 'openeo charger offline, no HTTP/SSH',
      }),
      logs: [
        log('pi_wlan', 'warn', 'brcmfmac: brcmf_cfg80211_set_power_mgmt: power save enabled', 80),
        log(
          'ha_openeo',
          'error',
          'Error fetching openeo status data: Timeout on reading data from device http://192.168.1.88/api/status',
          40,
        ),
      ],
      wentQuiet: ['openeo'],
    });
    expect(rulesOf(r, 'pi_wlan')).toContain('logs.silent');
    expect(rulesOf(r, 'openeo')).not.toContain('logs.silent');
    expect(r.hypotheses.find((h) => h.service === 'pi_wlan')?.reasons.join(' ')).toContain(
      'reports losing openeo, which depends on it',
    );
  });

  test('a loss passes down only through a dependency that only reports losing contact, not one with trouble of its own', () => {
    const r = run({
      graph: farm,
      event: trigger({ service: 'smartevse', eventType: 'CHARGING_FAULT', errorCode: 'NoSerialCom' }),
      logs: [
        log('modbus_master', 'error', 'Modbus frame CRC mismatch from unit 0A, discarding reply', 160),
        e0Timeout(150),
        noSerialCom(106),
      ],
      wentQuiet: [],
    });
    const bridge = r.hypotheses.find((h) => h.service === 'rs485_bridge');
    expect(bridge?.reasons.join(' ') ?? '').not.toContain('through modbus_master');
  });

  test('a broker that other clients use without complaint in the window is not the silent peer of one that lost contact', () => {
    const everest = graphOf(`
services:
  mosquitto: {}
  evse_manager_1:
    depends_on: [powermeter_1, mosquitto]
  powermeter_1:
    module: GenericPowermeter
    depends_on: [mosquitto]
  auth:
    depends_on: [evse_manager_1, mosquitto]
  ocpp:
    depends_on: [evse_manager_1, mosquitto]
`);
    const cid = 'sess-8dd350d33997';
    const args = {
      graph: everest,
      event: trigger({
        service: 'evse_manager_1',
        eventType: 'MeterFault',
        errorCode: 'PowerMeterFailure',
        correlationId: cid,
      }),
      wentQuiet: [],
    };
    const meterLost = log(
      'powermeter_1',
      'error',
      'powermeter/CommunicationFault: read_register(0x5000) failed, no values published',
      25,
    );
    const alone = run({ ...args, logs: [meterLost] });
    expect(rulesOf(alone, 'mosquitto')).toContain('logs.silent');
    const others = run({
      ...args,
      logs: [
        meterLost,
        log('auth', 'info', 'Connector 1 faulted; withdrawing authorization for token 1E3C85CF', 3, true),
        log('ocpp', 'info', 'StatusNotification connector 1 Faulted queued', 2, true),
      ],
    });
    expect(rulesOf(others, 'mosquitto')).not.toContain('logs.silent');
  });

  test("a dependency with its own specific trouble first explains the reporter's loss better than its quiet one", () => {
    const ocppStation = graphOf(`
services:
  ocpp_client:
    depends_on: [security, system]
  security:
    module: EvseSecurity
  system:
    module: System
`);
    const args = {
      graph: ocppStation,
      event: trigger({
        service: 'ocpp_client',
        eventType: 'OCPP_DISCONNECT',
        errorCode: 'TLSHandshakeFailed',
      }),
      wentQuiet: [],
    };
    const failed = log('ocpp_client', 'error', 'Connection attempt failed, reconnecting', 1);
    const ntp = log('system', 'info', 'NTP: synchronised to pool.ntp.org', 40);
    expect(rulesOf(run({ ...args, logs: [ntp, failed] }), 'security')).toContain('logs.silent');
    const clock = log(
      'system',
      'error',
      'System time invalid (before 2020-01-01); certificates cannot be validated',
      36,
    );
    const r = run({ ...args, logs: [clock, failed] });
    expect(rulesOf(r, 'security')).not.toContain('logs.silent');
    expect(r.hypotheses[0]?.service).toBe('system');
  });
});

describe('incomplete maps', () => {
  test("an outside candidate brings its own dependencies: the IMD's Modbus hub that failed first is a candidate where the trail starts", () => {
    // The map lacks evse_manager -> imd; imd -> modbus_hub is mapped.
    const graph = graphOf(`
services:
  evse_manager:
    module: EvseManager
    depends_on: [bsp]
  bsp:
    module: YetiDriver
  imd:
    module: DoldRN5893
    depends_on: [modbus_hub]
  modbus_hub:
    module: SerialCommHub
`);
    const r = run({
      graph,
      event: trigger({
        service: 'evse_manager',
        eventType: 'CABLE_CHECK_FAULT',
        errorCode: 'isolation_monitor/CommunicationFault',
      }),
      logs: [
        log('modbus_hub', 'warn', 'TinyModbusRTU::txrx: CRC error in reply from unit 7, retry 1', 80),
        log('modbus_hub', 'warn', 'TinyModbusRTU::txrx: CRC error in reply from unit 7, retry 2', 70),
        log(
          'imd',
          'error',
          'isolation_monitor/CommunicationFault raised: no reply from DoldRN5893 (Modbus address 7)',
          20,
        ),
        log(
          'evse_manager',
          'error',
          'Isolation monitor imd raised CommunicationFault during CableCheck',
          5,
          true,
        ),
      ],
    });
    const hub = r.hypotheses.find((h) => h.service === 'modbus_hub');
    expect(hub?.evidence.map((e) => e.ruleId)).toContain('logs.onset');
    expect(rulesOf(r, 'imd')).toContain('logs.symptom');
    expect(r.mapSuggestions.map((s) => `${s.service}->${s.dependsOn}`)).toContain('evse_manager->imd');
  });
});

describe('summary', () => {
  test('a station clock that was clearly wrong is said, and cut values end with an ellipsis', () => {
    const r = run({
      graph: ocppToCsms,
      event: trigger({
        service: 'ocpp',
        eventType: 'OCPP_DISCONNECT',
        errorCode: 'ConnectionLost',
        details: { sourceTimestamp: '1970-01-02T00:00:00.000Z' },
      }),
      logs: [
        log(
          'csms',
          'error',
          `Websocket to station closed by gateway to 192.168.50.1 after ${'repeated ping failures '.repeat(8)}`,
          30,
        ),
      ],
    });
    expect(r.summary).toContain('stamped this event 1970-01-02T00:00:00.000Z');
    expect(r.summary).toContain('…"');
  });
});

describe('who stated the error code first', () => {
  /** A wallbox application on MicroOcpp (matth-x/MicroOcpp#298), and the OCPP client relaying statuses. */
  const wallbox = graphOf(`
services:
  evse_app:
    description: vendor charging application (relay control, RFID)
    depends_on: [microocpp, rfid]
  microocpp:
    module: MicroOcpp
  rfid:
    description: MFRC522 reader
`);
  const txStillRunning = trigger({
    service: 'evse_app',
    eventType: 'START_FAILED',
    errorCode: 'TxProcessStillRunning',
    message: 'accepted tag cannot start charging',
  });

  test('a dependency that stated the condition in its own words is where it arose; the reporter is its symptom', () => {
    const r = run({
      graph: wallbox,
      event: txStillRunning,
      logs: [
        log('microocpp', 'warn', 'tx process still running. Please call endTransaction(...) before', 12.1),
        log('evse_app', 'error', 'beginTransaction failed, showing red LED', 12),
        log('evse_app', 'error', 'second tap: beginTransaction failed again', 2),
      ],
    });
    expect(r.hypotheses[0]?.service).toBe('microocpp');
    expect(rulesOf(r, 'microocpp')).toContain('logs.code-origin');
    expect(rulesOf(r, 'evse_app')).toContain('logs.symptom');
  });

  test('quoting the code verbatim is relaying it, not stating it', () => {
    const r = run({
      graph: wallbox,
      event: txStillRunning,
      logs: [
        log(
          'microocpp',
          'warn',
          'StatusNotification errorCode=OtherError vendorErrorCode=TxProcessStillRunning',
          12.1,
        ),
        log('evse_app', 'error', 'beginTransaction failed, showing red LED', 12),
      ],
    });
    expect(rulesOf(r, 'microocpp')).not.toContain('logs.code-origin');
  });
});

describe('edges the map leaves out', () => {
  /** EVerest#90: the PN532 stops answering; the map has no edge from Auth to the reader. */
  const depot = graphOf(`
services:
  auth:
    module: Auth
  pn532:
    module: PN532TokenProvider (/dev/ttyS4, 115200)
  meter:
    module: GenericPowermeter
  serial_hub:
    module: SerialCommHub
`);

  test("a provider the requiring module's manifest implies is considered when its anomaly came first", () => {
    const r = run({
      graph: depot,
      event: trigger({ service: 'auth', eventType: 'AUTH_FAILURE', errorCode: 'NoTokenReceived' }),
      logs: [log('pn532', 'warn', 'Packet of length 12 received that is not a ACK Frame.', 200)],
    });
    expect(r.hypotheses[0]?.service).toBe('pn532');
    expect(r.mapSuggestions).toContainEqual(expect.objectContaining({ service: 'auth', dependsOn: 'pn532' }));
  });

  test('an implied provider whose anomaly came after the failure is not', () => {
    const r = run({
      graph: depot,
      event: trigger({ service: 'auth', eventType: 'AUTH_FAILURE', errorCode: 'NoTokenReceived' }),
      logs: [log('pn532', 'warn', 'Packet of length 12 received that is not a ACK Frame.', -30)],
    });
    expect(r.hypotheses.map((h) => h.service)).not.toContain('pn532');
  });

  test('an implied provider that changed recently is considered without an anomaly (a lowered ConnectionTimeOut logs nothing)', () => {
    const g = graphOf(`
services:
  auth:
    module: Auth
    depends_on: [pn532]
  pn532:
    module: PN532TokenProvider
  ocpp:
    module: OCPP
`);
    const event = trigger({ service: 'auth', eventType: 'AUTH_FAILURE', errorCode: 'PlugInTimeout' });
    const changed = run({
      graph: g,
      event,
      changes: [
        change({
          id: 'cfg-connection-timeout-30',
          service: 'ocpp',
          kind: 'config',
          summary: 'ConnectionTimeOut 60 -> 30',
          agoMs: 3 * HOUR,
        }),
      ],
    });
    expect(changed.hypotheses.map((h) => h.service)).toContain('ocpp');
    expect(changed.mapSuggestions).toContainEqual(
      expect.objectContaining({ service: 'auth', dependsOn: 'ocpp' }),
    );
    const unchanged = run({ graph: g, event });
    expect(unchanged.hypotheses.map((h) => h.service)).not.toContain('ocpp');
  });

  test('an implied requirement of a quiet candidate is not followed', () => {
    const g = graphOf(`
services:
  evse:
    module: EvseManager
    depends_on: [meter]
  meter:
    module: GenericPowermeter
  serial_hub:
    module: SerialCommHub
`);
    const hub = log('serial_hub', 'error', 'Modbus call to unit 4 failed: Timeout', 60);
    const quiet = run({
      graph: g,
      event: trigger({ service: 'evse', errorCode: 'PowerMeterFailure' }),
      logs: [hub],
    });
    expect(quiet.hypotheses.map((h) => h.service)).not.toContain('serial_hub');
    const speaking = run({
      graph: g,
      event: trigger({ service: 'evse', errorCode: 'PowerMeterFailure' }),
      logs: [hub, log('meter', 'error', 'read_register(0x5B00) failed, no values published', 30)],
    });
    expect(speaking.hypotheses[0]?.service).toBe('serial_hub');
  });
});

describe('names by function', () => {
  test("an error that names another service's mapped function names that service", () => {
    const g = graphOf(`
services:
  evse_app:
    depends_on: [microocpp]
  microocpp:
    module: MicroOcpp
    functions: [Connector::beginTransaction]
  display:
    depends_on: [evse_app]
`);
    const r = run({
      graph: g,
      event: trigger({ service: 'display', eventType: 'START_FAILED', errorCode: 'NoSession' }),
      logs: [log('evse_app', 'error', 'beginTransaction failed, showing red LED', 10)],
    });
    expect(rulesOf(r, 'microocpp')).toContain('logs.mention');
  });
});

describe('a report about a component that cannot speak', () => {
  /** OpenEVSE/OpenEVSE_PLUS#21: the relay welds; the controller's stuck-relay check reports it. */
  const evse = graphOf(`
services:
  openevse_controller:
    module: OpenEVSE controller firmware 7.1.3
    depends_on: [relay, gfci, temp_monitor]
  relay:
    description: Struthers-Dunn 50 A 2-pole relay (K1)
    aliases: [contactor]
  gfci:
    description: GFCI sense coil and self-test winding
  temp_monitor:
    module: TempMonitor (MCP9808)
`);
  const stuck = trigger({
    service: 'openevse_controller',
    eventType: 'CHARGING_FAULT',
    errorCode: 'STUCK_RELAY',
    message: 'STUCK RELAY after the EV stopped, current still flowing',
  });
  const logs = [
    log(
      'openevse_controller',
      'error',
      'STUCK RELAY: AC voltage present on load side with relay commanded open',
      38,
      true,
    ),
    log('openevse_controller', 'error', 'SERVICE REQUIRED: STUCK RELAY, EVSE disabled until reset', 38, true),
    log('temp_monitor', 'info', 'MCP9808 ambient 21.5C', 60),
  ];

  test('the error code names the component, which has no logs: the controller reads as its detector', () => {
    const r = run({ graph: evse, event: stuck, logs });
    expect(r.hypotheses[0]?.service).toBe('relay');
    expect(rulesOf(r, 'relay')).toContain('logs.subject');
    expect(rulesOf(r, 'openevse_controller')).toContain('logs.symptom');
  });

  test('a component with logs of its own is judged on them, not on the report', () => {
    const r = run({
      graph: evse,
      event: stuck,
      logs: [...logs, log('relay', 'info', 'K1 coil energised', 300)],
    });
    expect(rulesOf(r, 'relay')).not.toContain('logs.subject');
  });

  test('a peer that answered is not a silent component: "CSMS rejected" with a CALLERROR code', () => {
    const graph = graphOf('services:\n  ocpp:\n    module: OCPP201\n    depends_on: [csms]\n  csms: {}\n');
    const r = run({
      graph,
      event: trigger({
        service: 'ocpp',
        eventType: 'TRANSACTION_ERROR',
        errorCode: 'CsmsFormationViolation',
        message: 'CSMS rejected TransactionEvent',
      }),
    });
    expect(rulesOf(r, 'csms')).not.toContain('logs.subject');
  });

  test('lost contact does not say which end broke', () => {
    const graph = graphOf('services:\n  ocpp:\n    module: OCPP201\n    depends_on: [csms]\n  csms: {}\n');
    const r = run({
      graph,
      event: trigger({ service: 'ocpp', eventType: 'OCPP_DISCONNECT', errorCode: 'CsmsConnectionLost' }),
    });
    expect(rulesOf(r, 'csms')).not.toContain('logs.subject');
  });
});

describe('OCPP-J CallError semantics', () => {
  test("the CSMS reporting the station's protocol violations points at the station's OCPP client, which depends on it (libocpp B02.FR.09)", () => {
    const r = run({
      graph: ocppToCsms,
      event: trigger({
        service: 'csms',
        eventType: 'REGISTRATION_FAILED',
        errorCode: 'SecurityError',
        message:
          'DEPOT-DC-3 commissioning aborted: repeated SecurityEventNotification while BootNotification Pending',
      }),
      logs: [
        log(
          'csms',
          'warn',
          '[cp DEPOT-DC-3] SecurityEventNotification (StartupOfTheDevice) received while BootNotification Pending (B02.FR.09), replying CALLERROR SecurityError',
          40,
          true,
        ),
      ],
    });
    expect(rulesOf(r, 'ocpp')).toContain('ev.ocpp.sender-violation');
    // From the CSMS's side, "the other end of the OCPP link" is not the CSMS itself.
    expect(rulesOf(r, 'csms')).not.toContain('ev.code.ocpp-link-csms');
  });

  test("a CALLERROR InternalError is the receiver's: the CSMS is a candidate for it (d-02, SteVe's 'Internal services failed')", () => {
    const r = run({
      graph: ocppToCsms,
      event: trigger({
        service: 'ocpp',
        eventType: 'AUTHORIZE_FAILED',
        errorCode: 'CallError:InternalError',
        message: 'CSMS answered Authorize.req with CALLERROR InternalError',
      }),
    });
    expect(rulesOf(r, 'csms')).toContain('ev.ocpp.callerror-receiver');
  });
});

describe('changes that cannot change behaviour', () => {
  test('a configuration change that only turns the log level up is not blamed (OCPP.Core appsettings)', () => {
    const at = (summary: string) =>
      run({
        graph: ocppToCsms,
        event: trigger({
          service: 'ocpp',
          eventType: 'OCPP_DISCONNECT',
          errorCode: 'NoSupportedSubprotocol',
        }),
        changes: [change({ id: 'cfg-csms', service: 'csms', kind: 'config', summary, agoMs: 2 * HOUR })],
      }).hypotheses.find((h) => h.service === 'csms')?.change?.id;
    expect(at('appsettings.json: Logging OCPPMiddleware Information -> Trace')).toBeUndefined();
    expect(at('appsettings.json: WebSocket KeepAliveInterval 120 -> 30 s')).toBe('cfg-csms');
  });
});

describe('episodes that began before the window', () => {
  /** An ESP32 wallbox: MicroOcpp over the Wi-Fi netif; DNS stopped resolving half an hour ago. */
  const wallbox = graphOf(`
services:
  microocpp:
    module: MicroOcpp
    depends_on: [esp_netif]
  esp_netif:
    module: ESP32 WiFiGeneric
`);
  const dns = '[E][WiFiGeneric.cpp:658] hostByName(): DNS Failed for csms.chargecloud.example';
  const input = {
    graph: wallbox,
    event: trigger({
      service: 'microocpp',
      eventType: 'OCPP_DISCONNECT',
      errorCode: 'WebsocketDisconnected',
    }),
    logs: [
      log('microocpp', 'warn', '[AO] warning (RequestQueue.cpp:182): operation timeout: Authorize', 150),
      ...[120, 90, 60, 30].map((s) => log('esp_netif', 'error', dns, s)),
    ],
  };

  test('a spiking pattern first seen 35 min before the window began then, before its dependent noticed', () => {
    const r = run({
      ...input,
      history: [
        {
          service: 'esp_netif',
          pattern: messagePattern(dns),
          count: 14,
          firstTs: T - 40 * MIN,
          sampled: false,
          // The netif had been logging for hours before: its absence before was seen.
          began: T - 40 * MIN,
        },
      ],
    });
    expect(rulesOf(r, 'esp_netif')).toContain('logs.onset');
    expect(rulesOf(r, 'microocpp')).not.toContain('logs.onset');
  });

  test('one first seen a day ago did not', () => {
    const r = run({
      ...input,
      history: [
        {
          service: 'esp_netif',
          pattern: messagePattern(dns),
          count: 3,
          firstTs: T - 20 * HOUR,
          sampled: false,
        },
      ],
    });
    expect(rulesOf(r, 'esp_netif')).not.toContain('logs.onset');
    // MicroOcpp's first line is a timeout waiting on its peer: the silence noticed, not a start.
    expect(rulesOf(r, 'microocpp')).not.toContain('logs.onset');
  });
});

describe('roots the map does not know', () => {
  test('a change record for a service the map lacks, shortly before the failure, makes it a candidate (pydantic 2 breaking josev)', () => {
    const g = graphOf(`
services:
  health_agent:
    depends_on: [manager]
  manager: {}
  pyjosev:
    module: PyJosev
`);
    const event = trigger({ service: 'health_agent', eventType: 'MODULE_EXIT', errorCode: 'RestartLoop' });
    const image = (agoMs: number) =>
      change({
        id: 'img-nightly',
        service: 'python_env',
        kind: 'deploy',
        summary: 'Nightly OS image rebuild: pydantic 1.10.9 -> 2.0.2',
        agoMs,
      });
    // pydantic 2's own words for the import josev's settings need.
    const logs = [
      log(
        'health_agent',
        'error',
        'pydantic.errors.PydanticImportError: `BaseSettings` has been moved to the `pydantic-settings` package',
        120,
      ),
    ];
    const recent = run({ graph: g, event, logs, changes: [image(40 * MIN)] });
    expect(recent.hypotheses.map((h) => h.service)).toContain('python_env');
    expect(recent.mapSuggestions).toContainEqual(expect.objectContaining({ dependsOn: 'python_env' }));
    const old = run({ graph: g, event, logs, changes: [image(3 * 24 * HOUR)] });
    expect(old.hypotheses.map((h) => h.service)).not.toContain('python_env');
  });
});

describe('names said on the failing session', () => {
  test("a service on the failing session names the module that crashed, outside the map's closure (EVerest/libiso15118 optional crash)", () => {
    const g = graphOf(`
services:
  manager: {}
  evse_manager_1:
    module: EvseManager (DC, dispenser 1)
    depends_on: [iso15118_d20_1]
  evse_manager_2:
    module: EvseManager (DC, dispenser 2)
    depends_on: [iso15118_d20_2]
  iso15118_d20_1:
    module: Evse15118D20
  iso15118_d20_2:
    module: Evse15118D20
`);
    const r = run({
      graph: g,
      event: trigger({ service: 'evse_manager_2', eventType: 'SESSION_DROP', errorCode: 'PowerLoss' }),
      logs: [
        log(
          'iso15118_d20_1',
          'error',
          "terminate called after throwing an instance of 'std::bad_optional_access'",
          47.2,
        ),
        log(
          'manager',
          'fatal',
          'Module iso15118_d20_1 (pid: 1882) exited with status: 134. Terminating all modules.',
          47,
          true,
        ),
        log(
          'evse_manager_2',
          'error',
          'Charging stopped: module shutdown while in CurrentDemand, emergency ramp-down',
          46.8,
          true,
        ),
      ],
    });
    expect(r.hypotheses[0]?.service).toBe('iso15118_d20_1');
  });
});

describe('a trigger that mentions the reader', () => {
  const g = graphOf(
    'services:\n  wifi_gateway:\n    description: OpenEVSE WiFi gateway with RFID\n    depends_on: [rfid]\n  rfid:\n    description: RFID reader on I2C\n',
  );
  test('is not a reader fault when the reader worked ("RFID start refused, OCPP not connected")', () => {
    const r = run({
      graph: g,
      event: trigger({
        service: 'wifi_gateway',
        eventType: 'AUTH_FAILURE',
        errorCode: 'OcppNotConnected',
        message: 'DEPOT-07: RFID start refused, OCPP not connected since 08:12',
      }),
    });
    expect(rulesOf(r, 'rfid')).not.toContain('ev.code.reader');
  });
  test('is one when the code says so (OCPP ReaderFailure)', () => {
    const r = run({
      graph: g,
      event: trigger({ service: 'wifi_gateway', eventType: 'AUTH_FAILURE', errorCode: 'ReaderFailure' }),
    });
    expect(rulesOf(r, 'rfid')).toContain('ev.code.reader');
  });
});

describe('a change to a service the map does not know', () => {
  test('counts half: it is a candidate, not the answer, when something on the path changed too', () => {
    const g = graphOf('services:\n  ocpp:\n    module: OCPP\n    depends_on: [csms]\n  csms: {}\n');
    const r = run({
      graph: g,
      event: trigger({ service: 'ocpp', eventType: 'OCPP_DISCONNECT', errorCode: 'WebsocketPongTimeout' }),
      changes: [
        change({
          id: 'backup-1.3',
          service: 'backup-agent',
          kind: 'deploy',
          summary: 'backup agent 1.2.0 -> 1.3.0',
          agoMs: 2 * HOUR,
        }),
        change({
          id: 'cfg-ping',
          service: 'ocpp',
          kind: 'config',
          summary: 'WebsocketPingInterval 30 -> 5',
          agoMs: 2 * HOUR,
        }),
      ],
    });
    const conf = (s: string) => r.hypotheses.find((h) => h.service === s)?.confidence ?? 0;
    expect(conf('backup-agent')).toBeGreaterThan(0);
    expect(conf('ocpp')).toBeGreaterThan(conf('backup-agent'));
    // 1.5 points x credibility 1 / (1 + 2 h / 1 day), halved, and x UNTIED_CHANGE since nothing but
    // its time ties a backup agent's update to an OCPP disconnect.
    const points = r.hypotheses
      .find((h) => h.service === 'backup-agent')
      ?.evidence.find((e) => e.ruleId === 'change.recent')?.weight;
    expect(points).toBeCloseTo((0.5 * 1.5 * UNTIED_CHANGE) / (1 + 2 / 24), 2);
  });
});

describe('onset ties', () => {
  test('a service left out for only reporting lost contact is not named in the tie', () => {
    const cabinet = graphOf(`
services:
  evse_manager:
    depends_on: [powermeter, rs485_bus]
  powermeter:
    depends_on: [rs485_bus]
  rs485_bus: {}
`);
    const r = run({
      graph: cabinet,
      event: trigger({
        service: 'evse_manager',
        eventType: 'CHARGING_FAULT',
        errorCode: 'PowerMeterFailure',
      }),
      logs: [
        log('powermeter', 'error', 'Modbus timeout, meter not responding', 60),
        log('rs485_bus', 'error', 'CRC error on frame from slave 3', 59.5),
        log('evse_manager', 'error', 'PowerMeterFailure: no valid reading for 30 s', 30),
      ],
    });
    const reasons = r.hypotheses.flatMap((h) => h.reasons).filter((t) => t.startsWith('failed first'));
    expect(reasons.length).toBeGreaterThan(0);
    expect(reasons.some((t) => t.includes('powermeter'))).toBe(false);
  });
});

describe('websocket closures', () => {
  test('a CSMS whose first word is an abnormal websocket closure (RFC 6455 1006) lost its station; it did not fail first', () => {
    const depot = graphOf(`
services:
  microocpp:
    depends_on: [littlefs]
  littlefs: {}
  csms: {}
`);
    const cid = 'depot-ac-07-20240203-2214';
    const r = run({
      graph: depot,
      event: trigger({
        service: 'microocpp',
        eventType: 'BOOT_FAILED',
        errorCode: 'InitFailed',
        correlationId: cid,
      }),
      logs: [
        log('csms', 'warn', 'DEPOT-AC-07: websocket closed abnormally (1006)', 60, true),
        log('littlefs', 'warn', 'esp_littlefs: lfs.c:2074:warn: Superblock 0x0 has become unwritable', 49),
        log(
          'microocpp',
          'error',
          '[OCPP] ERROR (MicroOcpp.cpp:146): multiple initialization failures detected',
          48.5,
        ),
      ],
    });
    expect(rulesOf(r, 'csms')).not.toContain('logs.onset');
  });
});

describe("a dependency whose trouble began with the failing service's own change", () => {
  // nordicopen/easee_hass#633: easee_hass 0.9.70 installed, then Home Assistant core (unchanged)
  // logs "Error setting up entry ... for easee" and the config flow answers 500.
  const ha = graphOf(`
services:
  easee_integration:
    aliases: [custom_components.easee]
    files: [custom_components/easee/config_flow.py]
    depends_on: [pyeasee, ha_core]
  pyeasee: {}
  ha_core:
    aliases: [homeassistant.config_entries]
`);
  const cid = 'easee-0970-20250809-1035';
  const input = () => ({
    graph: ha,
    event: trigger({
      service: 'easee_integration',
      eventType: 'INTEGRATION_SETUP_FAILED',
      errorCode: 'ConfigFlow500',
      message: 'Configuration flow could not load, 500 server error',
      correlationId: cid,
    }),
    logs: [
      log('ha_core', 'error', 'Error handling request /api/config/config_entries/flow', 170, true),
      log('ha_core', 'error', 'Configuration flow could not load, 500 server error.', 169.9, true),
      log('ha_core', 'error', 'Configuration flow could not load, 500 server error.', 60, true),
    ],
    changes: [
      change({
        id: 'deploy-easee-hass-0.9.70',
        service: 'easee_integration',
        kind: 'deploy',
        summary: 'HACS: easee_hass 0.9.69 -> 0.9.70 (restart)',
        files: ['custom_components/easee/config_flow.py'],
        agoMs: 300_000,
      }),
    ],
  });

  test('is that change’s effect: the change is blamed, not the host that logged the errors', () => {
    const r = run(input());
    expect(r.hypotheses[0]!.service).toBe('easee_integration');
    expect(r.hypotheses[0]!.change?.id).toBe('deploy-easee-hass-0.9.70');
    expect(r.hypotheses.find((h) => h.service === 'ha_core')!.reasons.join('\n')).toContain(
      "after easee_integration's deploy deploy-easee-hass-0.9.70, and it did not change itself",
    );
  });

  test('still is when the dependency changed a day before and stayed quiet until then', () => {
    // seud0nym/sigenergy2mqtt#264: the inverter's backup-SoC edit the day before is not what the
    // new release's register probe ran into.
    const earlier = input();
    earlier.changes.push(
      change({
        id: 'cfg-ha-recorder',
        service: 'ha_core',
        kind: 'config',
        summary: 'recorder purge_keep_days 10 -> 30',
        agoMs: 26 * HOUR,
      }),
    );
    expect(run(earlier).hypotheses[0]!.service).toBe('easee_integration');
    expect(rulesOf(run(earlier), 'ha_core')).not.toContain('logs.onset');
  });

  test('is not when the dependency changed too, or the change is older than a cascade', () => {
    const both = input();
    both.changes.push(
      change({
        id: 'deploy-ha-2025.6.3',
        service: 'ha_core',
        kind: 'deploy',
        summary: 'core 2025.6.3',
        agoMs: 250_000,
      }),
    );
    expect(rulesOf(run(both), 'ha_core')).toContain('logs.onset');
    const old = input();
    old.changes[0] = { ...old.changes[0]!, timestamp: T - 170_000 - 11 * MIN };
    expect(rulesOf(run(old), 'ha_core')).toContain('logs.onset');
  });
});

describe("the failing service's trouble beginning with a dependency's change", () => {
  // EVerest/everest-core bumping everest-framework 0.18.1 -> 0.19.1, then the OCPP module
  // terminating with std::bad_function_call at every start.
  const station = graphOf(`
services:
  ocpp:
    module: OCPP
    files: [modules/EVSE/OCPP/]
    depends_on: [everest_framework, evse_manager]
  everest_framework:
    files: [lib/everest/framework/]
  evse_manager:
    module: EvseManager
`);
  const input = () => ({
    graph: station,
    event: trigger({ service: 'ocpp', eventType: 'MODULE_CRASH', errorCode: 'ModuleExit134' }),
    logs: [
      log(
        'ocpp',
        'error',
        "ocpp:OCPP :: terminate called after throwing an instance of 'std::bad_function_call'",
        250,
      ),
      log(
        'ocpp',
        'error',
        "ocpp:OCPP :: terminate called after throwing an instance of 'std::bad_function_call'",
        50,
      ),
      log('evse_manager', 'warn', 'OCPP module gone, connector 1 set to Unavailable', 45),
    ],
    changes: [
      change({
        id: 'cfg-ocpp-heartbeat',
        service: 'ocpp',
        kind: 'config',
        summary: 'HeartbeatInterval 300 -> 120',
        agoMs: 46 * HOUR,
      }),
      change({
        id: 'bump-everest-framework-0.19.1',
        service: 'everest_framework',
        summary: 'Bump Everest-Framework to 0.19.1 (#987)',
        agoMs: 430_000,
      }),
    ],
  });

  test('starts the trail there: the framework bump three minutes before the first crash is blamed', () => {
    const r = run(input());
    expect(r.hypotheses[0]!.service).toBe('everest_framework');
    expect(r.hypotheses[0]!.change?.id).toBe('bump-everest-framework-0.19.1');
    expect(rulesOf(r, 'ocpp')).not.toContain('logs.onset');
    expect(r.hypotheses.find((h) => h.service === 'ocpp')!.reasons.join('\n')).toContain(
      "after everest_framework's commit bump-everest-framework-0.19.1, and it did not change in that time",
    );
  });

  test('does not when the failing service changed in the same minutes', () => {
    const both = input();
    both.changes.push(
      change({
        id: 'cfg-ocpp-security-profile',
        service: 'ocpp',
        kind: 'config',
        summary: 'SecurityProfile 1 -> 2',
        agoMs: 400_000,
      }),
    );
    expect(rulesOf(run(both), 'everest_framework')).not.toContain('logs.onset');
  });
});

describe('a station the trigger names with the firmware it was just updated to', () => {
  // lbbrhzn/ocpp: an ABB Terra AC updated 1.8.21 -> 1.8.32, then the integration registers none of
  // its entities. The map has the charger depend on its OCPP server, as clients do.
  const home = graphOf(`
services:
  ha_ocpp:
    aliases: [custom_components.ocpp]
    depends_on: [ha_core]
  abb_terra:
    aliases: [terra]
    depends_on: [ha_ocpp]
  ha_core: {}
`);
  const input = (message: string) => ({
    graph: home,
    event: trigger({
      service: 'ha_ocpp',
      eventType: 'CHARGER_UNAVAILABLE',
      errorCode: 'EntitiesUnavailable',
      message,
    }),
    logs: [],
    changes: [
      change({
        id: 'fw-abb-terra-1.8.32',
        service: 'abb_terra',
        kind: 'firmware',
        summary: 'ABB Terra AC firmware 1.8.21 -> 1.8.32',
        agoMs: 29 * HOUR,
      }),
      change({
        id: 'cfg-ha-ocpp-measurands',
        service: 'ha_ocpp',
        kind: 'config',
        summary: 'MeterValuesSampledData += Current.Offered',
        agoMs: 46 * HOUR,
      }),
    ],
  });

  test('is a candidate, although it depends on the failing service, and its update is blamed', () => {
    const r = run(
      input('terra connected (vendor ABB, firmware 1.8.32 detected) but all entities stay unavailable'),
    );
    expect(r.hypotheses[0]!.service).toBe('abb_terra');
    expect(r.hypotheses[0]!.change?.id).toBe('fw-abb-terra-1.8.32');
  });

  test('is not for a version only the trigger details state (the reporter stating its own)', () => {
    const r = run({
      ...input('terra connected but all entities stay unavailable'),
      event: trigger({
        service: 'ha_ocpp',
        eventType: 'CHARGER_UNAVAILABLE',
        errorCode: 'EntitiesUnavailable',
        message: 'terra connected but all entities stay unavailable',
        details: { chargerFirmware: '1.8.32' },
      }),
    });
    expect(r.hypotheses.map((h) => h.service)).not.toContain('abb_terra');
  });

  test('is not when the trigger does not quote the version its change installed', () => {
    const r = run(input('terra connected but all entities stay unavailable'));
    expect(r.hypotheses.map((h) => h.service)).not.toContain('abb_terra');
  });
});

describe('a failure whose lines began long before the trigger', () => {
  // victronenergy/dbus_modbustcp#12: the GX updated itself to Venus OS 2.80, and from six minutes
  // later every poll of register 777 failed; evcc's own upgrade came that evening, the alert two
  // days on.
  const site = graphOf(`
services:
  evcc:
    depends_on: [venus_gx]
  venus_gx: {}
`);
  const gx =
    'Error processing function code 3, unit id 226, start address 777, quantity 1: Modbus address 777 is not registered';
  const pv = "[site  ] pv power: modbus: exception '2' (illegal data address), function '3'";
  const input = (): Parameters<typeof run>[0] & { history: PatternHistory[] } => ({
    graph: site,
    event: trigger({ service: 'evcc', eventType: 'PV_SURPLUS_UNAVAILABLE', errorCode: 'IllegalDataAddress' }),
    logs: [log('venus_gx', 'warn', gx, 90.02), log('evcc', 'error', pv, 90, true)],
    history: [
      { ...chronic('venus_gx', messagePattern(gx), 96), began: T - 56 * HOUR },
      { ...chronic('evcc', messagePattern(pv), 96), began: T - 56 * HOUR },
    ],
    changes: [
      change({
        id: 'fw-venus-os-2.80',
        service: 'venus_gx',
        kind: 'firmware',
        summary: 'Venus OS v2.73 -> v2.80 (automatic update)',
        agoMs: 56 * HOUR + 6 * MIN,
      }),
      change({
        id: 'deploy-evcc-0.94',
        service: 'evcc',
        kind: 'deploy',
        summary: 'evcc 0.93 -> 0.94 (apt upgrade)',
        agoMs: 40 * HOUR,
      }),
    ],
  });

  test('ages a change from when they began; a change after they began did not start them', () => {
    const r = run(input());
    expect(r.hypotheses[0]!.service).toBe('venus_gx');
    expect(r.hypotheses[0]!.change?.id).toBe('fw-venus-os-2.80');
    const evcc = r.hypotheses.find((h) => h.service === 'evcc')!;
    expect(evcc.reasons.join('\n')).toContain("the failure's lines had all begun before it");
  });

  test('does not without a known beginning', () => {
    const none = input();
    none.history = none.history.map(({ began: _, ...h }) => h);
    expect(
      run(none)
        .hypotheses.find((h) => h.service === 'evcc')!
        .reasons.join('\n'),
    ).not.toContain('had all begun');
  });
});

describe('a failing service that reports losing a peer', () => {
  // dingo35/SmartEVSE-3.5#11: the Eastron EV meter answers so slowly that SmartEVSE's requests
  // time out and overwrite each other; a debug build flashed the evening before logs it all.
  const box = graphOf(`
services:
  smartevse:
    depends_on: [ev_meter, sensorbox, rs485_bus]
  ev_meter:
    aliases: [EV meter]
    depends_on: [rs485_bus]
  sensorbox:
    depends_on: [rs485_bus]
  rs485_bus: {}
`);
  const cid = 'smartevse-evmeter-20240306';
  const input = () => ({
    graph: box,
    event: trigger({
      service: 'smartevse',
      eventType: 'EV_METER_IMPLAUSIBLE',
      errorCode: 'EVMeterPowerImplausible',
      message: 'EV meter power stuck at 2368-2377 W while charging',
      correlationId: cid,
    }),
    logs: [
      log(
        'smartevse',
        'warn',
        '(MBhandleError)(C0) Error response: E0 - Timeout, address: 09, function: 10, reg: 0020.',
        200,
        true,
      ),
      log(
        'smartevse',
        'warn',
        '(ModbusSend8)(C0) Error outstanding request address: 0x66, function: 0x04. Overwriting Request',
        199.9,
        true,
      ),
      log('smartevse', 'error', 'EV meter power implausible: 2371 W', 60, true),
    ],
    changes: [
      change({
        id: 'fw-smartevse-debug',
        service: 'smartevse',
        kind: 'firmware',
        summary: 'flashed debug build (verbose Modbus logging)',
        agoMs: 13 * HOUR,
      }),
    ],
  });

  test('counts its own lines a quarter: they are about the peer', () => {
    const r = run(input());
    expect(r.hypotheses[0]!.service).toBe('ev_meter');
    const own = r.hypotheses.find((h) => h.service === 'smartevse')!;
    expect(own.reasons.join('\n')).toContain('lost or named a peer, so its own lines count a quarter');
  });
});

describe("the failing service's own change record", () => {
  const site = graphOf(`
services:
  ocpp:
    depends_on: [csms]
  csms: {}
`);
  const input = (files: string[] = []) => ({
    graph: site,
    event: trigger({ service: 'ocpp', eventType: 'OCPP_DISCONNECT', errorCode: 'BootNotificationRejected' }),
    changes: [
      change({
        id: 'deploy-ocpp-2024.9',
        service: 'ocpp',
        kind: 'deploy',
        summary: 'EVerest 2024.9.0 (OCPP module)',
        files,
        agoMs: 2 * HOUR,
      }),
      change({
        id: 'deploy-csms-4.2',
        service: 'csms',
        kind: 'deploy',
        summary: 'CSMS 4.2 rollout (OCPP endpoint)',
        agoMs: 2 * HOUR,
      }),
    ],
  });

  test('counts less than a dependency’s equally recent one: it is the service updated around a failure', () => {
    const r = run(input());
    expect(r.hypotheses[0]!.service).toBe('csms');
    expect(r.hypotheses.find((h) => h.service === 'ocpp')!.reasons.join('\n')).toContain(
      "the failing service's own change record: counts 0.7",
    );
  });
});

describe('a change made while the failing session was already failing', () => {
  // CJNE/ha-myenergi#645 (fresh-6 m-05's source): the myenergi API was down and the integration's
  // "server request problem" errors ran for hours; the owner's Eddi firmware update and new API key
  // came while it was failing.
  const home = graphOf(`
services:
  ha_myenergi:
    depends_on: [pymyenergi, myenergi_hub]
  pymyenergi: {}
  myenergi_hub:
    depends_on: [myenergi_cloud]
  myenergi_cloud: {}
  eddi:
    depends_on: [myenergi_hub]
`);
  const cid = 'myenergi-api-20250427';
  const input = (sessionBegan?: number): Parameters<typeof run>[0] => ({
    graph: home,
    event: trigger({
      service: 'ha_myenergi',
      eventType: 'INTEGRATION_SETUP_FAILED',
      errorCode: 'ServerRequestProblem',
      correlationId: cid,
      message:
        "myenergi integration shows 'Failed setup, will retry'; the Eddi is reachable in the myenergi app",
    }),
    logs: [
      log('pymyenergi', 'error', 'Myenergi server request problem', 200, true),
      log(
        'ha_myenergi',
        'error',
        'Error fetching myenergi data: Myenergi server request problem',
        199.9,
        true,
      ),
    ],
    history: [
      {
        ...chronic('pymyenergi', messagePattern('Myenergi server request problem'), 18),
        firstTs: T - 4 * HOUR - 36 * MIN,
      },
      {
        ...chronic(
          'ha_myenergi',
          messagePattern('Error fetching myenergi data: Myenergi server request problem'),
          18,
        ),
        firstTs: T - 4 * HOUR - 36 * MIN,
      },
    ],
    changes: [
      change({
        id: 'fw-eddi-3202S5.385',
        service: 'eddi',
        kind: 'firmware',
        summary: 'Eddi v2 firmware update from the myenergi app (3202S5.380 -> 3202S5.385)',
        agoMs: 39 * MIN,
      }),
    ],
    ...(sessionBegan !== undefined ? { sessionBegan } : {}),
  });

  test('did not start it: it counts a tenth, and the report says why', () => {
    const r = run(input(T - 4 * HOUR - 36 * MIN));
    const eddi = r.hypotheses.find((h) => h.service === 'eddi')!;
    expect(eddi.change).toBeUndefined();
    expect(eddi.confidence).toBeLessThan(0.5);
    expect(eddi.reasons.join('\n')).toContain(
      'made while the failing session was already failing (since 05:05:30)',
    );
  });

  test('is blamed as before when the session began after it', () => {
    const r = run(input(T - 10 * MIN));
    const eddi = r.hypotheses.find((h) => h.service === 'eddi')!;
    expect(eddi.change?.id).toBe('fw-eddi-3202S5.385');
    expect(eddi.confidence).toBeGreaterThan(0.5);
  });
});

describe('a line naming another service', () => {
  // lbbrhzn/ocpp#1462 (fresh-4 j-16's source): Home Assistant's loader logs the integration's failed
  // import of the ocpp package that an unpinned requirement had just upgraded to 2.0.0.
  const home = graphOf(`
services:
  ha_ocpp:
    aliases: [custom_components.ocpp]
    depends_on: [ha_core]
  ocpp_lib:
    aliases: [ocpp, ocpp.v201.enums]
  ha_core:
    aliases: [homeassistant.setup, homeassistant.loader]
  alfen_charger:
    depends_on: [ha_ocpp]
`);
  const run16 = () =>
    run({
      graph: home,
      event: trigger({
        service: 'ha_ocpp',
        eventType: 'INTEGRATION_SETUP_FAILED',
        errorCode: 'ImportError',
        correlationId: 'ha-ocpp-20250103-1612',
        message:
          "Setup failed for custom integration 'ocpp': cannot import name 'ConnectorStatusType'; charger offline",
      }),
      logs: [
        log(
          'ha_core',
          'error',
          "[homeassistant.setup] Setup failed for custom integration 'ocpp': Unable to import component: cannot import name 'ConnectorStatusType' from 'ocpp.v201.enums' (/usr/local/lib/python3.13/site-packages/ocpp/v201/enums.py)",
          250,
          true,
        ),
        log(
          'ha_ocpp',
          'error',
          'Traceback (most recent call last): File "/config/custom_components/ocpp/api.py", line 20, in <module> from ocpp.v201.enums import ConnectorStatusType ImportError',
          249.9,
          true,
        ),
      ],
      changes: [
        change({
          id: 'deploy-ha-core-2025.1.0',
          service: 'ha_core',
          kind: 'deploy',
          summary: 'Home Assistant core 2024.12.5 -> 2025.1.0 (restart)',
          agoMs: 10 * MIN,
        }),
        change({
          id: 'deps-ocpp-2.0.0',
          service: 'ocpp_lib',
          kind: 'deploy',
          summary: "package install at start-up: requirement 'ocpp>=1.0.0' resolved to ocpp 2.0.0, was 1.0.0",
          agoMs: 8.5 * MIN,
        }),
      ],
    });

  test('other than as a lost peer reports on that service, not on the speaker (the host logging a plugin import failure)', () => {
    const r = run16();
    expect(r.hypotheses[0]?.service).toBe('ocpp_lib');
    expect(r.hypotheses[0]?.change?.id).toBe('deps-ocpp-2.0.0');
    const host = r.hypotheses.find((h) => h.service === 'ha_core')!;
    expect(host.evidence.some((e) => String(e.text).includes('about ocpp_lib'))).toBe(true);
  });

  test("as a peer it lost keeps the speaker's full weight (ocpp-go losing CP-0117: the server may be at fault)", () => {
    const cpo = graphOf(`
services:
  csms_core:
    depends_on: [ocpp_ws]
  ocpp_ws: {}
  cp_0117:
    aliases: [CP-0117]
`);
    const r = run({
      graph: cpo,
      event: trigger({
        service: 'csms_core',
        eventType: 'CHARGEPOINT_DISCONNECTED',
        errorCode: 'ReadTimeout',
      }),
      logs: [
        log(
          'ocpp_ws',
          'error',
          'read failed unexpectedly for CP-0117: read tcp 10.1.2.5:8887->10.1.2.9:49913: i/o timeout',
          60,
          true,
        ),
      ],
    });
    const ws = r.hypotheses.find((h) => h.service === 'ocpp_ws')!;
    expect(ws.evidence.some((e) => String(e.text).includes('about'))).toBe(false);
  });
});

describe('a trigger that states the version a change installed', () => {
  // OpenEVSE/openevse_esp32_firmware#459 (fresh-5 k-20's source): "Timed charge flipping from min to
  // max power after the V4.1.5 update"; the Wi-Fi firmware 4.1.5 went on five hours before.
  const home = graphOf(`
services:
  openevse_wifi:
    description: OpenEVSE WiFi gateway (scheduler, current shaper, firmware updates from the web UI)
    aliases: [openevse]
    depends_on: [openevse_controller, mosquitto]
  openevse_controller: {}
  mosquitto: {}
  ha_energy:
    depends_on: [mosquitto]
`);
  const input = (version: string): Parameters<typeof run>[0] => ({
    graph: home,
    event: trigger({
      service: 'openevse_wifi',
      eventType: 'CHARGE_RATE_UNSTABLE',
      errorCode: 'ChargeRateFlapping',
      message: 'Timed charge flipping from min to max power during the timer',
      details: { wifiFirmware: version, timer: '00:30-04:30' },
    }),
    logs: [
      log(
        'ha_energy',
        'error',
        'EV overnight: OpenEVSE charge rate flipped 13 times between 6 A and 32 A',
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
        agoMs: 5 * HOUR,
      }),
      change({
        id: 'deploy-ha-2022.10.5',
        service: 'ha_energy',
        kind: 'deploy',
        summary: 'Home Assistant 2022.10.4 -> 2022.10.5',
        agoMs: 4 * DAY,
      }),
    ],
  });

  test('ties that change to the failure: the station runs it', () => {
    const r = run(input('4.1.5'));
    expect(r.hypotheses[0]?.service).toBe('openevse_wifi');
    expect(r.hypotheses[0]?.change?.id).toBe('fw-openevse-wifi-4.1.5');
    expect(r.hypotheses[0]?.evidence.some((e) => e.ruleId === 'change.version')).toBe(true);
  });

  test('not the version it replaced, nor a version no change installed', () => {
    for (const v of ['4.1.4', '4.2.0']) {
      const r = run(input(v));
      expect(r.hypotheses.flatMap((h) => h.evidence).some((e) => e.ruleId === 'change.version')).toBe(false);
    }
  });
});

describe("the failing session's own pattern that began within the look-back", () => {
  // ThaStealth/alfen_modbus (fresh-6 m-09's source): since the restart into Home Assistant 2025.9.0,
  // which pulled in pymodbus 3.11.1, every refresh fails ("Error reading modbus data ... unexpected
  // keyword argument 'slave'"); the alert came thirteen hours on, after a fresh warning of the host's.
  const home = graphOf(`
services:
  alfen_modbus:
    aliases: [custom_components.alfen_modbus]
    depends_on: [pymodbus, alfen_charger, ha_core]
  pymodbus:
    aliases: [pymodbus.client]
  alfen_charger: {}
  ha_core:
    aliases: [homeassistant.core]
`);
  const cid = 'alfen-modbus-slave-20250904';
  const failing = 'Error reading modbus data';
  const input = (began?: number): Parameters<typeof run>[0] => ({
    graph: home,
    event: trigger({
      service: 'alfen_modbus',
      eventType: 'INTEGRATION_POLL_FAILED',
      errorCode: 'TypeError',
      correlationId: cid,
      message: "Alfen Modbus: every refresh fails ('unexpected keyword argument')",
    }),
    logs: [
      log('alfen_modbus', 'error', failing, 250, true),
      log(
        'ha_core',
        'warn',
        'Referenced entities number.alfen_eve_max_current are missing or not currently available',
        120,
        true,
      ),
    ],
    history: [{ ...chronic('alfen_modbus', messagePattern(failing), 78), ...(began ? { began } : {}) }],
    changes: [
      change({
        id: 'deploy-ha-2025.9.0',
        service: 'ha_core',
        kind: 'deploy',
        summary: 'Home Assistant core 2025.8.3 -> 2025.9.0 (update from the UI, restart)',
        agoMs: 13 * HOUR + 2 * MIN,
      }),
      change({
        id: 'deps-pymodbus-3.11.1',
        service: 'pymodbus',
        kind: 'deploy',
        summary: 'pymodbus 3.9.2 -> 3.11.1 (Home Assistant 2025.9.0 package constraint)',
        agoMs: 13 * HOUR + MIN,
      }),
    ],
  });

  test('is this failure going on since then, not business as usual: it dates the failure, and the change just before it started it', () => {
    const r = run(input(T - 13 * HOUR));
    expect(r.hypotheses[0]?.service).toBe('pymodbus');
    expect(r.hypotheses[0]?.change?.id).toBe('deps-pymodbus-3.11.1');
  });

  test('stays chronic without a known beginning: then the fresh warning dates the failure', () => {
    const r = run(input());
    expect(r.hypotheses[0]?.service).not.toBe('pymodbus');
  });
});

describe("a YAML rule read from the failing service's own lines", () => {
  // Sevenstax/FreeV2G#72 (dev h-08's source): the host logs every SLAC and V2G retry after the EV's
  // sequence error; the PLC modem firmware is what never restarts the session.
  const hotel = graphOf(`
services:
  dc_host:
    description: DC charger host application (SLAC and ISO 15118 / DIN 70121 session control over the PLC modem)
    depends_on: [whitebeet, psu]
  whitebeet:
    description: WHITE-beet PLC modem (SLAC, V2G firmware)
  psu: {}
`);
  test('counts as its errors do: the reporter logs about a failure whatever its root', () => {
    const r = run({
      graph: hotel,
      event: trigger({ service: 'dc_host', eventType: 'START_FAILED', errorCode: 'HlcRestartFailed' }),
      logs: [
        log(
          'dc_host',
          'error',
          'SLAC matching timed out (no CM_SLAC_PARAM.REQ from EV within 50 s), retrying',
          60,
          true,
        ),
      ],
    });
    const host = r.hypotheses.find((h) => h.service === 'dc_host')!;
    const slac = host.evidence.find((e) => e.ruleId === 'ev.log.slac' && e.kind === 'rule');
    expect(slac?.weight).toBe(0.75);
    expect(host.reasons.join('\n')).toContain("in the failing service's own lines: counts 0.5");
  });
});

describe('a cloud API answering with a server error', () => {
  // gndean/home-assistant-hypervolt-charger#70 (fresh-7 n-07's source): "error from API, status: 502"
  // for days while Hypervolt's cloud was not serving V2 units; nothing had changed at home.
  const home = graphOf(`
services:
  hypervolt_integration:
    depends_on: [hypervolt_cloud, ha_core]
  hypervolt_cloud:
    description: Hypervolt cloud (api.hypervolt.co.uk REST and wss)
  ha_core: {}
`);
  const saying = (message: string) =>
    run({
      graph: home,
      event: trigger({
        service: 'hypervolt_integration',
        eventType: 'CHARGER_UNREACHABLE',
        errorCode: 'NoUpdates',
      }),
      logs: [log('hypervolt_integration', 'error', message, 90, true)],
    });
  const withStatus = (status: number) =>
    saying(`Update_state_from_schedule, error from API, status: ${status}`);
  const ruled = (r: ReturnType<typeof run>) =>
    r.hypotheses
      .find((h) => h.service === 'hypervolt_cloud')
      ?.evidence.some((e) => e.ruleId === 'ev.log.server-error') ?? false;

  test("points at the server (RFC 9110 §15.6: a 5xx is the server's failure)", () => {
    expect(ruled(withStatus(502))).toBe(true);
    expect(ruled(withStatus(503))).toBe(true);
  });

  test('not a 4xx: that status judges the request', () => {
    expect(ruled(withStatus(401))).toBe(false);
  });

  test("in pyeasee's words too: 'Server failure(504: https://...)' (nordicopen/easee_hass#191)", () => {
    expect(
      ruled(saying('Server failure(504: https://api.hypervolt.co.uk/charger/by-id/4711/schedule)')),
    ).toBe(true);
  });
});

describe("OCPP rules about the charger's client", () => {
  // sap-labs-france/ev-server#2761 (fresh-7 n-14's source): the server refuses a new station's
  // handshake ("Web Socket Protocol is mandatory"); the station sent no OCPP subprotocol.
  const cpo = graphOf(`
services:
  ev_server_ws:
    description: ev-server JSON OCPP 1.6 WebSocket server (JsonOCPPServer, OCPPService)
    aliases: [JsonOCPPServer]
  charging_station:
    description: The operator's OCPP 1.6J charging stations
    aliases: [TXOB-AC22-0007]
    depends_on: [ev_server_ws]
`);
  test('do not take an OCPP server for the sender of what it received', () => {
    const r = run({
      graph: cpo,
      event: trigger({
        service: 'ev_server_ws',
        eventType: 'STATION_CONNECT_FAILED',
        errorCode: 'WSProtocolMissing',
      }),
      logs: [
        log(
          'ev_server_ws',
          'warn',
          '[JsonOCPPServer] TXOB-AC22-0007: connection closed with code 1002 before BootNotification',
          60,
          true,
        ),
      ],
    });
    const sender = (s: string) =>
      r.hypotheses
        .find((h) => h.service === s)
        ?.evidence.some((e) => e.ruleId === 'ev.ocpp.sender-violation') ?? false;
    expect(sender('charging_station')).toBe(true);
    expect(sender('ev_server_ws')).toBe(false);
  });
});

describe('a failing service that logged first with no trail behind it', () => {
  // evcc's loadpoint reporting "charger logic error" while the Easee charger behind the cloud API,
  // which never logs, had gone dead (the cloud's reconnects came later): logging first is what the
  // failing service does whatever the root, when the root cannot speak.
  const site = graphOf(`
services:
  evcc_core:
    description: evcc site and loadpoint lp-1
    depends_on: [easee_api, grid_meter]
  easee_api:
    description: Easee cloud API (SignalR stream)
    depends_on: [easee_charger]
  easee_charger:
    description: Easee Home charger
  grid_meter:
    description: Huawei SUN2000 grid meter
`);
  test('did not fail first for that: the onset is not credited to it', () => {
    const r = run({
      graph: site,
      event: trigger({ service: 'evcc_core', eventType: 'CHARGER_FAULT', errorCode: 'ChargerLogicError' }),
      logs: [
        log('evcc_core', 'error', 'lp-1 charger logic error: disabled but charging', 240),
        log('evcc_core', 'error', 'lp-1 charge power 7280W while charger disabled', 180),
        log('easee_api', 'warn', 'SignalR stream reconnecting (attempt 3)', 120),
      ],
    });
    expect(rulesOf(r, 'evcc_core')).not.toContain('logs.onset');
    expect(r.hypotheses.flatMap((h) => h.evidence).map((e) => e.ruleId)).not.toContain('logs.onset');
  });
});

describe("the failing service's lines that name another candidate", () => {
  // hardbyte/ha-evnex#17 after python-evnex 0.3.6: the integration's platforms failing with "cannot
  // import name 'Evnex' from 'evnex'", its own update twenty minutes old. What it says is about the
  // library it names, like a reporter that lost a peer (on the 157 development triggers such a
  // reporter was the root 0 times in 58).
  const site = graphOf(`
services:
  ha_evnex:
    description: Evnex custom integration (switch, number, sensor platforms)
    aliases: [custom_components.evnex]
    depends_on: [python_evnex, evnex_cloud, ha_core]
  python_evnex:
    description: python-evnex client library
    aliases: [evnex]
  evnex_cloud:
    description: Evnex cloud API
  ha_core:
    description: Home Assistant core
`);
  test('are about that one: the library it names is ranked above its own update', () => {
    const r = run({
      graph: site,
      event: trigger({
        service: 'ha_evnex',
        eventType: 'INTEGRATION_SETUP_FAILED',
        errorCode: 'PlatformNotReady',
      }),
      logs: [
        log(
          'ha_evnex',
          'error',
          "Error while setting up evnex platform for switch: cannot import name 'Evnex' from 'evnex'",
          240,
        ),
        log(
          'ha_evnex',
          'error',
          "Error while setting up evnex platform for number: cannot import name 'Evnex' from 'evnex'",
          239,
        ),
        log(
          'ha_evnex',
          'error',
          'Unexpected error fetching evnex charge point data: KeyError: chargePoints',
          200,
        ),
        log('ha_evnex', 'error', 'Charge-now switch for evnex charger E2-0178 unavailable after setup', 180),
      ],
      changes: [
        change({
          id: 'evnex-0.3.6',
          service: 'python_evnex',
          kind: 'deploy',
          summary: 'python-evnex 0.3.5 -> 0.3.6',
          agoMs: 150 * MIN,
        }),
        change({
          id: 'ha-evnex-0.4.0',
          service: 'ha_evnex',
          kind: 'deploy',
          summary: 'Evnex integration 0.3.1 -> 0.4.0',
          agoMs: 20 * MIN,
        }),
      ],
    });
    expect(r.hypotheses[0]?.service).toBe('python_evnex');
    expect(r.hypotheses.find((h) => h.service === 'ha_evnex')?.reasons.join(' ')).toContain(
      'count a quarter',
    );
  });
});

describe('a failure that began right after a change', () => {
  /** Depot charge point controllers behind haproxy in front of the central system (ChargeTimeEU/Java-OCA-OCPP#69). */
  const depot = graphOf(`
services:
  cp_controller:
    description: in-house charge point controller (Java-OCA-OCPP 0.4 JSONClient)
    depends_on: [haproxy]
  haproxy:
    description: TLS termination and WebSocket proxy
    depends_on: [csms_core]
  csms_core:
    description: central system (Java-OCA-OCPP JSONServer)
`);
  const failure = {
    graph: depot,
    event: trigger({
      service: 'cp_controller',
      eventType: 'CP_BACKEND_UNREACHABLE',
      errorCode: 'Http404UpgradeFailure',
      correlationId: null,
      message: "handshake answered 'HTTP/1.1 404 WebSocket Upgrade Failure'",
    }),
    windowMs: 60 * MIN,
    logs: [
      log(
        'cp_controller',
        'error',
        'onError: Invalid status code received: 404 Status line: HTTP/1.1 404 WebSocket Upgrade Failure',
        47 * 60,
      ),
      log('cp_controller', 'warn', 'disconnected (code -1, remote=false), retry in 60 s', 47 * 60 - 1),
    ],
  };
  const decoy = change({
    id: 'cfg-haproxy-timeout-tunnel',
    service: 'haproxy',
    kind: 'config',
    summary: 'haproxy.cfg: timeout tunnel 1h -> 2h for ws-in',
    agoMs: 13 * HOUR,
  });
  const deploy = change({
    id: 'deploy-csms-core-2.7.0',
    service: 'csms_core',
    kind: 'deploy',
    summary: 'csms-core 2.6.3 -> 2.7.0: java-oca-ocpp 0.4 -> 0.5-SNAPSHOT',
    agoMs: 48 * MIN,
  });

  test('the deploy a minute before the first error outranks a closer service changed the night before', () => {
    const r = run({ ...failure, changes: [decoy, deploy] });
    expect(r.hypotheses[0]?.service).toBe('csms_core');
    expect(r.hypotheses[0]?.change?.id).toBe('deploy-csms-core-2.7.0');
    expect(rulesOf(r, 'csms_core')).toContain('change.immediate');
  });

  test('a change that came long before the first error gets nothing for timing', () => {
    const r = run({ ...failure, changes: [decoy, { ...deploy, timestamp: T - 5 * HOUR }] });
    expect(rulesOf(r, 'csms_core')).not.toContain('change.immediate');
    expect(rulesOf(r, 'haproxy')).not.toContain('change.immediate');
  });

  test('a change made after the failure had begun is no beginning', () => {
    const r = run({ ...failure, changes: [decoy, { ...deploy, timestamp: T - 40 * MIN }] });
    expect(rulesOf(r, 'csms_core')).not.toContain('change.immediate');
  });
});

describe('a pattern with a known beginning', () => {
  const decode = 'ocpp_agent::auth: failed to decode AuthorizeResponse: missing field `cacheExpiryDateTime`';
  const charger = graphOf(`
services:
  evse_manager:
    depends_on: [ocpp_agent]
  ocpp_agent:
    description: OCPP 2.0.1 agent (rust-ocpp)
`);
  const failure = {
    graph: charger,
    event: trigger({
      service: 'evse_manager',
      eventType: 'AUTHORIZATION_FAILED',
      errorCode: 'AuthTimeout',
      correlationId: null,
    }),
    logs: [log('ocpp_agent', 'error', decode, 130)],
  };
  const since = (beganAgo: number) => ({
    service: 'ocpp_agent',
    pattern: messagePattern(decode),
    count: 9,
    firstTs: T - beganAgo,
    sampled: false,
    began: T - beganAgo,
  });
  const noveltyOf = (r: ReturnType<typeof run>) =>
    r.hypotheses
      .find((h) => h.service === 'ocpp_agent')
      ?.evidence.find((e) => e.ruleId === 'logs.errors')
      ?.text.match(/\[(new|spiking|chronic)/)?.[1];

  test('that began 40 minutes before the window is this failure going on, not routine', () => {
    expect(noveltyOf(run({ ...failure, history: [since(45 * MIN)] }))).toBe('new');
  });

  test('one that began days ago, at a steady rate since, is routine', () => {
    expect(noveltyOf(run({ ...failure, history: [{ ...since(3 * DAY), count: 900 }] }))).toBe('chronic');
  });
});

describe("the failing service's own configuration record", () => {
  // stevebuk1/pv_opt#410: Octopus Energy 16.0.0 changed the dispatching sensor's attributes; pv_opt's
  // charger settings had been edited half an hour before its KeyError.
  const home = graphOf(`
services:
  pv_opt:
    files: [apps/pv_opt/pv_opt.py, apps/pv_opt/pvpy.py, apps/pv_opt/config/config.yaml]
    depends_on: [octopus_energy]
  octopus_energy:
    aliases: [Octopus Energy Integration]
    files: [custom_components/octopus_energy/]
`);
  const failure = {
    graph: home,
    event: trigger({
      service: 'pv_opt',
      eventType: 'OPTIMISER_FAILED',
      errorCode: 'KeyError',
      correlationId: null,
    }),
    windowMs: 60 * MIN,
    logs: [
      log('pv_opt', 'error', "1546: 'charge_in_kwh'", 6 * 60),
      log('pv_opt', 'warn', 'Failed to find tariff from Octopus Energy Integration', 6 * 60 - 1),
      log('pv_opt', 'error', 'Reverting to previous contract', 5 * 60),
    ],
    changes: [
      change({
        id: 'hacs-octopus-energy-16.0.0',
        service: 'octopus_energy',
        kind: 'deploy',
        summary: 'HACS: Octopus Energy 15.3.0 -> 16.0.0 (attributes of the dispatching sensor changed)',
        agoMs: 56 * MIN,
      }),
      change({
        id: 'cfg-pvopt-ev-charger-power',
        service: 'pv_opt',
        kind: 'config',
        summary: 'pv_opt config.yaml: ev_charger_power 7000 -> 6900',
        files: ['apps/pv_opt/config/config.yaml'],
        agoMs: 30 * MIN,
      }),
    ],
  };

  test('is no edit of its code: its errors still count as a reporter’s, and the dependency they name leads', () => {
    const r = run(failure);
    const own = r.hypotheses.find((h) => h.service === 'pv_opt')?.reasons.join('\n');
    expect(own).toContain('it reported the failure');
    expect(r.hypotheses[0]?.service).toBe('octopus_energy');
  });
});

describe('a module the EVerest manager reports dead', () => {
  // EVerest/libevse-security#82: EvseSecurity terminates on a missing OCSP directory; the manager
  // then stops every module, and the OCPP link drops. The map gives it no edges and no module type
  // (so no manifest implies the edge).
  const pilot = graphOf(`
services:
  ocpp:
    module: OCPP201
    depends_on: [evse_manager, csms]
  evse_manager:
    module: EvseManager
  csms:
    description: CPO CSMS
  evse_security:
    description: certificate store and OCSP cache (libevse-security)
  everest_manager:
    aliases: [manager]
`);
  const failure = (dead: string) => ({
    graph: pilot,
    event: trigger({
      service: 'ocpp',
      eventType: 'STATION_OFFLINE',
      errorCode: 'RepeatedReconnect',
      correlationId: null,
    }),
    logs: [
      log(
        'evse_security',
        'fatal',
        "terminate called after throwing an instance of 'std::filesystem::__cxx11::filesystem_error'",
        200,
      ),
      log(
        'everest_manager',
        'fatal',
        `Module ${dead} (pid: 6120) exited with status: 134. Terminating all modules.`,
        199.7,
      ),
      log('ocpp', 'warn', 'Connection to CSMS lost, reconnecting', 190),
    ],
  });

  test('is considered and leads, with the edge the map may be missing', () => {
    const r = run(failure('evse_security'));
    expect(r.hypotheses[0]?.service).toBe('evse_security');
    expect(r.mapSuggestions).toContainEqual(
      expect.objectContaining({ service: 'ocpp', dependsOn: 'evse_security' }),
    );
  });

  test('a name the map does not know is not made up into a service', () => {
    const r = run(failure('iso15118_charger'));
    expect(r.hypotheses.map((h) => h.service)).not.toContain('iso15118_charger');
  });
});

describe('a changed service whose trouble began after the failure', () => {
  // EVerest DC charger: the power meter's Modbus link fails first, the EVSE manager stops the
  // session; OCPP, updated in the morning, only queues the resulting TransactionEvent afterwards.
  const charger = graphOf(`
services:
  evse_manager:
    depends_on: [powermeter, ocpp]
  powermeter:
    description: GenericPowermeter over Modbus RTU (SerialCommHub)
  ocpp:
    description: OCPP 2.0.1 (libocpp)
`);
  const failure = {
    graph: charger,
    event: trigger({
      service: 'evse_manager',
      eventType: 'SESSION_DROP',
      errorCode: 'EmergencyStop',
      correlationId: null,
      message: 'charging session stopped by the EVSE manager',
    }),
    logs: [
      log('powermeter', 'error', 'Modbus read of register 0x5000 failed: Packet receive timeout', 4 * 60),
      log('evse_manager', 'error', 'no energy values for 30 s, stopping transaction', 3 * 60),
      log('ocpp', 'warn', 'TransactionEvent(Ended) queued: message queue not empty (3 pending)', 2 * 60),
    ],
    changes: [
      change({
        id: 'deploy-ocpp-2024-04',
        service: 'ocpp',
        kind: 'deploy',
        summary: 'everest-core 2024.4.0: libocpp v0.14 (TransactionEvent queueing rework)',
        agoMs: 40 * MIN,
      }),
    ],
  };

  test('has its change count half, and the service where the trail starts leads', () => {
    const r = run(failure);
    expect(r.hypotheses[0]?.service).toBe('powermeter');
    const ocpp = r.hypotheses.find((h) => h.service === 'ocpp');
    expect(ocpp?.reasons.join(' ')).toContain("off the failure's trail");
  });
});

describe('a warning as old as its service’s records', () => {
  // CJNE/ha-myenergi#208: the myenergi cloud stopped answering; the Home Assistant host had been
  // logging another integration's rate-limit warnings all along, since its records began.
  const home = graphOf(`
services:
  ha_myenergi:
    description: myenergi custom integration (pymyenergi)
    depends_on: [home_assistant, myenergi_cloud]
  home_assistant:
    description: Home Assistant Core
  myenergi_cloud:
    description: myenergi director and servers (s18.myenergi.net)
`);
  const rateLimited =
    '[homeassistant.components.octopus_energy] Failed to retrieve rates: 429 Too Many Requests';
  const failure = {
    graph: home,
    event: trigger({
      service: 'ha_myenergi',
      eventType: 'INTEGRATION_UNAVAILABLE',
      errorCode: 'SERVER_REQUEST_PROBLEM',
      correlationId: null,
      message: 'myenergi integration unavailable: Myenergi server request problem',
    }),
    logs: [
      log('home_assistant', 'warn', rateLimited, 280),
      log('home_assistant', 'warn', rateLimited, 200),
      log('home_assistant', 'warn', rateLimited, 120),
      log('ha_myenergi', 'error', '[pymyenergi.connection] Myenergi server request problem', 150),
      log('ha_myenergi', 'error', '[pymyenergi.connection] Myenergi server request problem', 90),
    ],
  };
  // Seen at the same rate for the 50 minutes the store has records of the host (a fresh install).
  const since = (began?: number) => ({
    service: 'home_assistant',
    pattern: messagePattern(rateLimited),
    count: 38,
    firstTs: T - 55 * MIN,
    sampled: false,
    ...(began !== undefined ? { began } : {}),
  });
  const noveltyOf = (r: ReturnType<typeof run>) =>
    r.hypotheses
      .find((h) => h.service === 'home_assistant')
      ?.evidence.find((e) => e.ruleId === 'logs.errors')
      ?.text.match(/\[(new|spiking|chronic)/)?.[1];

  test('is routine at its own rate, and the host does not start the trail', () => {
    const r = run({ ...failure, history: [since()] });
    expect(noveltyOf(r)).toBe('chronic');
    expect(rulesOf(r, 'home_assistant')).not.toContain('logs.onset');
  });

  test('is a spike when the host was logging before it began', () => {
    expect(noveltyOf(run({ ...failure, history: [since(T - 3 * HOUR)] }))).toBe('spiking');
  });
});

describe('a pattern seen once before the window', () => {
  // nordicopen/easee_hass#600: the Easee cloud answered 503 once at 21:06, then again and again.
  const home = graphOf(`
services:
  easee_integration:
    description: easee_hass custom integration (pyeasee)
    depends_on: [easee_cloud]
  easee_cloud:
    description: Easee cloud API (api.easee.com)
    aliases: [api.easee.com]
`);
  const failure = '[pyeasee.easee] Server failure(503: https://api.easee.com/api/accounts/login)';
  const input = {
    graph: home,
    event: trigger({
      service: 'easee_integration',
      eventType: 'INTEGRATION_UNAVAILABLE',
      errorCode: 'CONFIG_ENTRY_AUTH_FAILED',
      correlationId: null,
    }),
    logs: [200, 140, 80].map((s) => log('easee_integration', 'warn', failure, s)),
    history: [
      {
        service: 'easee_integration',
        pattern: messagePattern(failure),
        count: 1,
        firstTs: T - 20 * MIN,
        sampled: false,
      },
    ],
  };

  test('has no rate of its own yet: three more in the window are a spike, not routine', () => {
    const text = run(input)
      .hypotheses.find((h) => h.service === 'easee_integration')
      ?.evidence.find((e) => e.ruleId === 'logs.errors')?.text;
    expect(text).toContain('[spiking');
  });
});

describe("a line's leading logger tag", () => {
  // custom-components/zaptec#144: the automation's error is logged under Home Assistant's
  // automation logger; it is the automation speaking about the Zaptec command, not about the host.
  const home = graphOf(`
services:
  cheap_hours:
    description: automation 'Billigste timer' (starts charging in the cheapest hours)
    depends_on: [zaptec_integration, home_assistant]
  zaptec_integration:
    description: Zaptec custom integration
    aliases: [custom_components.zaptec]
    depends_on: [zaptec_cloud, home_assistant]
  zaptec_cloud:
    description: Zaptec cloud API (api.zaptec.com)
    aliases: [api.zaptec.com]
  home_assistant:
    description: Home Assistant Core
    aliases: [homeassistant]
`);
  const r = run({
    graph: home,
    event: trigger({
      service: 'cheap_hours',
      eventType: 'CHARGER_CONTROL_FAILED',
      errorCode: 'SEND_COMMAND_TIMEOUT',
      correlationId: null,
    }),
    logs: [
      log(
        'cheap_hours',
        'error',
        "[homeassistant.components.automation.billigste_timer] Billigste timer: Error executing script: Command 'resume_charging' failed",
        120,
      ),
      log(
        'cheap_hours',
        'error',
        '[homeassistant.components.automation.billigste_timer] Billigste timer: call_service at pos 2 timed out',
        60,
      ),
    ],
  });

  test('names the speaker, not a service the line is about', () => {
    expect(rulesOf(r, 'home_assistant')).not.toContain('logs.mention');
  });
});

// fresh-10 q-11's shape (home-assistant/core, Tibber): the Tibber API answers 504, the Tibber
// integration between it and EV Smart Charging logs every failed fetch, then the price sensor goes.
describe('a candidate whose every new line is about a dependency it lost', () => {
  const home = graphOf(`
services:
  ev_smart_charging:
    depends_on: [tibber]
  tibber:
    aliases: [homeassistant.components.tibber]
    depends_on: [tibber_api]
  tibber_api:
    aliases: [api.tibber.com]
`);
  const fetch = (s: number) =>
    log(
      'tibber',
      'error',
      '[tibber] Fatal error interacting with Tibber API, HTTP status: 504. API error: UNKNOWN / Unexpected content type: text/html',
      s,
    );
  const r = run({
    graph: home,
    event: trigger({
      service: 'ev_smart_charging',
      eventType: 'CHARGE_PLAN_MISSING',
      errorCode: 'PriceSensorUnavailable',
      correlationId: null,
    }),
    windowMs: 30 * MIN,
    logs: [
      fetch(900),
      fetch(600),
      fetch(300),
      log('ev_smart_charging', 'warn', 'Price sensor sensor.electricity_price_hjem is unavailable', 280),
    ],
  });

  test('relays it: its lines count less, and it did not fail first for noticing', () => {
    const integration = r.hypotheses.find((h) => h.service === 'tibber');
    expect(integration?.reasons.join('\n')).toContain(
      `its new lines are about tibber_api, which it depends on: they count ${RELAY}`,
    );
    expect(integration?.evidence.some((e) => e.ruleId === 'logs.onset')).toBe(false);
    expect(r.hypotheses[0]?.service).toBe('tibber_api');
  });
});

describe('a candidate that loses contact with what nobody maps', () => {
  // The DC meter's own HTTP timeouts to its device (LEM DCBM) name no mapped service: they are its
  // failure, not a relay of its broker's.
  const r = run({
    event: trigger({ eventType: 'SESSION_DROP', errorCode: 'PowermeterTransactionStartFailed' }),
    logs: [
      log('powermeter_dc', 'error', 'HTTP request to DCBM /v1/legal timed out after 3000 ms', 20),
      log('powermeter_dc', 'error', 'HTTP request to DCBM /v1/legal timed out after 3004 ms', 12),
    ],
  });

  test('is no relay: its lines count as its own', () => {
    const meter = r.hypotheses.find((h) => h.service === 'powermeter_dc');
    expect(meter?.reasons.join('\n')).not.toContain('its new lines are about');
    expect(r.hypotheses[0]?.service).toBe('powermeter_dc');
  });
});
