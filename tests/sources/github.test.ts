import { afterEach, describe, expect, test } from 'bun:test';
import { createManualClock } from '../../src/core/clock.ts';
import { createMemoryLogger } from '../../src/core/logger.ts';
import { createMetrics } from '../../src/core/metrics.ts';
import type { SystemGraph } from '../../src/map/graph.ts';
import { parseSystemMap } from '../../src/map/system-map.ts';
import { createGitHubChanges, type GitHubChangesOptions } from '../../src/sources/github.ts';
import { createGitHubClient } from '../../src/sources/github-client.ts';
import { createChangesRepo } from '../../src/store/changes-repo.ts';
import { openDatabase } from '../../src/store/db.ts';
import { createGitHubCache } from '../../src/store/github-cache.ts';
import { type FakeCommit, type FakeGitHub, startFakeGitHub } from '../helpers/github-server.ts';
import { startTestApp, type TestApp, waitFor } from '../helpers/test-app.ts';

const repo = 'EVerest/everest-core';
const charger = 'modules/EVSE/EvseManager/Charger.cpp';
const bspFile = 'modules/HardwareDrivers/EVSE/PhyVersoBSP/connector_1/evse_board_supportImpl.cpp';
const canFile = 'modules/HardwareDrivers/PowerSupplies/InfyPower_BEG1K075G/can_driver_acdc/CanDevice.cpp';

const graphOf = (yaml: string): SystemGraph => {
  const r = parseSystemMap(yaml);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.graph;
};
const stationMap = graphOf(`
repo: ${repo}
services:
  evse_manager_1:
    files: [modules/EVSE/EvseManager/]
    depends_on: [bsp, powersupply_dc]
  bsp:
    files: [modules/HardwareDrivers/EVSE/PhyVersoBSP/]
  powersupply_dc:
    files: [${canFile}]
`);

const sha = (seed: string) => new Bun.CryptoHasher('sha1').update(seed).digest('hex');
const commit = (message: string, date: string, files: FakeCommit['files']): FakeCommit => ({
  sha: sha(message),
  message,
  date,
  author: 'Cornelius Claussen',
  login: 'corneliusclaussen',
  files,
});

const budgetFix = commit(
  'EvseManager: pause at 0 A instead of stopping when the power budget expires\n\nFixes #2710',
  '2026-11-24T16:12:09Z',
  [
    {
      filename: charger,
      patch: [
        '@@ -1880,9 +1880,11 @@ void Charger::run_state_machine() {',
        '     if (power_budget_expired()) {',
        '-        EVLOG_warning << "Power budget expired, falling back to 0";',
        '-        stop_session();',
        '+        EVLOG_warning << "Power budget expired, pausing at 0 A";',
        '+        pause_charging_wait_for_power();',
        '+        return;',
        '     }',
      ].join('\n'),
    },
  ],
);
const cpDebounce = commit(
  'PhyVersoBSP: report CP state F only after 3 consecutive reads',
  '2026-11-23T10:00:00Z',
  [
    {
      filename: bspFile,
      patch:
        '@@ -212,6 +212,9 @@ void evse_board_supportImpl::handle_cp_state_F() {\n+    if (++cp_f_reads < 3) {\n+        return;\n+    }',
    },
  ],
);
const docsOnly = commit('docs(EvseManager): describe the power budget fallback', '2026-11-22T09:30:00Z', [
  { filename: 'modules/EVSE/EvseManager/README.md', patch: '@@ -40,3 +40,5 @@\n+## Power budget\n+' },
]);
const canRetry = commit('InfyPower BEG1K075G: retry CAN open on ENETDOWN', '2026-11-21T14:00:00Z', [
  {
    filename: canFile,
    patch:
      '@@ -58,7 +58,12 @@ bool CanDevice::open_device(const char* dev) {\n-    if (bind(can_fd, (struct sockaddr*)&addr, sizeof(addr)) < 0) {\n+    for (int attempt = 0; attempt < 3; attempt++) {',
  },
]);
const ocppOnly = commit('libocpp: honour RetryBackoffWaitMinimum on every re-dial', '2026-11-24T08:00:00Z', [
  { filename: 'lib/everest/ocpp/lib/ocpp/common/websocket/websocket.cpp', patch: '@@ -1 +1 @@\n-a\n+b' },
]);
const tooOld = commit('EvseManager: rename cable check timer', '2026-11-02T10:00:00Z', [
  { filename: charger, patch: '@@ -1 +1 @@ void Charger::cable_check() {\n-a\n+b' },
]);

