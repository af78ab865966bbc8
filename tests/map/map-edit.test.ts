import { describe, expect, test } from 'bun:test';
import { load } from 'js-yaml';
import { addDependency } from '../../src/map/map-edit.ts';

const map = `# station map
repo: EVerest/everest-core
services:
  ocpp:
    module: OCPP201   # the CSMS link
    depends_on: [network]
  network: {}
  evse_manager_1:
    # DC connector
    module: EvseManager
    depends_on:
      - bsp   # board support
      - mqtt_broker
    owners: ["@charging-core"]
  bsp:
    module: PhyVersoBSP
  mqtt_broker:
    description: Mosquitto
triggers: [SESSION_DROP]
`;

const depsIn = (yaml: string, svc: string) =>
  (load(yaml) as { services: Record<string, { depends_on?: string[] }> }).services[svc]?.depends_on;

describe('adding a depends_on edge to a map text', () => {
  test('a block list gets one more item; comments and layout stay', () => {
    const r = addDependency(map, 'evse_manager_1', 'ocpp');
    if (!r.ok) throw new Error(r.problems.join());
    expect(r.changed && !r.rewritten).toBe(true);
    expect(depsIn(r.yaml, 'evse_manager_1')).toEqual(['bsp', 'mqtt_broker', 'ocpp']);
    expect(r.yaml).toContain('      - mqtt_broker\n      - ocpp\n    owners');
    expect(r.yaml).toContain('# DC connector');
    expect(r.yaml.split('\n').length).toBe(map.split('\n').length + 1);
  });

  test('a flow list is extended in place, its comment kept', () => {
    const r = addDependency(map, 'ocpp', 'mqtt_broker');
    if (!r.ok) throw new Error(r.problems.join());
    expect(r.rewritten).toBe(false);
    expect(r.yaml).toContain('    depends_on: [network, mqtt_broker]\n');
    expect(r.yaml).toContain('# the CSMS link');
  });

  test('a service without depends_on gets the list', () => {
    const r = addDependency(map, 'bsp', 'mqtt_broker');
    if (!r.ok) throw new Error(r.problems.join());
    expect(r.rewritten).toBe(false);
    expect(r.yaml).toContain('  bsp:\n    depends_on: [mqtt_broker]\n    module: PhyVersoBSP');
  });

  test('a shape the text edit does not handle (flow mapping) is re-written from the parsed map', () => {
    const r = addDependency(map, 'network', 'mqtt_broker');
    if (!r.ok) throw new Error(r.problems.join());
    expect(r.rewritten).toBe(true);
    expect(depsIn(r.yaml, 'network')).toEqual(['mqtt_broker']);
    expect(depsIn(r.yaml, 'evse_manager_1')).toEqual(['bsp', 'mqtt_broker']);
  });

  test('an edge already there changes nothing; an unknown service is refused', () => {
    const same = addDependency(map, 'evse_manager_1', 'bsp');
    expect(same).toEqual({ ok: true, yaml: map, changed: false, rewritten: false });
    expect(addDependency(map, 'evse_manager_9', 'bsp')).toEqual({
      ok: false,
      problems: ["service 'evse_manager_9' is not in the system map"],
    });
  });
});
