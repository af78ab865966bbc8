import { byClass, type CulpritSpec, type FaultTemplate, vendorCode } from '../chain.ts';

const dc = (f: { current: string | null }) => f.current === 'DC';

/** A firmware flash record with one consistent from -> to version pair. */
function flash(
  rng: { pick<T>(items: readonly T[]): T },
  what: string,
  pairs: Array<[string, string]>,
  tail: string,
): CulpritSpec {
  const [from, to] = rng.pick(pairs);
  return { kind: 'firmware', summary: `${what} firmware ${from} -> ${to} ${tail}`, version: to };
}
const ac = (f: { current: string | null }) => f.current === 'AC';

/** Power module (CAN) faults: bus-off, lost status frames, a driver regression, a module firmware flash. */
const psuCan: FaultTemplate = {
  id: 'psu-can-comm',
  title: 'DC power module stops answering on CAN; EvseManager faults the session',
  classes: ['dependency-regression', 'runtime', 'config-firmware'],
  failing: ['evse_manager'],
  root: 'powersupply_dc',
  when: dc,
  build: (ctx) => {
    const { rng, cls } = ctx;
    const mod = `0x${rng.pick(['01', '02', '3f', '0a'])}`;
    const can = rng.pick(['can0', 'can1']);
    const code = rng.pick(['power_supply_DC/CommunicationFault', 'MREC11CableCheckFault', 'OtherError']);
    return {
      trigger: rng.pick(['power_module_fault', 'charging_fault'] as const),
      errorCode: code,
      eventMessage: `Power supply communication fault on connector ${ctx.session.connector}`,
      details: { connector: String(ctx.session.connector), vendorErrorCode: vendorCode[code] ?? 'CX013' },
      root: byClass(cls, {
        runtime: [
          {
            level: 'warn',
            msg: `CAN rx timeout: no status frame from module ${mod} for ${rng.int(300, 900)} ms`,
          },
          {
            level: 'warn',
            msg: `${can}: error counter tx=${rng.int(96, 127)} rx=${rng.int(0, 40)} (error passive)`,
          },
          { level: 'error', msg: `${can}: bus-off detected, restarting interface` },
          {
            level: 'error',
            msg: `Module ${mod} communication lost, raising power_supply_DC/CommunicationFault`,
          },
        ],
        'config-firmware': [
          { level: 'warn', msg: `Module ${mod} reports protocol version 3.2, driver expects 3.1` },
          { level: 'warn', msg: `Unknown status frame id 0x1207${mod.slice(2)}c0 (len 8), ignored` },
          { level: 'error', msg: `Module ${mod} did not acknowledge setpoint within 1000 ms` },
          { level: 'error', msg: 'Raising power_supply_DC/CommunicationFault' },
        ],
        default: [
          { level: 'warn', msg: `Dropped status frame from module ${mod}: unexpected payload` },
          { level: 'warn', msg: `Dropped status frame from module ${mod}: unexpected payload` },
          { level: 'error', msg: `No valid telemetry from module ${mod} for 2000 ms` },
          { level: 'error', msg: 'Raising power_supply_DC/CommunicationFault' },
        ],
      }),
      failing: {
        specific: `Power supply ${ctx.logName(ctx.root)} raised power_supply_DC/CommunicationFault, shutting down output`,
        generic: `Timeout in state PrepareCharging after ${rng.int(10, 30)} s, stopping session`,
      },
      aftermath: [
        ['info', 'Stopping transaction (reason: Other)'],
        ['warn', `Raising error evse_manager/Inoperative on connector ${ctx.session.connector}`],
      ],
      culprit: byClass<CulpritSpec | undefined>(cls, {
        'config-firmware': flash(
          rng,
          `${ctx.root.moduleType} module`,
          [
            ['V1.32', 'V1.40'],
            ['V2.03', 'V2.10'],
            ['V4.11', 'V4.20'],
          ],
          'flashed on all modules',
        ),
        default: { kind: 'code', tags: ['can'] } as const,
      }),
    };
  },
};

