import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { postJson, repoRoot, startTestApp, type TestApp, tempDir, waitFor } from '../helpers/test-app.ts';
import { addUser, mapWithoutOcppEdge, password, storeReport } from './helpers.ts';

// Debian's chromium with the flags a root container needs; never a downloaded browser.
const chromiumPath = '/usr/bin/chromium';
const flags = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const artifacts = join(repoRoot, 'test-artifacts');
const apiKey = 'browser-test-key-42';

let app: TestApp;
let browser: Browser;
const auth = { authorization: `Bearer ${apiKey}` };

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  app = await startTestApp({
    TRACEPULSE_API_KEYS: apiKey,
    TRACEPULSE_STATION_ID: 'EV-Station-01',
    // "Add to map" needs a map that misses the evse_manager_1 -> ocpp edge.
    TRACEPULSE_SYSTEM_MAP: mapWithoutOcppEdge(),
  });
  await addUser(app, 'erin', 'engineer');
  await addUser(app, 'vic', 'viewer');
  browser = await chromium.launch({ executablePath: chromiumPath, args: flags });
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
});

/** A pilot fault on the DC connector: the BSP logged CP glitches, the PSU and the meter complained too. */
async function pilotFault(n: number, gw: TestApp = app): Promise<string> {
  const t = Date.now();
  const iso = (dt: number) => new Date(t + dt).toISOString();
  const corr = `txn-77${n}`;
  const logs = [
    { timestamp: iso(-200_000), service: 'BoardSupport', level: 'info', message: 'evSerial: keep-alive ok' },
    {
      timestamp: iso(-90_000),
      service: 'PowerSupplyDC',
      level: 'error',
      message: 'CanDevice::rx_handler: module 3 no response (timeout 500 ms)',
    },
    {
      timestamp: iso(-60_000),
      service: 'PowerSupplyDC',
      level: 'error',
      message: 'CanDevice::rx_handler: module 3 no response (timeout 500 ms)',
    },
    {
      timestamp: iso(-30_000),
      service: 'BoardSupport',
      level: 'warn',
      message: `evSerial: CP duty cycle glitch 5% -> 0% for 12 ms (${corr})`,
      correlationId: corr,
    },
    {
      timestamp: iso(-4_000),
      service: 'EvseManager',
      level: 'error',
      message: 'Charger: MREC14PilotFault raised, stopping transaction',
      correlationId: corr,
    },
  ];
  expect((await postJson(`${gw.url}/api/logs`, logs, auth)).status).toBe(200);
  const r = await postJson(
    `${gw.url}/webhook/event`,
    {
      eventType: 'SESSION_DROP',
      service: 'EvseManager',
      errorCode: 'MREC14PilotFault',
      correlationId: corr,
      priority: 'high',
      timestamp: iso(0),
      message: 'Charger::run_state_machine: CP state F while Charging',
      details: { connector: '1', sessionId: `ses-${n}` },
    },
    auth,
  );
  expect(r.status).toBe(200);
  return ((await r.json()) as { eventId: string }).eventId;
}

const reportFor = (eventId: string, gw: TestApp = app) =>
  waitFor(() => gw.ctx.reports.recent(20).find((r) => r.eventId === eventId), 10_000, `report of ${eventId}`);

async function logIn(page: Page, name: string) {
  await page.goto(`${app.url}/chat`);
  expect(page.url()).toContain('/chat/login');
  await page.fill('input[name=name]', name);
  await page.fill('input[name=password]', password);
  await page.press('input[name=password]', 'Enter');
  await page.waitForURL(/\/chat\/c\/all$/);
}

