import { byClass, type CulpritSpec, type FaultTemplate, s } from '../chain.ts';

const dc = (f: { current: string | null }) => f.current === 'DC';

/** The EV drops the PLC link: "Connection lost in matched state" (EVerest#1425), or a SLAC regression (#1500). */
const slacLinkLoss: FaultTemplate = {
  id: 'slac-link-loss',
  paths: [[], ['iso15118']],
  title: 'SLAC/PLC link lost in matched state; session drops with EVCommunicationError',
  classes: ['dependency-regression', 'runtime'],
  failing: ['evse_manager'],
  root: 'slac',
  when: dc,
  build: (ctx) => {
    const { rng, cls } = ctx;
    const n = rng.int(3, 6);
    return {
      trigger: 'session_drop',
      errorCode: 'EVCommunicationError',
      eventMessage: 'EV communication lost',
      details: {
        connector: String(ctx.session.connector),
        stopReason: ctx.station.ocpp === '1.6' ? 'EVDisconnected' : 'EVDisconnected',
        triggerReason: 'EVCommunicationLost',
      },
      root: byClass(cls, {
        runtime: [
          ...Array.from({ length: n }, () => ({
            level: 'warn' as const,
            msg: 'Connection lost in matched state',
          })),
          { level: 'error', msg: 'D-LINK_ERROR: PLC link to EV lost, resetting to UNMATCHED' },
        ],
        default: [
          { level: 'info', msg: 'Entered Matched state' },
          { level: 'warn', msg: 'Received CM_SLAC_MATCH.REQ in state MATCHED, ignoring' },
          { level: 'error', msg: 'D-LINK_ERROR while matched; staying in MATCHED' },
        ],
      }),
      failing: {
        specific: 'ISO 15118 session lost (dlink error), EVCommunicationError',
        generic: `Timeout in state ${rng.pick(['PrepareCharging', 'Charging'])}, stopping`,
      },
      aftermath: [['info', 'Stopping transaction (reason: EVDisconnected)']],
      culprit: { kind: 'code', tags: ['matching', 'link'] },
    };
  },
};

/** PowerDelivery answered FAILED by the V2G stack after a regression (EVerest#1520). */
const v2gPowerDelivery: FaultTemplate = {
  id: 'v2g-power-delivery',
  title: 'ISO 15118 PowerDelivery FAILED; EV stops the session',
  classes: ['dependency-regression'],
  failing: ['evse_manager'],
  root: 'iso15118',
  when: dc,
  build: (ctx) => {
    const { rng } = ctx;
    return {
      trigger: 'session_drop',
      errorCode: 'EVCommunicationError',
      eventMessage: 'EV ended the session during PowerDelivery',
      details: { connector: String(ctx.session.connector), stopReason: 'Other' },
      root: [
        { level: 'warn', msg: 'PowerDeliveryReq ChargeProgress=Start while contactor open' },
        { level: 'error', msg: 'PowerDeliveryRes ResponseCode=FAILED, terminating V2G session' },
      ],
      failing: {
        specific: 'HLC: EV sent SessionStop after PowerDelivery FAILED',
        generic: `Charging did not start within ${rng.int(20, 60)} s`,
      },
      aftermath: [['info', 'Stopping transaction (reason: Other)']],
      culprit: { kind: 'code', tags: ['power_delivery'] },
    };
  },
};

