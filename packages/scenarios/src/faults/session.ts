import { byClass, type CulpritSpec, type FaultTemplate, s, vendorCode } from '../chain.ts';

/** ConnectionTimeOut lowered: "Plug In timeout for connector#1" (libocpp#496, EVerest#956). */
const connectionTimeout: FaultTemplate = {
  id: 'connection-timeout-config',
  title: 'ConnectionTimeOut lowered; sessions end with a plug-in timeout before the driver is done',
  classes: ['config-firmware'],
  failing: ['auth'],
  root: 'ocpp',
  build: (ctx) => {
    const { rng } = ctx;
    const to = rng.pick([10, 15, 20]);
    return {
      trigger: rng.pick(['auth_failure', 'session_drop'] as const),
      errorCode: rng.pick(['MREC9AuthorizationTimeout', 'PluginTimeout']),
      eventMessage: 'Authorization timed out',
      details: { connector: String(ctx.session.connector), vendorErrorCode: 'CX009' },
      root: [
        {
          level: 'info',
          msg: `ChangeConfiguration.req ConnectionTimeOut=${to} accepted`,
          at: -s(rng.int(1800, 40000)),
        },
        { level: 'info', msg: `Set connection timeout ${to} s on Auth` },
      ],
      failing: {
        specific: `Plug In timeout for connector#${ctx.session.connector}, withdrawing authorization`,
        generic: 'Authorization timed out',
      },
      aftermath: [['info', `Token ${ctx.session.idTag} released`]],
      culprit: {
        kind: 'config',
        file: 'ocpp/user_config.json',
        context: '"Core": {',
        before: [
          '  "Core": {',
          '    "AuthorizeRemoteTxRequests": true,',
          '    "ClockAlignedDataInterval": 900,',
        ],
        changed: ['    "ConnectionTimeOut": 60,', `    "ConnectionTimeOut": ${to},`],
        after: ['    "GetConfigurationMaxKeys": 100,'],
        summary: `OCPP ConnectionTimeOut 60 -> ${to} (ChangeConfiguration from CSMS)`,
      },
    };
  },
};

/** The Auth module's own plug-in timeout lowered in the station config. */
const authTimeoutSelf: FaultTemplate = {
  id: 'auth-timeout-config',
  title: 'Auth connection_timeout lowered in the station config; plug-in timeouts',
  classes: ['config-firmware'],
  failing: ['auth'],
  root: 'self',
  build: (ctx) => {
    const { rng } = ctx;
    const to = rng.pick([5, 10, 15]);
    return {
      trigger: 'auth_failure',
      errorCode: rng.pick(['MREC9AuthorizationTimeout', 'PluginTimeout']),
      eventMessage: 'Authorization timed out',
      details: { connector: String(ctx.session.connector) },
      root: [
        {
          level: 'info',
          msg: `Auth config: connection_timeout=${to}, selection_algorithm=PlugEvents`,
          at: -s(rng.int(600, 20000)),
        },
        { level: 'warn', msg: `Token ${ctx.session.idTag} presented but no EV plugged in within ${to} s` },
      ],
      failing: {
        specific: `Plug In timeout for connector#${ctx.session.connector}`,
        generic: 'Authorization timed out',
      },
      culprit: {
        kind: 'config',
        file: 'config-station.yaml',
        context: 'active_modules:',
        before: [
          `  ${ctx.logName(ctx.root)}:`,
          '    module: Auth',
          '    config_module:',
          '      selection_algorithm: PlugEvents',
        ],
        changed: ['      connection_timeout: 60', `      connection_timeout: ${to}`],
        after: ['      prioritize_authorization_over_stopping_transaction: true'],
        summary: `Auth: connection_timeout ${to} s to free connectors faster`,
      },
    };
  },
};

/** "Power budget expired, falling back to 0" and the pause never recovers (EVerest#2710, #869). */
const powerBudget: FaultTemplate = {
  id: 'power-budget-zero',
  title: 'Energy manager limits expire; EVSE falls back to 0 A and the session stalls',
  classes: ['dependency-regression', 'config-firmware'],
  failing: ['evse_manager'],
  root: 'energy_manager',
  build: (ctx) => {
    const { rng, cls } = ctx;
    return {
      trigger: rng.pick(['session_drop', 'charging_fault'] as const),
      errorCode: rng.pick(['ChargingPausedEVSE', 'OtherError']),
      eventMessage: 'Session suspended by EVSE and not resumed',
      details: { connector: String(ctx.session.connector), chargingState: 'SuspendedEVSE' },
      root: [
        { level: 'warn', msg: `Optimizer run took ${rng.int(1200, 3500)} ms (interval 1000 ms)` },
        { level: 'warn', msg: 'Enforced limits valid_until already in the past when published' },
      ],
      failing: {
        specific: 'Power budget expired, falling back to 0.',
        generic: 'Charging paused by EVSE',
      },
      aftermath: [['info', 'Stopping transaction (reason: Other) after 300 s in ChargingPausedEVSE']],
      culprit: byClass<CulpritSpec | undefined>(cls, {
        'config-firmware': {
          kind: 'config',
          file: 'config-station.yaml',
          context: 'active_modules:',
          before: [
            `  ${ctx.logName(ctx.root)}:`,
            '    module: EnergyManager',
            '    config_module:',
            '      nominal_ac_voltage: 230',
          ],
          changed: ['      update_interval: 1', `      update_interval: ${rng.pick([10, 30])}`],
          after: ['      schedule_interval_duration: 60'],
          summary: 'EnergyManager: run the optimizer less often to save CPU',
        },
        default: { kind: 'code', tags: ['optimizer', 'power_budget'] } as const,
      }),
    };
  },
};

