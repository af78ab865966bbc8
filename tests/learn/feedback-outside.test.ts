// Issue 15 (first-user friction): feedback naming a service that was not a candidate is recorded and answered.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';
import { storeReport } from '../ui/helpers.ts';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.close());

test('a correction to a non-candidate is stored, the answer says it cannot be learnt, and the log says why', async () => {
  const report = await storeReport(app);
  const candidates = report.hypotheses.map((h) => h.service);
  expect(candidates).not.toContain('display');
  const r = await fetch(`${app.url}/api/reports/${report.id}/feedback`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ verdict: 'rejected', rootService: 'display', note: 'HMI froze' }),
  });
  expect(r.status).toBe(201);
  const body = (await r.json()) as { learning: string; feedback: { rootService: string } };
  expect(body.feedback.rootService).toBe('display');
  expect(body.learning).toContain('not a candidate');
  const listed = (await (await fetch(`${app.url}/api/reports/${report.id}/feedback`)).json()) as {
    feedback: Array<{ rootService: string }>;
  };
  expect(listed.feedback.map((f) => f.rootService)).toContain('display');
  await app.ctx.analysis; // the learning run is in the background
  for (let i = 0; i < 100 && !app.logLines.join('\n').includes('nothing to learn'); i++) await Bun.sleep(20);
  expect(app.logLines.join('\n')).toContain('nothing to learn');
});
