import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { postJson, startTestApp, type TestApp } from '../helpers/test-app.ts';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.close());

const deploy = {
  id: 'deploy-ev-station-01-2026.11.1',
  service: 'evse_manager_1',
  kind: 'deploy',
  timestamp: '2026-11-24T18:00:00Z',
  summary: 'Rolled out everest-core 2026.11.1 to EV-Station-01 (OTA)',
  author: 'fleet-ota',
  url: 'https://github.com/EVerest/everest-core/compare/1a2b3c4d5e6f...7a8b9c0d1e2f',
};
const ocppConfig = {
  id: 'cfg-ocpp-ConnectionTimeOut-2026-11-24',
  service: 'ocpp',
  kind: 'config',
  timestamp: Date.parse('2026-11-24T06:00:00Z'),
  summary: 'ConnectionTimeOut 60 -> 30 s',
  files: ['config/config-CB-EVAL-DC.yaml'],
  diff: '--- a/config/config-CB-EVAL-DC.yaml\n+++ b/config/config-CB-EVAL-DC.yaml\n@@ -88 +88 @@\n-      ConnectionTimeOut: 60\n+      ConnectionTimeOut: 30\n',
};
const bspFirmware = {
  id: 'fw-phyverso-1.4.2',
  service: 'bsp',
  kind: 'firmware',
  timestamp: '2026-11-22T21:30:00.000Z',
  summary: 'PhyVerso MCU firmware 1.4.2 (CP state debounce)',
};

const list = async (query = '') => {
  const res = await fetch(`${app.url}/api/changes${query ? `?${query}` : ''}`);
  return {
    status: res.status,
    body: (await res.json()) as { changes: Array<Record<string, unknown>>; problems?: string[] },
  };
};

describe('POST /api/changes', () => {
  test('one change is stored and read back with its fields', async () => {
    const res = await postJson(`${app.url}/api/changes`, deploy);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id: deploy.id, duplicate: false });
    const { body } = await list('service=evse_manager_1');
    expect(body.changes).toEqual([
      {
        ...deploy,
        timestamp: '2026-11-24T18:00:00.000Z',
        sha: null,
        repo: null,
        files: [],
        diff: null,
      },
    ]);
  });

  test('the same id again stores nothing and answers 200 with duplicate: true', async () => {
    const res = await postJson(`${app.url}/api/changes`, { ...deploy, summary: 'rewritten' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id: deploy.id, duplicate: true });
    const { body } = await list('service=evse_manager_1');
    expect(body.changes.map((c) => c.summary)).toEqual([deploy.summary]);
  });

  test('an array is stored in one go and each item says whether it was new', async () => {
    const res = await postJson(`${app.url}/api/changes`, [ocppConfig, bspFirmware, deploy]);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      stored: 2,
      duplicates: 1,
      results: [
        { id: ocppConfig.id, duplicate: false },
        { id: bspFirmware.id, duplicate: false },
        { id: deploy.id, duplicate: true },
      ],
    });
  });

  test('an invalid item rejects the whole batch with 400 and problems naming index and field', async () => {
    const res = await postJson(`${app.url}/api/changes`, [
      { ...bspFirmware, id: 'fw-ok-but-not-stored' },
      { ...bspFirmware, id: 'fw-bad-time', timestamp: 'yesterday' },
      { ...bspFirmware, id: 'fw-bad-kind', kind: 'reboot', summary: '' },
    ]);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; problems: string[] };
    expect(body.error).toBe('invalid change');
    expect(body.problems.some((p) => p.startsWith('[1].timestamp: '))).toBe(true);
    expect(body.problems.some((p) => p.startsWith('[2].kind: '))).toBe(true);
    expect(body.problems.some((p) => p.startsWith('[2].summary: '))).toBe(true);
    expect(body.problems.some((p) => p.startsWith('[0]'))).toBe(false);
    const { body: after } = await list('service=bsp');
    expect(after.changes.map((c) => c.id)).toEqual([bspFirmware.id]);
  });

  test('a single invalid change names the field; bad JSON, an empty array and a missing field are 400', async () => {
    const single = await postJson(`${app.url}/api/changes`, { ...deploy, id: 'x', service: undefined });
    expect(single.status).toBe(400);
    expect(((await single.json()) as { problems: string[] }).problems[0]).toStartWith('service: ');

    const bad = await fetch(`${app.url}/api/changes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"id": "cfg-1",',
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { problems: string[] }).problems[0]).toStartWith('malformed JSON');

    const empty = await postJson(`${app.url}/api/changes`, []);
    expect(empty.status).toBe(400);
  });
});

describe('GET /api/changes', () => {
  test('newest first, filtered by service, kind, since and until (ISO or epoch ms), limited', async () => {
    expect((await list()).body.changes.map((c) => c.id)).toEqual([deploy.id, ocppConfig.id, bspFirmware.id]);
    expect((await list('kind=config')).body.changes.map((c) => c.id)).toEqual([ocppConfig.id]);
    expect((await list('service=ocpp')).body.changes.map((c) => c.diff)).toEqual([ocppConfig.diff]);
    expect(
      (await list(`since=2026-11-23T00:00:00Z&until=${Date.parse('2026-11-24T12:00:00Z')}`)).body.changes.map(
        (c) => c.id,
      ),
    ).toEqual([ocppConfig.id]);
    expect((await list('limit=1')).body.changes.map((c) => c.id)).toEqual([deploy.id]);
  });

  test('a bad query is 400 with problems', async () => {
    const { status, body } = await list('limit=0&since=last-week');
    expect(status).toBe(400);
    expect(body.problems?.some((p) => p.startsWith('limit:'))).toBe(true);
    expect(body.problems?.some((p) => p.startsWith('since:'))).toBe(true);
  });

  test('the engine reads the same changes through ctx.changes; GitHub is off without settings', async () => {
    const got = app.ctx.changes.changesBetween(
      Date.parse('2026-11-22T00:00:00Z'),
      Date.parse('2026-11-25T00:00:00Z'),
    );
    expect(got.map((c) => c.id)).toEqual([bspFirmware.id, ocppConfig.id, deploy.id]);
    expect(app.ctx.changeRefresher).toBeUndefined();
    const health = (await (await fetch(`${app.url}/healthz`)).json()) as { components: { github: unknown } };
    expect(health.components.github).toEqual({ enabled: false });
  });
});
