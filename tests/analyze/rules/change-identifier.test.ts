import { describe, expect, test } from 'bun:test';
import { identifiers } from '../../../src/analyze/text.ts';
import {
  change,
  chronic,
  DAY,
  graphOf,
  HOUR,
  log,
  MIN,
  ranking,
  run,
  trigger,
  twcFailure,
} from '../fixtures.ts';

// hesselonline/wallbox#15: "Unexpected error fetching wallbox data: 'status_description'" at every
// poll after the myWallbox cloud stopped sending the field; Home Assistant had been updated since.
const home = graphOf(`
services:
  wallbox_integration:
    aliases: [custom_components.wallbox, custom_components.wallbox.switch]
    files: [custom_components/wallbox/switch.py]
    depends_on: [wallbox_py, ha_core]
  wallbox_py:
    aliases: [wallbox.wallbox]
    depends_on: [wallbox_cloud_api]
  wallbox_cloud_api:
    aliases: [api.wall-box.com, myWallbox]
  ha_core:
    aliases: [homeassistant]
`);

const keyError = (n: number) =>
  Array.from({ length: n }, (_, i) =>
    log(
      'wallbox_integration',
      'error',
      "Unexpected error fetching wallbox data: 'status_description'",
      50 * 60 - i * 60,
    ),
  );

const changes = (apiSummary: string) => [
  change({
    id: 'wallbox-api-release',
    service: 'wallbox_cloud_api',
    kind: 'deploy',
    summary: apiSummary,
    agoMs: 2 * DAY,
  }),
  change({
    id: 'ha-core-2022.3.6',
    service: 'ha_core',
    kind: 'deploy',
    summary: 'Home Assistant Core 2022.3.5 -> 2022.3.6',
    agoMs: 17 * HOUR,
  }),
];

const failure = (apiSummary: string) => ({
  graph: home,
  event: trigger({
    service: 'wallbox_integration',
    eventType: 'CHARGER_CONTROL_UNAVAILABLE',
    errorCode: 'KeyError',
    correlationId: null,
  }),
  windowMs: 60 * MIN,
  logs: [...keyError(12), log('ha_core', 'warn', 'Unclosed client session', 20 * 60)],
  changes: changes(apiSummary),
});

describe('a change that names what the error names', () => {
  const named =
    'myWallbox cloud API release: GET /chargers/status/{id} response no longer carries statusDescription (status_id only)';

  test('is linked to the failure whatever its age, and its service leads', () => {
    const r = run(failure(named));
    expect(ranking(r)[0]).toBe('wallbox_cloud_api');
    expect(r.hypotheses[0]?.change).toMatchObject({ id: 'wallbox-api-release' });
    expect(r.hypotheses[0]?.reasons.join('\n')).toContain("names 'statusDescription'");
  });

  test('the same release described without the field is not', () => {
    const r = run(failure('myWallbox cloud API release: mobile app fixes'));
    expect(r.hypotheses[0]?.service).not.toBe('wallbox_cloud_api');
  });

  test('an identifier the station logs routinely ties nothing', () => {
    const r = run({
      ...failure(named),
      history: [
        chronic('wallbox_integration', "Unexpected error fetching wallbox data: 'status_description'"),
      ],
    });
    const reasons = r.hypotheses.flatMap((h) => h.reasons).join('\n');
    expect(reasons).not.toContain("names 'statusDescription'");
  });
});

// A short alias ("HA") inside an identifier ("chargerPhases1p3p") does not make it a name: the
// identifier still ties evcc's release to the KeyError (home-assistant ha-evcc after evcc 0.132).
describe('an identifier that contains a short alias', () => {
  const evccHome = graphOf(`
services:
  evcc_intg:
    aliases: [custom_components.evcc_intg]
    depends_on: [evcc, ha_core]
  evcc:
    aliases: [evcc]
  ha_core:
    aliases: [homeassistant, HA]
`);
  const r = run({
    graph: evccHome,
    event: trigger({
      service: 'evcc_intg',
      eventType: 'INTEGRATION_SETUP_FAILED',
      errorCode: 'KeyError',
      correlationId: null,
    }),
    windowMs: 30 * MIN,
    logs: Array.from({ length: 6 }, (_, i) =>
      log(
        'evcc_intg',
        'error',
        "Error setting up entry evcc for evcc_intg: KeyError: 'chargerPhases1p3p'",
        25 * 60 - i * 120,
      ),
    ),
    changes: [
      change({
        id: 'evcc-0.132.1',
        service: 'evcc',
        kind: 'deploy',
        summary:
          'evcc 0.132.0 -> 0.132.1: loadpoint state reports phasesConfigured, chargerPhases1p3p removed',
        agoMs: 3 * DAY,
      }),
      change({
        id: 'ha-core-2024.12.1',
        service: 'ha_core',
        kind: 'deploy',
        summary: 'Home Assistant Core 2024.12.0 -> 2024.12.1',
        agoMs: 20 * HOUR,
      }),
    ],
  });

  test('still ties the change that names it', () => {
    expect(r.hypotheses[0]?.change).toMatchObject({ id: 'evcc-0.132.1' });
    expect(r.hypotheses[0]?.reasons.join('\n')).toContain("names 'chargerPhases1p3p'");
  });
});

