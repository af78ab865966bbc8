import { describe, expect, test } from 'bun:test';
import {
  changeBase,
  cosmeticOnly,
  mentionsFunction,
  rateAround,
  splitDiff,
} from '../../src/analyze/changes.ts';
import { messagePattern, span, versionsIn, words } from '../../src/analyze/text.ts';
import { isVague } from '../../src/analyze/vocabulary.ts';
import { parseSystemMap } from '../../src/map/system-map.ts';

describe('text helpers', () => {
  test('message patterns drop numbers, addresses and ids', () => {
    expect(messagePattern('Modbus timeout reading register 0x3000 after 500 ms')).toBe(
      messagePattern('Modbus timeout reading register 0x3002 after 510 ms'),
    );
    expect(messagePattern('tx 1f0c2d9e-71b2-4c3d-9e8f-0a1b2c3d4e5f stopped, reason PowerLoss')).toBe(
      'tx <id> stopped, reason PowerLoss',
    );
    expect(messagePattern('CAN bus-off on can0')).not.toBe(messagePattern('CAN rx timeout on can0'));
  });

  test('words split identifiers and treat "timed out" as timeout', () => {
    expect([...words('cut RetryTimeout to 3s')].sort()).toEqual(['retry', 'timeout']);
    expect(words('HTTP request timed out').has('timeout')).toBe(true);
    expect(words('PowerDelivery FAILED').has('power')).toBe(true);
  });

  test('a message is vague when it names no component, device or condition of the map or the domain', () => {
    const parsed = parseSystemMap(
      'services:\n  cabinet_fans:\n    module: FanController\n  evse_manager:\n    depends_on: [cabinet_fans]\n',
    );
    if (!parsed.ok) throw new Error('bad map');
    const graph = parsed.graph;
    const vague = (m: string) => isVague(m, graph);
    for (const m of [
      'Command failed: Timeout',
      'Internal error',
      'Unexpected response (code -1)',
      'Operation failed',
      'ERROR: request was not answered',
    ])
      expect(vague(m)).toBe(true);
    // The map's own words name things: a fan controller is specific at this station.
    expect(vague('fan controller stalled')).toBe(false);
    expect(vague('Isolation resistance below limit')).toBe(false);
    expect(vague('Connection refused')).toBe(false);
    for (const m of [
      'Modbus call to unit 3 failed: Timeout',
      'Firmware update failed',
      'CableCheck failed',
      'CAN bus-off',
      'Error E42',
    ])
      expect(vague(m)).toBe(false);
  });

  test('spans read like an engineer says them', () => {
    expect(span(20_000)).toBe('20 s');
    expect(span(40 * 60_000)).toBe('40 min');
    expect(span(5 * 3_600_000)).toBe('5 h');
    expect(span(3 * 86_400_000)).toBe('3 d');
  });
});

describe('versions', () => {
  test("a station's LAN address is no version (home-assistant/core#131369's KEBA at 192.168.20.31)", () => {
    expect(versionsIn('keba: host 192.168.20.31 added; firmware 3.10.57 -> 3.10.61, HA 2024.11.3')).toEqual([
      '3.10.57',
      '3.10.61',
      '2024.11.3',
    ]);
    expect(versionsIn('go-e 10.0.0.1 and 172.20.1.4, 169.254.3.3, 127.0.0.1')).toEqual([]);
    expect(versionsIn('libopen-ocpp 1.6.0.1 and 2.3.1.2')).toEqual(['1.6.0.1', '2.3.1.2']);
  });
});

