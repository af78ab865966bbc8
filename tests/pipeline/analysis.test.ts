import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createManualClock } from '../../src/core/clock.ts';
import type { ReportNotice } from '../../src/core/ports.ts';
import type { Report } from '../../src/core/report.ts';
import { postJson, sessionDrop, startTestApp, type TestApp, tempDir, waitFor } from '../helpers/test-app.ts';

const now = Date.now();
let app: TestApp;
const notices: ReportNotice[] = [];

const reportsFor = async (correlationId: string): Promise<Report[]> =>
  (
    (await (await fetch(`${app.url}/api/reports?correlationId=${correlationId}`)).json()) as {
      reports: Report[];
    }
  ).reports;
const reportFor = (correlationId: string) =>
  waitFor(async () => (await reportsFor(correlationId))[0], 5000, `report ${correlationId}`);

beforeAll(async () => {
  app = await startTestApp({ TRACEPULSE_STATION_ID: 'EV-Station-01', TRACEPULSE_STORM_WINDOW_S: '600' });
  app.ctx.reports.onReport((n) => notices.push(n));
});
afterAll(() => app.close());

describe('trigger to report over HTTP', () => {
  test('a session drop gets a stored report blaming the meter regression, served at once', async () => {
    await postJson(`${app.url}/api/logs`, [
      {
        service: 'PowerMeterDC',
        level: 'error',
        message: 'HTTP request to DCBM /v1/legal timed out after 3000 ms',
        timestamp: now - 20_000,
      },
      {
        service: 'PowerMeterDC',
        level: 'error',
        message: 'HTTP request to DCBM /v1/legal timed out after 3004 ms',
        timestamp: now - 12_000,
      },
      {
        service: 'SessionManager',
        level: 'error',
        message: 'PowermeterTransactionStartFailed',
        timestamp: now - 3_000,
        correlationId: 'txn-meter',
      },
    ]);
    const chg = await postJson(`${app.url}/api/changes`, {
      id: 'deploy-lem-2026.11.3',
      service: 'PowerMeterDC',
      kind: 'deploy',
      timestamp: now - 2 * 3_600_000,
      summary: 'LemDCBM400600 driver 2026.11.3: cut start_transaction timeout to 3s',
      author: 'fleet-ota',
    });
    expect(chg.status).toBe(200);
    const res = await postJson(
      `${app.url}/webhook/event`,
      sessionDrop({ correlationId: 'txn-meter', timestamp: now }),
    );
    const { eventId } = (await res.json()) as { eventId: string };
    const report = await reportFor('txn-meter');
    expect(report).toMatchObject({
      eventId,
      correlationId: 'txn-meter',
      eventType: 'SESSION_DROP',
      service: 'SessionManager',
      errorCode: 'TIMEOUT',
      stationId: 'EV-Station-01',
      source: 'rules',
      revision: 1,
      changesFromCache: false,
    });
    expect(report.modelVersion).toMatch(/^rules-[0-9a-f]{8}$/);
    expect(report.incidentId).toBeString();
    expect(Date.parse(report.createdAt)).toBeGreaterThan(0);
    expect(report.latencyMs).toBeGreaterThan(0);
    expect(report.latencyMs).toBeLessThan(1000);
    expect(report.hypotheses[0]).toMatchObject({
      rank: 1,
      service: 'powermeter_dc',
      change: { id: 'deploy-lem-2026.11.3', author: 'fleet-ota' },
    });
    expect(report.summary).toStartWith('SESSION_DROP (TIMEOUT) in SessionManager, likely powermeter_dc');

    const one = await fetch(`${app.url}/api/reports/${report.id}`);
    const full = (await one.json()) as Report;
    expect(full.hypotheses).toEqual(report.hypotheses);
    expect(full.revisions?.map((r) => r.revision)).toEqual([1]);
    const missing = await fetch(`${app.url}/api/reports/no-such-report`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: string }).error).toBe('not found');

    // An alias finds the report filed under the map's name.
    const byAlias = (await (await fetch(`${app.url}/api/reports?service=EvseManagerDC`)).json()) as {
      reports: Report[];
    };
    expect(byAlias.reports.map((r) => r.id)).toContain(report.id);
    const bad = await fetch(`${app.url}/api/reports?limit=0`);
    expect(bad.status).toBe(400);
    expect(notices.find((n) => n.report.id === report.id)?.kind).toBe('created');
  });

  test('low-priority events produce no report', async () => {
    await postJson(
      `${app.url}/webhook/event`,
      sessionDrop({ correlationId: 'txn-low', priority: 'low', timestamp: now }),
    );
    // A high-priority event after it: once its report exists, the low one had its chance.
    await postJson(
      `${app.url}/webhook/event`,
      sessionDrop({ correlationId: 'txn-after-low', timestamp: now, errorCode: 'MREC9AuthorizationTimeout' }),
    );
    await reportFor('txn-after-low');
    await app.ctx.analysis.idle();
    expect(await reportsFor('txn-low')).toEqual([]);
  });

  test('an unknown failing service still gets a report', async () => {
    await postJson(
      `${app.url}/webhook/event`,
      sessionDrop({
        correlationId: 'txn-unknown',
        service: 'VendorCoolingController',
        errorCode: 'FAN_STALL',
        timestamp: now,
      }),
    );
    const r = await reportFor('txn-unknown');
    expect(r.hypotheses.map((h) => h.service)).toEqual(['VendorCoolingController']);
  });

  test('a storm of triggers with the same top hypothesis is one incident with a count', async () => {
    const before = notices.length;
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await postJson(
        `${app.url}/webhook/event`,
        sessionDrop({
          service: 'OCPP',
          eventType: 'OCPP_DISCONNECT',
          errorCode: 'WebsocketPongTimeout',
          correlationId: `txn-storm-${i}`,
          // A minute after the meter failure: the example map has ocpp among evse_manager_1's
          // dependencies, so a disconnect at its time would be evidence when it is analysed again.
          timestamp: now + 60_000 + i * 1000,
        }),
      );
      ids.push(((await res.json()) as { eventId: string }).eventId);
    }
    const reports = await Promise.all(ids.map((_, i) => reportFor(`txn-storm-${i}`)));
    const incident = reports[0]!.incidentId;
    expect(reports.every((r) => r.incidentId === incident)).toBe(true);
    const kinds = notices.slice(before).map((n) => n.kind);
    expect(kinds).toEqual(['created', 'incident', 'incident', 'incident']);
    const { incidents } = (await (await fetch(`${app.url}/api/incidents`)).json()) as {
      incidents: Array<{ id: string; count: number; reportId: string; lastAt: string }>;
    };
    const inc = incidents.find((i) => i.id === incident)!;
    expect(inc.count).toBe(4);
    expect(inc.reportId).toBe(reports[0]!.id);
    expect(inc.lastAt).toBe(new Date(now + 63_000).toISOString());
  });

  test('analyzeStored re-ranks a stored event without storing it; adjustments change the ranking', async () => {
    const stored = await reportFor('txn-meter');
    const count = (await reportsFor('txn-meter')).length;
    const again = app.ctx.analysis.analyzeStored(stored.eventId)!;
    expect(again.hypotheses.map((h) => h.service)).toEqual(stored.hypotheses.map((h) => h.service));
    const adjusted = app.ctx.analysis.analyzeStored(stored.eventId, {
      adjustments: { services: { powermeter_dc: 0.05 } },
    })!;
    expect(adjusted.hypotheses[0]!.service).not.toBe('powermeter_dc');
    expect(adjusted.modelVersion).toContain('+adj-');
    expect((await reportsFor('txn-meter')).length).toBe(count);
    expect(app.ctx.analysis.analyzeStored('no-such-event')).toBeNull();
  });

  test('a revision (LLM refinement) keeps the first, becomes current and is announced', async () => {
    const stored = await reportFor('txn-meter');
    const inTx: string[] = [];
    app.ctx.reports.inReportTransaction((n) => inTx.push(`${n.kind}:${n.report.revision}`));
    const revised = app.ctx.reports.addRevision(stored.id, {
      hypotheses: [
        {
          ...stored.hypotheses[0]!,
          confidence: 0.8,
          reasons: ['LLM: DCBM firmware answers slower than 3 s'],
        },
      ],
      summary: 'The 3 s start_transaction timeout is shorter than the DCBM answer time.',
      explanation: 'The LEM DCBM takes 4-6 s to sign the start snapshot.',
      nextSteps: ['Revert deploy-lem-2026.11.3'],
      source: 'rules+llm',
    });
    expect(revised.revision).toBe(2);
    expect(inTx).toEqual(['revised:2']);
    const full = (await (await fetch(`${app.url}/api/reports/${stored.id}`)).json()) as Report;
    expect(full.source).toBe('rules+llm');
    expect(full.hypotheses[0]!.confidence).toBe(0.8);
    expect(full.revisions?.map((r) => [r.revision, r.source])).toEqual([
      [1, 'rules'],
      [2, 'rules+llm'],
    ]);
    expect(full.revisions?.[0]?.hypotheses).toEqual(stored.hypotheses);
    expect(notices.at(-1)).toMatchObject({ kind: 'revised', report: { id: stored.id, revision: 2 } });
  });

  test('the latency of recent triggers is exported', async () => {
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toMatch(/tracepulse_analysis_latency_ms\{quantile="0.99"\} \d/);
    const incidents = Number(/tracepulse_reports_total\{kind="incident"\} (\d+)/.exec(metrics)?.[1]);
    expect(incidents).toBeGreaterThanOrEqual(3);
  });
});