describe('chat in a real browser', () => {
  test('engineer: live report, thread, offline answer, correction, learnt ranking; viewer and anonymous limits', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    await logIn(page, 'erin');
    await page.waitForSelector('#conn[data-state=live]');

    // Live: the report arrives over the WebSocket while the page stays loaded.
    await page.evaluate(() => {
      (window as unknown as { marker: number }).marker = 42;
    });
    await postJson(
      `${app.url}/api/changes`,
      {
        id: 'fw-bsp-2026-11-25',
        service: 'bsp',
        kind: 'firmware',
        timestamp: new Date(Date.now() - 35 * 60_000).toISOString(),
        summary: 'PhyVersoBSP MCU firmware 1.4.2: CP sampling moved to DMA',
        files: ['modules/HardwareDrivers/EVSE/PhyVersoBSP/phyverso_mcu_comms/evSerial.cpp'],
        diff: '--- a/modules/HardwareDrivers/EVSE/PhyVersoBSP/phyverso_mcu_comms/evSerial.cpp\n+++ b/modules/HardwareDrivers/EVSE/PhyVersoBSP/phyverso_mcu_comms/evSerial.cpp\n@@ -120,3 +120,4 @@ void evSerial::read_thread() {\n-    cp_sample();\n+    cp_sample_dma();\n+    // sample window 2 ms\n',
        author: 'fw-team',
      },
      auth,
    );
    const first = await reportFor(await pilotFault(1));
    const li = page.locator(`#r-${first.id}`);
    await li.waitFor({ timeout: 10_000 });
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
    expect(await li.textContent()).toContain('SESSION_DROP');
    await page.screenshot({ path: join(artifacts, 'chat-channel.png') });

    // Thread: hypotheses, evidence timeline, the map path.
    await li.locator('a.thread-link').click();
    await page.waitForURL(new RegExp(`/chat/r/${first.id}$`));
    expect(await page.locator('ol.hyps > li').count()).toBe(first.hypotheses.length);
    expect(await page.locator('svg.pathsvg g.node').count()).toBeGreaterThan(1);
    expect(await page.locator('ol.timeline li.tl.event').count()).toBe(1);

    // An LLM refinement (a revision) of the open report shows up without a reload.
    app.ctx.reports.addRevision(first.id, {
      source: 'rules+llm',
      summary: 'Refined: the BSP firmware 1.4.2 CP sampling change is the likely cause.',
      explanation:
        'CP glitches started after the DMA sampling change; the PSU errors are older and unrelated.',
      nextSteps: ['Roll back PhyVersoBSP firmware to 1.4.1 on connector 1'],
      hypotheses: first.hypotheses,
    });
    await page.waitForSelector('section[aria-labelledby=h-rev] >> text=Roll back PhyVersoBSP firmware');

    // A question, typed with the keyboard ("/" focuses the box), answered offline from local data.
    await page.keyboard.press('/');
    await page.keyboard.type('what changed in bsp?');
    await page.keyboard.press('Enter');
    const answer = page.locator('li.cm.answer').last();
    await answer.waitFor();
    expect(await answer.locator('.by').textContent()).toBe('local data');
    expect(await answer.locator('.text').textContent()).toContain('fw-bsp-2026-11-25');
    expect(await answer.locator('ol.cites li').first().textContent()).toContain('firmware');
    // A tall window rather than fullPage: the sticky header and sidebar stay where they belong.
    const height = await page.evaluate(() => document.documentElement.scrollHeight);
    await page.setViewportSize({ width: 1280, height: Math.min(height, 2400) });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(artifacts, 'chat-thread.png') });
    await page.setViewportSize({ width: 1280, height: 860 });

    // Correction: the real root cause is the runner-up; stored with who and when.
    const wrongTop = first.hypotheses[0]!.service;
    const truth = first.hypotheses[1]!.service;
    await page.check('input[name=verdict][value=rejected]');
    await page.selectOption('select[name=rootService]', truth);
    await page.fill('input[name=note]', 'CP fault traced on site');
    await page.click('form.fbform button[type=submit]');
    await page.waitForSelector('.notice.ok');
    expect(await page.locator('ul.feedback-list li').first().textContent()).toContain(
      `erin corrected to ${truth}`,
    );
    const stored = await (
      await fetch(`${app.url}/api/reports/${first.id}/feedback`, { headers: auth })
    ).json();
    expect(stored.feedback[0]).toMatchObject({ verdict: 'rejected', rootService: truth, author: 'erin' });

    // Learning passes the gate, then a similar event is ranked accordingly, live in the channel.
    const learnt = await waitFor(
      async () => {
        const l = await (await fetch(`${app.url}/api/learning`, { headers: auth })).json();
        return l.history.length ? l : null;
      },
      20_000,
      'a gate decision',
    );
    expect(learnt.history[0].status).toBe('active');
    await page.goto(`${app.url}/chat/c/all`);
    await page.waitForSelector('#conn[data-state=live]');
    const second = await reportFor(await pilotFault(2));
    const li2 = page.locator(`#r-${second.id}`);
    await li2.waitFor({ timeout: 10_000 });
    expect(second.hypotheses[0]!.service).toBe(truth);
    expect(second.hypotheses[0]!.service).not.toBe(wrongTop);
    expect(second.modelVersion).toContain('+adj-');
    expect(await li2.locator('.body b').first().textContent()).toBe(truth);
    await context.close();

    // A viewer reads but cannot give feedback.
    const viewerContext = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const vpage = await viewerContext.newPage();
    await logIn(vpage, 'vic');
    await vpage.goto(`${app.url}/chat/r/${first.id}`);
    expect(await vpage.locator('form.fbform').count()).toBe(0);
    expect(await vpage.locator('text=Viewers cannot give feedback.').count()).toBe(1);
    const refused = await vpage.evaluate(async (id) => {
      const r = await fetch(`/api/reports/${id}/feedback`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ verdict: 'confirmed' }),
      });
      return r.status;
    }, first.id);
    expect(refused).toBe(403);
    // Phone-sized: the channel list sits behind the menu button, which the keyboard can open and close.
    await vpage.focus('#menu');
    await vpage.keyboard.press('Enter');
    expect(await vpage.getAttribute('#menu', 'aria-expanded')).toBe('true');
    expect(await vpage.evaluate(() => document.body.classList.contains('side-open'))).toBe(true);
    await vpage.keyboard.press('Escape');
    expect(await vpage.getAttribute('#menu', 'aria-expanded')).toBe('false');
    await viewerContext.close();

    // Without a session, /chat is the login page.
    const anon = await browser.newContext();
    const apage = await anon.newPage();
    await apage.goto(`${app.url}/chat/c/all`);
    expect(new URL(apage.url()).pathname).toBe('/chat/login');
    await anon.close();
  }, 60_000);

  test('the page reconnects by itself after the gateway restarts, and shows what arrives next', async () => {
    const probe = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() });
    const port = probe.port;
    probe.stop(true);
    const dataDir = tempDir();
    const env = {
      TRACEPULSE_DATA_DIR: dataDir,
      TRACEPULSE_PORT: String(port),
      TRACEPULSE_API_KEYS: apiKey,
      TRACEPULSE_LEARN: 'off',
    };
    let gw = await startTestApp(env);
    const context = await browser.newContext();
    try {
      await addUser(gw, 'erin', 'engineer');
      const page = await context.newPage();
      await page.goto(`${gw.url}/chat/login`);
      await page.fill('input[name=name]', 'erin');
      await page.fill('input[name=password]', password);
      await page.press('input[name=password]', 'Enter');
      await page.waitForSelector('#conn[data-state=live]');
      await page.evaluate(() => {
        (window as unknown as { marker: number }).marker = 7;
      });
      await gw.stop();
      await page.waitForSelector('#conn[data-state=offline]');
      gw = await startTestApp(env);
      await page.waitForSelector('#conn[data-state=live]', { timeout: 15_000 });
      const r = await reportFor(await pilotFault(3, gw), gw);
      await page.locator(`#r-${r.id}`).waitFor({ timeout: 10_000 });
      expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(7);
    } finally {
      await context.close();
      await gw.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 40_000);

  test('engineer: "Add to map" applies the suggested edge in one click; the related report is a link', async () => {
    const earlier = await storeReport(app, { eventType: 'OCPP_DISCONNECT', service: 'ocpp' });
    const r = await storeReport(app, {
      eventType: 'SESSION_DROP',
      mapSuggestions: [
        { service: 'evse_manager_1', dependsOn: 'ocpp', reason: 'OCPP_DISCONNECT diagnosed 100 s earlier' },
      ],
      relatedReports: [
        {
          reportId: earlier.id,
          eventType: 'OCPP_DISCONNECT',
          service: 'ocpp',
          rootService: 'network',
          createdAt: earlier.createdAt,
        },
      ],
    });
    const mapDeps = async () =>
      (
        (await (await fetch(`${app.url}/api/system-map`, { headers: auth })).json()) as {
          services: Array<{ name: string; dependsOn: string[] }>;
        }
      ).services.find((s) => s.name === 'evse_manager_1')!.dependsOn;
    expect(await mapDeps()).not.toContain('ocpp');

    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    await logIn(page, 'erin');
    await page.goto(`${app.url}/chat/r/${r.id}`);
    const section = page.locator('section[aria-labelledby=h-map]');
    expect(await section.locator('li').first().textContent()).toContain('evse_manager_1 depends_on ocpp');
    await section.locator('button', { hasText: 'Add to map' }).click();
    await page.waitForSelector('.notice.ok');
    expect(await page.locator('.notice.ok').textContent()).toContain(
      'Added to the system map: evse_manager_1 depends_on ocpp',
    );
    expect(await section.locator('text=(in the map)').count()).toBe(1);
    expect(await section.locator('button').count()).toBe(0);
    expect(await mapDeps()).toContain('ocpp');

    await page.locator('section[aria-labelledby=h-rel] a').click();
    await page.waitForURL(new RegExp(`/chat/r/${earlier.id}$`));
    expect(await page.locator('h1').textContent()).toContain('OCPP_DISCONNECT on ocpp');
    await context.close();
  }, 30_000);
});
