// Issue 15 (first-user friction): at start, a map sent over the API that wins over the file says so.
import { afterAll, expect, test } from 'bun:test';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestApp, tempDir } from '../helpers/test-app.ts';

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('a restart after PUT /api/system-map logs that the API map is in force over the file, and why', async () => {
  const file = join(dir, 'system-map.yaml');
  writeFileSync(
    file,
    'triggers: [SESSION_DROP]\nservices:\n  evse_manager_1: { depends_on: [bsp] }\n  bsp: {}\n',
  );
  const env = { TRACEPULSE_DATA_DIR: join(dir, 'data'), TRACEPULSE_SYSTEM_MAP: file };
  let app = await startTestApp(env);
  await Bun.sleep(20);
  const put = await fetch(`${app.url}/api/system-map`, {
    method: 'PUT',
    headers: { 'content-type': 'application/yaml' },
    body: 'triggers: [SESSION_DROP]\nservices:\n  evse_manager_1: { depends_on: [bsp, ocpp] }\n  bsp: {}\n  ocpp: {}\n',
  });
  expect(put.status).toBe(200);
  await app.stop();
  app = await startTestApp(env);
  try {
    expect(app.ctx.maps.current().origin).toBe('api');
    const line = app.logLines.find((l) => l.includes('PUT /api/system-map'));
    expect(line).toBeDefined();
    expect(line).toContain(file);
    expect(line).toContain('newer');
  } finally {
    await app.stop();
  }
});
