import type { Database } from 'bun:sqlite';
import type { Clock } from '../core/clock.ts';
import type { DebugEvent } from '../core/event.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import type { ReportHooks } from '../core/ports.ts';
import type { Report } from '../core/report.ts';
import { isoTime } from '../core/time.ts';
import {
  createReportsRepo,
  type Incident,
  type NewRevision,
  type ReportQuery,
} from '../store/reports-repo.ts';
import { createReportBus } from './report-bus.ts';

/** ctx.reports: the report store with its hooks (outbox in-transaction, listeners after commit). */
export interface ReportService extends ReportHooks {
  get(id: string): Report | null;
  /** Newest first. */
  list(q?: ReportQuery): Report[];
  recent(limit: number): Report[];
  incidents(limit: number): Incident[];
  /** Stores revision n+1 (e.g. an LLM refinement, source 'rules+llm'), keeps the earlier ones, announces 'revised'. */
  addRevision(reportId: string, revision: NewRevision): Report;
  /** Stores a new report under its incident and announces it ('created', or 'incident' for the 2nd+ member). */
  store(input: {
    report: Omit<Report, 'incidentId' | 'latencyMs' | 'revisions'>;
    event: DebugEvent;
    resolvedService: string;
    stormWindowMs: number;
    latencyMs: () => number;
  }): Report;
}

export function createReportService(deps: {
  db: Database;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
}): ReportService {
  const bus = createReportBus({ logger: deps.logger, metrics: deps.metrics });
  const repo = createReportsRepo(deps.db, { inTransaction: bus.runInTransaction });
  deps.metrics.describe(
    'tracepulse_reports_total',
    'Reports stored, by notice kind (created, incident, revised)',
  );
  return {
    onReport: bus.onReport,
    inReportTransaction: bus.inReportTransaction,
    get: (id) => repo.get(id),
    list: (q) => repo.list(q),
    recent: (limit) => repo.recent(limit),
    incidents: (limit) => repo.incidents(limit),
    addRevision(reportId, revision) {
      const r = repo.addRevision(reportId, revision, deps.clock.now());
      deps.metrics.inc('tracepulse_reports_total', { kind: 'revised' });
      bus.announce(r.notice);
      return r.report;
    },
    store(input) {
      const now = deps.clock.now();
      const report = { ...input.report, createdAt: isoTime(now) };
      const r = repo.store({ ...input, report, createdAt: now, newId: () => Bun.randomUUIDv7() });
      deps.metrics.inc('tracepulse_reports_total', { kind: r.notice.kind });
      bus.announce(r.notice);
      return r.report;
    },
  };
}
