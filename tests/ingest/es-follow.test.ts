import { afterAll, beforeAll, expect, test } from 'bun:test';
import { rmSync } from 'node:fs';
import { type FakeEs, startFakeEs } from '../helpers/es-server.ts';
import { startTestApp, type TestApp, tempDir, waitFor } from '../helpers/test-app.ts';

let es: FakeEs;
const dataDir = tempDir();
const messages = async (app: TestApp): Promise<string[]> =>
  (
    (await (await fetch(`${app.url}/api/logs?service=OCPP201&limit=1000`)).json()) as {
      logs: Array<{ message: string }>;
    }
  ).logs
    .map((l) => l.message)
    .sort();
const start = () =>
  startTestApp({
    TRACEPULSE_DATA_DIR: dataDir,
    TRACEPULSE_ELASTICSEARCH_URL: es.url,
    TRACEPULSE_ELASTICSEARCH_FOLLOW: 'true',
    TRACEPULSE_ELASTICSEARCH_FOLLOW_INTERVAL_MS: '100',
  });
const index = async (docs: Array<{ ms: number; message: string }>) => {
  const body = `${docs
    .map(
      (d) =>
        `{"create":{"_index":"logs-everest-default"}}\n${JSON.stringify({ '@timestamp': new Date(d.ms).toISOString(), service: { name: 'OCPP201' }, log: { level: 'warn' }, message: d.message })}`,
    )
    .join('\n')}\n`;
  expect((await fetch(`${es.url}/_bulk`, { method: 'POST', body })).status).toBe(200);
};

beforeAll(() => {
  es = startFakeEs();
});
afterAll(() => {
  es.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

test('follow mode stores new documents, survives an outage and resumes after a restart without a gap or a duplicate', async () => {
  await index([{ ms: Date.now() - 60_000, message: 'before the first start' }]);
  let app = await start();
  const t = Date.now();
  // Two documents share one timestamp: both are stored, once.
  await index([
    { ms: t, message: 'pong timeout A' },
    { ms: t, message: 'pong timeout B' },
  ]);
  await waitFor(async () => (await messages(app)).length === 2, 8000, 'first documents');
  es.mode.status = 503;
  await Bun.sleep(300);
  await index([{ ms: t + 5, message: 'during the outage' }]).catch(() => {});
  es.mode.status = null;
  await index([{ ms: t + 5, message: 'during the outage' }]);
  await waitFor(async () => (await messages(app)).length === 3, 8000, 'after the outage');
  await app.stop();
  await index([
    { ms: t + 5, message: 'same ms as the checkpoint, while stopped' },
    { ms: t + 10, message: 'while stopped' },
  ]);
  app = await start();
  await waitFor(async () => (await messages(app)).length === 5, 8000, 'after the restart');
  await Bun.sleep(400);
  expect(await messages(app)).toEqual(
    [
      'pong timeout A',
      'pong timeout B',
      'during the outage',
      'same ms as the checkpoint, while stopped',
      'while stopped',
    ].sort(),
  );
  const health = (await (await fetch(`${app.url}/healthz`)).json()) as {
    components: Record<string, unknown>;
  };
  expect(health.components.elasticsearchFollow).toMatchObject({ enabled: true, lastError: null });
  await app.stop();
}, 40_000);
