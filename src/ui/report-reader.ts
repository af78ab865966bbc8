import type { ReportBus } from '../core/ports.ts';
import type { Report } from '../core/report.ts';

/** An incident: triggers with the same top hypothesis within the storm window, grouped. */
export interface IncidentSummary {
  id: string;
  /** The top hypothesis the members share. */
  service?: string;
  count: number;
  /** The report that opened it. */
  reportId: string;
  lastAt: number;
}

/** What the chat needs of the report store (the pipeline's ctx.reports satisfies it). */
export interface ReportReader extends ReportBus {
  get(id: string): Report | null;
  /** Newest first. */
  recent(limit: number): Report[];
  incidents(limit: number): IncidentSummary[];
}
