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
  evse_3:
    module: EvseManager (AC, connector 3, not wired to OCPP on purpose)
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

  test('a requirement the map wires to no provider implies every provider', () => {
    expect(impliedEdges(depot).get('meter')).toEqual([
      {
        dependsOn: 'serial_hub',
        interface: 'serial_communication_hub',
        module: 'GenericPowermeter',
        providerModule: 'SerialCommHub',
        weak: false,
      },
    ]);
    expect(impliedEdges(depot).get('auth')).toContainEqual({
      dependsOn: 'pn532',
      interface: 'auth_token_provider',
      module: 'Auth',
      providerModule: 'PN532TokenProvider',
      weak: false,
    });
  });

  test('a requirement already wired to a provider that serves only it implies no others', () => {
    // OCPP201 is wired to evse_1 and evse_2 for its evse_manager requirement: it is not missing a third.
    const edges = impliedEdges(depot).get('ocpp201') ?? [];
    expect(edges.map((e) => e.interface)).not.toContain('evse_manager');
    // Declared edges are not implied again.
    expect(edges.map((e) => e.dependsOn)).not.toContain('evse_1');
  });

  test('a provider wired for another requirement does not satisfy this one', () => {
    // operator_auth is wired to OCPP201 (its token validator), which provides tokens too: the reader is still implied.
    expect(impliedEdges(depot).get('operator_auth')).toContainEqual(
      expect.objectContaining({ dependsOn: 'pn532', interface: 'auth_token_provider' }),
    );
  });

  test('a provider another service of the same module already depends on is taken', () => {
    const dependsOn = (impliedEdges(depot).get('evse_2') ?? []).map((e) => e.dependsOn);
    expect(dependsOn).toContain('imd_2');
    expect(dependsOn).not.toContain('imd_1');
  });

  test("the map's only provider of a needed interface is shared: a second meter on the same serial hub", () => {
    const g = graphOf(`
services:
  meter_1:
    module: GenericPowermeter (connector 1)
    depends_on: [serial_hub]
  meter_2:
    module: GenericPowermeter (connector 2)
  serial_hub:
    module: SerialCommHub
`);
    expect(impliedEdges(g).get('meter_2')).toContainEqual(
      expect.objectContaining({ dependsOn: 'serial_hub', weak: false }),
    );
  });

  test('the only provider of an optional interface wired to another requirer is implied weakly', () => {
    const g = graphOf(`
services:
  evse_1:
    module: EvseManager (DC, connector 1)
    depends_on: [imd]
  evse_2:
    module: EvseManager (DC, connector 2)
  imd:
    module: Bender_isoCHA425HV
`);
    // EvseManager's imd requirement has min_connections 0 (EVerest/everest-core@23c9dac:modules/EVSE/EvseManager/manifest.yaml).
    expect(impliedEdges(g).get('evse_2')).toContainEqual(
      expect.objectContaining({ dependsOn: 'imd', weak: true }),
    );
  });
});
