import { describe, expect, test } from 'bun:test';
import { graphOf, log, MIN, run, trigger } from '../fixtures.ts';

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
