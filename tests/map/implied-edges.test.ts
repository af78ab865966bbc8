import { describe, expect, test } from 'bun:test';
import { everestModuleOf, impliedEdges } from '../../src/map/implied-edges.ts';
import { graphOf } from '../analyze/fixtures.ts';

/** A twin AC charger whose map left out Auth's token reader, the meter's serial hub and the second IMD edge. */
const depot = graphOf(`
services:
  auth:
    module: Auth
  meter:
    module: GenericPowermeter (Eastron SDM630)
  serial_hub:
    module: SerialCommHub
  operator_auth:
    module: Auth
    depends_on: [ocpp201]
  ocpp201:
    module: OCPP201
    depends_on: [evse_1, evse_2]
  evse_1:
    module: EvseManager (AC, connector 1)
    depends_on: [imd_1]
  evse_2:
    module: EvseManager (AC, connector 2)
  imd_1:
    module: Bender_isoCHA425HV
  imd_2:
    module: Bender_isoCHA425HV
  pn532:
    module: PN532TokenProvider (/dev/ttyS4)
  display:
    description: depot HMI (Qt)
`);

describe('dependencies implied by EVerest manifests', () => {
  test('the module type is the first word of the map entry', () => {
    expect(everestModuleOf(depot, 'evse_1')).toBe('EvseManager');
    expect(everestModuleOf(depot, 'pn532')).toBe('PN532TokenProvider');
    expect(everestModuleOf(depot, 'display')).toBeNull();
  });

  test('Auth requires a token provider: the reader the map left out is implied', () => {
    const edges = impliedEdges(depot).get('auth') ?? [];
    expect(edges).toContainEqual({
      dependsOn: 'pn532',
      interface: 'auth_token_provider',
      module: 'Auth',
      providerModule: 'PN532TokenProvider',
    });
    // Declared edges are not implied again.
    expect(edges.map((e) => e.dependsOn)).not.toContain('ocpp201');
  });

  test('a provider another service of the same module already depends on is taken', () => {
    const dependsOn = (impliedEdges(depot).get('evse_2') ?? []).map((e) => e.dependsOn);
    expect(dependsOn).toContain('imd_2');
    expect(dependsOn).not.toContain('imd_1');
  });
});
