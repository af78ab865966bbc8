import { describe, expect, test } from 'bun:test';
import { parseRules } from '../../src/analyze/rules/schema.ts';
import { ruleSet } from '../../src/analyze/rules/pack.ts';
import {
  change,
  chronic,
  DAY,
  event,
  graphOf,
  HOUR,
  log,
  MIN,
  mapYaml,
  ranking,
  run,
  station,
  T,
  trigger,
} from './fixtures.ts';

// A LEM DCBM regression: the meter driver's start-transaction timeout was cut, the meter times out,
// and EvseManager drops the session waiting for it.
const meterRegression = change({
  id: 'chg-lem-timeout',
  sha: '3f2a1c9d0e4b5a6f7081928374655647382910ab',
  summary: 'LemDCBM400600: cut start_transaction retry timeout to 3s',
  files: ['modules/HardwareDrivers/PowerMeters/LemDCBM400600/main/lem_dcbm_400600_controller.cpp'],
  diff: [
    '--- a/modules/HardwareDrivers/PowerMeters/LemDCBM400600/main/lem_dcbm_400600_controller.cpp',
    '+++ b/modules/HardwareDrivers/PowerMeters/LemDCBM400600/main/lem_dcbm_400600_controller.cpp',
    '@@ -212,7 +212,7 @@ void LemDCBM400600Controller::request_device_to_start_transaction(const types::powermeter::TransactionReq& req) {',
    '-    const auto timeout = std::chrono::seconds(10);',
    '+    const auto timeout = std::chrono::seconds(3);',
  ].join('\n'),
  agoMs: 2 * HOUR,
});

const meterLogs = [
  log('PowerMeterDC', 'error', 'HTTP request to DCBM /v1/legal timed out after 3000 ms', 20),
  log('PowerMeterDC', 'error', 'HTTP request to DCBM /v1/legal timed out after 3001 ms', 14),
  log('SessionManager', 'error', 'PowermeterTransactionStartFailed: no response from powermeter_dc', 4, true),
  log('SessionManager', 'info', 'Session sess-7f3a: PrepareCharging', 60, true),
];

