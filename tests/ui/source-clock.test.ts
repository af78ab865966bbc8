// Issue 15 defect 6: when the station's clock was clearly wrong, the report's page says so and that
// the arrival time was used.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';
import { addUser, get, login, storeReport } from './helpers.ts';

let app: TestApp;
let cookie: string;
beforeAll(async () => {
  app = await startTestApp({ TRACEPULSE_LEARN: 'off' });
  await addUser(app, 'erin', 'engineer');
  cookie = await login(app, 'erin');
});
afterAll(() => app.close());

test('a report of an event stamped 1970 by a reset RTC says the arrival time was used', async () => {
  const r = await storeReport(
    app,
    {},
    { details: { sessionId: 'abc', sourceTimestamp: '1970-01-02T00:00:00.000Z' } },
  );
  const html = await (await get(app, `/chat/r/${r.id}`, cookie)).text();
  expect(html).toContain(
    'The station&#39;s clock was clearly wrong (it stamped the event 1970-01-02T00:00:00.000Z)',
  );
  expect(html).toContain('was used for the evidence window');
});

test('a report of an event with a plausible time says nothing about the clock', async () => {
  const r = await storeReport(app);
  const html = await (await get(app, `/chat/r/${r.id}`, cookie)).text();
  expect(html).not.toContain('clock was clearly wrong');
});
