import type { Database } from 'bun:sqlite';
import { TracePulseError } from '../core/errors.ts';
import type { DebugEvent } from '../core/event.ts';
import type { ReportNotice } from '../core/ports.ts';
import type { BlamedChange, Hypothesis, Report, ReportSource } from '../core/report.ts';
import { isoTime } from '../core/time.ts';
import {
  type IncidentRow,
  type ReportRow,
  type RevisionRow,
  toIncident,
  toReport,
  toRevision,
} from './report-rows.ts';

/** Triggers with the same top hypothesis (service and blamed change) within the storm window. */
export interface Incident {
  id: string;
  service: string;
  change: BlamedChange | null;
  count: number;
  /** Event time of the first and the latest member (epoch ms). */
  firstAt: number;
  lastAt: number;
  /** The report that opened it. */
  reportId: string;
  lastReportId: string;
  summary: string;
}

export interface NewRevision {
  hypotheses: Hypothesis[];
  summary: string;
  explanation?: string;
  nextSteps?: string[];
  source: ReportSource;
}

export interface ReportQuery {
  correlationId?: string;
  /** Matches the event's service as sent, its map name, or the top hypothesis. */
  service?: string;
  limit?: number;
}

/** The key that makes two triggers one incident: top service plus blamed change. */
export const stormKey = (r: Pick<Report, 'hypotheses' | 'service'>): string => {
  const top = r.hypotheses[0];
  const c = top?.change;
  return `${top?.service ?? r.service}\u0000${c ? (c.sha ?? c.id ?? c.message) : ''}`;
};

/**
 * Reports, their revisions and incidents. Every write runs `inTransaction` inside its own SQLite
 * transaction (the outbox hook) and returns the notice to announce after commit.
 */