describe('user rule file', () => {
  test('a new rule changes a ranking without a restart; an invalid file keeps the last good rules', async () => {
    const dir = tempDir();
    const file = join(dir, 'rules.yaml');
    writeFileSync(file, 'rules: []\n');
    // The file's poll is on the app's scheduler: a manual clock, advanced by hand.
    const timers = createManualClock();
    const local = await startTestApp({ TRACEPULSE_RULES_FILE: file }, { scheduler: timers });
    const health = async () =>
      (
        (await (await fetch(`${local.url}/healthz`)).json()) as {
          components: {
            rules: {
              ok: boolean;
              modelVersion: string;
              userRules: number;
              lastError: { problems: string[] } | null;
            };
          };
        }
      ).components.rules;
    const trigger = async (correlationId: string) => {
      await postJson(`${local.url}/webhook/event`, sessionDrop({ correlationId, timestamp: now }));
      return waitFor(
        async () =>
          (
            (await (await fetch(`${local.url}/api/reports?correlationId=${correlationId}`)).json()) as {
              reports: Report[];
            }
          ).reports[0],
        5000,
        correlationId,
      );
    };
    try {
      const v0 = (await health()).modelVersion;
      expect((await trigger('txn-r0')).hypotheses[0]!.service).toBe('evse_manager_1');

      writeFileSync(
        file,
        `rules:
  - id: site.worn-emmc
    description: EV-Station-01 has a worn eMMC; storage stalls drop sessions.
    when: { eventType: SESSION_DROP }
    target: { relation: dependency, match: 'persistent|kvs' }
    weight: 3
    reason: 'the eMMC of this station is worn; {service} stalls'
`,
      );
      expect((await health()).userRules).toBe(0);
      timers.advance(500);
      expect((await health()).userRules).toBe(1);
      const v1 = (await health()).modelVersion;
      expect(v1).not.toBe(v0);
      const r1 = await trigger('txn-r1');
      expect(r1.hypotheses[0]!.service).toBe('persistent_store');
      expect(r1.modelVersion).toBe(v1);

      writeFileSync(
        file,
        "rules:\n  - id: site.bad\n    when: { log: { text: '(' } }\n    weight: 7\n    reason: x\n",
      );
      timers.advance(500);
      const bad = await health();
      expect(bad.ok).toBe(false);
      const problems = bad.lastError!.problems.join('\n');
      expect(problems).toContain("rule 'site.bad' (rules[0]) when.log.text: invalid regular expression");
      expect(problems).toContain("rule 'site.bad' (rules[0]) weight:");
      expect(bad.modelVersion).toBe(v1);
      expect(local.logLines.some((l) => l.includes('rule file rejected'))).toBe(true);
      const r2 = await trigger('txn-r2');
      expect(r2.hypotheses[0]!.service).toBe('persistent_store');
    } finally {
      await local.close();
    }
  });
});

