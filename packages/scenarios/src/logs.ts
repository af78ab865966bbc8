import type { FaultContext, Level } from './chain.ts';
import type { Rng } from './prng.ts';
import type { LogTag, Role, ScenarioLog, ServiceInstance } from './types.ts';

/** A line an innocent service repeats for hours (a chronic condition nobody fixed). */
export function chronicMessage(rng: Rng, svc: ServiceInstance): string {
  const n = (a: number, b: number) => rng.int(a, b);
  const pool: Partial<Record<Role, string[]>> = {
    powermeter_dc: [
      `OCMF signature generation took ${n(1100, 2400)} ms (> 1000 ms)`,
      'Device clock drift 3 s, resyncing',
    ],
    powermeter_ac: [
      `Voltage L3 ${n(248, 256)} V above nominal +8%`,
      'Meter reports tamper flag set (cover opened), ignoring',
    ],
    bsp: [
      `CP +12 V level ${(11 + rng.next()).toFixed(2)} V outside tolerance, filtered`,
      `MCU temperature ${n(68, 79)} C`,
    ],
    imd: [`Insulation resistance measurement deviation ${n(8, 19)}%`, 'Self test skipped: not idle'],
    slac: [
      'CM_AMP_MAP.REQ not answered by PLC modem, continuing',
      `PLC modem firmware ${rng.pick(['MAC-QCA7000-1.2.5', 'MAC-7500-2.8'])} not in tested list`,
    ],
    iso15118: [
      'SupportedAppProtocolReq: EV offers only DIN 70121',
      'TLS disabled for this session (EV did not request it)',
    ],
    evse_security: [`Leaf certificate V2G expires in ${n(9, 29)} days`, 'OCSP cache older than 7 days'],
    persistent_store: [`fsync on kvs.db took ${n(250, 900)} ms`],
    energy_manager: ['No tariff schedule from CSMS, using defaults', `Optimizer took ${n(300, 800)} ms`],
    grid_connection_point: [`No external limits received for ${n(300, 900)} s, using fuse limit only`],
    network: [`LTE signal weak: RSRP ${n(-112, -104)} dBm`, 'DNS lookup slow (1.8 s) for csms host'],
    system: [`Disk usage on /var/log at ${n(81, 93)}%`, 'Watchdog pet delayed 800 ms'],
    comm_hub: [
      `Slow Modbus reply from unit ${n(1, 8)}: ${n(120, 190)} ms`,
      'Unsolicited bytes on RS485 discarded',
    ],
    mqtt_broker: [
      'Client auto-4F2A has exceeded keepalive, disconnecting.',
      `Persistent message store at ${n(60, 85)}%`,
    ],
    evse_manager: [
      `Connector temperature ${n(55, 66)} C close to derating threshold`,
      'HLC enforcement disabled by config',
    ],
    ocpp: [
      `Heartbeat.conf late by ${n(900, 3000)} ms`,
      'SecurityEventNotification queue not empty after reconnect',
    ],
    auth: ['LocalAuthList version 0, local list empty', 'Reservation check skipped: no reservations'],
    rfid: ['PN532: card removed before read completed', 'Token read with CRC retry'],
    powersupply_dc: [
      `Module 0x02 fan speed ${n(2100, 2900)} rpm below nominal`,
      `Module 0x01 inlet ${n(48, 58)} C, derating soon`,
    ],
    display: ['Backlight driver overtemperature, dimming', 'Touch controller I2C NACK, retrying'],
    api: ['Client everest_api/1 subscriber slow, dropping var updates'],
    error_history: [`Error database ${n(70, 95)} MB, pruning`],
    manager: ['Module config validation took 2.4 s'],
    csms: ['Station heartbeat interval drift > 10%'],
  };
  return rng.pick(pool[svc.role] ?? ['Periodic self check slow']);
}

/** The generator's vague error lines, which name nothing useful (its decoys). */
export const vaguePhrases = [
  'Operation failed',
  'Unexpected response (code -1)',
  'Error: timeout',
  'Unknown error',
  'Request failed, see previous messages',
  'Exception caught: std::exception',
  'Command failed: Timeout',
  'Internal error',
] as const;

/** A vague error line that names nothing useful. */
export function vagueMessage(rng: Rng): string {
  return rng.pick(vaguePhrases);
}

/** Ordinary info/debug traffic of a service. */
export function backgroundMessage(rng: Rng, svc: ServiceInstance): [Level, string] {
  const n = (a: number, b: number) => rng.int(a, b);
  switch (svc.role) {
    case 'ocpp':
      return rng.pick<[Level, string]>([
        ['info', 'Heartbeat.conf received'],
        ['debug', `MeterValues sent for connector ${n(1, 2)}`],
        ['info', 'StatusNotification.conf received'],
      ]);
    case 'powermeter_ac':
    case 'powermeter_dc':
      return ['debug', `Energy import ${n(1000, 90000)}.${n(10, 99)} Wh, power ${n(0, 150000)} W`];
    case 'energy_manager':
      return ['debug', `Optimizer: ${n(1, 4)} EVSEs, grid limit ${n(32, 250)} A`];
    case 'evse_manager':
      return ['debug', `Charger state ${rng.pick(['Charging', 'Idle', 'WaitingForAuthentication'])}`];
    case 'powersupply_dc':
      return ['debug', `Module 0x01 ${n(200, 920)}.0 V ${n(0, 250)}.0 A`];
    case 'imd':
      return ['debug', `Isolation ${n(2, 50)} MOhm`];
    case 'network':
      return ['info', `LTE RSRP ${n(-100, -80)} dBm, RSRQ -${n(6, 12)} dB`];
    case 'system':
      return ['info', `Load average ${(rng.next() * 2).toFixed(2)}`];
    default:
      return ['debug', rng.pick(['Ready', 'Config loaded', 'Keep-alive ok'])];
  }
}

/** Session lifecycle lines for another connector's session (or an earlier one on the same connector). */
export function otherSessionLines(
  ctx: FaultContext,
  evse: ServiceInstance,
  correlationId: string,
  from: number,
  to: number,
  withError: boolean,
): ScenarioLog[] {
  const { rng } = ctx;
  const times = spread(rng, from, to, 5);
  const name = ctx.logName(evse);
  const line = (i: number, level: Level, message: string, service = name): ScenarioLog => ({
    at: times[i] as number,
    service,
    level,
    message,
    correlationId,
    tag: 'other-session' as LogTag,
  });
  const c = evse.connector ?? 1;
  const lines = [
    line(0, 'info', `Session started on connector ${c} (reason: EVConnected)`),
    line(1, 'info', `Transaction started, token ${rng.hex(8).toUpperCase()}`),
    line(2, 'info', 'ChargingStarted'),
  ];
  if (withError)
    lines.push(
      rng.pick([
        line(
          3,
          'error',
          `EV ended session: ${rng.pick(['EVCommunicationError', 'PowerDelivery stop requested by EV'])}`,
        ),
        line(3, 'warn', 'ChargingPausedEV for 120 s'),
        line(3, 'error', `Authorization rejected for token ${rng.hex(8).toUpperCase()}: Invalid`),
      ]),
    );
  lines.push(
    line(4, 'info', `Session finished (reason: ${rng.pick(['EVDisconnected', 'Local', 'StoppedByEV'])})`),
  );
  return lines;
}

/** n increasing offsets in [from, to]. */
export function spread(rng: Rng, from: number, to: number, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(Math.round(from + rng.next() * (to - from)));
  return out.sort((a, b) => a - b);
}