describe('ranking', () => {
  test('a dependency regression outranks the failing service, and its commit is blamed', () => {
    const r = run({ logs: meterLogs, changes: [meterRegression] });
    expect(ranking(r)[0]).toBe('powermeter_dc');
    expect(ranking(r).indexOf('evse_manager_1')).toBeGreaterThan(0);
    const top = r.hypotheses[0]!;
    expect(top.change?.sha).toBe(meterRegression.sha!);
    expect(top.function).toBe('request_device_to_start_transaction');
    expect(top.file).toBe(meterRegression.files[0]!);
    expect(top.evidence.some((e) => e.kind === 'change')).toBe(true);
    expect(top.evidence.some((e) => e.kind === 'log')).toBe(true);
    expect(r.ruleErrors).toEqual([]);
  });

  test('the summary names the event, the suspect, the commit, the function and the evidence', () => {
    const r = run({ logs: meterLogs, changes: [meterRegression] });
    expect(r.summary).toContain('SESSION_DROP (TIMEOUT) in SessionManager');
    expect(r.summary).toContain('likely powermeter_dc');
    expect(r.summary).toContain("commit 3f2a1c9 'LemDCBM400600: cut start_transaction retry timeout to 3s'");
    expect(r.summary).toContain('changed request_device_to_start_transaction, 2 h before');
    expect(r.summary).toContain('2 new warning/error lines from powermeter_dc in the 20 s before the drop');
  });

  test('a change after the event is never evidence', () => {
    const after = { ...meterRegression, id: 'chg-after', timestamp: T + 30_000 };
    const r = run({ logs: meterLogs, changes: [after] });
    expect(r.hypotheses.every((h) => !h.change)).toBe(true);
    expect(JSON.stringify(r.hypotheses)).not.toContain('chg-after');
  });

  test('a change older than the look-back is never evidence', () => {
    const old = { ...meterRegression, id: 'chg-old', timestamp: T - 8 * DAY };
    const r = run({ logs: meterLogs, changes: [old], lookbackMs: 7 * DAY });
    expect(JSON.stringify(r.hypotheses)).not.toContain('chg-old');
    // The same change inside a longer look-back is evidence: the filter, not the change, decided.
    const longer = run({ logs: meterLogs, changes: [old], lookbackMs: 10 * DAY });
    expect(JSON.stringify(longer.hypotheses)).toContain('chg-old');
  });

  test('a change that only touches tests and docs is not blamed', () => {
    const docs = change({
      id: 'chg-docs',
      sha: 'd0c5d0c5d0c5d0c5d0c5',
      summary: 'EvseManager: document session timeout handling',
      files: ['modules/EVSE/EvseManager/docs/index.rst', 'modules/EVSE/EvseManager/tests/ChargerTest.cpp'],
      agoMs: 30 * MIN,
    });
    const code = {
      ...docs,
      id: 'chg-code',
      sha: 'c0dec0dec0dec0dec0de',
      files: ['modules/EVSE/EvseManager/Charger.cpp'],
    };
    const r = run({ changes: [docs] });
    expect(r.hypotheses.some((h) => h.change)).toBe(false);
    // The same commit on code would be blamed.
    expect(run({ changes: [code] }).hypotheses[0]?.change?.sha).toBe(code.sha!);
  });

  test('chronic warnings in an innocent service do not win', () => {
    // The IMD has warned about marginal isolation all day; today the board's MCU stopped answering.
    const imdNoise = Array.from({ length: 12 }, (_, i) =>
      log(
        'IsolationMonitor',
        'warn',
        `Isolation resistance ${480 - i} kOhm below warning threshold 500 kOhm`,
        280 - i * 20,
      ),
    );
    const r = run({
      event: trigger({ eventType: 'CHARGING_FAULT', errorCode: 'MREC14PilotFault' }),
      logs: [...imdNoise, log('bsp', 'error', 'evSerial: no keep-alive from MCU for 2000 ms', 8)],
      history: [
        chronic('IsolationMonitor', 'Isolation resistance <n> kOhm below warning threshold <n> kOhm', 4000),
      ],
    });
    expect(ranking(r)[0]).toBe('bsp');
    expect(ranking(r).indexOf('imd')).toBeGreaterThan(1);
    // Without the history the same warnings are new, and the IMD becomes a serious suspect.
    const fresh = run({
      event: trigger({ eventType: 'CHARGING_FAULT', errorCode: 'MREC14PilotFault' }),
      logs: imdNoise,
    });
    expect(ranking(fresh)[0]).toBe('imd');
  });

  test('the first service to fail wins over later symptom errors', () => {
    // comm_hub's Modbus bus fails first; the IMD (on that bus) and EvseManager follow.
    const r = run({
      event: trigger({ eventType: 'CABLE_CHECK_FAULT', errorCode: 'MREC11CableCheckFault' }),
      logs: [
        log('SerialCommHub', 'error', 'TinyModbusRTU::txrx: no response from unit 3 on /dev/ttymxc2', 40),
        log('IsolationMonitor', 'error', 'Bender isoCHA425HV: read of register 1001 failed', 30),
        log('IsolationMonitor', 'error', 'Bender isoCHA425HV: read of register 1002 failed', 25),
        log('IsolationMonitor', 'error', 'Bender isoCHA425HV: read of register 1003 failed', 20),
        log('SessionManager', 'error', 'Cable check: isolation measurement timeout', 5, true),
      ],
    });
    expect(ranking(r)[0]).toBe('comm_hub');
    const imd = r.hypotheses.find((h) => h.service === 'imd')!;
    expect(imd.reasons.join(' ')).toContain('likely a symptom');
  });

  test('a vague error naming nothing counts less than a specific one', () => {
    // Same level, same moment: bsp's "Command failed: unknown error" says only that something failed;
    // the IMD's line names the device and the condition.
    const r = run({
      event: trigger({ eventType: 'CABLE_CHECK_FAULT', errorCode: 'MREC11CableCheckFault' }),
      logs: [
        log('bsp', 'error', 'Command failed: unknown error', 30),
        log('imd', 'error', 'Bender isoCHA425HV: self test result out of range (820 kOhm)', 30),
      ],
    });
    expect(ranking(r).indexOf('imd')).toBeLessThan(ranking(r).indexOf('bsp'));
    const w = (s: string) =>
      r.hypotheses.find((h) => h.service === s)!.evidence.find((e) => e.ruleId === 'logs.errors')!.weight;
    expect(w('bsp')).toBeCloseTo(0.3 * w('imd'), 3);
  });

  test('a silent dependency with a firmware flash takes the prior of a failing service that only reports the failure', () => {
    // The contactor does not open after the BSP's MCU firmware was flashed; only EvseManager logs,
    // and its line restates the trigger.
    const flash = change({
      id: 'fw-phyverso-2.4.1',
      kind: 'firmware',
      service: 'bsp',
      summary: 'PhyVerso MCU firmware 2.4.1 flashed',
      agoMs: 14 * HOUR,
    });
    const r = run({
      event: trigger({ eventType: 'CONTACTOR_FAULT', errorCode: 'MREC17EVSEContactorFault' }),
      logs: [
        log(
          'SessionManager',
          'error',
          'Contactor did not open within 200 ms (MREC17EVSEContactorFault)',
          1,
          true,
        ),
      ],
      changes: [flash],
    });
    expect(ranking(r)[0]).toBe('bsp');
    expect(r.hypotheses[0]!.change?.id).toBe('fw-phyverso-2.4.1');
    const failing = r.hypotheses.find((h) => h.service === 'evse_manager_1')!;
    expect(failing.evidence.some((e) => e.ruleId === 'graph.prior' && e.weight > 0)).toBe(false);
  });

  test('the failing service keeps its prior when it has an error of its own', () => {
    const flash = change({
      id: 'fw-phyverso-2.4.1',
      kind: 'firmware',
      service: 'bsp',
      summary: 'PhyVerso MCU firmware 2.4.1 flashed',
      agoMs: 14 * HOUR,
    });
    const r = run({
      event: trigger({ eventType: 'CONTACTOR_FAULT', errorCode: 'MREC17EVSEContactorFault' }),
      logs: [
        log(
          'SessionManager',
          'error',
          'Charger::run_state_machine: mutex lock held for 30 s, state machine stalled',
          20,
          true,
        ),
      ],
      changes: [flash],
    });
    const failing = r.hypotheses.find((h) => h.service === 'evse_manager_1')!;
    expect(failing.evidence.find((e) => e.ruleId === 'graph.prior')?.weight).toBe(0.5);
  });

  test('an unknown failing service still gets a report naming it as the only candidate', () => {
    const r = run({
      event: trigger({ service: 'VendorDisplayBridge', eventType: 'DISPLAY_FREEZE', errorCode: 'WATCHDOG' }),
      logs: [log('vendor_display_bridge', 'fatal', 'watchdog expired: render loop stuck for 5000 ms', 3)],
    });
    expect(ranking(r)).toEqual(['VendorDisplayBridge']);
    expect(r.hypotheses[0]!.reasons.join(' ')).toContain('not in the system map');
    expect(r.hypotheses[0]!.evidence.some((e) => e.kind === 'log')).toBe(true);
  });

  test('cycles in the map terminate and every service is ranked once', () => {
    const cyclic = graphOf(`
services:
  evse_manager: { depends_on: [bsp, energy_manager] }
  bsp: { depends_on: [evse_manager] }
  energy_manager: { depends_on: [grid] }
  grid: { depends_on: [energy_manager, evse_manager] }
`);
    const r = run({
      graph: cyclic,
      event: trigger({ service: 'evse_manager' }),
      logs: [log('grid', 'error', 'enforce_limits: fuse limit exceeded', 30)],
    });
    expect(ranking(r)[0]).toBe('grid');
    expect(new Set(ranking(r)).size).toBe(ranking(r).length);
    expect(ranking(r).sort()).toEqual(['bsp', 'energy_manager', 'evse_manager', 'grid']);
  });

  test('ranking is deterministic: same input, same output, ties broken by name', () => {
    const input = { logs: meterLogs, changes: [meterRegression] };
    expect(JSON.stringify(run(input))).toBe(JSON.stringify(run(input)));
    // Shuffled evidence ranks the same.
    const shuffled = run({ logs: [...meterLogs].reverse(), changes: [meterRegression] });
    expect(JSON.stringify(shuffled.hypotheses)).toBe(JSON.stringify(run(input).hypotheses));
    // Two services with identical evidence: alphabetical order decides.
    const twin = graphOf('services:\n  hub: { depends_on: [zeta, alpha] }\n  zeta: {}\n  alpha: {}\n');
    const tie = run({ graph: twin, event: trigger({ service: 'hub' }) });
    expect(ranking(tie)).toEqual(['hub', 'alpha', 'zeta']);
  });

  test('confidences are within 0..1 and sum to at most 1', () => {
    for (const r of [run(), run({ logs: meterLogs, changes: [meterRegression] })]) {
      const sum = r.hypotheses.reduce((s, h) => s + h.confidence, 0);
      expect(sum).toBeLessThanOrEqual(1);
      for (const h of r.hypotheses) expect(h.confidence).toBeGreaterThanOrEqual(0);
      expect(r.hypotheses.map((h) => h.rank)).toEqual(r.hypotheses.map((_, i) => i + 1));
    }
    // No evidence at all: a low-confidence guess, not a verdict.
    expect(run().hypotheses[0]!.confidence).toBeLessThan(0.4);
  });

  test('an event whose origin field names a module points at it; a name in its text is only a hint', () => {
    const origin = run({
      event: trigger({
        eventType: 'CHARGING_FAULT',
        errorCode: 'CommunicationFault',
        details: { origin_module_id: 'powersupply_dc', connector: '1' },
      }),
    });
    expect(ranking(origin)[0]).toBe('powersupply_dc');
    expect(origin.hypotheses[0]!.evidence.some((e) => e.ruleId === 'event.origin')).toBe(true);
    const hint = run({
      event: trigger({
        eventType: 'CHARGING_FAULT',
        errorCode: 'CommunicationFault',
        message: 'no data from slac',
      }),
    });
    const slac = hint.hypotheses.find((h) => h.service === 'slac')!;
    expect(slac.evidence.some((e) => e.ruleId === 'logs.mention')).toBe(true);
    expect(slac.evidence.some((e) => e.ruleId === 'event.origin')).toBe(false);
  });

  test('the failure already occurring before a change at the same rate clears the change', () => {
    const c = change({
      id: 'chg-em',
      sha: '9e8d7c6b5a49382716',
      summary: 'EvseManager: raise session timeout',
      files: ['modules/EVSE/EvseManager/Charger.cpp'],
      agoMs: 2 * HOUR,
    });
    const chronicFailure = Array.from({ length: 40 }, (_, i) => T - 6 * DAY + i * 3.5 * HOUR);
    const before = run({
      changes: [c],
      failureHistory: {
        count: 40,
        firstTs: chronicFailure[0]!,
        lastTs: chronicFailure.at(-1)!,
        timestamps: chronicFailure,
      },
    });
    expect(before.hypotheses[0]!.change).toBeUndefined();
    // Once before, then a burst after the change: the rate jumped, so the change stays blamed.
    const burst = [T - 5 * DAY, T - 90 * MIN, T - 60 * MIN, T - 30 * MIN];
    const jumped = run({
      changes: [c],
      failureHistory: { count: 4, firstTs: burst[0]!, lastTs: burst.at(-1)!, timestamps: burst },
    });
    expect(jumped.hypotheses[0]!.change?.sha).toBe(c.sha!);
  });

  test('among several changes to the suspect, the recent and relevant one is blamed', () => {
    const oldUnrelated = change({
      id: 'chg-log',
      sha: '1111111111aaaa',
      summary: 'LemDCBM400600: tidy log output',
      files: ['modules/HardwareDrivers/PowerMeters/LemDCBM400600/main/powermeterImpl.cpp'],
      agoMs: 4 * DAY,
    });
    const r = run({ logs: meterLogs, changes: [oldUnrelated, meterRegression] });
    expect(r.hypotheses[0]!.change?.sha).toBe(meterRegression.sha!);
  });

  test('earlier occurrences of the same failure are no evidence, so a storm ranks every trigger alike', () => {
    const ocpp = trigger({
      service: 'OCPP',
      eventType: 'OCPP_DISCONNECT',
      errorCode: 'WebsocketPongTimeout',
    });
    const first = run({ event: ocpp });
    const repeats = [10, 20, 30].map((s) =>
      event({
        secondsBefore: s,
        service: 'OCPP',
        eventType: 'OCPP_DISCONNECT',
        errorCode: 'WebsocketPongTimeout',
      }),
    );
    const later = run({ event: ocpp, events: repeats });
    expect(ranking(later)).toEqual(ranking(first));
  });

  test('events from a dependency in the window count as its errors', () => {
    const r = run({
      events: [
        event({
          secondsBefore: 30,
          service: 'PowerMeterAC',
          eventType: 'METER_FAULT',
          errorCode: 'CommunicationFault',
        }),
      ],
      event: trigger({ service: 'EvseManagerAC', errorCode: 'PowermeterTransactionStartFailed' }),
    });
    expect(ranking(r)[0]).toBe('powermeter_ac');
  });
});