/** A gap in the PSU measurement stream fails the cable check (EVerest#2682). */
const psuMeasurementGap: FaultTemplate = {
  id: 'psu-measurement-gap',
  title: 'Gap in the power supply voltage/current stream fails the cable check',
  classes: ['dependency-regression', 'runtime'],
  failing: ['evse_manager'],
  root: 'powersupply_dc',
  when: dc,
  build: (ctx) => {
    const { rng } = ctx;
    return {
      trigger: 'cable_check_fault',
      errorCode: 'MREC11CableCheckFault',
      eventMessage: 'Cable check failed',
      details: { connector: String(ctx.session.connector), vendorErrorCode: 'CX011' },
      root: [
        { level: 'warn', msg: `No voltage/current measurement published for ${rng.int(1500, 4000)} ms` },
        { level: 'warn', msg: `voltage_current publish gap ${rng.int(1500, 4000)} ms (rx queue overflow)` },
        { level: 'error', msg: `Measurement thread stalled, ${rng.int(20, 80)} CAN frames dropped` },
      ],
      failing: {
        specific: `CableCheck: no voltage measurement from ${ctx.logName(ctx.root)} during isolation test, MREC11CableCheckFault`,
        generic: 'CableCheck failed',
      },
      aftermath: [['info', 'Session finished (reason: Other)']],
      culprit: { kind: 'code', tags: ['measurement', 'can'] },
    };
  },
};

/** Modbus trouble on the RS485 hub surfaces through the isolation monitor. */
const modbusImd: FaultTemplate = {
  id: 'modbus-imd',
  paths: [['imd']],
  title: 'Modbus CRC errors/timeouts on the serial hub; IMD communication fault aborts the cable check',
  classes: ['dependency-regression', 'runtime', 'config-firmware'],
  failing: ['evse_manager'],
  root: 'comm_hub',
  when: (f, _r, st) => dc(f) && f.dependsOn.some((d) => st.byName.get(d)?.role === 'imd'),
  build: (ctx) => {
    const { rng, cls } = ctx;
    const unit = rng.int(1, 8);
    const dev = rng.pick(['/dev/ttymxc2', '/dev/ttyS1', '/dev/ttyUSB0']);
    const code = rng.pick(['isolation_monitor/CommunicationFault', 'MREC11CableCheckFault']);
    return {
      trigger: 'cable_check_fault',
      errorCode: code,
      eventMessage: 'Cable check aborted: isolation monitor not responding',
      details: { connector: String(ctx.session.connector) },
      root: [
        { level: 'warn', msg: `TinyModbusRTU::txrx: CRC error in reply from unit ${unit}, retry 1` },
        { level: 'warn', msg: `TinyModbusRTU::txrx: CRC error in reply from unit ${unit}, retry 2` },
        { level: 'warn', msg: `Modbus reply from unit ${unit} too short (3 bytes), retry 3` },
        { level: 'error', msg: `Modbus request to unit ${unit} on ${dev} failed after 3 retries: Timeout` },
      ],
      failing: {
        specific: `Isolation monitor ${ctx.path[0] ? ctx.logName(ctx.path[0]) : 'imd'} raised CommunicationFault during CableCheck`,
        generic: `CableCheck: timeout waiting for self test result after ${rng.int(10, 20)} s`,
      },
      aftermath: [['info', 'Stopping transaction (reason: Other)']],
      culprit: byClass<CulpritSpec | undefined>(cls, {
        'config-firmware': {
          kind: 'config',
          file: rng.pick(['config-station.yaml', 'everest/config.yaml']),
          context: 'active_modules:',
          before: [
            `  ${ctx.logName(ctx.root)}:`,
            '    module: SerialCommHub',
            '    config_implementation:',
            '      main:',
            `        serial_port: ${dev}`,
          ],
          changed: ['        baudrate: 19200', `        baudrate: ${rng.pick(['9600', '38400', '115200'])}`],
          after: ['        parity: 2'],
          summary: 'Serial hub baudrate aligned with new meter default',
        },
        default: { kind: 'code', tags: ['modbus', 'crc'] } as const,
      }),
    };
  },
};