test('warn lines are folded into the pattern baseline a second after their commit, with no trigger', async () => {
  // The indexing delay is on the app's scheduler: a manual clock, advanced by hand.
  const timers = createManualClock();
  const local = await startTestApp({}, { scheduler: timers });
  try {
    const at = Date.now() - 5_000;
    const lines = Array.from({ length: 30 }, (_, i) => ({
      timestamp: at + i,
      service: 'powermeter_ac',
      level: 'warn',
      message: `GenericPowermeter: Modbus read_register 0x5000 failed, CRC mismatch (attempt ${i + 1})`,
    }));
    expect((await postJson(`${local.url}/api/logs`, lines)).status).toBe(200);
    const folded = () =>
      local.ctx.db
        .query<{ n: number | null }, []>(
          "SELECT SUM(count) AS n FROM log_patterns WHERE service = 'powermeter_ac' AND pattern LIKE '%crc mismatch%'",
        )
        .get()?.n ?? null;
    timers.advance(999);
    expect(folded()).toBeNull();
    timers.advance(1);
    expect(folded()).toBe(30);
  } finally {
    await local.close();
  }
});

test('a committed trigger is analysed before the work already due on the event loop', async () => {
  // Under bulk ingest the loop always has work due (the next write batch, HTTP requests, a
  // pattern-indexing step); a trigger's analysis queued behind it waited up to ~100 ms. The
  // callback queued after the write stands for that work: it must find the report stored.
  const correlationId = 'txn-priority';
  const at = Date.now();
  const written = app.ctx.writer.writeEvent({
    id: Bun.randomUUIDv7(),
    eventType: 'SESSION_DROP',
    service: 'SessionManager',
    errorCode: 'TIMEOUT',
    correlationId,
    details: {},
    priority: 'high',
    timestamp: at,
    receivedAt: at,
    message: null,
    source: 'http',
  });
  const storedByThen = new Promise<number>((resolve) =>
    setImmediate(() => resolve(app.ctx.reports.list({ correlationId }).length)),
  );
  expect((await written).inserted).toBe(true);
  expect(await storedByThen).toBe(1);
});
