import type { Change } from '../core/change.ts';
import type { LogLevel } from '../core/log-line.ts';

/** A log line as gathered for a trigger; `service` is as logged (it may be an alias). */
export interface EvidenceLog {
  ts: number;
  service: string;
  level: LogLevel;
  message: string;
  /** True when the line carries the trigger's correlationId. */
  correlated: boolean;
  /** The line carries another session's correlationId (the trigger has one of its own). */
  otherSession?: boolean;
}

/** Another DebugQueue event in the window (not the trigger itself). */
export interface EvidenceEvent {
  id: string;
  ts: number;
  eventType: string;
  service: string;
  errorCode: string;
  message: string | null;
  correlated: boolean;
}

/**
 * How often one message pattern (or one event type + code, keyed `event:TYPE:CODE`) of one service
 * was seen in the baseline period before the window. `sampled` is true when only the newest rows
 * were read, so `count` is a lower bound and `firstTs` the oldest row read.
 */
export interface PatternHistory {
  service: string;
  pattern: string;
  count: number;
  firstTs: number;
  sampled: boolean;
  /**
   * When the pattern first appeared within the change look-back, if its service had been logging
   * long enough before that for the pattern's rate since to have shown it (a beginning, not the
   * start of the records; pipeline/gather.ts).
   */
  began?: number;
}

/** Earlier occurrences of the trigger's own failure (same service and error code) within the look-back. */
export interface FailureHistory {
  count: number;
  firstTs: number | null;
  lastTs: number | null;
  /** The newest occurrences (at most 1000), oldest first; count may be larger. */
  timestamps: number[];
}

/** Everything the engine sees for one trigger. All times are epoch ms; windows end at the event's timestamp. */
export interface EvidenceBundle {
  /** Evidence window before the event (logs, events): 15 minutes or more (pipeline/gather.ts WINDOW_MS). */
  windowMs: number;
  /** Baseline period before the window, for new-versus-chronic. */
  baselineMs: number;
  logs: EvidenceLog[];
  events: EvidenceEvent[];
  history: PatternHistory[];
  failureHistory: FailureHistory;
  changes: Change[];
  /** True when the log cap was reached (the oldest lines in the window were left out). */
  logsTruncated: boolean;
  /** Diagnoses of earlier triggers shortly before this one (cascades), newest first. */
  recentReports: RecentDiagnosis[];
  /** Candidates (map names) that logged in the baseline period and nothing, at any level, in the window. */
  wentQuiet?: string[];
  /**
   * The failing session's first warning or worse within the change look-back (its correlationId),
   * stored or read from an outside log store: a change after it came into a failure already going on.
   */
  sessionBegan?: number;
}

/** An earlier report, as a later trigger may cite it. */
export interface RecentDiagnosis {
  reportId: string;
  /** The earlier trigger's own time (event time, like every window). */
  ts: number;
  eventType: string;
  /** The earlier trigger's service, as sent. */
  service: string;
  errorCode: string;
  correlationId: string | null;
  /** Its top hypothesis, confidence and blamed change (id or sha). */
  rootService: string;
  confidence: number;
  changeId: string | null;
  createdAt: string;
}

/** Weight multipliers learnt from feedback (one type, in core). */
export type { Adjustments } from '../core/learnt-model.ts';

export const emptyEvidence = (): EvidenceBundle => ({
  windowMs: 5 * 60_000,
  baselineMs: 24 * 3_600_000,
  logs: [],
  events: [],
  history: [],
  failureHistory: { count: 0, firstTs: null, lastTs: null, timestamps: [] },
  changes: [],
  logsTruncated: false,
  recentReports: [],
});