/** TLS: "unable to get local issuer certificate", reconnect loop (everest-demo#25). */
const tlsIssuer: FaultTemplate = {
  id: 'tls-issuer',
  title: 'CSMS TLS handshake fails (unknown issuer); OCPP reconnect loop',
  classes: ['dependency-regression', 'config-firmware'],
  failing: ['ocpp'],
  root: 'evse_security',
  build: (ctx) => {
    const { rng, cls } = ctx;
    const host = rng.pick(['csms.voltra.io', 'ocpp.chargecloud.de', 'backend.fleet.example']);
    return {
      trigger: 'ocpp_disconnect',
      errorCode: rng.pick(['TLSHandshakeFailed', 'ConnectionFailed']),
      eventMessage: 'CSMS connection failed',
      details: { csms: `wss://${host}/ocpp/${ctx.station.stationId}`, securityProfile: '2' },
      root: [
        {
          level: 'warn',
          msg: `verify_certificate: no trust anchor for issuer "CN=${rng.pick(['R11', 'Sectigo RSA DV', 'Fleet Issuing CA 2'])}"`,
        },
        { level: 'error', msg: 'CertificateValidationResult::IssuerNotFound for CSMS leaf' },
      ],
      failing: {
        specific: `Failed to connect to wss://${host}: unable to get local issuer certificate`,
        generic: 'Connection attempt failed, reconnecting',
      },
      aftermath: [
        ['info', `Reconnecting in ${rng.pick([2, 4, 8])}000 ms (attempt ${rng.int(2, 9)})`],
        ['warn', 'Websocket not connected, queueing StatusNotification'],
      ],
      culprit: byClass<CulpritSpec | undefined>(cls, {
        'config-firmware': {
          kind: 'config',
          file: 'certs/ca/csms/CSMS_ROOT_CA.pem',
          context: '-----BEGIN CERTIFICATE-----',
          before: ['MIIFazCCA1OgAwIBAgIRAIIQz7DSQONZRGPgu2OCiwAwDQYJKoZIhvcNAQELBQAw'],
          changed: [
            'TzELMAkGA1UEBhMCVVMxKTAnBgNVBAoTIEludGVybmV0IFNlY3VyaXR5IFJlc2Vh',
            'TzELMAkGA1UEBhMCREUxGTAXBgNVBAoTEEZsZWV0IEludGVybmFsIENBMB4XDTI1',
          ],
          after: ['cmNoIEdyb3VwMRUwEwYDVQQDEwxJU1JHIFJvb3QgWDEwHhcNMTUwNjA0MTEwNDM4'],
          summary: 'Rotate CSMS root CA bundle to the fleet internal CA',
        },
        default: { kind: 'code', tags: ['verify_cert'] } as const,
      }),
    };
  },
};

/** Wrong clock makes the CSMS certificate "not yet valid" (libocpp#1156). */
const clockCert: FaultTemplate = {
  id: 'clock-cert',
  paths: [[], ['evse_security']],
  title: 'RTC lost time; CSMS certificate not yet valid; OCPP cannot connect',
  classes: ['runtime'],
  failing: ['ocpp'],
  root: 'system',
  build: (ctx) => {
    const { rng } = ctx;
    return {
      trigger: 'ocpp_disconnect',
      errorCode: 'TLSHandshakeFailed',
      eventMessage: 'CSMS connection failed',
      details: { securityProfile: '2' },
      root: [
        {
          level: 'warn',
          msg: 'RTC battery low; system time 2000-01-01T00:00:41Z before build date, waiting for NTP',
          at: -s(rng.int(900, 3000)),
        },
        { level: 'warn', msg: 'NTP: no server reachable (pool.ntp.org), time not synchronised' },
        { level: 'error', msg: 'System time invalid (before 2020-01-01); certificates cannot be validated' },
      ],
      path: {
        evse_security: [
          'error',
          `verify_certificate: CertificateNotYetValid for CSMS leaf (notBefore ${rng.int(2024, 2026)}-0${rng.int(1, 9)}-1${rng.int(0, 9)})`,
        ],
      },
      failing: {
        specific: 'TLS handshake failed: certificate is not yet valid',
        generic: 'Connection attempt failed, reconnecting',
      },
      aftermath: [['info', `Reconnecting in ${rng.pick([4, 8, 16])}000 ms`]],
    };
  },
};

