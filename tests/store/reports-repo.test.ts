import { describe, expect, test } from 'bun:test';
import type { DebugEvent } from '../../src/core/event.ts';
import type { ReportNotice } from '../../src/core/ports.ts';
import type { Hypothesis, Report } from '../../src/core/report.ts';
import { openDatabase } from '../../src/store/db.ts';
import { createReportsRepo } from '../../src/store/reports-repo.ts';

const T = Date.UTC(2026, 10, 25, 9, 41, 30);
let seq = 0;

const hyp = (service: string, sha?: string): Hypothesis[] => [
  {
    rank: 1,
    service,
    confidence: 0.6,
    reasons: ['r'],
    evidence: [],
    ...(sha ? { change: { sha, message: 'cut retry timeout' } } : {}),
  },
];

function input(ts: number, top: Hypothesis[], stormWindowMs = 600_000) {
  const id = `rep-${++seq}`;
  const event: DebugEvent = {
    id: `evt-${seq}`,
    eventType: 'SESSION_DROP',
    service: 'SessionManager',
    errorCode: 'TIMEOUT',
    correlationId: `sess-${seq}`,
    details: {},
    priority: 'high',
    timestamp: ts,
    receivedAt: ts,
    message: null,
    source: 'http',
  };
  const report: Omit<Report, 'incidentId' | 'latencyMs' | 'revisions'> = {
    id,
    eventId: event.id,
    correlationId: event.correlationId,
    eventType: event.eventType,
    service: event.service,
    errorCode: event.errorCode,
    stationId: 'EV-Station-01',
    createdAt: new Date(ts).toISOString(),
    summary: 's',
    source: 'rules',
    revision: 1,
    modelVersion: 'rules-test',
    changesFromCache: false,
    hypotheses: top,
  };
  return {
    report,
    event,
    resolvedService: 'evse_manager_1',
    stormWindowMs,
    createdAt: ts,
    latencyMs: () => 3.2,
    newId: () => `inc-${seq}`,
  };
}

function repo() {
  const db = openDatabase(':memory:');
  const seen: ReportNotice[] = [];
  let fail = false;
  const r = createReportsRepo(db, {
    inTransaction: (n) => {
      seen.push(n);
      db.query('CREATE TABLE IF NOT EXISTS outbox_test (report_id TEXT)').run();
      db.query('INSERT INTO outbox_test VALUES (?)').run(n.report.id);
      if (fail) throw new Error('outbox full');
    },
  });
  return { db, r, seen, failNext: () => (fail = true) };
}

describe('reports repository', () => {
  test('triggers with the same top service and blamed change within the window form one incident', () => {
    const { r, seen } = repo();
    const a = r.store(input(T, hyp('powermeter_dc', 'abc123')));
    const b = r.store(input(T + 60_000, hyp('powermeter_dc', 'abc123')));
    const c = r.store(input(T + 120_000, hyp('powermeter_dc', 'abc123')));
    expect(a.report.incidentId).toBe(b.report.incidentId!);
    expect(c.report.incidentId).toBe(a.report.incidentId!);
    expect(seen.map((n) => n.kind)).toEqual(['created', 'incident', 'incident']);
    expect(seen[2]).toMatchObject({ kind: 'incident', count: 3 });
    const [inc] = r.incidents(10);
    expect(inc).toMatchObject({
      count: 3,
      service: 'powermeter_dc',
      reportId: a.report.id,
      firstAt: T,
      lastAt: T + 120_000,
    });
    expect(r.list({ limit: 10 }).length).toBe(3);
  });

  test('another blamed change, a gap past the window, or a zero window opens a new incident', () => {
    const { r } = repo();
    const a = r.store(input(T, hyp('powermeter_dc', 'abc123')));
    expect(r.store(input(T + 1000, hyp('powermeter_dc', 'def456'))).report.incidentId).not.toBe(
      a.report.incidentId,
    );
    expect(r.store(input(T + 11 * 60_000, hyp('powermeter_dc', 'abc123'))).report.incidentId).not.toBe(
      a.report.incidentId,
    );
    const z1 = r.store(input(T, hyp('slac'), 0));
    const z2 = r.store(input(T, hyp('slac'), 0));
    expect(z1.report.incidentId).not.toBe(z2.report.incidentId);
  });

  test('the transaction hook commits with the report, and a failing hook rolls the report back', () => {
    const { db, r, failNext } = repo();
    const ok = r.store(input(T, hyp('bsp')));
    expect(db.query('SELECT report_id FROM outbox_test').all()).toEqual([{ report_id: ok.report.id }]);
    failNext();
    const bad = input(T, hyp('bsp'));
    expect(() => r.store(bad)).toThrow('outbox full');
    expect(r.get(bad.report.id)).toBeNull();
    expect(db.query('SELECT COUNT(*) AS n FROM outbox_test').get()).toEqual({ n: 1 });
  });

  test('revisions keep the first one and make the latest current', () => {
    const { r, seen } = repo();
    const a = r.store(input(T, hyp('bsp')));
    const rev = r.addRevision(
      a.report.id,
      {
        hypotheses: hyp('slac'),
        summary: 'LLM: the PLC link dropped',
        explanation: 'e',
        nextSteps: ['check PLC'],
        source: 'rules+llm',
      },
      T + 5000,
    );
    expect(rev.report).toMatchObject({
      revision: 2,
      source: 'rules+llm',
      summary: 'LLM: the PLC link dropped',
    });
    const got = r.get(a.report.id)!;
    expect(got.hypotheses[0]!.service).toBe('slac');
    expect(got.revisions!.map((x) => [x.revision, x.source, x.hypotheses[0]!.service])).toEqual([
      [1, 'rules', 'bsp'],
      [2, 'rules+llm', 'slac'],
    ]);
    expect(got.revisions![1]!.nextSteps).toEqual(['check PLC']);
    expect(seen.at(-1)!.kind).toBe('revised');
    expect(() => r.addRevision('nope', { hypotheses: [], summary: 's', source: 'rules+llm' }, T)).toThrow(
      'no report nope',
    );
  });

  test('lists filter by correlation id and by service (as sent, resolved, or top hypothesis)', () => {
    const { r } = repo();
    const a = r.store(input(T, hyp('bsp')));
    r.store(input(T + 1, hyp('slac')));
    expect(r.list({ correlationId: a.report.correlationId! }).map((x) => x.id)).toEqual([a.report.id]);
    expect(r.list({ service: 'slac' }).length).toBe(1);
    expect(r.list({ service: 'evse_manager_1' }).length).toBe(2);
    expect(r.list({ service: 'SessionManager', limit: 1 }).length).toBe(1);
    expect(r.list({}).map((x) => x.hypotheses[0]!.service)).toEqual(['slac', 'bsp']);
  });
});