describe('rules', () => {
  test('adjustments multiply rule and service weights and name the model version', () => {
    const base = run({ logs: meterLogs, changes: [meterRegression] });
    const adjusted = run({
      logs: meterLogs,
      changes: [meterRegression],
      adjustments: { services: { powermeter_dc: 0.1 } },
    });
    expect(ranking(base)[0]).toBe('powermeter_dc');
    expect(ranking(adjusted)[0]).not.toBe('powermeter_dc');
    expect(adjusted.modelVersion).toStartWith(`${base.modelVersion}+adj-`);
    const noGraph = run({ adjustments: { rules: { 'graph.prior': 0 } } });
    expect(noGraph.hypotheses.every((h) => h.confidence === 0)).toBe(true);
  });

  test('a failing rule is recorded and the others still run', () => {
    const set = ruleSet();
    const good = set.rules.find((r) => r.id === 'ev.code.meter')!;
    const throwing = {
      test: () => {
        throw new Error('boom');
      },
    } as unknown as RegExp;
    const broken = { ...good, id: 'user.broken', re: { ...good.re, eventType: throwing } };
    const r = run({
      logs: meterLogs,
      changes: [meterRegression],
      rules: { ...set, rules: [broken, ...set.rules] },
    });
    expect(r.ruleErrors.map((e) => e.ruleId)).toEqual(['user.broken']);
    expect(r.ruleErrors[0]!.error).toContain('boom');
    expect(ranking(r)[0]).toBe('powermeter_dc');
    expect(r.hypotheses[0]!.evidence.some((e) => e.ruleId === 'ev.change.timeouts')).toBe(true);
  });

  test('a user rule targets by component regex and changes the ranking', () => {
    const user = parseRules(
      `rules:
  - id: site.store-full
    when: { eventType: SESSION_DROP }
    target: { relation: dependency, match: 'persistent|kvs' }
    weight: 3
    reason: 'this site''s eMMC is worn; {service} is the usual suspect'
`,
      'user.yaml',
    );
    if (!user.ok) throw new Error(user.problems.join('\n'));
    const r = run({ rules: ruleSet({ rules: user.rules, text: 'x' }) });
    expect(ranking(r)[0]).toBe('persistent_store');
    expect(r.hypotheses[0]!.reasons[0]).toBe(
      "this site's eMMC is worn; persistent_store is the usual suspect",
    );
  });

  test('rules see only new log lines, not chronic ones', () => {
    const logs = [log('PowerMeterDC', 'warn', 'Modbus CRC error on read_register 0x3000', 30)];
    const withHistory = run({
      logs,
      history: [chronic('PowerMeterDC', 'Modbus CRC error on read_register <n>')],
    });
    const fresh = run({ logs });
    const fired = (r: ReturnType<typeof run>) =>
      r.hypotheses.some((h) => h.evidence.some((e) => e.ruleId === 'ev.log.modbus'));
    expect(fired(fresh)).toBe(true);
    expect(fired(withHistory)).toBe(false);
  });

  test('the example map parses and the built-in pack targets its components by description, not ids', () => {
    expect(station.services.size).toBeGreaterThan(10);
    expect(mapYaml).toContain('evse_manager_1');
    const pack = ruleSet().rules;
    for (const r of pack) {
      const target = r.spec.target.match ?? '';
      for (const id of ['evse_manager_1', 'powermeter_dc', 'powersupply_dc', 'iso15118_charger'])
        expect(target).not.toContain(id);
    }
  });
});