/** Grid connection point fuse limit set far too low. */
const fuseLimit: FaultTemplate = {
  id: 'fuse-limit-config',
  paths: [['energy_manager']],
  title: 'Grid connection fuse limit mis-set; EVSEs get no current',
  classes: ['config-firmware'],
  failing: ['evse_manager'],
  root: 'grid_connection_point',
  build: (ctx) => {
    const { rng } = ctx;
    const to = rng.pick([6, 10, 16]);
    return {
      trigger: rng.pick(['session_drop', 'charging_fault'] as const),
      errorCode: rng.pick(['ChargingPausedEVSE', 'OtherError']),
      eventMessage: 'Session suspended by EVSE',
      details: { connector: String(ctx.session.connector), chargingState: 'SuspendedEVSE' },
      root: [
        {
          level: 'info',
          msg: `Fuse limit ${to} A, ${ctx.station.services.filter((x) => x.role === 'evse_manager').length} children`,
        },
      ],
      path: {
        energy_manager: ['warn', `Offer ${(to / 3).toFixed(1)} A per EVSE below minimum 6 A, granting 0 A`],
      },
      failing: {
        specific: 'Power budget 0 A, pausing charging (ChargingPausedEVSE)',
        generic: 'Charging paused by EVSE',
      },
      aftermath: [['info', 'Stopping transaction (reason: Other)']],
      culprit: {
        kind: 'config',
        file: 'config-station.yaml',
        context: 'active_modules:',
        before: [`  ${ctx.logName(ctx.root)}:`, '    module: EnergyNode', '    config_module:'],
        changed: ['      fuse_limit_A: 63', `      fuse_limit_A: ${to}`],
        after: ['      phase_count: 3'],
        summary: `grid connection point: fuse_limit_A 63 -> ${to} (site survey)`,
      },
    };
  },
};

/** EvseManager mutex deadlock, watchdog kill, restart with PowerLoss cleanup (EVerest#1467). */
const evseDeadlock: FaultTemplate = {
  id: 'evse-deadlock',
  title:
    'EvseManager deadlocks after a locking change; manager restarts it, transaction closed with PowerLoss',
  classes: ['self-regression'],
  failing: ['evse_manager'],
  root: 'self',
  build: (ctx) => {
    const { rng } = ctx;
    const manager = ctx.find('manager');
    const pid = rng.int(900, 4000);
    return {
      trigger: rng.pick(['module_restart', 'session_drop'] as const),
      errorCode: rng.pick(['PowerLoss', 'InternalError']),
      eventMessage: 'Module restarted during a session',
      details: { connector: String(ctx.session.connector), stopReason: 'PowerLoss' },
      root: [
        { level: 'warn', msg: `State machine tick took ${rng.int(2000, 9000)} ms` },
        { level: 'warn', msg: 'Watchdog: main loop not alive for 10 s' },
      ],
      failing: {
        specific: `Cleaning up transaction with UUID ${ctx.session.correlationId} on start up (PowerLoss)`,
        generic: 'Session finished unexpectedly',
      },
      extra: manager
        ? [
            {
              service: manager,
              level: 'error',
              msg: `Module ${ctx.logName(ctx.failing)} (pid: ${pid}) exited with status: 134.`,
              at: -s(rng.float(1.5, 4)),
            },
            {
              service: manager,
              level: 'warn',
              msg: 'Unexpected module exit recovery attempt 1/3',
              at: -s(rng.float(1, 1.4)),
            },
          ]
        : [],
      culprit: { kind: 'code', tags: ['deadlock'] },
    };
  },
};

