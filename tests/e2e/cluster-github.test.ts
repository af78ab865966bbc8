// Issue 13: the GitHub commit cache is shared. Three compiled instances in cluster mode get a
// trigger each at the same moment, on the same service, so each refreshes the same files from
// the fake GitHub (real REST wire protocol, ETags): every commit's detail is fetched once in all.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { type FakeGitHub, startFakeGitHub } from '../helpers/github-server.ts';
import {
  compiledBinary,
  createProcessGroup,
  createTempDirs,
  type RunningServer,
  repoRoot,
  startServer,
  waitFor,
} from '../deploy/support.ts';

const temp = createTempDirs('tp-cluster-gh');
const procs = createProcessGroup();
const tag = `gh${process.pid}x${Date.now().toString(36)}`;
const PREFIX = `tp-test-${tag}:`;
const repo = 'EVerest/everest-core';
const sha = (n: number) =>
  `${tag}${n}`
    .replace(/[^0-9a-f]/g, 'a')
    .padEnd(40, String(n % 10))
    .slice(0, 40);
const day = 86_400_000;
const commits = [
  {
    sha: sha(1),
    message: 'EvseManager: shorten the cable check timeout to 10 s',
    date: new Date(Date.now() - 2 * day).toISOString(),
    files: [
      {
        filename: 'modules/EVSE/EvseManager/Charger.cpp',
        patch: '@@ -410,7 +410,7 @@ void Charger::cable_check() {\n-    timeout = 30s;\n+    timeout = 10s;',
      },
    ],
  },
  {
    sha: sha(2),
    message: 'EvseManager: log the IMD self test result',
    date: new Date(Date.now() - 1 * day).toISOString(),
    files: [
      {
        filename: 'modules/EVSE/EvseManager/ErrorHandling.cpp',
        patch: '@@ -88,3 +88,4 @@ void ErrorHandling::raise_inoperative_error() {\n+    EVLOG_info << "IMD";',
      },
    ],
  },
];

let fake: FakeGitHub;
const servers: RunningServer[] = [];
beforeAll(async () => {
  const exe = await compiledBinary('x64');
  fake = startFakeGitHub();
  for (const c of commits) fake.addCommit(repo, c);
  for (const name of ['g1', 'g2', 'g3'])
    servers.push(
      await startServer(procs, [exe], {
        dataDir: temp.make(),
        env: {
          REDIS_URL: 'redis://127.0.0.1:6379',
          TRACEPULSE_REDIS_PREFIX: PREFIX,
          TRACEPULSE_INSTANCE_ID: name,
          GITHUB_API_URL: fake.url,
          TRACEPULSE_GITHUB_REFRESH_MINUTES: '0',
          TRACEPULSE_SYSTEM_MAP: join(repoRoot, 'system-map.yaml'),
        },
      }),
    );
}, 60_000);

afterAll(async () => {
  await procs.killAll();
  fake?.stop();
  temp.cleanup();
  const { RedisClient } = await import('bun');
  const r = new RedisClient('redis://127.0.0.1:6379');
  const keys = (await r.send('KEYS', [`${PREFIX}*`])) as string[];
  if (keys.length) await r.send('DEL', keys);
  r.close();
});

describe('the GitHub cache shared through Redis', () => {
  test('three instances refreshing the same files at once: each commit fetched once, each in the reports', async () => {
    await Promise.all(
      servers.map((s, i) =>
        fetch(`${s.url}/webhook/event`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            id: `${tag}-fault-${i}`,
            eventType: 'CABLE_CHECK_FAULT',
            service: 'evse_manager_1',
            errorCode: 'MREC11CableCheckFault',
            correlationId: `txn-${tag}-${i}`,
          }),
        }).then((r) => expect(r.status).toBe(200)),
      ),
    );
    const reportOf = async (s: RunningServer, i: number) =>
      (
        (await (await fetch(`${s.url}/api/reports?correlationId=txn-${tag}-${i}`)).json()) as {
          reports: Array<{ changesFromCache: boolean }>;
        }
      ).reports[0];
    await waitFor(
      'a report on each instance',
      async () => {
        for (const [i, s] of servers.entries()) if (!(await reportOf(s, i))) return false;
        return true;
      },
      15_000,
    );
    const isDetail = (s: string) => (r: { path: string }) => r.path === `/repos/${repo}/commits/${s}`;
    for (const c of commits) expect(fake.count(isDetail(c.sha))).toBe(1);
    // Every instance has both commits with their diffs, the two that never asked GitHub for them too.
    for (const s of servers) {
      const body = (await (await fetch(`${s.url}/api/changes?kind=commit&limit=50`)).json()) as {
        changes: Array<{ sha?: string; diff?: string | null }>;
      };
      for (const c of commits) expect(body.changes.find((x) => x.sha === c.sha)?.diff ?? '').toContain('@@');
    }
  }, 60_000);

  test('a rate limit one instance meets holds the others back until its reset', async () => {
    // GitHub's budget is spent: the next answer is a 403 with x-ratelimit-remaining: 0.
    fake.limit = { remaining: 0, resetAt: Math.floor(Date.now() / 1000) + 3600 };
    const post = (s: RunningServer, n: number) =>
      fetch(`${s.url}/webhook/event`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          id: `${tag}-psu-${n}`,
          // Not a dependency of evse_manager_1: its files were not listed by the first test.
          eventType: 'OCPP_DISCONNECT',
          service: 'ocpp',
          errorCode: 'WebsocketPongTimeout',
          correlationId: `txn-${tag}-psu-${n}`,
        }),
      });
    const reported = (s: RunningServer, n: number) => async () =>
      (
        (await (await fetch(`${s.url}/api/reports?correlationId=txn-${tag}-psu-${n}`)).json()) as {
          reports: unknown[];
        }
      ).reports.length > 0;
    const [g1, g2, g3] = servers as [RunningServer, RunningServer, RunningServer];
    const before = fake.requests.length;
    expect((await post(g1, 1)).status).toBe(200);
    await waitFor('g1 reports', reported(g1, 1), 15_000);
    const refused = fake.requests.slice(before).filter((r) => r.status === 403).length;
    expect(refused).toBeGreaterThan(0);
    const afterG1 = fake.requests.length;
    for (const [n, s] of [g2, g3].entries()) {
      expect((await post(s, n + 2)).status).toBe(200);
      await waitFor(`g${n + 2} reports`, reported(s, n + 2), 15_000);
    }
    // Neither of the others sent GitHub a request it would refuse.
    expect(fake.requests.length).toBe(afterG1);
    const h = (await (await fetch(`${g3.url}/healthz`)).json()) as {
      components: { github: { rateLimitedUntil: string | null } };
    };
    expect(Date.parse(h.components.github.rateLimitedUntil ?? '')).toBe(fake.limit.resetAt * 1000);
  }, 60_000);
});