/** LTE modem drops: websocket pong timeout at the OCPP client. */
const lteDrop: FaultTemplate = {
  id: 'lte-drop',
  title: 'LTE modem loses registration; OCPP websocket pong timeout',
  classes: ['runtime', 'config-firmware'],
  failing: ['ocpp'],
  root: 'network',
  build: (ctx) => {
    const { rng, cls } = ctx;
    const rsrp = rng.int(-125, -112);
    return {
      trigger: 'ocpp_disconnect',
      errorCode: rng.pick(['WebsocketPongTimeout', 'ConnectionLost', 'WeakSignal']),
      eventMessage: 'Connection to CSMS lost',
      details: { uplink: 'wwan0' },
      root: byClass(cls, {
        runtime: [
          { level: 'warn', msg: `LTE signal weak: RSRP ${rsrp} dBm, RSRQ -${rng.int(15, 19)} dB` },
          { level: 'warn', msg: 'ModemManager: modem state changed (connected -> searching)' },
          { level: 'error', msg: 'wwan0: link down, LTE registration lost' },
        ],
        default: [
          {
            level: 'warn',
            msg: `PDP context activation rejected (cause 33), APN "${rng.pick(['iot.m2m', 'internet.business'])}"`,
          },
          { level: 'error', msg: 'wwan0: no IPv4 address after reconnect' },
        ],
      }),
      failing: {
        specific: `Websocket pong timeout after ${rng.pick([5, 10, 30])} s, closing connection`,
        generic: 'Connection closed unexpectedly',
      },
      aftermath: [
        ['info', `Reconnecting in ${rng.pick([2, 4, 8])}000 ms`],
        ['warn', 'Websocket not connected, queueing MeterValues'],
      ],
      culprit:
        cls === 'config-firmware'
          ? {
              kind: 'config',
              file: 'network/modem.conf',
              context: '[lte]',
              before: ['[lte]', 'device=/dev/cdc-wdm0'],
              changed: ['apn=iot.m2m', `apn=${rng.pick(['internet.business', 'm2m.fleet'])}`],
              after: ['ip-type=ipv4'],
              summary: 'Switch SIM profile APN for the new connectivity contract',
            }
          : undefined,
    };
  },
};

/** Pong timeout closes the websocket and it never reconnects (regression, libocpp#1175). */
const pongNoReconnect: FaultTemplate = {
  id: 'ocpp-pong-no-reconnect',
  title: 'OCPP client closes on pong timeout and never reconnects (regression)',
  classes: ['self-regression'],
  failing: ['ocpp'],
  root: 'self',
  build: (ctx) => {
    const { rng } = ctx;
    return {
      trigger: 'ocpp_disconnect',
      errorCode: rng.pick(['WebsocketPongTimeout', 'ConnectionLost']),
      eventMessage: 'Connection to CSMS lost',
      details: {},
      root: [
        { level: 'warn', msg: `Websocket pong timeout after ${rng.pick([5, 10])} s` },
        { level: 'info', msg: 'Closing websocket (going away)' },
        { level: 'warn', msg: 'Reconnect already scheduled, skipping' },
      ],
      failing: {
        specific: `Websocket disconnected; no reconnect scheduled for ${rng.int(60, 300)} s`,
        generic: 'Charge point offline',
      },
      aftermath: [['warn', 'Websocket not connected, queueing StatusNotification']],
      culprit: { kind: 'code', tags: ['reconnect'] },
    };
  },
};

/** Offline-started transaction: StopTransaction with transactionId -1, CSMS CALLERROR (libocpp#495). */
const offlineStopTx: FaultTemplate = {
  id: 'ocpp-offline-stop-txid',
  title: 'StopTransaction with transactionId -1 after an offline start; CSMS answers CALLERROR',
  classes: ['self-regression'],
  failing: ['ocpp'],
  root: 'self',
  build: (ctx) => {
    const { rng } = ctx;
    return {
      trigger: 'transaction_error',
      errorCode: rng.pick(['FormationViolation', 'PropertyConstraintViolation', 'CALLERROR']),
      eventMessage: 'CSMS rejected StopTransaction',
      details: { connector: String(ctx.session.connector), transactionId: '-1' },
      root: [
        { level: 'info', msg: 'Back online, sending queued transaction messages' },
        { level: 'warn', msg: 'StopTransaction for connector with no transactionId, using -1' },
        {
          level: 'error',
          msg: 'CALLERROR for StopTransaction: PropertyConstraintViolation "unknown transactionId -1"',
        },
      ],
      failing: {
        specific: 'StopTransaction rejected by CSMS, will retry (attempt 1/3)',
        generic: 'Message rejected by CSMS',
      },
      aftermath: [['warn', 'StopTransaction retry in 60 s']],
      culprit: { kind: 'code', tags: ['stop_transaction', 'offline'] },
    };
  },
};