/** A soft over-current regression in the EVSE itself (no noise allowance). */
const evseOverCurrent: FaultTemplate = {
  id: 'evse-soft-over-current',
  title: 'Soft over-current check regression trips sessions at the limit',
  classes: ['self-regression'],
  failing: ['evse_manager'],
  root: 'self',
  when: (f) => f.current === 'AC',
  build: (ctx) => {
    const { rng } = ctx;
    const amps = (rng.pick([16, 32]) + rng.float(0.05, 0.6)).toFixed(2);
    return {
      trigger: 'charging_fault',
      errorCode: rng.pick(['MREC4OverCurrentFailure', 'OverCurrentFailure']),
      eventMessage: 'Over current',
      details: { connector: String(ctx.session.connector) },
      root: [{ level: 'warn', msg: `Soft over current: ${amps} A drawn, limit reached` }],
      failing: {
        specific: `Soft over current ${amps} A for 7 s, raising MREC4OverCurrentFailure`,
        generic: 'Error: over current, stopping charging',
      },
      aftermath: [['info', 'Stopping transaction (reason: Other)']],
      culprit: { kind: 'code', tags: ['over_current'] },
    };
  },
};

/** HLC enforcement timeout in the wrong unit: AC sessions dropped while waiting for HLC. */
const evseHlcTimeout: FaultTemplate = {
  id: 'evse-hlc-timeout',
  title: 'EvseManager state machine regression drops sessions in WaitingForAuthentication',
  classes: ['self-regression'],
  failing: ['evse_manager'],
  root: 'self',
  // ac_enforce_hlc_timeout applies to AC connectors that require ISO 15118.
  when: (f) => f.current === 'AC',
  build: (ctx) => ({
    trigger: 'session_drop',
    errorCode: rng2(ctx, ['EVCommunicationError', 'OtherError']),
    eventMessage: 'Session aborted before charging',
    details: { connector: String(ctx.session.connector), stopReason: 'Other' },
    root: [
      {
        level: 'warn',
        msg: 'HLC not established within ac_enforce_hlc_timeout, signalling Error_Malfunction',
      },
    ],
    failing: {
      specific: 'Raising error evse_manager/Internal: HLC enforcement timeout',
      generic: 'Session aborted',
    },
    aftermath: [['info', 'Session finished (reason: Other)']],
    culprit: { kind: 'code', tags: ['state_machine'] },
  }),
};

/** Cable check voltage wait shortened: DC cable checks fail on slow PSUs. */
const evseCableCheck: FaultTemplate = {
  id: 'evse-cable-check-regression',
  title: 'EvseManager cable check wait shortened; cable checks fail on slow power modules',
  classes: ['self-regression'],
  failing: ['evse_manager'],
  root: 'self',
  when: (f) => f.current === 'DC',
  build: (ctx) => ({
    trigger: 'cable_check_fault',
    errorCode: 'MREC11CableCheckFault',
    eventMessage: 'Cable check failed',
    details: {
      connector: String(ctx.session.connector),
      vendorErrorCode: vendorCode.MREC11CableCheckFault ?? 'CX011',
    },
    root: [{ level: 'info', msg: 'CableCheck: requesting 500 V for isolation test' }],
    failing: {
      specific: 'Voltage did not rise to 500 V within timeout',
      generic: 'CableCheck failed',
    },
    aftermath: [['info', 'Session finished (reason: Other)']],
    culprit: { kind: 'code', tags: ['cable_check'] },
  }),
};

/** Auth keeps tokens "in process" after a change: second tap rejected. */
const authToken: FaultTemplate = {
  id: 'auth-token-regression',
  title: 'Auth regression keeps tokens in process; valid cards rejected',
  classes: ['self-regression'],
  failing: ['auth'],
  root: 'self',
  build: (ctx) => ({
    trigger: 'auth_failure',
    errorCode: rng2(ctx, ['AuthorizationRejected', 'AlreadyInProcess']),
    eventMessage: 'Authorization rejected',
    details: { connector: String(ctx.session.connector), idTag: ctx.session.idTag },
    root: [{ level: 'warn', msg: `Token ${ctx.session.idTag} already in process, ignoring` }],
    failing: {
      specific: `Token ${ctx.session.idTag} rejected: ALREADY_IN_PROCESS`,
      generic: 'Authorization failed',
    },
    culprit: { kind: 'code', tags: ['token'] },
  }),
};

/** PN532 reader does not wake after power-up (EVerest#90). */
const rfidNoWake: FaultTemplate = {
  id: 'rfid-no-wake',
  title: 'RFID reader does not wake; no tokens read',
  classes: ['dependency-regression', 'runtime'],
  failing: ['auth'],
  root: 'rfid',
  build: (ctx) => {
    const { rng } = ctx;
    return {
      trigger: 'auth_failure',
      errorCode: rng.pick(['ReaderFailure', 'MREC9AuthorizationTimeout']),
      eventMessage: 'No token presented before timeout',
      details: { connector: String(ctx.session.connector) },
      root: [
        { level: 'warn', msg: 'PN532: no ACK for GetFirmwareVersion, retrying' },
        { level: 'warn', msg: 'PN532: no ACK for SAMConfiguration' },
        { level: 'error', msg: 'PN532 not responding on /dev/ttyS2, token provider disabled' },
      ],
      failing: {
        specific: 'No token received within 60 s, authorization timeout',
        generic: 'Authorization timed out',
      },
      culprit: { kind: 'code', tags: ['wake'] },
    };
  },
};

