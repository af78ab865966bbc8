// Issue 15: defects found by the security probe, each through HTTP as it was seen.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { sessionDrop, startTestApp, type TestApp } from '../helpers/test-app.ts';
import { addUser, form, login } from '../ui/helpers.ts';

const apiKey = 'machine-key-hardening-0123';
let app: TestApp;
let viewer: string;
let engineer: string;

beforeAll(async () => {
  app = await startTestApp({ TRACEPULSE_API_KEYS: apiKey, TRACEPULSE_LEARN: 'off' });
  await addUser(app, 'vic', 'viewer');
  await addUser(app, 'erin', 'engineer');
  viewer = await login(app, 'vic');
  engineer = await login(app, 'erin');
});
afterAll(() => app.close());

const eventCount = () => (app.ctx.db.query('SELECT count(*) AS n FROM events').get() as { n: number }).n;

/** A POST with a declared Content-Length (the fast /webhook/event route) or a chunked body. */
const post = (path: string, body: unknown, headers: Record<string, string>, chunked = false) => {
  const text = JSON.stringify(body);
  return fetch(`${app.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: chunked
      ? new ReadableStream({
          start(c) {
            c.enqueue(new TextEncoder().encode(text));
            c.close();
          },
        })
      : text,
  });
};

describe('a malformed session cookie', () => {
  const bad = 'tp_session=%zz';
  test('POST /webhook/event answers JSON 401, not an HTML error page with a stack', async () => {
    const r = await post('/webhook/event', {}, { cookie: bad });
    expect(r.headers.get('content-type') ?? '').toContain('application/json');
    expect(r.status).toBe(401);
    expect(await r.text()).not.toContain('decodeURIComponent');
  });
  test('is no session on /api, /chat and the login page, and a login still works', async () => {
    expect((await fetch(`${app.url}/api/reports`, { headers: { cookie: bad } })).status).toBe(401);
    const page = await fetch(`${app.url}/chat/login`, { headers: { cookie: bad } });
    expect(page.status).toBe(200);
    const chat = await fetch(`${app.url}/chat`, { headers: { cookie: bad }, redirect: 'manual' });
    expect(chat.status).toBe(302);
    const r = await form(
      app,
      '/chat/login',
      { name: 'erin', password: 'correct horse battery', next: '/chat' },
      bad,
    );
    expect(r.status).toBe(303);
    expect(r.headers.get('set-cookie')).toContain('tp_session=');
  });
  test('beside a valid session cookie, the valid one still counts', async () => {
    const r = await fetch(`${app.url}/api/reports`, { headers: { cookie: `junk=%zz; ${viewer}` } });
    expect(r.status).toBe(200);
  });
});

describe('the fast /webhook/event route', () => {
  test('refuses a viewer session with a Content-Length as it does a chunked one', async () => {
    const before = eventCount();
    const fast = await post('/webhook/event', sessionDrop(), { cookie: viewer, origin: app.url });
    const chunked = await post('/webhook/event', sessionDrop(), { cookie: viewer, origin: app.url }, true);
    expect(chunked.status).toBe(403);
    expect(fast.status).toBe(403);
    expect(eventCount()).toBe(before);
  });
  test('refuses an engineer session posting from another origin', async () => {
    const before = eventCount();
    const r = await post('/webhook/event', sessionDrop(), {
      cookie: engineer,
      origin: 'http://evil.example',
    });
    expect(r.status).toBe(403);
    expect(eventCount()).toBe(before);
  });
  test('takes an engineer session from this origin and an API key', async () => {
    const before = eventCount();
    const a = await post('/webhook/event', sessionDrop(), { cookie: engineer, origin: app.url });
    const b = await post('/webhook/event', sessionDrop(), { authorization: `Bearer ${apiKey}` });
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(eventCount()).toBe(before + 2);
  });
  test('a malformed Origin is a 403, not a 500', async () => {
    const r = await post('/webhook/event', sessionDrop(), { cookie: engineer, origin: 'not a url' });
    expect(r.status).toBe(403);
  });
});

describe('the login form', () => {
  test('a CR/LF in next sends the user to /chat instead of failing with a 500', async () => {
    const r = await form(app, '/chat/login', {
      name: 'erin',
      password: 'correct horse battery',
      next: '/chat/x\r\nSet-Cookie: evil=1',
    });
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe('/chat');
    const page = await fetch(`${app.url}/chat/login?next=${encodeURIComponent('/chat\r\nX: y')}`);
    expect(page.status).toBe(200);
  });
});
