import type { Change } from '../../core/change.ts';
import type { Citation } from '../../core/citation.ts';
import type { DebugEvent } from '../../core/event.ts';
import type { LogLine } from '../../core/log-line.ts';
import type { Report } from '../../core/report.ts';
import type { SystemGraph } from '../../map/graph.ts';

/** What a local answer may read: the report, its event, the map and two bounded store reads. */
export interface AnswerFacts {
  report: Report;
  /** The trigger; null when retention already removed it. */
  event: DebugEvent | null;
  graph: SystemGraph;
  /** Log lines of `services` with since <= ts <= until, oldest first, at most `limit`. */
  logs(q: { services: string[]; since: number; until: number; limit: number }): LogLine[];
  /** Changes (records and commits) with since <= ts <= until, oldest first. */
  changes(since: number, until: number): Change[];
}

export type { Citation, CitationKind } from '../../core/citation.ts';

export type Intent = 'changes' | 'logs' | 'why' | 'deps' | 'summary';

export interface Answer {
  intent: Intent;
  /** Plain text; citations are referred to as [1], [2], ... in order. */
  text: string;
  citations: Citation[];
  answeredBy: 'local' | 'llm';
}

/** Time of the report's event (falls back to the report's creation time). */
export const eventTime = (f: Pick<AnswerFacts, 'event' | 'report'>): number =>
  f.event?.timestamp ?? Date.parse(f.report.createdAt);

/** Builds an answer's text while numbering its citations. */
export function citer() {
  const citations: Citation[] = [];
  return {
    citations,
    /** Adds a citation (once per kind+ref) and returns its marker, e.g. "[2]". */
    cite(c: Citation): string {
      let i = citations.findIndex((x) => x.kind === c.kind && x.ref === c.ref);
      if (i < 0) i = citations.push(c) - 1;
      return `[${i + 1}]`;
    },
  };
}

export const hhmmss = (ms: number): string => new Date(ms).toISOString().slice(11, 19);
