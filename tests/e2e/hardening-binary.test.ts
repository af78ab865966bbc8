// Issue 15, through the compiled executable where the defect was seen: no developer error page.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { exampleMap, repoRoot, tempDir, waitFor } from '../helpers/test-app.ts';

const x64 = join(repoRoot, 'dist', 'tracepulse-linux-x64');

beforeAll(() => {
  if (existsSync(x64)) return;
  const r = Bun.spawnSync(['bash', join(repoRoot, 'scripts', 'build'), 'x64'], { stderr: 'pipe' });
  if (r.exitCode !== 0) throw new Error(`build failed: ${r.stderr.toString()}`);
}, 120_000);

async function start(env: Record<string, string>) {
  const port = 30000 + Math.floor(Math.random() * 20000);
  const dataDir = tempDir('tracepulse-e2e-hardening-');
  const proc = Bun.spawn([x64, 'serve'], {
    env: {
      PATH: process.env.PATH ?? '',
      TRACEPULSE_PORT: String(port),
      TRACEPULSE_HOST: '127.0.0.1',
      TRACEPULSE_DATA_DIR: dataDir,
      TRACEPULSE_SYSTEM_MAP: exampleMap,
      ...env,
    },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      try {
        return (await fetch(`${url}/healthz`)).status === 200;
      } catch {
        return false;
      }
    },
    10_000,
    'binary /healthz',
  );
  return {
    url,
    stop: async () => {
      proc.kill('SIGTERM');
      await proc.exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const badCookie = { cookie: 'tp_session=%zz', 'content-type': 'application/json' };

for (const mode of ['with API keys', 'open (no keys)'] as const) {
  describe(`compiled executable, ${mode}: a malformed cookie`, () => {
    let svc: Awaited<ReturnType<typeof start>>;
    beforeAll(async () => {
      svc = await start(mode === 'with API keys' ? { TRACEPULSE_API_KEYS: 'station-key-0123456789' } : {});
    }, 30_000);
    afterAll(() => svc.stop());

    test('gets a JSON answer on every route, never Bun’s HTML error page with stack and paths', async () => {
      const requests: Array<[string, string]> = [
        ['POST', '/webhook/event'],
        ['GET', '/api/reports'],
        ['GET', '/api/events'],
        ['GET', '/chat/login'],
        ['GET', '/chat'],
      ];
      for (const [method, path] of requests) {
        const r = await fetch(`${svc.url}${path}`, {
          method,
          headers: badCookie,
          body: method === 'POST' ? '{}' : undefined,
          redirect: 'manual',
        });
        const body = await r.text();
        expect({ path, status: r.status < 500 }).toEqual({ path, status: true });
        expect(body).not.toContain(repoRoot);
        expect(body).not.toContain('URIError');
      }
    });

    test('the login page still works for that browser', async () => {
      const r = await fetch(`${svc.url}/chat/login`, { headers: badCookie });
      expect(r.status).toBe(200);
      expect(await r.text()).toContain('name="password"');
    });
  });
}

describe('compiled executable: start-up failures', () => {
  const run = (env: Record<string, string>) =>
    Bun.spawnSync([x64, 'serve'], {
      env: {
        PATH: process.env.PATH ?? '',
        TRACEPULSE_HOST: '127.0.0.1',
        TRACEPULSE_SYSTEM_MAP: exampleMap,
        ...env,
      },
      stdout: 'pipe',
      stderr: 'pipe',
      timeout: 15_000,
    });
  const lastLines = (s: string) =>
    s
      .trim()
      .split('\n')
      .filter((l) => !l.includes('"level"') && !/^(INFO|WARN) /.test(l));

  test('a port in use: one clear line and exit 69 (EX_UNAVAILABLE)', () => {
    const blocker = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response('busy') });
    const dataDir = tempDir('tracepulse-e2e-port-');
    try {
      const r = run({ TRACEPULSE_PORT: String(blocker.port), TRACEPULSE_DATA_DIR: dataDir });
      expect(r.exitCode).toBe(69);
      const lines = lastLines(r.stderr.toString());
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`port ${blocker.port}`);
      expect(lines[0]).toContain('in use');
    } finally {
      blocker.stop(true);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('an unusable data directory: one clear line naming it and exit 73 (EX_CANTCREAT)', () => {
    const r = run({ TRACEPULSE_PORT: '0', TRACEPULSE_DATA_DIR: '/etc/hostname/data' });
    expect(r.exitCode).toBe(73);
    const lines = lastLines(r.stderr.toString());
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('/etc/hostname/data');
  });
});