/** Modbus trouble surfacing through an AC meter (PowerMeterFailure). */
const modbusAcMeter: FaultTemplate = {
  id: 'modbus-ac-meter',
  paths: [['powermeter_ac']],
  title: 'Modbus timeouts on the serial hub; AC meter communication fault stops the session',
  classes: ['dependency-regression', 'runtime', 'config-firmware'],
  failing: ['evse_manager'],
  root: 'comm_hub',
  when: (f, _r, st) => ac(f) && f.dependsOn.some((d) => st.byName.get(d)?.role === 'powermeter_ac'),
  build: (ctx) => {
    const { rng, cls } = ctx;
    const unit = rng.int(1, 8);
    return {
      trigger: rng.pick(['meter_fault', 'charging_fault'] as const),
      errorCode: rng.pick([
        'PowerMeterFailure',
        'powermeter/CommunicationFault',
        'PowermeterTransactionStartFailed',
      ]),
      eventMessage: 'Power meter not available',
      details: { connector: String(ctx.session.connector) },
      root: [
        {
          level: 'warn',
          msg: `Modbus read holding registers unit ${unit}: no reply within ${rng.pick([100, 200, 500])} ms, retry`,
        },
        { level: 'warn', msg: `TinyModbusRTU::txrx: CRC error in reply from unit ${unit}` },
        { level: 'error', msg: `Modbus call to unit ${unit} failed: Timeout` },
      ],
      failing: {
        specific: `Power meter ${ctx.path[0] ? ctx.logName(ctx.path[0]) : 'meter'} raised powermeter/CommunicationFault, cannot continue transaction`,
        generic: 'Error: no meter values, stopping charging',
      },
      aftermath: [['info', 'Stopping transaction (reason: Other)']],
      culprit: byClass<CulpritSpec | undefined>(cls, {
        'config-firmware': {
          kind: 'config',
          file: 'config-station.yaml',
          context: 'active_modules:',
          before: [
            `  ${ctx.logName(ctx.root)}:`,
            '    module: SerialCommHub',
            '    config_implementation:',
            '      main:',
          ],
          changed: [
            '        initial_timeout_ms: 500',
            `        initial_timeout_ms: ${rng.pick(['50', '80', '20'])}`,
          ],
          after: ['        within_message_timeout_ms: 100'],
          summary: 'comm hub: faster Modbus polling (shorter first-byte timeout)',
        },
        default: { kind: 'code', tags: ['modbus', 'timeout'] } as const,
      }),
    };
  },
};

/** IMD self test fails (hardware), or after a firmware/config change, or a driver regression. */
const imdSelfTest: FaultTemplate = {
  id: 'imd-self-test',
  title: 'Isolation monitor self test fails; cable check fault',
  classes: ['dependency-regression', 'runtime', 'config-firmware'],
  failing: ['evse_manager'],
  root: 'imd',
  when: dc,
  build: (ctx) => {
    const { rng, cls } = ctx;
    const code = rng.pick([
      'MREC22ResistanceFault',
      'isolation_monitor/DeviceFault',
      'MREC11CableCheckFault',
    ]);
    return {
      trigger: 'cable_check_fault',
      errorCode: code,
      eventMessage: 'Isolation self test failed',
      details: { connector: String(ctx.session.connector), vendorErrorCode: vendorCode[code] ?? 'CX011' },
      root: byClass(cls, {
        runtime: [
          {
            level: 'warn',
            msg: `Self test: measured ${rng.int(20, 90)} kOhm on test resistor, expected ${rng.pick([100, 200])} kOhm`,
          },
          {
            level: 'error',
            msg: `Self test failed: device error code 0x${rng.pick(['21', '2b', '44'])} (internal fault)`,
          },
          { level: 'error', msg: 'Raising isolation_monitor/DeviceFault' },
        ],
        default: [
          {
            level: 'warn',
            msg: `Insulation resistance ${rng.int(30, 95)} kOhm below threshold at ${rng.int(150, 450)} V ramp-up`,
          },
          { level: 'error', msg: 'Self test result not received before deadline' },
        ],
      }),
      failing: {
        specific: `CableCheck: isolation monitor self test failed (${code})`,
        generic: 'CableCheck failed',
      },
      aftermath: [['info', 'Session finished (reason: Other)']],
      culprit: byClass<CulpritSpec | undefined>(cls, {
        'config-firmware': rng.chance(0.5)
          ? flash(
              rng,
              ctx.root.moduleType,
              [
                ['D407', 'D410'],
                ['1.2.0', '1.3.1'],
              ],
              '(service visit)',
            )
          : {
              kind: 'config',
              file: 'config-station.yaml',
              context: 'active_modules:',
              before: [
                `  ${ctx.logName(ctx.root)}:`,
                `    module: ${ctx.root.moduleType}`,
                '    config_implementation:',
                '      main:',
              ],
              changed: ['        threshold_kohm: 100', `        threshold_kohm: ${rng.pick(['500', '250'])}`],
              after: ['        self_test_timeout_s: 10'],
              summary: 'IMD: raise isolation threshold per site acceptance test',
            },
        default: { kind: 'code', tags: ['self_test', 'measurement'] } as const,
      }),
    };
  },
};

