// Issue 15: one user cannot hold every chat WebSocket slot.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';
import { addUser, login } from './helpers.ts';

let app: TestApp;
let vic: string;
let erin: string;
beforeAll(async () => {
  app = await startTestApp({ TRACEPULSE_LEARN: 'off' });
  await addUser(app, 'vic', 'viewer');
  await addUser(app, 'erin', 'engineer');
  vic = await login(app, 'vic');
  erin = await login(app, 'erin');
});
afterAll(() => app.close());

/** Opens a chat socket like the page does; resolves with how it ended up: open, or its close code. */
function open(cookie: string): Promise<{ ws: WebSocket; state: 'open' | number }> {
  const ws = new WebSocket(`${app.url.replace('http', 'ws')}/chat/ws`, {
    headers: { cookie, origin: app.url },
  } as unknown as string[]);
  return new Promise((resolve) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    ws.onopen = () => {
      // The server closes a refused socket right after the upgrade: wait a moment to see which.
      timer = setTimeout(() => resolve({ ws, state: 'open' }), 150);
    };
    ws.onclose = (e) => {
      clearTimeout(timer);
      resolve({ ws, state: e.code });
    };
  });
}

test('one user is refused past the per-user socket cap with 1013; another user still gets in', async () => {
  const mine = await Promise.all(Array.from({ length: 12 }, () => open(vic)));
  const states = mine.map((m) => m.state);
  expect(states.filter((s) => s === 'open')).toHaveLength(8);
  expect(states.filter((s) => s === 1013)).toHaveLength(4);
  const other = await open(erin);
  expect(other.state).toBe('open');
  // Closing one frees a slot for the same user.
  mine.find((m) => m.state === 'open')!.ws.close();
  await Bun.sleep(100);
  const again = await open(vic);
  expect(again.state).toBe('open');
  for (const m of [...mine, other, again]) m.ws.close();
});
