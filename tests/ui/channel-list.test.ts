// Issue 15 (first-user friction): the channel list shows when the failure happened, and opening a
// report's thread clears it from the unread badges (tests/ui/unread-badges.test.ts).
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

test('a report of a failure three hours ago is listed at the failure’s time, not the report’s', async () => {
  const failedAt = app.ctx.clock.now() - 3 * 3_600_000;
  const r = await storeReport(app, { eventType: 'SESSION_DROP' }, { timestamp: failedAt });
  const html = await (await get(app, '/chat/c/all', cookie)).text();
  const item = html.slice(html.indexOf(`id="r-${r.id}"`));
  const shown = /<time datetime="([^"]+)"/.exec(item)?.[1];
  expect(shown).toBe(new Date(failedAt).toISOString());
  expect(item).toContain(new Date(failedAt).toISOString().replace('T', ' ').slice(0, 19));
  expect(item).toContain(`reported ${r.createdAt.replace('T', ' ').slice(0, 19)} UTC`);
});