const now = Date.parse('2026-11-25T08:00:00Z');
const windowStart = now - 7 * 86_400_000;

const open: Array<{ stop(): unknown }> = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.stop();
});

/** `timers: 'clock'` puts the refresh timer and the trigger deadline on the manual clock too. */
async function setup(
  over: Partial<GitHubChangesOptions> = {},
  seed = true,
  timers: 'system' | 'clock' = 'system',
) {
  const clock = createManualClock(now);
  const fake = startFakeGitHub({ now: clock.now });
  open.push(fake);
  if (seed)
    for (const c of [budgetFix, cpDebounce, docsOnly, canRetry, ocppOnly, tooOld]) fake.addCommit(repo, c);
  const db = openDatabase(':memory:');
  open.push({ stop: () => db.close() });
  const changes = createChangesRepo(db);
  const metrics = createMetrics();
  const logger = createMemoryLogger();
  const api = await createGitHubClient({
    apiUrl: fake.url,
    token: 'ghp_tracepulseTest',
    clock,
    logger,
    metrics,
    userAgent: 'tracepulse/test',
    timeoutMs: 5000,
  });
  const mapListeners: Array<(s: { graph: SystemGraph }) => void> = [];
  const github = createGitHubChanges({
    api,
    changes,
    cache: createGitHubCache(db),
    maps: { current: () => ({ graph: stationMap }), onChange: (l) => mapListeners.push(l) },
    clock,
    ...(timers === 'clock' ? { scheduler: clock } : {}),
    logger,
    lookbackDays: 7,
    refreshMinutes: 0,
    ...over,
  });
  open.push(github);
  return { clock, fake, db, changes, metrics, api, github, mapListeners, logger };
}

const isList = (path?: string) => (r: FakeGitHub['requests'][number]) =>
  /\/commits$/.test(r.path) && (path === undefined || r.query.get('path') === path);
const isDetail = (s: string) => (r: FakeGitHub['requests'][number]) => r.path.endsWith(`/commits/${s}`);

