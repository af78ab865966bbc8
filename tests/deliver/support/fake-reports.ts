// A small stand-in for the reports store (ctx.reports): stores reports in SQLite and runs the
// registered hooks inside the same transaction, then announces after commit, as the port says.
import type { Database } from 'bun:sqlite';
import type { DebugEvent } from '../../../src/core/event.ts';
import type { ReportNotice, ReportTxHook } from '../../../src/core/ports.ts';
import type { Report, ReportRevision } from '../../../src/core/report.ts';
import type { NewRevision } from '../../../src/deliver/llm-refiner.ts';

export function createFakeReports(db: Database) {
  db.exec('CREATE TABLE IF NOT EXISTS test_reports (id TEXT PRIMARY KEY, json TEXT NOT NULL)');
  const hooks: ReportTxHook[] = [];
  const listeners: Array<(n: ReportNotice) => void> = [];
  const save = db.prepare('INSERT OR REPLACE INTO test_reports (id, json) VALUES (?, ?)');
  const load = db.prepare<{ json: string }, [string]>('SELECT json FROM test_reports WHERE id = ?');

  const announce = (n: ReportNotice) => {
    db.transaction(() => {
      save.run(n.report.id, JSON.stringify(n.report));
      for (const h of hooks) h(n);
    })();
    for (const l of listeners) l(n);
  };
  const get = (id: string): Report | null => {
    const r = load.get(id);
    return r ? (JSON.parse(r.json) as Report) : null;
  };
  const firstRevision = (r: Report): ReportRevision => ({
    revision: r.revision,
    source: r.source,
    createdAt: r.createdAt,
    summary: r.summary,
    hypotheses: r.hypotheses,
  });

  return {
    inReportTransaction(h: ReportTxHook) {
      hooks.push(h);
    },
    onReport(l: (n: ReportNotice) => void) {
      listeners.push(l);
    },
    get,
    list: () =>
      db
        .query<{ json: string }, []>('SELECT json FROM test_reports')
        .all()
        .map((r) => JSON.parse(r.json) as Report),
    create(report: Report, event: DebugEvent) {
      // The event is stored first, as ingest does before the engine runs.
      db.query(
        `INSERT OR IGNORE INTO events (id, event_type, service, error_code, correlation_id, details, priority, ts, received_at, message, source)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        event.id,
        event.eventType,
        event.service,
        event.errorCode,
        event.correlationId,
        JSON.stringify(event.details),
        event.priority,
        event.timestamp,
        event.receivedAt,
        event.message,
        event.source,
      );
      report = { ...report, eventId: event.id, correlationId: event.correlationId };
      announce({ kind: 'created', report: { ...report, revisions: [firstRevision(report)] }, event });
    },
    incident(report: Report, incidentId: string, count: number) {
      announce({ kind: 'incident', incidentId, count, report: { ...report, incidentId } });
    },
    addRevision(reportId: string, rev: NewRevision) {
      const r = get(reportId);
      if (!r) throw new Error(`no report ${reportId}`);
      const revision = (r.revisions?.length ?? 1) + 1;
      const entry: ReportRevision = {
        revision,
        source: rev.source,
        createdAt: new Date().toISOString(),
        summary: rev.summary,
        hypotheses: rev.hypotheses,
        explanation: rev.explanation,
        nextSteps: rev.nextSteps,
      };
      const next: Report = {
        ...r,
        revision,
        source: rev.source,
        summary: rev.summary,
        hypotheses: rev.hypotheses,
        revisions: [...(r.revisions ?? [firstRevision(r)]), entry],
      };
      announce({ kind: 'revised', report: next });
      return next;
    },
  };
}

export type FakeReports = ReturnType<typeof createFakeReports>;
