import { describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { importEverestConfig } from '../../src/map/everest-import.ts';
import { parseSystemMap } from '../../src/map/system-map.ts';

// Real configs from EVerest/everest-core@23c9dac (each file's first line names its source).
const fixture = (name: string) =>
  readFileSync(join(import.meta.dir, '..', 'fixtures', 'everest', name), 'utf8');

/** The config's connections, read independently of the importer: module id -> required module ids. */
function connections(text: string): Map<string, Set<string>> {
  const cfg = load(text, { json: true }) as {
    active_modules: Record<string, { connections?: Record<string, Array<{ module_id: string }>> | null }>;
  };
  const out = new Map<string, Set<string>>();
  for (const [id, m] of Object.entries(cfg.active_modules)) {
    const deps = new Set<string>();
    for (const list of Object.values(m.connections ?? {}))
      for (const c of list ?? []) if (c.module_id !== id) deps.add(c.module_id);
    out.set(id, deps);
  }
  return out;
}

describe('map import everest', () => {
  for (const name of [
    'config-sil-ocpp.yaml',
    'config-CB-EVAL-DC.yaml',
    'config-sil-ocpp201.yaml',
    'config-CB-SAT-AC-powermeter.yaml',
  ]) {
    test(`${name}: the map passes map check and its edges are exactly the config's connections`, () => {
      const text = fixture(name);
      const r = importEverestConfig(text, { repo: 'EVerest/everest-core' });
      if (!r.ok) throw new Error(r.problems.join('\n'));
      const map = parseSystemMap(r.yaml);
      if (!map.ok) throw new Error(map.problems.map((p) => p.message).join('\n'));
      const expected = connections(text);
      expect([...map.graph.services.keys()].sort()).toEqual([...expected.keys()].sort());
      for (const [id, deps] of expected) expect(new Set(map.graph.services.get(id)?.dependsOn)).toEqual(deps);
    });
  }

  test('module types give files from everest-core and known functions; the module type is kept', () => {
    const r = importEverestConfig(fixture('config-CB-EVAL-DC.yaml'));
    if (!r.ok) throw new Error(r.problems.join('\n'));
    const map = parseSystemMap(r.yaml);
    if (!map.ok) throw new Error('map rejected');
    const evse = map.graph.services.get('connector_1');
    expect(evse).toMatchObject({ module: 'EvseManager', files: ['modules/EVSE/EvseManager/'] });
    expect(evse?.functions).toContain('Charger::run_state_machine');
    expect(map.graph.services.get('powersupply_dc')?.files[0]).toMatch(
      /^modules\/HardwareDrivers\/PowerSupplies\//,
    );
    // The shipped config repeats `connections:` for iso15118_charger; the later one wins, with a warning.
    expect(r.warnings.some((w) => /duplicated key/.test(w))).toBe(true);
    expect(map.graph.services.get('iso15118_charger')?.dependsOn).toEqual(['evse_security']);
  });

  test('a config without active_modules, or with a connection missing its module_id, is refused with the path', () => {
    const a = importEverestConfig('settings:\n  telemetry_enabled: true\n');
    expect(a.ok).toBe(false);
    if (!a.ok) expect(a.problems.join()).toContain('active_modules');
    const b = importEverestConfig(
      'active_modules:\n  evse:\n    module: EvseManager\n    connections:\n      bsp:\n        - implementation_id: board_support\n',
    );
    expect(b.ok).toBe(false);
    if (!b.ok) expect(b.problems.join()).toContain('active_modules.evse.connections.bsp.0.module_id');
  });
});