describe('changes', () => {
  test('a unified diff splits into added, removed and hunk headers', () => {
    const d = splitDiff(
      '--- a/x.cpp\n+++ b/x.cpp\n@@ -1,2 +1,2 @@ void Charger::run_state_machine() {\n-  a = 1;\n+  a = 2;\n',
    );
    expect(d).toEqual({
      added: '  a = 2;',
      removed: '  a = 1;',
      hunks: 'void Charger::run_state_machine() {',
    });
  });

  test('functions match by full name or a distinctive last part, not by short names', () => {
    expect(mentionsFunction('void Charger::run_state_machine() {', 'Charger::run_state_machine')).toBe(true);
    expect(mentionsFunction('run_state_machine();', 'Charger::run_state_machine')).toBe(true);
    expect(mentionsFunction('void run_state_machine_v2()', 'Charger::run_state_machine')).toBe(false);
    expect(mentionsFunction('slac.run(); runner', 'slacImpl::run')).toBe(false);
  });

  test('failure rate around a change: steady before means the change did not start it', () => {
    const T = 10 * 86_400_000;
    const steady = Array.from({ length: 20 }, (_, i) => T - 7 * 86_400_000 + i * 8 * 3_600_000);
    expect(
      rateAround(
        { count: 20, firstTs: steady[0]!, lastTs: steady.at(-1)!, timestamps: steady },
        T - 3_600_000,
        T,
        7 * 86_400_000,
      ),
    ).toEqual({ before: 20, jumped: false });
    expect(
      rateAround({ count: 0, firstTs: null, lastTs: null, timestamps: [] }, T - 1000, T, 86_400_000),
    ).toEqual({
      before: 0,
      jumped: true,
    });
  });
});

describe('a Conventional Commits type that changes no behaviour', () => {
  const graph = parseSystemMap('services:\n  open_ocpp: {}\n');
  if (!graph.ok) throw new Error('map');
  const record = (kind: 'commit' | 'deploy', summary: string) =>
    changeBase(
      {
        id: `${kind}-1`,
        sha: null,
        service: 'open_ocpp',
        kind,
        summary,
        files: [],
        diff: null,
        author: 'lab-ci',
        url: null,
        repo: null,
        timestamp: 0,
      },
      graph.graph,
    ).docsOnly;

  test('makes a commit docs-only, not a deploy record written by CI (c-jimenez/open-ocpp-simu#33)', () => {
    expect(record('commit', 'ci: cache the docker layers')).toBe(true);
    expect(
      record('deploy', 'CI: simulator image rebuilt with libopen-ocpp from tag v1.6.0, previously v1.5.7'),
    ).toBe(false);
  });
});

describe('cosmetic changes', () => {
  const diff = (minus: string, plus: string, path = 'modules/EVSE/Auth/lib/AuthHandler.cpp') =>
    `--- a/${path}\n+++ b/${path}\n@@ -584,4 +584,4 @@ void AuthHandler::handle_session_event() {\n-${minus}\n+${plus}\n`;

  test('a diff that only adds a comment or reformats cannot change behaviour', () => {
    expect(
      cosmeticOnly(diff('  plugged_in = true;', '  plugged_in = true; // starts the plug-in timer')),
    ).toBe(true);
    expect(cosmeticOnly(diff('  x=a+b;', '  x = a + b;'))).toBe(true);
    expect(
      cosmeticOnly(diff('  timeout: 30', '  timeout: 30 # seconds', 'config/config.yaml'), [
        'config/config.yaml',
      ]),
    ).toBe(true);
  });

  test('code edits, C preprocessor lines and partial diffs are not cosmetic', () => {
    expect(cosmeticOnly(diff('  plugged_in = true;', '  plugged_in = false; // fix'))).toBe(false);
    expect(cosmeticOnly(diff('#define TIMEOUT_MS 1000', '#define TIMEOUT_MS 300'))).toBe(false);
    // The commit also touched Charger.cpp, whose patch is missing: nothing can be concluded.
    expect(
      cosmeticOnly(diff('  a = 1;', '  a = 1; // note'), [
        'modules/EVSE/Auth/lib/AuthHandler.cpp',
        'modules/EVSE/EvseManager/Charger.cpp',
      ]),
    ).toBe(false);
  });
});