export function createReportsRepo(db: Database, options: { inTransaction: (n: ReportNotice) => void }) {
  const insertReport = db.prepare(
    `INSERT INTO reports (id, event_id, correlation_id, event_type, service, resolved_service, top_service, error_code,
       station_id, event_ts, created_at, latency_ms, summary, source, revision, model_version, incident_id,
       changes_from_cache, hypotheses, links)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertRevision = db.prepare(
    `INSERT INTO report_revisions (report_id, revision, source, created_at, summary, hypotheses, explanation, next_steps)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const findIncident = db.prepare<IncidentRow, [string, number, number]>(
    `SELECT * FROM incidents WHERE storm_key = ? AND last_ts >= ? AND first_ts <= ?
     ORDER BY last_ts DESC LIMIT 1`,
  );
  const getRow = db.prepare<ReportRow, [string]>('SELECT * FROM reports WHERE id = ?');
  const revisionsOf = db.prepare<RevisionRow, [string]>(
    'SELECT * FROM report_revisions WHERE report_id = ? ORDER BY revision',
  );

  const get = (id: string): Report | null => {
    const row = getRow.get(id);
    if (!row) return null;
    return { ...toReport(row), revisions: revisionsOf.all(id).map(toRevision) };
  };

  /** An open incident with the same top hypothesis within the storm window gets the report; else a new one. */
  const fileUnderIncident = (
    r: Pick<Report, 'id' | 'hypotheses' | 'service' | 'summary'>,
    ts: number,
    stormWindowMs: number,
    createdAt: number,
    newId: () => string,
  ): { incidentId: string; count: number } => {
    const key = stormKey(r);
    const top = r.hypotheses[0];
    const open = stormWindowMs > 0 ? findIncident.get(key, ts - stormWindowMs, ts + stormWindowMs) : null;
    let incidentId: string;
    let count = 1;
    if (open) {
      incidentId = open.id;
      count = open.count + 1;
      db.query(
        `UPDATE incidents SET count = count + 1, last_ts = MAX(last_ts, ?), first_ts = MIN(first_ts, ?),
           last_report_id = ?, updated_at = ? WHERE id = ?`,
      ).run(ts, ts, r.id, createdAt, incidentId);
    } else {
      incidentId = newId();
      db.query(
        `INSERT INTO incidents (id, storm_key, service, change, count, first_ts, last_ts, first_report_id,
           last_report_id, summary, created_at, updated_at) VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        incidentId,
        key,
        top?.service ?? r.service,
        top?.change ? JSON.stringify(top.change) : null,
        ts,
        ts,
        r.id,
        r.id,
        r.summary,
        createdAt,
        createdAt,
      );
    }
    return { incidentId, count };
  };

  const insertReportAndRevision = (
    report: Report,
    resolvedService: string,
    ts: number,
    createdAt: number,
  ) => {
    const top = report.hypotheses[0];
    const hyp = JSON.stringify(report.hypotheses);
    insertReport.run(
      report.id,
      report.eventId,
      report.correlationId,
      report.eventType,
      report.service,
      resolvedService,
      top?.service ?? null,
      report.errorCode,
      report.stationId,
      ts,
      createdAt,
      report.latencyMs,
      report.summary,
      report.source,
      report.revision,
      report.modelVersion,
      report.incidentId,
      report.changesFromCache ? 1 : 0,
      hyp,
      report.mapSuggestions?.length || report.relatedReports?.length || report.session
        ? JSON.stringify({
            ...(report.mapSuggestions?.length ? { mapSuggestions: report.mapSuggestions } : {}),
            ...(report.relatedReports?.length ? { relatedReports: report.relatedReports } : {}),
            ...(report.session ? { session: report.session } : {}),
          })
        : null,
    );
    insertRevision.run(report.id, 1, report.source, createdAt, report.summary, hyp, null, null);
  };

  return {
    /**
     * Stores a new report (revision 1) and files it under an incident: an open one with the same
     * top hypothesis within the storm window, else a new one. `latencyMs` is read just before the insert.
     */
    store(input: {
      report: Omit<Report, 'incidentId' | 'latencyMs' | 'revisions'>;
      event: DebugEvent;
      resolvedService: string;
      stormWindowMs: number;
      createdAt: number;
      latencyMs: () => number;
      newId: () => string;
    }): { report: Report; notice: ReportNotice } {
      const { report: r, event, stormWindowMs, createdAt } = input;
      return db.transaction(() => {
        const ts = event.timestamp;
        const { incidentId, count } = fileUnderIncident(r, ts, stormWindowMs, createdAt, input.newId);
        const report: Report = {
          ...r,
          eventAt: isoTime(ts),
          incidentId,
          latencyMs: Math.round(input.latencyMs() * 1000) / 1000,
        };
        insertReportAndRevision(report, input.resolvedService, ts, createdAt);
        const full: Report = {
          ...report,
          revisions: [
            {
              revision: 1,
              source: report.source,
              createdAt: report.createdAt,
              summary: report.summary,
              hypotheses: report.hypotheses,
            },
          ],
        };
        const notice: ReportNotice =
          count > 1
            ? { kind: 'incident', incidentId, count, report: full }
            : { kind: 'created', report: full, event };
        options.inTransaction(notice);
        return { report: full, notice };
      })();
    },

    get,

    /** Newest first. */
    list(q: ReportQuery = {}): Report[] {
      const where: string[] = [];
      const params: (string | number)[] = [];
      if (q.correlationId !== undefined) {
        where.push('correlation_id = ?');
        params.push(q.correlationId);
      }
      if (q.service !== undefined) {
        where.push('(service = ? OR resolved_service = ? OR top_service = ?)');
        params.push(q.service, q.service, q.service);
      }
      return db
        .query<ReportRow, (string | number)[]>(
          `SELECT * FROM reports ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
           ORDER BY created_at DESC, rowid DESC LIMIT ?`,
        )
        .all(...params, q.limit ?? 50)
        .map(toReport);
    },

    recent(limit = 50): Report[] {
      return this.list({ limit });
    },

    /** Newest first (by latest member). */
    incidents(limit = 50): Incident[] {
      return db
        .query<IncidentRow, [number]>(
          'SELECT * FROM incidents ORDER BY updated_at DESC, last_ts DESC LIMIT ?',
        )
        .all(limit)
        .map(toIncident);
    },

    /** True when the event already has a report (redelivery, replays). */
    hasReportFor(eventId: string): boolean {
      return db.query('SELECT 1 FROM reports WHERE event_id = ? LIMIT 1').get(eventId) !== null;
    },

    /**
     * Stores revision n+1 (the earlier ones are kept) and makes it the report's current content.
     * Throws NOT_FOUND for an unknown report.
     */
    addRevision(
      reportId: string,
      rev: NewRevision,
      createdAt: number,
    ): { report: Report; notice: ReportNotice } {
      return db.transaction(() => {
        const row = getRow.get(reportId);
        if (!row) throw new TracePulseError('NOT_FOUND', `no report ${reportId}`);
        const last = db
          .query<{ n: number | null }, [string]>(
            'SELECT MAX(revision) AS n FROM report_revisions WHERE report_id = ?',
          )
          .get(reportId);
        const revision = Math.max(row.revision, last?.n ?? 1) + 1;
        const hyp = JSON.stringify(rev.hypotheses);
        insertRevision.run(
          reportId,
          revision,
          rev.source,
          createdAt,
          rev.summary,
          hyp,
          rev.explanation ?? null,
          rev.nextSteps ? JSON.stringify(rev.nextSteps) : null,
        );
        db.query('UPDATE reports SET summary = ?, hypotheses = ?, source = ?, revision = ? WHERE id = ?').run(
          rev.summary,
          hyp,
          rev.source,
          revision,
          reportId,
        );
        const report = get(reportId)!;
        const notice: ReportNotice = { kind: 'revised', report };
        options.inTransaction(notice);
        return { report, notice };
      })();
    },
  };
}
