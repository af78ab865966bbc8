import type { EventFields } from '../../src/index.ts';

/**
 * Failures as an EVerest-based DC/AC station reports them (module ids from the example system
 * map, OCPP 1.6 ChargePointErrorCode and EVerest error types, OCPP stop reasons).
 */
export const stationFailures: Array<{ eventType: string; fields: EventFields }> = [
  {
    eventType: 'SESSION_DROP',
    fields: {
      service: 'evse_manager_1',
      errorCode: 'EVCommunicationError',
      details: {
        evseId: '1',
        connectorId: '1',
        chargerState: 'Charging',
        stopReason: 'EVDisconnected',
        edgeDevice: 'EV-Station-01',
      },
      message: 'SLAC: Connection lost in matched state',
    },
  },
  {
    eventType: 'TRANSACTION_ABORTED',
    fields: {
      service: 'evse_manager_2',
      errorCode: 'PowerLoss',
      details: { connectorId: '2', stopReason: 'PowerLoss', meterStopWh: 18342, edgeDevice: 'EV-Station-01' },
    },
  },
  {
    eventType: 'CABLE_CHECK_FAILED',
    fields: {
      service: 'evse_manager_1',
      errorCode: 'MREC11CableCheckFault',
      details: { isolationResistanceOhm: 85000, psu: 'InfyPower_BEG1K075G', canDevice: 'can0' },
    },
  },
  {
    eventType: 'METER_STALE',
    fields: {
      service: 'powermeter_ac',
      errorCode: 'PowerMeterFailure',
      details: { module: 'GenericPowermeter', serialPort: '/dev/ttymxc2', modbusAddress: 1 },
    },
  },
  {
    eventType: 'CSMS_DISCONNECTED',
    fields: {
      service: 'ocpp',
      errorCode: 'WebsocketPongTimeout',
      details: { csms: 'wss://csms.example-cpo.eu/ocpp/EV-Station-01', retryBackoffWaitMinimum: 3 },
    },
  },
];

/** The i-th failure, tagged with a unique OCPP transaction id as correlation id. */
export function failure(i: number, run: string): { eventType: string; fields: EventFields } {
  const f = stationFailures[i % stationFailures.length]!;
  return { eventType: f.eventType, fields: { ...f.fields, correlationId: `txn-${run}-${i}` } };
}