/** RetryBackOff not honoured: reconnect storm after a libocpp change (EVerest#2475). */
const reconnectStorm: FaultTemplate = {
  id: 'ocpp-reconnect-storm',
  title: 'OCPP reconnects without back-off; CSMS rate-limits the station',
  classes: ['self-regression'],
  failing: ['ocpp'],
  root: 'self',
  build: (ctx) => {
    const { rng } = ctx;
    const n = rng.int(3, 6);
    return {
      trigger: 'ocpp_disconnect',
      errorCode: rng.pick(['ConnectionFailed', 'HTTP429']),
      eventMessage: 'Connection to CSMS lost',
      details: {},
      root: [
        ...Array.from({ length: n }, (_, i) => ({
          level: 'warn' as const,
          msg: `Reconnecting in 0 ms (attempt ${i + 2})`,
        })),
        { level: 'error', msg: 'Websocket upgrade rejected: HTTP 429 Too Many Requests' },
      ],
      failing: {
        specific: 'Connection refused by CSMS (429), giving up for 300 s',
        generic: 'Connection attempt failed',
      },
      aftermath: [['warn', 'Charge point offline']],
      culprit: { kind: 'code', tags: ['reconnect'] },
    };
  },
};

/** A CSMS deploy breaks transaction handling (citrineos#1053/#172): seen only from the station's side. */
const csmsDeploy: FaultTemplate = {
  id: 'csms-deploy',
  title: 'CSMS release rejects StartTransaction/StopTransaction from the station',
  classes: ['dependency-regression'],
  failing: ['ocpp'],
  root: 'csms',
  build: (ctx) => {
    const { rng } = ctx;
    const stop = rng.chance(0.5);
    return {
      trigger: 'transaction_error',
      errorCode: rng.pick(['CALLERROR', 'InternalError', 'PropertyConstraintViolation']),
      eventMessage: `CSMS rejected ${stop ? 'StopTransaction' : 'StartTransaction'}`,
      details: { connector: String(ctx.session.connector) },
      root: [
        {
          level: 'error',
          msg: `${stop ? 'StopTransaction' : 'StartTransaction'} from ${ctx.station.stationId} failed: ${stop ? 'unknown transactionId' : 'duplicate key value violates unique constraint "transactions_pkey"'}`,
        },
      ],
      failing: {
        specific: `CALLERROR for ${stop ? 'StopTransaction' : 'StartTransaction'}: InternalError`,
        generic: 'Message rejected by CSMS',
      },
      aftermath: [['warn', `${stop ? 'StopTransaction' : 'StartTransaction'} retry in 60 s`]],
      culprit: { kind: 'code', tags: [stop ? 'stop_transaction' : 'start_transaction'] },
    };
  },
};

/** Firmware download times out because the uplink is down. */
const fwDownload: FaultTemplate = {
  id: 'firmware-download',
  title: 'Firmware download fails on a flaky uplink',
  classes: ['runtime'],
  failing: ['system'],
  root: 'network',
  build: (ctx) => {
    const { rng } = ctx;
    return {
      trigger: 'firmware_update_failed',
      errorCode: 'DownloadFailed',
      eventMessage: 'Firmware update failed',
      details: { requestId: String(rng.int(100, 999)) },
      root: [
        { level: 'warn', msg: `LTE signal weak: RSRP ${rng.int(-124, -114)} dBm` },
        { level: 'error', msg: 'wwan0: link down, LTE registration lost' },
      ],
      failing: {
        specific: `Download of https://updates.example/fw/${rng.pick(['everest-2025.9.1', 'station-3.4.0'])}.swu failed: Operation timed out`,
        generic: 'FirmwareStatusNotification: DownloadFailed',
      },
      aftermath: [['info', 'FirmwareStatusNotification DownloadFailed sent']],
    };
  },
};

export const commsFaults: FaultTemplate[] = [
  slacLinkLoss,
  v2gPowerDelivery,
  tlsIssuer,
  clockCert,
  lteDrop,
  pongNoReconnect,
  offlineStopTx,
  reconnectStorm,
  csmsDeploy,
  fwDownload,
];
