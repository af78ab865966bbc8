import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';
import { addUser, csrfOf, form, get, login, mapWithoutOcppEdge, storeReport } from './helpers.ts';

// A station map with no edge from evse_manager_1 to ocpp (the example map has it): the cascade of issue 16.
const apiKey = 'machine-key-map-0123456789';
let app: TestApp;
let viewer: string;
let engineer: string;

beforeAll(async () => {
  app = await startTestApp({
    TRACEPULSE_API_KEYS: apiKey,
    TRACEPULSE_LEARN: 'off',
    TRACEPULSE_SYSTEM_MAP: mapWithoutOcppEdge(),
  });
  await addUser(app, 'vic', 'viewer');
  await addUser(app, 'erin', 'engineer');
  viewer = await login(app, 'vic');
  engineer = await login(app, 'erin');
});
afterAll(() => app.close());

const api = async (path: string) =>
  (await fetch(`${app.url}${path}`, { headers: { authorization: `Bearer ${apiKey}` } })).json() as Promise<
    Record<string, unknown>
  >;
const depsOf = async (service: string) => {
  const m = (await api('/api/system-map')) as { services: Array<{ name: string; dependsOn: string[] }> };
  return m.services.find((s) => s.name === service)?.dependsOn;
};
const yamlInForce = async () => (await api('/api/system-map')).yaml as string;

const cascade = {
  service: 'evse_manager_1',
  dependsOn: 'ocpp',
  reason: 'OCPP_DISCONNECT on ocpp was diagnosed 100 s earlier; "CSMS unreachable" in the failing session',
};

async function sessionDropReport(suggestions = [cascade]) {
  const earlier = await storeReport(app, { eventType: 'OCPP_DISCONNECT', service: 'ocpp' });
  const r = await storeReport(app, {
    eventType: 'SESSION_DROP',
    mapSuggestions: suggestions,
    relatedReports: [
      {
        reportId: earlier.id,
        eventType: 'OCPP_DISCONNECT',
        service: 'ocpp',
        rootService: 'network',
        createdAt: earlier.createdAt,
      },
    ],
  });
  return { earlier, r };
}

async function addToMap(reportId: string, fields: { service: string; dependsOn: string }, cookie = engineer) {
  const page = await (await get(app, `/chat/r/${reportId}`, cookie)).text();
  return form(app, `/chat/r/${reportId}/map-suggestion`, { _csrf: csrfOf(page), ...fields }, cookie);
}

describe('map suggestions and related reports in the report view', () => {
  test('stored with the report and served by GET /api/reports/:id', async () => {
    const { earlier, r } = await sessionDropReport();
    const got = (await api(`/api/reports/${r.id}`)) as { mapSuggestions: unknown; relatedReports: unknown[] };
    expect(got.mapSuggestions).toEqual([cascade]);
    expect(got.relatedReports).toHaveLength(1);
    expect((got.relatedReports[0] as { reportId: string }).reportId).toBe(earlier.id);
  });

  test('an engineer sees the suggestion with "Add to map"; related reports are links; a viewer gets no button', async () => {
    const { earlier, r } = await sessionDropReport();
    const html = await (await get(app, `/chat/r/${r.id}`, engineer)).text();
    expect(html).toContain('The map may be missing');
    expect(html).toContain('evse_manager_1 depends_on ocpp');
    expect(html).toContain('CSMS unreachable');
    expect(html).toContain(`action="/chat/r/${r.id}/map-suggestion"`);
    expect(html).toContain('Add to map');
    expect(html).toContain(`href="/chat/r/${earlier.id}"`);
    expect(html).toContain('OCPP_DISCONNECT on ocpp');
    const asViewer = await (await get(app, `/chat/r/${r.id}`, viewer)).text();
    expect(asViewer).toContain('evse_manager_1 depends_on ocpp');
    expect(asViewer).not.toContain('Add to map');
  });

  test('a viewer, a cross-site form and a missing CSRF token are refused; the map is unchanged', async () => {
    const { r } = await sessionDropReport();
    const before = await yamlInForce();
    expect((await addToMap(r.id, cascade, viewer)).status).toBe(403);
    const page = await (await get(app, `/chat/r/${r.id}`, engineer)).text();
    const fields = { _csrf: csrfOf(page), ...cascade };
    expect(
      (await form(app, `/chat/r/${r.id}/map-suggestion`, fields, engineer, 'http://evil.example')).status,
    ).toBe(403);
    expect((await form(app, `/chat/r/${r.id}/map-suggestion`, { ...cascade }, engineer)).status).toBe(403);
    expect(await yamlInForce()).toBe(before);
  });

  test('an edge the report does not suggest is refused (400)', async () => {
    const { r } = await sessionDropReport();
    const res = await addToMap(r.id, { service: 'evse_manager_1', dependsOn: 'csms' });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('the report does not suggest evse_manager_1 depends_on csms');
    expect(await depsOf('evse_manager_1')).not.toContain('csms');
  });

  test('a suggestion on a service the map does not have, or towards one, is refused with 422 and the problem', async () => {
    const { r } = await sessionDropReport([
      { service: 'evse_manager_9', dependsOn: 'ocpp', reason: 'x' },
      { service: 'evse_manager_1', dependsOn: 'cloud_proxy', reason: 'y' },
    ]);
    const before = await yamlInForce();
    const a = await addToMap(r.id, { service: 'evse_manager_9', dependsOn: 'ocpp' });
    expect(a.status).toBe(422);
    expect(await a.text()).toContain('service &#39;evse_manager_9&#39; is not in the system map');
    const b = await addToMap(r.id, { service: 'evse_manager_1', dependsOn: 'cloud_proxy' });
    expect(b.status).toBe(422);
    expect(await b.text()).toContain('depends on unknown service &#39;cloud_proxy&#39;');
    expect(await yamlInForce()).toBe(before);
  });

  test('one click adds the edge through the PUT path: map in force, comments kept, stored, then shown as in the map', async () => {
    const { r } = await sessionDropReport();
    expect(await depsOf('evse_manager_1')).not.toContain('ocpp');
    const res = await addToMap(r.id, cascade);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toStartWith(`/chat/r/${r.id}?map=`);
    expect(await depsOf('evse_manager_1')).toContain('ocpp');
    const m = await api('/api/system-map');
    expect(m.origin).toBe('api');
    const yaml = m.yaml as string;
    expect(yaml).toStartWith('# TracePulse system map');
    expect(yaml).toContain('energy_manager, mqtt_broker, ocpp]');
    // Stored as a PUT is: the same row the map source restores after a restart.
    const row = app.ctx.db
      .query<{ yaml: string }, []>('SELECT yaml FROM system_maps ORDER BY id DESC LIMIT 1')
      .get();
    expect(row?.yaml).toBe(yaml);
    expect(app.logLines.some((l) => l.includes('system map edge added from a report'))).toBe(true);

    const html = await (
      await get(
        app,
        `/chat/r/${r.id}${res.headers.get('location')!.slice(`/chat/r/${r.id}`.length)}`,
        engineer,
      )
    ).text();
    expect(html).toContain('Added to the system map: evse_manager_1 depends_on ocpp');
    expect(html).toContain('(in the map)');
    expect(html).not.toContain('Add to map</button>');

    // A second click (another tab) changes nothing.
    const again = await addToMap(r.id, cascade);
    expect(again.status).toBe(303);
    expect(decodeURIComponent(again.headers.get('location')!)).toContain('(it was already there)');
    expect(await yamlInForce()).toBe(yaml);
  });
});