/** Meter refuses the legal start (firmware change, API change, or unreachable). */
const meterStartTx: FaultTemplate = {
  id: 'meter-start-transaction',
  title: 'DC meter refuses the transaction start; PowermeterTransactionStartFailed',
  classes: ['dependency-regression', 'runtime', 'config-firmware'],
  failing: ['evse_manager'],
  root: 'powermeter_dc',
  when: dc,
  build: (ctx) => {
    const { rng, cls } = ctx;
    const ip = `192.168.${rng.int(1, 9)}.${rng.int(10, 250)}`;
    return {
      trigger: rng.pick(['meter_fault', 'charging_fault', 'transaction_error'] as const),
      errorCode: 'PowermeterTransactionStartFailed',
      eventMessage: 'Transaction could not be started on the meter',
      details: { connector: String(ctx.session.connector) },
      root: byClass(cls, {
        runtime: [
          { level: 'warn', msg: `HTTP GET http://${ip}/v1/status timed out after 3000 ms` },
          { level: 'error', msg: `Device ${ip} unreachable (connect: No route to host)` },
          { level: 'error', msg: 'request_device_to_start_transaction: failed after 3 attempts' },
        ],
        default: [
          { level: 'warn', msg: `POST /v1/legal answered 400: {"error":"invalid field 'TT'"}` },
          { level: 'error', msg: 'UnexpectedDCBMResponseCode: /v1/legal expected 201, got 400' },
        ],
      }),
      failing: {
        specific: `PowermeterTransactionStartFailed: ${ctx.logName(ctx.root)} did not start the transaction`,
        generic: 'Could not start transaction, aborting session',
      },
      aftermath: [['info', 'Session finished (reason: Other)']],
      culprit: byClass<CulpritSpec | undefined>(cls, {
        'config-firmware': {
          kind: 'firmware',
          summary: `${ctx.root.moduleType} firmware 1.2.${rng.int(10, 19)} -> 1.3.0 flashed by service technician`,
          version: '1.3.0',
        },
        default: { kind: 'code', tags: ['start_transaction'] } as const,
      }),
    };
  },
};

/** A frozen Modbus meter republishes stale values and trips the soft over-current check (EVerest#2673). */
const frozenAcMeter: FaultTemplate = {
  id: 'frozen-ac-meter',
  title: 'AC meter publishes stale values; spurious MREC4OverCurrentFailure',
  classes: ['dependency-regression', 'runtime'],
  failing: ['evse_manager'],
  root: 'powermeter_ac',
  when: ac,
  build: (ctx) => {
    const { rng } = ctx;
    const amps = (32 + rng.float(3, 9)).toFixed(1);
    return {
      trigger: 'charging_fault',
      errorCode: rng.pick(['MREC4OverCurrentFailure', 'OverCurrentFailure']),
      eventMessage: 'Over current',
      details: { connector: String(ctx.session.connector) },
      root: [
        {
          level: 'warn',
          msg: `Energy register unchanged for ${rng.int(60, 240)} s (${rng.int(1000, 9000)}.${rng.int(10, 99)} kWh), republishing last values`,
        },
        { level: 'warn', msg: 'Read of current registers returned cached values' },
      ],
      failing: {
        specific: `Soft over current: ${amps} A drawn, limit 32.0 A for 7 s, raising MREC4OverCurrentFailure`,
        generic: 'Error: over current, stopping charging',
      },
      aftermath: [['info', 'Stopping transaction (reason: Other)']],
      culprit: { kind: 'code', tags: ['read_values', 'stale', 'modbus'] },
    };
  },
};

