import type { ReportHooks, ReportNotice, ReportTxHook } from '../core/ports.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';

/** ReportHooks plus the two calls the report store makes: inside its transaction, and after commit. */
export interface ReportBusHub extends ReportHooks {
  /** Runs every transaction hook; throws to roll the report back (the caller's transaction). */
  runInTransaction(notice: ReportNotice): void;
  /** Calls every listener after commit; a failing listener is logged and counted, never rethrown. */
  announce(notice: ReportNotice): void;
}

export function createReportBus(options: { logger: Logger; metrics: Metrics }): ReportBusHub {
  const hooks: ReportTxHook[] = [];
  const listeners: Array<(n: ReportNotice) => void> = [];
  return {
    inReportTransaction: (hook) => {
      hooks.push(hook);
    },
    onReport: (listener) => {
      listeners.push(listener);
    },
    runInTransaction: (notice) => {
      for (const h of hooks) h(notice);
    },
    announce: (notice) => {
      for (const l of listeners) {
        try {
          l(notice);
        } catch (err) {
          options.metrics.inc('tracepulse_report_listener_errors_total');
          options.logger.error('report listener failed', { reportId: notice.report.id, error: String(err) });
        }
      }
    },
  };
}
