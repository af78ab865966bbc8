import { describe, expect, test } from 'bun:test';
import { parseSystemMap } from '../../src/map/system-map.ts';
import { deployRange, listWindow, mappedPaths, toUnifiedDiff } from '../../src/sources/github-format.ts';

const parsed = parseSystemMap(`
repo: EVerest/everest-core
services:
  evse_manager_1:
    aliases: [EvseManager]
    files: [modules/EVSE/EvseManager/, ./modules/EVSE/EvseManager/Charger.cpp]
  rfid:
    repo: EVerest/everest-nfc
    files: [modules/HardwareDrivers/NfcReaders/PN532TokenProvider/]
  mqtt_broker:
    files: [config/mosquitto.conf]
`);
if (!parsed.ok) throw new Error('map');
const graph = parsed.graph;

describe('GitHub formatting helpers', () => {
  test('per-file patches become one git diff; added, removed, renamed and patch-less files keep headers', () => {
    const diff = toUnifiedDiff([
      {
        filename: 'modules/EVSE/EvseManager/Charger.cpp',
        status: 'modified',
        patch: '@@ -1 +1 @@ void Charger::run_state_machine() {\n-a\n+b',
      },
      {
        filename: 'modules/EVSE/EvseManager/tests/ChargerTest.cpp',
        status: 'added',
        patch: '@@ -0,0 +1 @@\n+TEST()',
      },
      { filename: 'modules/EVSE/EvseManager/old.cpp', status: 'removed', patch: '@@ -1 +0,0 @@\n-x' },
      { filename: 'docs/ocpp.md', status: 'renamed', previous_filename: 'docs/ocpp16.md' },
    ]);
    expect(diff).toBe(
      [
        'diff --git a/modules/EVSE/EvseManager/Charger.cpp b/modules/EVSE/EvseManager/Charger.cpp',
        '--- a/modules/EVSE/EvseManager/Charger.cpp',
        '+++ b/modules/EVSE/EvseManager/Charger.cpp',
        '@@ -1 +1 @@ void Charger::run_state_machine() {',
        '-a',
        '+b',
        'diff --git a/modules/EVSE/EvseManager/tests/ChargerTest.cpp b/modules/EVSE/EvseManager/tests/ChargerTest.cpp',
        '--- /dev/null',
        '+++ b/modules/EVSE/EvseManager/tests/ChargerTest.cpp',
        '@@ -0,0 +1 @@',
        '+TEST()',
        'diff --git a/modules/EVSE/EvseManager/old.cpp b/modules/EVSE/EvseManager/old.cpp',
        '--- a/modules/EVSE/EvseManager/old.cpp',
        '+++ /dev/null',
        '@@ -1 +0,0 @@',
        '-x',
        'diff --git a/docs/ocpp16.md b/docs/ocpp.md',
        '--- a/docs/ocpp16.md',
        '+++ b/docs/ocpp.md',
        '',
      ].join('\n'),
    );
    expect(toUnifiedDiff([])).toBeNull();
    const capped = toUnifiedDiff(
      [
        { filename: 'a.cpp', patch: 'x'.repeat(80) },
        { filename: 'b.cpp', patch: 'y'.repeat(80) },
      ],
      150,
    );
    expect(capped).toContain('# diff truncated: 1 more file(s) not shown');
  });

  test('a deploy range comes from a compare URL or from BASE..HEAD in the summary, repo from the service', () => {
    expect(
      deployRange(
        {
          url: 'https://github.com/EVerest/everest-core/compare/1a2b3c4d...9f8e7d6c',
          summary: 'OTA rollout',
          service: null,
        },
        graph,
      ),
    ).toEqual({ repo: 'EVerest/everest-core', base: '1a2b3c4d', head: '9f8e7d6c' });
    expect(
      deployRange(
        { url: null, summary: 'PN532 reader fix deployed: 0a1b2c3..4d5e6f7', service: 'rfid' },
        graph,
      ),
    ).toEqual({ repo: 'EVerest/everest-nfc', base: '0a1b2c3', head: '4d5e6f7' });
    expect(
      deployRange(
        { url: null, summary: 'rollout EVerest/libocpp@abcdef0...1234567', service: 'EvseManager' },
        graph,
      ),
    ).toEqual({ repo: 'EVerest/libocpp', base: 'abcdef0', head: '1234567' });
    expect(
      deployRange({ url: null, summary: 'Rolled out 2026.11.1', service: 'evse_manager_1' }, graph),
    ).toBeNull();
  });

  test('mapped paths drop folder slashes and ./ and are unique per repo', () => {
    expect(mappedPaths(graph)).toEqual([
      { repo: 'EVerest/everest-core', path: 'modules/EVSE/EvseManager' },
      { repo: 'EVerest/everest-core', path: 'modules/EVSE/EvseManager/Charger.cpp' },
      { repo: 'EVerest/everest-nfc', path: 'modules/HardwareDrivers/NfcReaders/PN532TokenProvider' },
      { repo: 'EVerest/everest-core', path: 'config/mosquitto.conf' },
    ]);
  });

  test('list windows are whole UTC days so the request URL (and its ETag) is stable', () => {
    const now = Date.parse('2026-11-25T08:00:00Z');
    expect(listWindow(now - 7 * 86_400_000, now - 60_000, now)).toEqual({ since: '2026-11-18T00:00:00Z' });
    expect(listWindow(Date.parse('2026-10-01T10:00:00Z'), Date.parse('2026-10-03T07:00:00Z'), now)).toEqual({
      since: '2026-10-01T00:00:00Z',
      until: '2026-10-04T00:00:00Z',
    });
  });
});