describe('GitHub change source (real octokit against a local GitHub REST server)', () => {
  test('a background pass caches every mapped path: commits with files, diff with git headers and hunk context', async () => {
    const { fake, github, changes } = await setup();
    const summary = await github.refreshAll();
    expect(summary.errors).toEqual([]);
    expect(summary.paths).toBe(3);

    const found = changes.changesBetween(windowStart, now);
    expect(found.map((c) => c.sha)).toEqual([canRetry.sha, docsOnly.sha, cpDebounce.sha, budgetFix.sha]);
    const fix = found.find((c) => c.sha === budgetFix.sha)!;
    expect(fix).toMatchObject({
      id: `${repo}@${budgetFix.sha}`,
      kind: 'commit',
      repo,
      service: 'evse_manager_1',
      files: [charger],
      author: 'Cornelius Claussen',
      url: `https://github.com/${repo}/commit/${budgetFix.sha}`,
      timestamp: Date.parse('2026-11-24T16:12:09Z'),
    });
    expect(fix.summary).toStartWith('EvseManager: pause at 0 A');
    expect(fix.diff).toStartWith(
      `diff --git a/${charger} b/${charger}\n--- a/${charger}\n+++ b/${charger}\n@@ -1880,9 +1880,11 @@ void Charger::run_state_machine() {\n`,
    );
    // A docs-only commit is kept: the engine decides its weight.
    expect(found.find((c) => c.sha === docsOnly.sha)).toMatchObject({ service: 'evse_manager_1' });
    expect(found.find((c) => c.sha === canRetry.sha)).toMatchObject({ service: 'powersupply_dc' });

    const lists = fake.requests.filter(isList());
    expect(lists.map((r) => r.query.get('path')).sort()).toEqual([
      'modules/EVSE/EvseManager',
      'modules/HardwareDrivers/EVSE/PhyVersoBSP',
      canFile,
    ]);
    for (const r of lists) {
      expect(r.query.get('since')).toBe('2026-11-18T00:00:00Z');
      expect(r.query.get('until')).toBeNull();
      expect(r.headers.get('authorization')).toBe('token ghp_tracepulseTest');
      expect(r.headers.get('if-none-match')).toBeNull();
    }
    // Commits outside the map's paths or the look-back are never asked for.
    expect(fake.count(isDetail(ocppOnly.sha)) + fake.count(isDetail(tooOld.sha))).toBe(0);
  });

  test('a second pass sends If-None-Match, gets 304 (no rate limit spent) and fetches no detail again', async () => {
    const { fake, github, metrics } = await setup();
    await github.refreshAll();
    const spent = fake.limit.remaining;
    const before = fake.requests.length;
    const summary = await github.refreshAll();
    const second = fake.requests.slice(before);
    expect(summary).toMatchObject({ paths: 3, notModified: 3, newCommits: 0, details: 0, errors: [] });
    expect(second).toHaveLength(3);
    for (const r of second) {
      expect(r.headers.get('if-none-match')).toStartWith('W/"');
      expect(r.status).toBe(304);
    }
    expect(fake.limit.remaining).toBe(spent);
    for (const c of [budgetFix, cpDebounce, docsOnly, canRetry]) expect(fake.count(isDetail(c.sha))).toBe(1);
    expect(metrics.get('tracepulse_github_requests_total', { endpoint: 'commits', status: '304' })).toBe(3);
    expect(metrics.get('tracepulse_github_requests_total', { endpoint: 'commit', status: '200' })).toBe(4);
  });

  test('a new commit changes the first page: the ETag misses and only the new commit detail is fetched', async () => {
    const { fake, github, changes, clock } = await setup();
    await github.refreshAll();
    const hotfix = commit(
      'EvseManager: clear MREC4 latch after powermeter recovers',
      '2026-11-25T09:10:00Z',
      [
        {
          filename: charger,
          patch: '@@ -2210,6 +2210,8 @@ void Charger::check_soft_over_current() {\n+    // hotfix',
        },
      ],
    );
    fake.addCommit(repo, hotfix);
    clock.advance(2 * 3600_000);
    const summary = await github.refreshAll();
    expect(summary).toMatchObject({ newCommits: 1, details: 1, notModified: 2, errors: [] });
    expect(fake.count(isDetail(hotfix.sha))).toBe(1);
    expect(fake.count(isDetail(budgetFix.sha))).toBe(1);
    expect(changes.get(`${repo}@${hotfix.sha}`)?.diff).toContain('void Charger::check_soft_over_current()');
  });

  test('pagination follows Link rel="next"; when the first page is unchanged the remembered pages stand', async () => {
    const { fake, github, changes } = await setup({ perPage: 2 });
    for (let i = 1; i <= 3; i++)
      fake.addCommit(
        repo,
        commit(`EvseManager: tidy session log ${i}`, `2026-11-2${i}T12:00:00Z`, [
          { filename: 'modules/EVSE/EvseManager/EvseManager.cpp', patch: `@@ -${i} +${i} @@\n-x\n+y` },
        ]),
      );
    await github.refreshAll();
    const evse = isList('modules/EVSE/EvseManager');
    // 5 commits under EvseManager at 2 per page: pages 1, 2, 3.
    expect(fake.requests.filter(evse).map((r) => r.query.get('page'))).toEqual(['1', '2', '3']);
    expect(changes.list({ service: 'evse_manager_1', limit: 100 })).toHaveLength(5);

    const before = fake.requests.length;
    await github.refreshAll();
    const again = fake.requests.slice(before).filter(evse);
    expect(again.map((r) => [r.query.get('page'), r.status])).toEqual([['1', 304]]);
  });

  test('refreshForTrigger refreshes only the candidates files and reports fresh within the deadline', async () => {
    const { fake, github, changes } = await setup();
    const r = await github.refreshForTrigger({
      files: [{ repo, path: 'modules/HardwareDrivers/EVSE/PhyVersoBSP/' }],
      since: windowStart,
      until: now,
      deadlineMs: 2000,
    });
    expect(r).toEqual({ fresh: true });
    expect(fake.requests.filter(isList()).map((q) => q.query.get('path'))).toEqual([
      'modules/HardwareDrivers/EVSE/PhyVersoBSP',
    ]);
    expect(changes.changesBetween(windowStart, now).map((c) => c.sha)).toEqual([cpDebounce.sha]);
    expect(changes.get(`${repo}@${cpDebounce.sha}`)?.diff).toContain('handle_cp_state_F()');
  });

  test('GitHub down: refreshForTrigger answers fresh:false at once and the cache still answers', async () => {
    const { fake, github, changes, api, logger } = await setup();
    await github.refreshAll();
    fake.stop();
    const input = { files: [{ repo, path: charger }], since: windowStart, until: now, deadlineMs: 2000 };
    let t0 = performance.now();
    const r = await github.refreshForTrigger(input);
    expect(performance.now() - t0).toBeLessThan(500);
    expect(r.fresh).toBe(false);
    expect(r.error).toContain('GitHub unreachable');
    expect(changes.changesBetween(windowStart, now)).toHaveLength(4);
    // Learnt from that request: the next trigger does not wait on the network at all.
    t0 = performance.now();
    const again = await github.refreshForTrigger(input);
    expect(performance.now() - t0).toBeLessThan(50);
    expect(again).toMatchObject({ fresh: false, error: expect.stringContaining('unreachable since') });
    expect(api.status()).toMatchObject({ lastError: { message: expect.stringContaining('unreachable') } });
    // One state-change line, not one per request.
    await github.refreshAll();
    expect(
      logger.lines.filter((l) => l.includes('GitHub unreachable; cached changes are used')),
    ).toHaveLength(1);
  });

  test('a slow GitHub: fresh:false at the 2 s deadline, without waiting for the late answer', async () => {
    const { fake, github, changes, clock } = await setup({}, true, 'clock');
    await github.refreshAll();
    fake.delayMs = 10_000;
    const sent = fake.arrived;
    let r: Awaited<ReturnType<typeof github.refreshForTrigger>> | undefined;
    void github
      .refreshForTrigger({
        files: [{ repo, path: 'modules/EVSE/EvseManager/' }],
        since: windowStart,
        until: now,
        deadlineMs: 2000,
      })
      .then((v) => {
        r = v;
      });
    // The request is at the (real) server, which holds it for 10 s; the deadline is on the clock.
    await waitFor(() => fake.arrived > sent, 3000, 'the request');
    clock.advance(1999);
    await Bun.sleep(0);
    expect(r).toBeUndefined();
    clock.advance(1);
    await Bun.sleep(0);
    expect(r).toEqual({ fresh: false, error: 'GitHub did not answer within 2000 ms; cached changes used' });
    expect(changes.changesBetween(windowStart, now)).toHaveLength(4);
  });

  test('x-ratelimit-remaining 0 pauses every request until x-ratelimit-reset', async () => {
    const { fake, github, clock, api, metrics } = await setup();
    fake.limit = { remaining: 1, resetAt: Math.floor(now / 1000) + 600 };
    const summary = await github.refreshAll();
    // The one answer said 0 remaining: nothing more was sent.
    expect(fake.requests).toHaveLength(1);
    expect(summary.paths).toBe(1);
    expect(api.status()).toMatchObject({
      rateLimitRemaining: 0,
      rateLimitedUntil: '2026-11-25T08:10:00.000Z',
    });
    const r = await github.refreshForTrigger({
      files: [{ repo, path: charger }],
      since: windowStart,
      until: now,
      deadlineMs: 2000,
    });
    expect(r).toEqual({ fresh: false, error: 'GitHub rate limit: waiting until 2026-11-25T08:10:00.000Z' });
    expect(fake.requests).toHaveLength(1);

    clock.advance(601_000);
    const after = await github.refreshAll();
    expect(after.errors).toEqual([]);
    expect(fake.requests.length).toBeGreaterThan(1);
    expect(metrics.get('tracepulse_github_requests_total', { endpoint: 'commits', status: '403' })).toBe(0);
  });

  test('a 403 rate limit whose reset is already past by our clock (skewed gateway clock) waits a minute', async () => {
    const { fake, github, clock, api } = await setup();
    // GitHub's time is right; the gateway's clock runs an hour ahead, so the reset looks past.
    fake.now = () => now;
    fake.limit = { remaining: 0, resetAt: Math.floor(now / 1000) + 600 };
    clock.set(now + 3600_000);
    const input = { files: [{ repo, path: bspFile }], since: windowStart, until: now, deadlineMs: 2000 };
    const r = await github.refreshForTrigger(input);
    expect(r.error).toStartWith('GitHub rate limit (HTTP 403)');
    expect(api.status().rateLimitedUntil).toBe(new Date(now + 3600_000 + 60_000).toISOString());
  });

  for (const status of [403, 429] as const)
    test(`HTTP ${status} with retry-after backs off for that long`, async () => {
      const { fake, github, clock, metrics } = await setup();
      const input = { files: [{ repo, path: bspFile }], since: windowStart, until: now, deadlineMs: 2000 };
      fake.throttle = { status, retryAfterS: 30 };
      const r = await github.refreshForTrigger(input);
      expect(r.fresh).toBe(false);
      expect(r.error).toBe(`GitHub rate limit (HTTP ${status}); waiting until 2026-11-25T08:00:30.000Z`);
      fake.throttle = null;
      const sent = fake.requests.length;
      expect(await github.refreshForTrigger(input)).toEqual({
        fresh: false,
        error: 'GitHub rate limit: waiting until 2026-11-25T08:00:30.000Z',
      });
      expect(fake.requests).toHaveLength(sent);
      expect(
        metrics.get('tracepulse_github_requests_total', { endpoint: 'commits', status: String(status) }),
      ).toBe(1);
      clock.advance(31_000);
      expect(await github.refreshForTrigger(input)).toEqual({ fresh: true });
    });

  test('a deploy record naming BASE...HEAD is resolved once with compare: files, diff and the range commits', async () => {
    const { fake, github, changes } = await setup();
    const base = canRetry.sha.slice(0, 12);
    const head = budgetFix.sha.slice(0, 12);
    changes.record(
      [
        {
          id: 'deploy-ev-station-01-2026.11.1',
          service: 'evse_manager_1',
          kind: 'deploy',
          timestamp: Date.parse('2026-11-24T18:00:00Z'),
          summary: 'Rolled out everest-core 2026.11.1 to EV-Station-01 (OTA, 2 connectors)',
          url: `https://github.com/${repo}/compare/${base}...${head}`,
        },
      ],
      now,
    );
    await github.refreshAll();
    expect(fake.count((r) => r.path === `/repos/${repo}/compare/${base}...${head}`)).toBe(1);
    const deploy = changes.get('deploy-ev-station-01-2026.11.1')!;
    // The range is the whole repository's history between the two, not only mapped paths.
    expect(deploy.files.sort()).toEqual([
      'lib/everest/ocpp/lib/ocpp/common/websocket/websocket.cpp',
      charger,
      'modules/EVSE/EvseManager/README.md',
      bspFile,
    ]);
    expect(deploy.diff).toContain('@@ -1880,9 +1880,11 @@ void Charger::run_state_machine() {');
    expect(deploy.diff).toContain(`diff --git a/${bspFile} b/${bspFile}`);

    await github.refreshAll();
    expect(fake.count((r) => r.path.includes('/compare/'))).toBe(1);

    const direct = await github.compare(repo, base, head);
    expect(direct.commits.map((c) => c.sha)).toEqual([
      docsOnly.sha,
      cpDebounce.sha,
      ocppOnly.sha,
      budgetFix.sha,
    ]);
    expect(direct.files).toContain(charger);
  });

  test('a deploy range GitHub does not know is asked for once; a deploy without a range not at all', async () => {
    const { fake, github, changes } = await setup();
    changes.record(
      [
        {
          id: 'deploy-unknown-range',
          service: 'bsp',
          kind: 'deploy',
          timestamp: Date.parse('2026-11-24T19:00:00Z'),
          summary: 'PhyVerso BSP hotfix deadbee..cafef00 (built from a private fork)',
        },
        {
          id: 'deploy-no-range',
          service: 'bsp',
          kind: 'deploy',
          timestamp: Date.parse('2026-11-24T19:30:00Z'),
          summary: 'Rolled out everest-core 2026.11.1',
        },
      ],
      now,
    );
    const first = await github.refreshAll();
    expect(first.errors).toEqual([expect.stringContaining('GitHub HTTP 404')]);
    await github.refreshAll();
    expect(fake.requests.filter((r) => r.path.includes('/compare/')).map((r) => r.path)).toEqual([
      `/repos/${repo}/compare/deadbee...cafef00`,
    ]);
  });

  test('a map change re-maps cached commits to the new services', async () => {
    const { github, changes, mapListeners } = await setup();
    await github.refreshAll();
    const split = graphOf(`
repo: ${repo}
services:
  evse_manager_1:
    files: [modules/EVSE/EvseManager/EvseManager.cpp]
  charger_fsm:
    files: [${charger}]
`);
    for (const l of mapListeners) l({ graph: split });
    expect(changes.get(`${repo}@${budgetFix.sha}`)?.service).toBe('charger_fsm');
    expect(changes.list({ service: 'charger_fsm' }).map((c) => c.sha)).toEqual([budgetFix.sha]);
    expect(changes.list({ service: 'evse_manager_1' }).map((c) => c.sha)).toEqual([]);
  });

  test('start() runs the background refresh on its timer and stop() ends it', async () => {
    const { fake, github, clock } = await setup({ refreshMinutes: 10, initialDelayMs: 3000 }, true, 'clock');
    github.start();
    clock.advance(2999);
    expect(fake.requests).toHaveLength(0);
    clock.advance(1);
    await waitFor(() => github.status().lastRefresh, 3000, 'first background pass');
    expect(github.status()).toMatchObject({ enabled: true, commitsCached: 4, lastError: null });
    // The next pass comes 10 minutes after the first one ended, not before.
    const first = fake.requests.length;
    expect(first).toBeGreaterThan(0);
    clock.advance(10 * 60_000 - 1);
    expect(fake.requests).toHaveLength(first);
    clock.advance(1);
    await waitFor(() => fake.requests.length > first || undefined, 3000, 'second background pass');
    await waitFor(
      async () => {
        const at = github.status().lastRefresh?.at;
        return at && Date.parse(at) >= now + 10 * 60_000 + 3000 ? at : undefined;
      },
      3000,
      'second pass done',
    );
    await github.stop();
    const n = fake.requests.length;
    clock.advance(60 * 60_000);
    expect(fake.requests).toHaveLength(n);
  });
});

