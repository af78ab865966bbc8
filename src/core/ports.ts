import type { Change } from './change.ts';
import type { DebugEvent } from './event.ts';
import type { Report } from './report.ts';

/** Read side of code changes (change records and cached GitHub commits) for evidence gathering. */
export interface ChangeSource {
  /** Every change with since <= timestamp <= until, oldest first. */
  changesBetween(since: number, until: number): Change[];
}

/** Brings the change cache up to date for the files of a trigger's candidates, within a deadline. */
export interface ChangeRefresher {
  refreshForTrigger(input: {
    files: Array<{ repo: string; path: string }>;
    until: number;
    since: number;
    deadlineMs: number;
  }): Promise<{
    /** False when GitHub did not answer in time and the cache was used. */
    fresh: boolean;
    error?: string;
  }>;
}

export type ReportNotice =
  | { kind: 'created'; report: Report; event: DebugEvent }
  | { kind: 'revised'; report: Report }
  | { kind: 'incident'; incidentId: string; count: number; report: Report };

/** Where stored reports are announced (outbox, UI live updates, MQTT forwarding). */
export interface ReportBus {
  onReport(listener: (notice: ReportNotice) => void): void;
}

/**
 * Runs inside the SQLite transaction that stores a report (or its revision, or an incident update),
 * so whatever it writes (outbox rows) commits or rolls back with the report. Must be synchronous.
 */
export type ReportTxHook = (notice: ReportNotice) => void;

export interface ReportHooks extends ReportBus {
  /** Registers a hook run inside the report's own transaction (see ReportTxHook). */
  inReportTransaction(hook: ReportTxHook): void;
}