/** eMMC remounted read-only: transactions cannot be persisted. */
const storeReadOnly: FaultTemplate = {
  id: 'store-read-only',
  title: 'Persistent store cannot write (read-only filesystem); transaction aborted',
  classes: ['runtime'],
  failing: ['evse_manager'],
  root: 'persistent_store',
  build: (ctx) => ({
    trigger: rng2(ctx, ['session_drop', 'transaction_error'] as const),
    errorCode: rng2(ctx, ['InternalError', 'evse_manager/Internal']),
    eventMessage: 'Transaction aborted',
    details: { connector: String(ctx.session.connector) },
    root: [
      { level: 'warn', msg: 'SQLite: disk I/O error on /var/lib/everest/kvs.db (SQLITE_IOERR_WRITE)' },
      { level: 'error', msg: 'handle_store: attempt to write a readonly database' },
    ],
    failing: {
      specific: 'Could not store session state, aborting transaction',
      generic: 'Internal error, stopping session',
    },
    aftermath: [['info', 'Stopping transaction (reason: Other)']],
  }),
};

/** Mosquitto runs out of memory or a config change limits queues: modules lose the bus. */
const brokerDown: FaultTemplate = {
  id: 'mqtt-broker-down',
  title: 'Internal MQTT broker drops clients; EvseManager loses its bus',
  classes: ['runtime', 'config-firmware'],
  failing: ['evse_manager'],
  root: 'mqtt_broker',
  build: (ctx) => {
    const { rng, cls } = ctx;
    return {
      trigger: rng.pick(['session_drop', 'module_restart'] as const),
      errorCode: rng.pick(['InternalError', 'OtherError']),
      eventMessage: 'Module lost internal bus',
      details: { connector: String(ctx.session.connector) },
      root: byClass(cls, {
        runtime: [
          { level: 'warn', msg: `Out of memory: ${rng.int(150, 260)} MB used, refusing new messages` },
          { level: 'error', msg: `Client ${ctx.logName(ctx.failing)} has exceeded timeout, disconnecting.` },
        ],
        default: [
          {
            level: 'warn',
            msg: 'Outgoing messages are being dropped for client (max_queued_messages reached)',
          },
          { level: 'warn', msg: `Client ${ctx.logName(ctx.failing)} has exceeded timeout, disconnecting.` },
        ],
      }),
      failing: {
        specific: 'MQTT connection lost, cmd call timed out (everest/modules/*/cmd)',
        generic: 'Timeout',
      },
      culprit: byClass<CulpritSpec | undefined>(cls, {
        'config-firmware': {
          kind: 'config',
          file: 'mosquitto.conf',
          context: '# limits',
          before: ['listener 1883 127.0.0.1', 'allow_anonymous true'],
          changed: ['max_queued_messages 1000', `max_queued_messages ${rng.pick([10, 50])}`],
          after: ['persistence false'],
          summary: 'mosquitto: cap queued messages to bound memory',
        },
        default: undefined,
      }),
    };
  },
};

/** The System module's own firmware update regression. */
const systemFwUpdate: FaultTemplate = {
  id: 'system-fw-update-regression',
  title: 'System module firmware download regression; updates fail',
  classes: ['self-regression'],
  failing: ['system'],
  root: 'self',
  build: (ctx) => ({
    trigger: 'firmware_update_failed',
    errorCode: 'DownloadFailed',
    eventMessage: 'Firmware update failed',
    details: { requestId: String(ctx.rng.int(100, 999)) },
    root: [{ level: 'warn', msg: 'Download interrupted (curl: 18 partial file), not retrying' }],
    failing: {
      specific: 'FirmwareStatusNotification DownloadFailed: partial file',
      generic: 'Firmware update failed',
    },
    culprit: { kind: 'code', tags: ['fw_update'] },
  }),
};

function rng2<T>(ctx: { rng: { pick<U>(items: readonly U[]): U } }, items: readonly T[]): T {
  return ctx.rng.pick(items);
}

export const sessionFaults: FaultTemplate[] = [
  connectionTimeout,
  authTimeoutSelf,
  powerBudget,
  fuseLimit,
  evseDeadlock,
  evseOverCurrent,
  evseHlcTimeout,
  evseCableCheck,
  authToken,
  rfidNoWake,
  storeReadOnly,
  brokerDown,
  systemFwUpdate,
];
