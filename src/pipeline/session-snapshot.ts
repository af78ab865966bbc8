import type { Database } from 'bun:sqlite';
import type { DebugEvent } from '../core/event.ts';
import { buildSessionTimeline, condenseTimeline, type SessionStory } from '../core/session-timeline.ts';
import { createIngestQueries } from '../store/ingest-queries.ts';

/** Entries a report carries; the whole story stays at GET /api/sessions/:correlationId. */
export const REPORT_SESSION_ENTRIES = 40;
/** Rows of each kind read for it (the newest). */
const READ_LIMIT = 500;

/**
 * The trigger's session as it stood when the report was made: its correlationId's events and log
 * lines committed by then, condensed for the report. Not cut at the trigger's own time: a charger
 * reports a stop with the time it happened (a StopTransaction sent after a reboot says 14:15 at
 * 14:24), and what it logged in between (the reconnect, the unanswered calls) is the story.
 * Undefined without a correlationId or when the trigger is all there is.
 */
export function createSessionSnapshot(db: Database): (event: DebugEvent) => SessionStory | undefined {
  const queries = createIngestQueries(db);
  return (event) => {
    const correlationId = event.correlationId;
    if (!correlationId) return undefined;
    const q = { correlationId, limit: READ_LIMIT };
    const events = queries.events(q);
    const logs = queries.logs(q);
    if (events.length + logs.length < 2) return undefined;
    const truncated = events.length >= READ_LIMIT || logs.length >= READ_LIMIT;
    return condenseTimeline(
      buildSessionTimeline(correlationId, events, logs, truncated),
      REPORT_SESSION_ENTRIES,
    );
  };
}
