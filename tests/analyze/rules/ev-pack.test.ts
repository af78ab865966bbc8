import { describe, expect, test } from 'bun:test';
import { RELAY } from '../../../src/analyze/weights.ts';
import { change, DAY, graphOf, HOUR, log, MIN, run, trigger } from '../fixtures.ts';

// EVerest/everest-demo#99: the amd64 manager image emulated on an Apple-silicon Mac exits with
// "Syscall pipe2() failed (Invalid argument), exiting" (everest-framework manager.cpp); the map
// has no edge from the manager to the machine that runs it.
describe('ev.log.syscall: the EVerest manager cannot make a system call', () => {
  const bench = graphOf(`
services:
  manager:
    description: EVerest manager container (everest-framework 0.22.1)
    depends_on: [mqtt_server]
  mqtt_server:
    description: mosquitto container
  docker_host:
    description: MacBook Pro (Apple silicon), Docker Desktop Linux VM; amd64 images run under emulation
`);
  const boot = (message: string) =>
    run({
      graph: bench,
      event: trigger({ service: 'manager', eventType: 'CHARGER_BOOT_LOOP', errorCode: 'ManagerExit' }),
      windowMs: 30 * MIN,
      logs: [
        log('manager', 'error', message, 600),
        log('manager', 'error', message, 300),
        log('manager', 'error', message, 60),
      ],
    });
  const on = (r: ReturnType<typeof run>, service: string) =>
    r.hypotheses.find((h) => h.service === service)?.evidence.some((e) => e.ruleId === 'ev.log.syscall') ??
    false;

  test('points outside the map at what runs the processes, not at a module in a container', () => {
    const r = boot('Syscall pipe2() failed (Invalid argument), exiting');
    expect(on(r, 'docker_host')).toBe(true);
    expect(on(r, 'mqtt_server')).toBe(false);
    expect(r.mapSuggestions).toContainEqual(
      expect.objectContaining({ service: 'manager', dependsOn: 'docker_host' }),
    );
  });

  test('a module crash is no system call', () => {
    expect(
      on(boot('Module ocpp (pid: 71) exited with status: 134. Terminating all modules.'), 'docker_host'),
    ).toBe(false);
  });
});

// Tinkerforge/warp-charger#3: a charge stops on a contactor check error the morning after the
// owner raised evcc's minimum current; the charger's firmware was flashed two days earlier.
describe('ev.change.firmware: a firmware flash is suspect for being one, a configuration push is not', () => {
  const garage = graphOf(`
services:
  evse:
    depends_on: [esp32_fw, evcc]
  esp32_fw:
    description: WARP ESP32 firmware
  evcc:
    description: evcc energy manager (PV surplus)
`);
  const r = run({
    graph: garage,
    event: trigger({ service: 'evse', eventType: 'CHARGING_INTERRUPTED', errorCode: 'ERROR_STATE_4' }),
    windowMs: 15 * MIN,
    logs: [log('evse', 'error', 'EVSE: contactor check failed, entering error state 4', 120)],
    changes: [
      change({
        id: 'warp-fw-1.1.0',
        service: 'esp32_fw',
        kind: 'firmware',
        summary: 'WARP firmware 1.0.9 -> 1.1.0',
        agoMs: 2 * DAY,
      }),
      change({
        id: 'evcc-mincurrent-8',
        service: 'evcc',
        kind: 'config',
        summary: 'loadpoint mincurrent 6 A -> 8 A',
        agoMs: 5 * HOUR,
      }),
    ],
  });
  const described = (service: string) =>
    r.hypotheses
      .find((h) => h.service === service)
      ?.evidence.some((e) => e.ruleId === 'ev.change.firmware') ?? false;

  test('the flash is described as one', () => expect(described('esp32_fw')).toBe(true));
  test('the configuration push gets nothing for its kind', () => expect(described('evcc')).toBe(false));
});

// ioBroker/AdapterRequests#559 (fresh-9 p-20's source): a Heidelberg wallbox in standby stops
// answering; openHAB's Modbus binding, between the PV rule and the wallbox, logs every failed poll.
describe('a pack rule read from a relay’s lines', () => {
  const home = graphOf(`
services:
  openhab_rules:
    depends_on: [openhab_modbus]
  openhab_modbus:
    aliases: [rt.modbus.internal.ModbusManagerImpl]
    depends_on: [heidelberg_box1]
  heidelberg_box1:
    aliases: [slaveId=1, Wallbox1]
`);
  const poll = (s: number) =>
    log(
      'openhab_modbus',
      'error',
      '[rt.modbus.internal.ModbusManagerImpl] Last try 3 failed when executing request (ModbusReadRequestBlueprint@4b1e[slaveId=1,functionCode=READ_INPUT_REGISTERS]): ModbusSlaveIOException',
      s,
    );
  const r = run({
    graph: home,
    event: trigger({
      service: 'openhab_rules',
      eventType: 'CHARGE_START_FAILED',
      errorCode: 'MaxCurrentNotApplied',
    }),
    windowMs: 30 * MIN,
    logs: [poll(900), poll(600), poll(300), poll(60)],
  });

  test('counts like its lines: they are about the wallbox it polls', () => {
    const binding = r.hypotheses.find((h) => h.service === 'openhab_modbus');
    const modbus = binding?.evidence.find((e) => e.ruleId === 'ev.log.modbus' && e.weight > 0);
    expect(modbus?.weight).toBeCloseTo(RELAY, 3);
    expect(binding?.reasons.join('\n')).toContain('in lines about heidelberg_box1, which it depends on');
  });
});
