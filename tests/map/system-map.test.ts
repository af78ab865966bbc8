import { describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { parseSystemMap } from '../../src/map/system-map.ts';
import { exampleMap } from '../helpers/test-app.ts';

const ok = (yaml: string) => {
  const r = parseSystemMap(yaml);
  if (!r.ok) throw new Error(r.problems.map((p) => p.message).join('\n'));
  return r;
};

describe('system map', () => {
  test('the example station map is valid, has at least 12 services and SESSION_DROP as a trigger', () => {
    const r = ok(readFileSync(exampleMap, 'utf8'));
    expect(r.graph.services.size).toBeGreaterThanOrEqual(12);
    expect(r.graph.triggers.has('SESSION_DROP')).toBe(true);
    expect(r.warnings).toEqual([]);
  });

  test('in the example map an OCPP failure can surface in both EvseManagers, as EVerest wires them', () => {
    // The OCPP module stops the EvseManagers' transactions (StopTransactionOnConnectionLoss), so a
    // SESSION_DROP on either connector has ocpp, and what ocpp depends on, among its candidates.
    const { graph } = ok(readFileSync(exampleMap, 'utf8'));
    for (const evse of ['evse_manager_1', 'evse_manager_2']) {
      const names = graph.candidates(evse).map((c) => c.service);
      expect(names).toContain('ocpp');
      expect(names).toContain('csms');
      expect(names).toContain('network');
    }
  });

  test('candidates of a failure are the service and everything it depends on, with distances', () => {
    const { graph } = ok(`
services:
  evse_manager: { depends_on: [powermeter, slac] }
  powermeter: { depends_on: [comm_hub] }
  comm_hub: {}
  slac: {}
  display: { depends_on: [evse_manager] }
`);
    const c = graph.candidates('evse_manager');
    expect(c.map((x) => `${x.service}:${x.distance}`)).toEqual([
      'evse_manager:0',
      'powermeter:1',
      'slac:1',
      'comm_hub:2',
    ]);
    expect(c.find((x) => x.service === 'comm_hub')?.path).toEqual(['evse_manager', 'powermeter', 'comm_hub']);
    expect(graph.dependents('evse_manager')).toEqual(['display']);
  });

  test('the candidates of a failure reported under an alias or an unmapped name', () => {
    const { graph } = ok(`
services:
  evse_manager: { depends_on: [powermeter], aliases: [EvseManager] }
  powermeter: {}
`);
    expect(graph.failureCandidates('EvseManager').map((x) => x.service)).toEqual([
      'evse_manager',
      'powermeter',
    ]);
    // The map does not know the service: the failing service alone, under the event's own name.
    expect(graph.failureCandidates('iso15118_charger')).toEqual([
      { service: 'iso15118_charger', distance: 0, path: ['iso15118_charger'] },
    ]);
  });

  test('a cycle is a warning with its path, and walks terminate on it', () => {
    const r = ok(`
services:
  ocpp: { depends_on: [auth] }
  auth: { depends_on: [ocpp, rfid] }
  rfid: {}
`);
    expect(r.warnings.map((w) => w.message)).toEqual(['dependency cycle: auth -> ocpp -> auth']);
    expect(r.graph.candidates('ocpp').map((c) => c.service)).toEqual(['ocpp', 'auth', 'rfid']);
  });

  test('unknown dependencies, duplicate services and wrong types name the service and line', () => {
    const unknown = parseSystemMap('services:\n  ocpp:\n    depends_on: [modem]\n');
    expect(unknown.ok).toBe(false);
    if (!unknown.ok)
      expect(unknown.problems[0]?.message).toBe("service 'ocpp' depends on unknown service 'modem' (line 2)");

    const dup = parseSystemMap('services:\n  slac: {}\n  slac: {}\n');
    expect(dup.ok).toBe(false);
    if (!dup.ok) expect(dup.problems[0]).toMatchObject({ service: 'slac', line: 3 });

    const types = parseSystemMap('services:\n  imd:\n    depends_on: comm_hub\n  rfid:\n    functions: 7\n');
    expect(types.ok).toBe(false);
    if (!types.ok) {
      expect(types.problems.map((p) => [p.service, p.line])).toEqual([
        ['imd', 2],
        ['rfid', 4],
      ]);
      expect(types.problems[0]?.message).toContain('services.imd.depends_on');
    }
  });

  test('a YAML syntax error reports its line', () => {
    const r = parseSystemMap('services:\n  ocpp: {depends_on: [auth\n');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems[0]?.message).toMatch(/YAML syntax error at line \d+/);
  });

  test('unknown keys are rejected', () => {
    const r = parseSystemMap('services:\n  ocpp:\n    dependson: [auth]\n');
    expect(r.ok).toBe(false);
  });

  test('files ending in / cover everything below; aliases resolve to the map name', () => {
    const { graph } = ok(`
repo: EVerest/everest-core
services:
  evse_manager_1:
    aliases: [SessionManager]
    files: [modules/EVSE/EvseManager/]
  ocpp:
    file: modules/EVSE/OCPP/OCPP.cpp
    repo: EVerest/libocpp
`);
    expect(graph.servicesForFile('modules/EVSE/EvseManager/Charger.cpp')).toEqual(['evse_manager_1']);
    expect(graph.servicesForFile('modules/EVSE/OCPP/OCPP.cpp')).toEqual(['ocpp']);
    expect(graph.servicesForFile('modules/EVSE/OCPP/other.cpp')).toEqual([]);
    expect(graph.resolve('SessionManager')).toBe('evse_manager_1');
    expect(graph.resolve('session-manager')).toBe('evse_manager_1');
    expect(graph.resolve('PowerMeter')).toBeNull();
    expect(graph.services.get('ocpp')?.repo).toBe('EVerest/libocpp');
    expect(graph.services.get('evse_manager_1')?.repo).toBe('EVerest/everest-core');
  });
});
