// Station-like fixtures for the connected-mode tests: an AC connector (EvseManager) tripping on
// MREC4OverCurrentFailure because its Modbus power meter republished a stale value (EVerest#2673).
import type { DebugEvent } from '../../../src/core/event.ts';
import type { Report } from '../../../src/core/report.ts';
import type { SystemGraph } from '../../../src/map/graph.ts';
import { parseSystemMap } from '../../../src/map/system-map.ts';

export const ID_TAG = '04A2B3C4D5E6F7';
export const VIN = 'WVWZZZE1ZMP012345';

export const mapYaml = `repo: EVerest/everest-core
triggers: [CHARGING_FAULT]
services:
  mqtt_broker:
    files: [config/mosquitto.conf]
  evse_manager_2:
    module: EvseManager (AC, connector 2)
    files: [modules/EVSE/EvseManager/Charger.cpp]
    functions: [Charger::check_soft_over_current]
    depends_on: [bsp, powermeter_ac, mqtt_broker]
    owners: [U0EVSECORE1]
    channel: "#evse-alerts"
  bsp:
    module: PhyVersoBSP
    files: [modules/HardwareDrivers/EVSE/PhyVersoBSP/]
    depends_on: [mqtt_broker]
  powermeter_ac:
    module: GenericPowermeter
    files: [modules/HardwareDrivers/PowerMeters/GenericPowermeter/]
    functions: [read_powermeter_values, read_register]
    depends_on: [comm_hub]
    owners: [U0METERS01, "@meter-team"]
  comm_hub:
    module: SerialCommHub
    files: [modules/Misc/SerialCommHub/tiny_modbus_rtu.cpp]
  ocpp:
    module: OCPP
    files: [modules/EVSE/OCPP/]
`;

export function testGraph(): SystemGraph {
  const r = parseSystemMap(mapYaml);
  if (!r.ok) throw new Error(r.problems.map((p) => p.message).join('; '));
  return r.graph;
}

let seq = 0;

export function sampleEvent(over: Partial<DebugEvent> = {}): DebugEvent {
  seq++;
  return {
    id: `evt-${seq}`,
    eventType: 'CHARGING_FAULT',
    service: 'evse_manager_2',
    errorCode: 'MREC4OverCurrentFailure',
    correlationId: `session-${seq}`,
    details: { connector: '2', idTag: ID_TAG, vin: VIN, currentA: '38.2' },
    priority: 'high',
    timestamp: Date.UTC(2026, 10, 25, 8, 41, 2),
    receivedAt: Date.UTC(2026, 10, 25, 8, 41, 2),
    message: `Soft over-current on connector 2 (idTag ${ID_TAG})`,
    source: 'http',
    ...over,
  };
}

export function sampleReport(over: Partial<Report> = {}): Report {
  seq++;
  return {
    id: `rep-${seq.toString().padStart(4, '0')}`,
    eventId: `evt-${seq}`,
    correlationId: `session-${seq}`,
    eventType: 'CHARGING_FAULT',
    service: 'evse_manager_2',
    errorCode: 'MREC4OverCurrentFailure',
    stationId: 'EV-Station-01',
    createdAt: '2026-11-25T08:41:03.120Z',
    latencyMs: 42,
    summary:
      'Connector 2 stopped on MREC4OverCurrentFailure; the AC power meter returned a stale reading just before.',
    source: 'rules',
    revision: 1,
    modelVersion: 'rules-1',
    incidentId: null,
    changesFromCache: false,
    hypotheses: [
      {
        rank: 1,
        service: 'powermeter_ac',
        file: 'modules/HardwareDrivers/PowerMeters/GenericPowermeter/main/powermeterImpl.cpp',
        function: 'read_register',
        change: {
          sha: '9f3c2a1b7d4e5f60718293a4b5c6d7e8f9012345',
          message: 'GenericPowermeter: reuse last value on Modbus timeout',
          author: 'Jane Engineer',
          url: 'https://github.com/EVerest/everest-core/commit/9f3c2a1b7d4e5f60718293a4b5c6d7e8f9012345',
        },
        confidence: 0.71,
        reasons: ['stale meter values before the over-current trip', 'changed 2 days before'],
        evidence: [
          {
            kind: 'log',
            text: '08:40:58 powermeter_ac WARN Modbus read_register timeout on /dev/ttymxc2 (slave 1), reusing last value',
            weight: 3,
          },
          { kind: 'log', text: `08:40:12 auth INFO Authorized idTag ${ID_TAG} on connector 2`, weight: 0.5 },
          {
            kind: 'change',
            text: '9f3c2a1 GenericPowermeter: reuse last value on Modbus timeout',
            weight: 2,
            sha: '9f3c2a1b7d4e5f60718293a4b5c6d7e8f9012345',
          },
          {
            kind: 'log',
            text: `08:41:01 evse_manager_2 ERROR current 38.2 A above limit 32 A (vin=${VIN})`,
            weight: 2.5,
          },
        ],
      },
      {
        rank: 2,
        service: 'comm_hub',
        file: 'modules/Misc/SerialCommHub/tiny_modbus_rtu.cpp',
        function: 'TinyModbusRTU::txrx',
        confidence: 0.19,
        reasons: ['Modbus timeouts on the shared RS485 line'],
        evidence: [
          { kind: 'log', text: '08:40:58 comm_hub WARN TinyModbusRTU::txrx timeout after 500 ms', weight: 1 },
        ],
      },
      {
        rank: 3,
        service: 'evse_manager_2',
        function: 'Charger::check_soft_over_current',
        confidence: 0.1,
        reasons: ['the failing service itself'],
        evidence: [],
      },
    ],
    ...over,
  };
}
