// Issue 15 (first-user friction): every page is standards-mode HTML with an icon.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';
import { addUser, get, login } from './helpers.ts';

let app: TestApp;
let cookie: string;
beforeAll(async () => {
  app = await startTestApp({ TRACEPULSE_LEARN: 'off' });
  await addUser(app, 'erin', 'engineer');
  cookie = await login(app, 'erin');
});
afterAll(() => app.close());

test('the login page and the chat pages start with a doctype and name a favicon', async () => {
  for (const [path, c] of [
    ['/chat/login', ''],
    ['/chat/c/all', cookie],
    ['/chat/learning', cookie],
  ] as const) {
    const r = await get(app, path, c);
    expect({ path, status: r.status }).toEqual({ path, status: 200 });
    const html = await r.text();
    expect({ path, doctype: html.toLowerCase().startsWith('<!doctype html>') }).toEqual({
      path,
      doctype: true,
    });
    expect(html).toContain('rel="icon"');
  }
});

test('the learning page says what to do when nothing has been learnt yet, instead of an empty table', async () => {
  const html = await (await get(app, '/chat/learning', cookie)).text();
  expect(html).toContain('No learning runs yet');
  expect(html).not.toContain('<table');
});
