// Issue 15: the report link in a Slack message opens the report for a logged-in user.
import { afterAll, expect, test } from 'bun:test';
import { postJson, startTestApp, type TestApp } from '../helpers/test-app.ts';
import { addUser, login } from '../ui/helpers.ts';
import { startFakeSlack } from './support/fake-slack.ts';
import { waitFor } from './support/harness.ts';

const stops: Array<() => unknown> = [];
afterAll(async () => {
  for (const s of stops.reverse()) await s();
});

test('the Slack report link, followed as a logged-in engineer, is the report page', async () => {
  const slack = await startFakeSlack();
  stops.push(() => slack.stop());
  const port = 30000 + Math.floor(Math.random() * 20000);
  const publicUrl = `http://127.0.0.1:${port}`;
  const app: TestApp = await startTestApp({
    TRACEPULSE_PORT: String(port),
    SLACK_BOT_TOKEN: slack.token,
    SLACK_API_URL: slack.url,
    TRACEPULSE_PUBLIC_URL: publicUrl,
    TRACEPULSE_OUTBOX_BACKOFF_MS: '50',
    TRACEPULSE_LEARN: 'off',
  });
  stops.push(() => app.close());
  await addUser(app, 'erin', 'engineer');
  const cookie = await login(app, 'erin');

  const res = await postJson(`${app.url}/webhook/event`, {
    eventType: 'SESSION_DROP',
    service: 'EvseManager',
    errorCode: 'MREC14PilotFault',
    correlationId: 'txn-link-1',
    priority: 'high',
  });
  expect(res.status).toBe(200);
  await waitFor('slack post', () => slack.messages.length >= 1, 5000);
  const text = JSON.stringify(slack.messages[0]);
  const link = new RegExp(`${publicUrl}/chat/[^"|>\\\\]+`).exec(text)?.[0];
  expect(link).toBeDefined();
  const page = await fetch(link!, { headers: { cookie }, redirect: 'manual' });
  expect(page.status).toBe(200);
  const { reports } = (await (await fetch(`${app.url}/api/reports?correlationId=txn-link-1`)).json()) as {
    reports: Array<{ id: string }>;
  };
  expect(await page.text()).toContain(reports[0]!.id);
}, 15_000);