/** Welded contactor: the BSP never reports PowerOff (EVerest#545). */
const weldedContactor: FaultTemplate = {
  id: 'welded-contactor',
  title: 'Contactor does not open; BSP never reports PowerOff',
  classes: ['dependency-regression', 'runtime', 'config-firmware'],
  failing: ['evse_manager'],
  root: 'bsp',
  build: (ctx) => {
    const { rng, cls } = ctx;
    const c = ctx.session.connector;
    return {
      trigger: 'charging_fault',
      errorCode: rng.pick(['MREC17EVSEContactorFault', 'PowerSwitchFailure']),
      eventMessage: 'Contactor fault',
      details: { connector: String(c), vendorErrorCode: 'CX017' },
      root: [
        {
          level: 'warn',
          msg: `Relay feedback mismatch on connector ${c}: commanded OFF, mirror contact closed`,
        },
        { level: 'error', msg: `evse_board_support/MREC17EVSEContactorFault raised (connector ${c})` },
      ],
      failing: {
        specific: `Contactor did not open within ${rng.pick([200, 500])} ms (MREC17EVSEContactorFault)`,
        generic: 'Timeout waiting for PowerOff event',
      },
      aftermath: [['warn', `Raising error evse_manager/Inoperative on connector ${c}`]],
      culprit: byClass<CulpritSpec | undefined>(cls, {
        'config-firmware': flash(
          rng,
          `${ctx.root.moduleType} MCU`,
          [
            ['2.1.3', '2.2.0'],
            ['0.9.7', '1.0.0'],
          ],
          'flashed',
        ),
        default: { kind: 'code', tags: ['contactor', 'allow_power_on'] } as const,
      }),
    };
  },
};

/** BSP MCU link dies (Yeti UART timeout), after a firmware flash or on its own (EVerest#1103). */
const bspUart: FaultTemplate = {
  id: 'bsp-uart-timeout',
  title: 'Charge controller MCU stops talking over UART; session aborted',
  classes: ['runtime', 'config-firmware', 'dependency-regression'],
  failing: ['evse_manager'],
  root: 'bsp',
  build: (ctx) => {
    const { rng, cls } = ctx;
    const yeti = ctx.root.moduleType === 'YetiDriver';
    return {
      trigger: rng.pick(['session_drop', 'charging_fault'] as const),
      errorCode: rng.pick(['evse_board_support/CommunicationFault', 'InternalError']),
      eventMessage: 'Board support communication fault',
      details: { connector: String(ctx.session.connector), stopReason: 'Other' },
      root: [
        { level: 'warn', msg: yeti ? 'Yeti keep alive missed (2 s)' : 'MCU keep alive missed (2 s)' },
        { level: 'error', msg: yeti ? 'Yeti UART timeout!' : 'MCU UART timeout, no data for 5 s' },
        { level: 'error', msg: yeti ? 'Yeti reset not successful.' : 'MCU reset not successful' },
      ],
      failing: {
        specific: `${ctx.logName(ctx.root)} raised evse_board_support/CommunicationFault, stopping charging`,
        generic: 'Error: communication fault, stopping charging',
      },
      aftermath: [['info', 'Stopping transaction (reason: Other)']],
      culprit: byClass<CulpritSpec | undefined>(cls, {
        'config-firmware': flash(
          rng,
          `${ctx.root.moduleType} MCU`,
          [
            ['1.4.1', '1.4.2'],
            ['1.9.4', '2.0.0-rc3'],
            ['0.17', '0.18'],
          ],
          'update',
        ),
        default: { kind: 'code', tags: ['uart', 'link'] } as const,
      }),
    };
  },
};

/** Connector lock motor feedback missing (hardware) or a BSP regression unlocking early (EVerest#510). */
const connectorLock: FaultTemplate = {
  id: 'connector-lock',
  title: 'Connector lock fails; ConnectorLockFailure',
  classes: ['dependency-regression', 'runtime'],
  failing: ['evse_manager'],
  root: 'bsp',
  build: (ctx) => {
    const { rng } = ctx;
    const c = ctx.session.connector;
    return {
      trigger: 'connector_lock_fault',
      errorCode: rng.pick(['ConnectorLockFailure', 'MREC1ConnectorLockFailure']),
      eventMessage: 'Connector lock failure',
      details: { connector: String(c) },
      root: [
        {
          level: 'warn',
          msg: `Lock motor current ${rng.int(5, 40)} mA on connector ${c}, expected > 120 mA`,
        },
        { level: 'error', msg: `connector_lock/ConnectorLockFailedLock raised on connector ${c}` },
      ],
      failing: {
        specific: 'Could not lock connector, MREC1ConnectorLockFailure',
        generic: 'Error in state PrepareCharging, aborting',
      },
      aftermath: [['info', 'Session finished (reason: Other)']],
      culprit: { kind: 'code', tags: ['allow_power_on', 'contactor'] },
    };
  },
};

export const hardwareFaults: FaultTemplate[] = [
  psuCan,
  psuMeasurementGap,
  modbusImd,
  modbusAcMeter,
  imdSelfTest,
  meterStartTx,
  frozenAcMeter,
  weldedContactor,
  bspUart,
  connectorLock,
];
