import { Hono } from 'hono';
import { buildSessionTimeline } from '../core/session-timeline.ts';
import type { IngestQueries } from '../store/ingest-queries.ts';

const MAX_ENTRIES = 2000;

/** GET /api/sessions/:correlationId: a charging session's ordered story across sources, with its gaps. */
export function createSessionRoutes(deps: { queries: IngestQueries }): Hono {
  const app = new Hono();
  app.get('/api/sessions/:correlationId', (c) => {
    const correlationId = c.req.param('correlationId');
    if (!correlationId || correlationId.length > 200)
      return c.json(
        { error: 'invalid correlationId', problems: ['correlationId: 1 to 200 characters'] },
        400,
      );
    const events = deps.queries.events({ correlationId, limit: MAX_ENTRIES });
    const logs = deps.queries.logs({ correlationId, limit: MAX_ENTRIES });
    if (!events.length && !logs.length) return c.json({ error: `no session '${correlationId}'` }, 404);
    const truncated = events.length >= MAX_ENTRIES || logs.length >= MAX_ENTRIES;
    return c.json(buildSessionTimeline(correlationId, events, logs, truncated));
  });
  return app;
}
