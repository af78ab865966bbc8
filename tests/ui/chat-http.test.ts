import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';
import { addUser, csrfOf, form, get, login, storeReport } from './helpers.ts';

const apiKey = 'machine-key-0123456789';
let app: TestApp;
let viewer: string;
let engineer: string;
let admin: string;

beforeAll(async () => {
  app = await startTestApp({ TRACEPULSE_API_KEYS: apiKey, TRACEPULSE_LEARN: 'off' });
  await addUser(app, 'vic', 'viewer');
  await addUser(app, 'erin', 'engineer');
  await addUser(app, 'ada', 'admin');
  viewer = await login(app, 'vic');
  engineer = await login(app, 'erin');
  admin = await login(app, 'ada');
});
afterAll(() => app.close());

const json = (path: string, body: unknown, cookie: string, method = 'POST') =>
  fetch(`${app.url}${path}`, {
    method,
    headers: { cookie, origin: app.url, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('without a session', () => {
  test('/chat and its pages redirect to the login page, keeping where to go back to', async () => {
    for (const path of ['/chat', '/chat/c/all', '/chat/r/rep-0001', '/chat/admin', '/chat/learning']) {
      const r = await get(app, path);
      expect(r.status).toBe(302);
      expect(r.headers.get('location')).toBe(`/chat/login?next=${encodeURIComponent(path)}`);
    }
  });
  test('the WebSocket and form posts are refused', async () => {
    expect((await get(app, '/chat/ws')).status).toBe(401);
    expect((await form(app, '/chat/feedback', { reportId: 'x' })).status).toBe(401);
  });
  test('the login page is served, and an unknown password is refused', async () => {
    const page = await get(app, '/chat/login');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('name="password"');
    const r = await form(app, '/chat/login', { name: 'erin', password: 'wrong password' });
    expect(r.status).toBe(401);
    expect(r.headers.get('set-cookie')).toBeNull();
  });
  test('the API still needs its key', async () => {
    expect((await get(app, '/api/reports')).status).toBe(401);
    const r = await fetch(`${app.url}/api/reports`, { headers: { authorization: `Bearer ${apiKey}` } });
    expect(r.status).toBe(200);
  });
});

describe('login', () => {
  test('sets an HttpOnly, SameSite=Strict session cookie with an expiry and sends the user on', async () => {
    const r = await form(app, '/chat/login', {
      name: 'erin',
      password: 'correct horse battery',
      next: '/chat/c/all',
    });
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe('/chat/c/all');
    const c = r.headers.get('set-cookie')!;
    expect(c).toMatch(/^tp_session=ey/);
    expect(c).toContain('HttpOnly');
    expect(c).toContain('SameSite=Strict');
    expect(c).toContain('Max-Age=43200');
  });
  test('never redirects off the chat after login', async () => {
    const r = await form(app, '/chat/login', {
      name: 'erin',
      password: 'correct horse battery',
      next: '//evil.example/x',
    });
    expect(r.headers.get('location')).toBe('/chat');
  });
  test('from another origin is refused (login CSRF)', async () => {
    const r = await form(
      app,
      '/chat/login',
      { name: 'erin', password: 'correct horse battery' },
      '',
      'https://evil.example',
    );
    expect(r.status).toBe(403);
  });
  test('is rate-limited per client and user: the 6th attempt in a minute gets 429 with Retry-After', async () => {
    for (let i = 0; i < 5; i++)
      expect((await form(app, '/chat/login', { name: 'ada', password: `guess ${i}` })).status).toBe(401);
    const r = await form(app, '/chat/login', { name: 'ada', password: 'correct horse battery' });
    expect(r.status).toBe(429);
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another user from the same client is not affected.
    expect((await form(app, '/chat/login', { name: 'vic', password: 'correct horse battery' })).status).toBe(
      303,
    );
  });
  test('the session secret is generated once into the data dir, readable only by the owner', () => {
    expect(statSync(join(app.dataDir, 'jwt-secret')).mode & 0o777).toBe(0o600);
  });
});

describe('roles', () => {
  test('a viewer reads the thread but gets no feedback or question form, and posts are refused', async () => {
    const rep = await storeReport(app);
    const page = await get(app, `/chat/r/${rep.id}`, viewer);
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(html).toContain('Viewers cannot give feedback.');
    expect(html).not.toContain('action="/chat/feedback"');
    const csrf = csrfOf(html);
    const fb = await form(
      app,
      '/chat/feedback',
      { _csrf: csrf, reportId: rep.id, verdict: 'confirmed' },
      viewer,
    );
    expect(fb.status).toBe(403);
    const ask = await form(app, `/chat/r/${rep.id}/ask`, { _csrf: csrf, question: 'why?' }, viewer);
    expect(ask.status).toBe(403);
    expect((await json(`/api/reports/${rep.id}/feedback`, { verdict: 'confirmed' }, viewer)).status).toBe(
      403,
    );
    expect(app.ctx.db.query('SELECT COUNT(*) AS n FROM feedback').get()).toEqual({ n: 0 });
  });

  test('a session reads /api without an API key', async () => {
    expect((await get(app, '/api/reports', viewer)).status).toBe(200);
  });

  test('PUT /api/system-map needs an admin with a session; the API key keeps working', async () => {
    const yaml = (await (await get(app, '/api/system-map', admin)).json()).yaml as string;
    const put = (headers: Record<string, string>) =>
      fetch(`${app.url}/api/system-map`, {
        method: 'PUT',
        headers: { origin: app.url, ...headers },
        body: yaml,
      });
    const r1 = await put({ cookie: engineer });
    expect(r1.status).toBe(403);
    expect((await r1.json()).problems[0]).toMatch(/needs admin/);
    expect((await put({ cookie: admin })).status).toBe(200);
    expect((await put({ authorization: `Bearer ${apiKey}` })).status).toBe(200);
  });

  test('a session cookie on a cross-site write is refused', async () => {
    const rep = await storeReport(app);
    const r = await fetch(`${app.url}/api/reports/${rep.id}/feedback`, {
      method: 'POST',
      headers: { cookie: engineer, origin: 'https://evil.example', 'content-type': 'application/json' },
      body: JSON.stringify({ verdict: 'confirmed' }),
    });
    expect(r.status).toBe(403);
  });

  test('form posts need the session CSRF token and this origin', async () => {
    const rep = await storeReport(app);
    const html = await (await get(app, `/chat/r/${rep.id}`, engineer)).text();
    const base = { reportId: rep.id, verdict: 'confirmed' };
    expect((await form(app, '/chat/feedback', base, engineer)).status).toBe(403);
    expect((await form(app, '/chat/feedback', { ...base, _csrf: 'forged' }, engineer)).status).toBe(403);
    const other = await form(
      app,
      '/chat/feedback',
      { ...base, _csrf: csrfOf(html) },
      engineer,
      'https://evil.example',
    );
    expect(other.status).toBe(403);
    const ok = await form(app, '/chat/feedback', { ...base, _csrf: csrfOf(html) }, engineer);
    expect(ok.status).toBe(303);
  });

  test("only admins see and use the users page; a role change ends that user's sessions", async () => {
    expect((await get(app, '/chat/admin', engineer)).status).toBe(403);
    const page = await get(app, '/chat/admin', admin);
    expect(page.status).toBe(200);
    const csrf = csrfOf(await page.text());
    const add = await form(
      app,
      '/chat/admin/users',
      { _csrf: csrf, name: 'tom', role: 'engineer', password: 'field tech 2026' },
      admin,
    );
    expect(add.status).toBe(303);
    const tom = await login(app, 'tom', 'field tech 2026');
    expect((await get(app, '/chat/c/all', tom)).status).toBe(200);
    const demote = await form(app, '/chat/admin/users/tom/role', { _csrf: csrf, role: 'viewer' }, admin);
    expect(demote.status).toBe(303);
    expect((await get(app, '/chat/c/all', tom)).status).toBe(302);
    const remove = await form(app, '/chat/admin/users/tom/remove', { _csrf: csrf }, admin);
    expect(remove.status).toBe(303);
    expect(app.ctx.db.query("SELECT name FROM users WHERE name = 'tom'").get()).toBeNull();
  });
});

describe('feedback API', () => {
  test('stores who said what and when', async () => {
    const rep = await storeReport(app);
    const r = await json(
      `/api/reports/${rep.id}/feedback`,
      {
        verdict: 'rejected',
        rootService: 'PowerMeterDC',
        changeId: 'cfg-2026-11-25-meter',
        note: 'meter froze',
      },
      engineer,
    );
    expect(r.status).toBe(201);
    const body = await r.json();
    expect(body.feedback).toMatchObject({
      verdict: 'rejected',
      rootService: 'powermeter_dc',
      author: 'erin',
      changeId: 'cfg-2026-11-25-meter',
      note: 'meter froze',
    });
    const list = await (await get(app, `/api/reports/${rep.id}/feedback`, viewer)).json();
    expect(list.feedback).toHaveLength(1);
    const machine = await fetch(`${app.url}/api/reports/${rep.id}/feedback`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ verdict: 'confirmed' }),
    });
    expect(machine.status).toBe(201);
    expect((await machine.json()).feedback).toMatchObject({ author: 'api-key', rootService: 'bsp' });
  });

  test('answers 400 with every problem', async () => {
    const rep = await storeReport(app);
    const bad = async (body: unknown) => {
      const r = await json(`/api/reports/${rep.id}/feedback`, body, engineer);
      expect(r.status).toBe(400);
      return (await r.json()).problems as string[];
    };
    expect(await bad({ verdict: 'maybe' })).toEqual([expect.stringMatching(/^verdict:/)]);
    expect(await bad({ verdict: 'rejected' })).toEqual([
      'rootService: required when the verdict is rejected',
    ]);
    expect((await bad({ verdict: 'rejected', rootService: 'toaster' }))[0]).toMatch(
      /'toaster' is not a service of the map \(candidates of evse_manager_1: evse_manager_1, bsp/,
    );
    expect((await bad({ verdict: 'rejected', rootService: 'bsp' }))[0]).toMatch(/is the top hypothesis/);
    expect((await bad({ verdict: 'confirmed', rootService: 'imd' }))[0]).toMatch(
      /a confirmation is of the top hypothesis/,
    );
    expect((await bad({ verdict: 'confirmed', extra: 1 }))[0]).toMatch(/Unrecognized key/);
    const nf = await json('/api/reports/nope/feedback', { verdict: 'confirmed' }, engineer);
    expect(nf.status).toBe(404);
  });
});