describe('GitHub wired into the service', () => {
  let app: TestApp | undefined;
  let fake: FakeGitHub | undefined;
  afterEach(async () => {
    await app?.close();
    fake?.stop();
  });

  test('ctx.changeRefresher, /healthz github component and request counters by status', async () => {
    fake = startFakeGitHub();
    fake.addCommit(repo, { ...budgetFix, date: new Date(Date.now() - 86_400_000).toISOString() });
    app = await startTestApp({
      GITHUB_API_URL: fake.url,
      GITHUB_TOKEN: 'ghp_tracepulseTest',
      TRACEPULSE_GITHUB_REFRESH_MINUTES: '0',
    });
    const refresher = app.ctx.changeRefresher;
    expect(refresher).toBeDefined();
    const until = Date.now();
    const r = await refresher!.refreshForTrigger({
      files: [{ repo, path: 'modules/EVSE/EvseManager/' }],
      since: until - 7 * 86_400_000,
      until,
      deadlineMs: 2000,
    });
    expect(r).toEqual({ fresh: true });
    const evidence = app.ctx.changes.changesBetween(until - 7 * 86_400_000, until);
    expect(evidence.map((c) => [c.sha, c.service])).toEqual([[budgetFix.sha, 'evse_manager_1']]);

    const health = (await (await fetch(`${app.url}/healthz`)).json()) as {
      components: { github: Record<string, unknown> };
    };
    expect(health.components.github).toMatchObject({
      enabled: true,
      lastSuccess: expect.any(String),
      lastError: null,
      rateLimitRemaining: 4998,
    });
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toContain('tracepulse_github_requests_total{endpoint="commits",status="200"} 1');
    expect(metrics).toContain('tracepulse_github_requests_total{endpoint="commit",status="200"} 1');
    expect(metrics).toContain('tracepulse_github_rate_limit_remaining 4998');
  });
});
