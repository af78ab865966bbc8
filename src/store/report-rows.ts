import type { Report, ReportRevision, ReportSource } from '../core/report.ts';
import { isoTime } from '../core/time.ts';
import type { Incident } from './reports-repo.ts';

/** The reports, report_revisions and incidents tables' rows as read, and the domain objects they make. */
export interface ReportRow {
  id: string;
  event_id: string;
  correlation_id: string | null;
  event_type: string;
  service: string;
  error_code: string;
  station_id: string | null;
  event_ts: number;
  created_at: number;
  latency_ms: number;
  summary: string;
  source: string;
  revision: number;
  model_version: string;
  incident_id: string | null;
  changes_from_cache: number;
  hypotheses: string;
  links: string | null;
}

export interface RevisionRow {
  revision: number;
  source: string;
  created_at: number;
  summary: string;
  hypotheses: string;
  explanation: string | null;
  next_steps: string | null;
}

export interface IncidentRow {
  id: string;
  service: string;
  change: string | null;
  count: number;
  first_ts: number;
  last_ts: number;
  first_report_id: string;
  last_report_id: string;
  summary: string;
}

export const toReport = (r: ReportRow): Report => ({
  id: r.id,
  eventId: r.event_id,
  correlationId: r.correlation_id,
  eventType: r.event_type,
  service: r.service,
  errorCode: r.error_code,
  stationId: r.station_id,
  eventAt: isoTime(r.event_ts),
  createdAt: isoTime(r.created_at),
  latencyMs: r.latency_ms,
  summary: r.summary,
  source: r.source as ReportSource,
  revision: r.revision,
  modelVersion: r.model_version,
  incidentId: r.incident_id,
  changesFromCache: r.changes_from_cache === 1,
  hypotheses: JSON.parse(r.hypotheses),
  // links: the report's optional extras as JSON (map suggestions, related reports, the session).
  ...(r.links ? (JSON.parse(r.links) as Pick<Report, 'mapSuggestions' | 'relatedReports' | 'session'>) : {}),
});

export const toRevision = (r: RevisionRow): ReportRevision => ({
  revision: r.revision,
  source: r.source as ReportSource,
  createdAt: isoTime(r.created_at),
  summary: r.summary,
  hypotheses: JSON.parse(r.hypotheses),
  ...(r.explanation !== null ? { explanation: r.explanation } : {}),
  ...(r.next_steps !== null ? { nextSteps: JSON.parse(r.next_steps) } : {}),
});

export const toIncident = (r: IncidentRow): Incident => ({
  id: r.id,
  service: r.service,
  change: r.change ? JSON.parse(r.change) : null,
  count: r.count,
  firstAt: r.first_ts,
  lastAt: r.last_ts,
  reportId: r.first_report_id,
  lastReportId: r.last_report_id,
  summary: r.summary,
});
