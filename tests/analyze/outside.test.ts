import { describe, expect, test } from 'bun:test';
import { change, graphOf, HOUR, log, MIN, run, trigger } from './fixtures.ts';

// cathiele/homeassistant-goecharger#102: Home Assistant 2025.1 removed TEMP_CELSIUS; the go-e
// integration's sensor platform no longer imports, and the map lists the integration as depending
// on the charger only.
const home = graphOf(`
services:
  goecharger_integration:
    aliases: [custom_components.goecharger, goecharger.sensor]
    depends_on: [goe_charger]
  goe_charger:
    aliases: [go-eCharger]
  ha_core:
    aliases: [homeassistant, homeassistant.setup]
`);

const failure = (details: Record<string, string>) => ({
  graph: home,
  event: trigger({
    service: 'goecharger_integration',
    eventType: 'CHARGER_SENSORS_UNAVAILABLE',
    errorCode: 'PlatformNotFound',
    correlationId: null,
    message: 'go-eCharger 038266: every sensor entity is unavailable since the restart',
    details,
  }),
  windowMs: 90 * MIN,
  logs: [
    log(
      'ha_core',
      'error',
      "Unable to prepare setup for platform 'goecharger.sensor': Platform not found (cannot import name 'TEMP_CELSIUS' from 'homeassistant.const')",
      70 * 60,
    ),
  ],
  changes: [
    change({
      id: 'ha-core-2025.1.0',
      service: 'ha_core',
      kind: 'deploy',
      summary: 'Home Assistant Core 2024.12.5 -> 2025.1.0',
      agoMs: 72 * MIN,
    }),
    change({
      id: 'goe-fw-57.1',
      service: 'goe_charger',
      kind: 'firmware',
      summary: 'go-e app: firmware 056.x -> 057.1 on charger 038266',
      agoMs: 6 * 24 * HOUR,
    }),
  ],
});

describe('a trigger that states the version another service was just updated to', () => {
  test('makes that service a candidate outside the map, its update blamed and the edge proposed', () => {
    const r = run(failure({ charger: '038266', haAfter: '2025.1.0' }));
    expect(r.hypotheses[0]?.service).toBe('ha_core');
    expect(r.hypotheses[0]?.change).toMatchObject({ id: 'ha-core-2025.1.0' });
    expect(r.mapSuggestions).toContainEqual(
      expect.objectContaining({ service: 'goecharger_integration', dependsOn: 'ha_core' }),
    );
  });

  test('a version no change installed brings nothing in', () => {
    const r = run(failure({ charger: '038266', haAfter: '2025.2.0' }));
    expect(r.hypotheses.map((h) => h.service)).not.toContain('ha_core');
  });
});
