import type { SystemGraph } from '../map/graph.ts';
import { words } from './text.ts';

/**
 * Words that name a component, device, quantity or condition of a charging station, taken from
 * the domain's published vocabularies (not from any test generator):
 * - OCPP 1.6 ChargePointErrorCode and StopTransaction reasons, OCPP 2.0.1 ReasonEnumType and
 *   TriggerReasonEnumType (mobilityhouse/ocpp@b0e0b07:ocpp/v16/enums.py, ocpp/v201/enums.py);
 * - EVerest error types (EVerest/everest-core@23c9dac:errors/evse_board_support.yaml,
 *   evse_manager.yaml, connector_lock.yaml, power_supply_DC.yaml, isolation_monitor.yaml,
 *   powermeter.yaml) and its module interfaces (interfaces/*.yaml);
 * - IEC 61851-1 control pilot and protection terms, ISO 15118-2 / DIN 70121 message and state names
 *   (SLAC, SessionSetup, CableCheck, PreCharge, PowerDelivery, WeldingDetection);
 * - the transports and platform a station runs on: Modbus RTU/TCP, CAN, RS-485, UART, Ethernet,
 *   PLC, LTE, Wi-Fi, DNS, NTP, TLS/X.509, WebSocket (RFC 6455), MQTT, SQLite, and the POSIX
 *   strerror conditions (ECONNREFUSED "Connection refused", EPIPE "Broken pipe", ENOSPC "No space
 *   left on device", EROFS "Read-only file system", ENOMEM, EHOSTUNREACH "No route to host").
 */
// The distinctive nouns of those codes ("EVConnectTimeout" gives "connect", not "timeout": the
// generic parts of a code name nothing on their own).
const DOMAIN_TEXT = `
connector lock communication ground temperature overcurrent overvoltage undervoltage voltage meter
powermeter switch reader signal emergency disconnected reboot energy credit departed plugged
pilot diode contactor proximity latch ventilation authorization inoperative plausibility resistance
hardware overtemperature thermal isolation insulation precharge welding relay plug cable rcd residual pwm
slac plc v2g exi secc evcc evse cablecheck powerdelivery
certificate contract ocsp tls x509 expired revoked handshake cipher
websocket heartbeat bootnotification authorize idtag rfid nfc card csms ocpp
modbus register serial uart rs485 baud crc parity canbus ethernet wwan
modem lte wifi dhcp dns resolver ntp clock firmware bootloader flash
mqtt broker mosquitto sqlite database disk filesystem memory watchdog mutex deadlock segfault
refused broken pipe unreachable space readonly permission denied
fuse phase grid breaker fan psu rectifier
`;

const DOMAIN = words(DOMAIN_TEXT);

/** Log levels written in capitals name nothing. */
const LEVEL_WORDS = new Set(['ERROR', 'WARN', 'INFO', 'DEBUG', 'FATAL', 'FAIL', 'TRACE', 'CRIT']);

const mapTerms = new WeakMap<SystemGraph, Set<string>>();

/**
 * The map's own names for its components: service names, aliases and module types. Not functions,
 * files or descriptions: "set_connection_timeout" or "the internal message bus" are made of words
 * that name nothing by themselves.
 */
function termsOf(graph: SystemGraph): Set<string> {
  let set = mapTerms.get(graph);
  if (!set) {
    const text: string[] = [];
    for (const [name, n] of graph.services) text.push(name, ...n.aliases, n.module ?? '');
    set = words(text.join('\n'));
    mapTerms.set(graph, set);
  }
  return set;
}

/**
 * A message is vague when it names nothing a station is made of: no acronym or code ("CAN",
 * "MREC1", "0x3000" does not count), no word of the station's own map, no word of the domain's
 * published vocabulary. "Command failed: Timeout" or "Internal error" say that something failed,
 * not what, so they point at no cause.
 */
export function isVague(message: string, graph: SystemGraph): boolean {
  const m = message.slice(0, 512);
  const acronyms = (m.match(/\b[A-Z]{2,5}\b/g) ?? []).filter((a) => !LEVEL_WORDS.has(a));
  if (acronyms.length || /\b(?=\w*\d)[A-Za-z]\w+\b/.test(m)) return false;
  const terms = termsOf(graph);
  for (const w of words(m)) if (DOMAIN.has(w) || terms.has(w)) return false;
  return true;
}
