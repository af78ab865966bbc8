/** The report contract served at /api/reports (see README "Reports"). */
import type { SessionStory } from './session-timeline.ts';

export type EvidenceKind = 'log' | 'change' | 'rule' | 'graph';

export interface Evidence {
  kind: EvidenceKind;
  /** One human-readable line, e.g. "09:41:02 OCPP error: WebsocketPongTimeout". */
  text: string;
  /** Score this evidence contributed to its hypothesis (before normalisation). */
  weight: number;
  /** Kind-specific fields: timestamp, level, service, ruleId, changeId, sha, path, ... */
  [key: string]: unknown;
}

export interface BlamedChange {
  sha?: string;
  id?: string;
  message: string;
  author?: string;
  url?: string;
}

export interface Hypothesis {
  rank: number;
  service: string;
  file?: string;
  function?: string;
  change?: BlamedChange;
  confidence: number;
  reasons: string[];
  evidence: Evidence[];
}

export type ReportSource = 'rules' | 'rules+llm';

export interface Report {
  id: string;
  eventId: string;
  correlationId: string | null;
  eventType: string;
  service: string;
  errorCode: string;
  stationId: string | null;
  /** When the failure happened (the event's time; its arrival when the source clock was implausible). */
  eventAt?: string;
  createdAt: string;
  latencyMs: number;
  summary: string;
  source: ReportSource;
  revision: number;
  modelVersion: string;
  incidentId: string | null;
  /** True when GitHub could not be reached and cached commits were used. */
  changesFromCache: boolean;
  hypotheses: Hypothesis[];
  /**
   * Edges the system map may be missing: evidence pointed outside the failing service's declared
   * dependencies. An engineer can apply one from the UI (it becomes a PUT of the map).
   */
  mapSuggestions?: MapSuggestion[];
  /** Earlier reports this one cites as evidence (a cascade of triggers minutes apart). */
  relatedReports?: RelatedReport[];
  /** Earlier and later revisions of this report (LLM refinements), oldest first. */
  revisions?: ReportRevision[];
  /**
   * The trigger's session (its correlationId) as it stood when the report was made: the ordered
   * story across sources, condensed, with its gaps. GET /api/sessions/:correlationId has all of it.
   */
  session?: SessionStory;
}

export interface ReportRevision {
  revision: number;
  source: ReportSource;
  createdAt: string;
  summary: string;
  hypotheses: Hypothesis[];
  explanation?: string;
  nextSteps?: string[];
}

/** "The map may be missing: `service` depends_on `dependsOn`", and why. */
export interface MapSuggestion {
  service: string;
  dependsOn: string;
  reason: string;
}

/** An earlier diagnosis that this report cites. */
export interface RelatedReport {
  reportId: string;
  eventType: string;
  service: string;
  /** The earlier report's top hypothesis. */
  rootService: string;
  createdAt: string;
}