// nordicopen/easee_hass (fresh-22 ac-11's shape): the trigger names the integration's package,
// easee_hass, and so does its last update: a name made of the service's own, not an identifier.
describe('an identifier made of a short service name and another word', () => {
  const home = graphOf(`
services:
  pv_surplus:
    depends_on: [easee]
  easee:
    aliases: [custom_components.easee, pyeasee]
    depends_on: [easee_cloud]
  easee_cloud:
    aliases: [api.easee.com]
`);
  const r = run({
    graph: home,
    event: trigger({
      service: 'pv_surplus',
      eventType: 'EV_CURRENT_LIMIT_NOT_APPLIED',
      errorCode: 'LimitNotApplied',
      correlationId: null,
      message: 'set_charger_dynamic_limit accepted but the charger keeps 16 A',
      details: { integration: 'easee_hass 0.9.59' },
    }),
    windowMs: 30 * MIN,
    logs: [
      log('pv_surplus', 'warn', 'requested 9 A but sensor.easee_dynamic_charger_limit still 16.0 A', 300),
    ],
    changes: [
      change({
        id: 'easee-hass-0.9.59',
        service: 'easee',
        kind: 'deploy',
        summary: 'HACS: easee_hass 0.9.58 -> 0.9.59',
        agoMs: 3 * DAY,
      }),
    ],
  });

  test('is a name: it ties no change', () => {
    expect(r.hypotheses.flatMap((h) => h.reasons).join('\n')).not.toContain("names 'easee_hass'");
  });
});

describe('identifiers', () => {
  test('meet across spellings and leave out versions, hosts and short keys', () => {
    const keys = [
      ...identifiers(
        "KeyError 'status_description' in dc_charger.py after v2.8.1; wss://csms.example.org/ocpp; ev-monitor.net; a_b",
      ).keys(),
    ];
    expect(keys).toContain('statusdescription');
    expect(keys).toContain('dcchargerpy');
    expect(identifiers('response no longer carries statusDescription').has('statusdescription')).toBe(true);
    expect(keys.some((k) => k.includes('example') || k.includes('monitor') || k.startsWith('v2'))).toBe(
      false,
    );
    expect(keys).not.toContain('ab');
  });
});

// u-12's shape (TWCManager#453): the failing service had a config edit an hour before, while its
// own errors say a peer stopped answering.
const twcReasons = (r: ReturnType<typeof run>) =>
  r.hypotheses.find((h) => h.service === 'twcmanager')?.reasons.join('\n') ?? '';

describe('a change that nothing ties to the failure', () => {
  const failure = (summary: string) =>
    twcFailure('rs485_link: no heartbeat from slave TWC 0x7a2f for 30 s, bad checksum x12', summary);

  test('counts less than one that shares the failure’s words', () => {
    const untied = failure('web UI: dark theme, 24 h clock');
    const tied = failure('slave heartbeat timeout 30 s -> 10 s');
    const weight = (r: ReturnType<typeof run>) =>
      r.hypotheses
        .find((h) => h.service === 'twcmanager')
        ?.evidence.filter((e) => e.changeId === 'twc-cfg')
        .reduce((s, e) => s + e.weight, 0) ?? 0;
    expect(weight(untied)).toBeLessThan(weight(tied) * 0.75);
    expect(twcReasons(untied)).toContain('nothing ties it to this failure but its time');
    expect(twcReasons(tied)).not.toContain('nothing ties it');
  });
});

// A modem's APN switch shares no word with the OCPP disconnect it causes, but the modem failed
// first and its anomalies lead to the failure: the trail ties the change to it.
describe("a change on the service the failure's trail starts at", () => {
  const site = graphOf(`
services:
  ocpp:
    depends_on: [lte_modem]
  lte_modem:
    aliases: [wwan0]
  display: {}
`);
  const r = run({
    graph: site,
    event: trigger({ service: 'ocpp', eventType: 'OCPP_DISCONNECT', errorCode: 'ConnectionLost' }),
    windowMs: 15 * MIN,
    logs: [
      log('lte_modem', 'error', 'wwan0: PDP context activation failed, cause 33', 300),
      log('ocpp', 'error', 'Websocket connection to wss://csms.example.org/ocpp failed: timeout', 240),
    ],
    changes: [
      change({
        id: 'apn-switch',
        service: 'lte_modem',
        kind: 'config',
        summary: 'APN internet.m2m -> iot.fleet',
        agoMs: 3 * HOUR,
      }),
    ],
  });

  test('is not discounted as tied by time alone', () => {
    const modem = r.hypotheses.find((h) => h.service === 'lte_modem');
    expect(r.hypotheses[0]?.service).toBe('lte_modem');
    expect(modem?.change).toMatchObject({ id: 'apn-switch' });
    expect(modem?.reasons.join('\n')).not.toContain('nothing ties it');
  });
});

describe("the failing service's own change when its lines are about a peer", () => {
  const failure = (message: string) => twcFailure(message, 'slave heartbeat timeout 30 s -> 10 s');
  const reasons = twcReasons;

  test('counts half again: it is telling about the peer it lost', () => {
    const lost = failure('no heartbeat from slave TWC 0x7a2f for 30 s: rs485_link not responding');
    const own = failure('slave TWC 0x7a2f heartbeat parse error: unexpected frame length 14');
    expect(reasons(lost)).toContain(
      "the failing service's own change record, and its lines are about a peer: counts 0.35",
    );
    expect(reasons(own)).toContain("the failing service's own change record: counts 0.7");
    const peer = (r: ReturnType<typeof run>) =>
      r.hypotheses.find((h) => h.service === 'rs485_link')?.confidence ?? 0;
    expect(peer(lost)).toBeGreaterThan(peer(own));
  });

  test('not when the failure began right after it: a client regression loses its server too', () => {
    const r = twcFailure(
      'no heartbeat from slave TWC 0x7a2f for 30 s: rs485_link not responding',
      'slave heartbeat timeout 30 s -> 10 s',
      { changedAgoMs: 10 * MIN + 30_000 },
    );
    expect(twcReasons(r)).toContain("the failing service's own change record: counts 0.7");
    expect(twcReasons(r)).not.toContain('about a peer');
  });
});
