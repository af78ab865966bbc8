// Issue 15 (first-user friction): opening a report's thread clears it from the unread badges.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';
import { addUser, get, login, storeReport } from './helpers.ts';

let app: TestApp;
let cookie: string;
beforeAll(async () => {
  app = await startTestApp({ TRACEPULSE_LEARN: 'off', TRACEPULSE_STATION_ID: 'EV-Station-01' });
  await addUser(app, 'erin', 'engineer');
  // Created before any report, so every report arrives unread.
  app.ctx.db.query("UPDATE users SET created_at = 0 WHERE name = 'erin'").run();
  cookie = await login(app, 'erin');
});
afterAll(() => app.close());

const badge = (html: string, channel: string) => {
  const esc = channel.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(
    `data-channel="${esc}"><span class="hash">#</span>[^<]*<span class="badge" data-count="(\\d+)"`,
  ).exec(html);
  return m ? Number(m[1]) : null;
};

test('opening a thread clears that report from the unread badges of every channel it is in', async () => {
  const first = await storeReport(app, { eventType: 'SESSION_DROP' });
  // A visit to #all-reports marks what it shows as seen there; the next two arrive after it.
  expect((await get(app, '/chat/c/all', cookie)).status).toBe(200);
  expect(first.id).toBeTruthy();
  const a = await storeReport(app, { eventType: 'SESSION_DROP' });
  const b = await storeReport(app, { eventType: 'SESSION_DROP' });
  const station = 'station:EV-Station-01';
  const openA = await (await get(app, `/chat/r/${a.id}`, cookie)).text();
  expect(badge(openA, 'all')).toBe(1);
  // Never visited: all three reports were unread there, the opened one no longer is.
  expect(badge(openA, station)).toBe(2);
  const openB = await (await get(app, `/chat/r/${b.id}`, cookie)).text();
  expect(badge(openB, 'all')).toBe(0);
  expect(badge(openB, station)).toBe(1);
});
