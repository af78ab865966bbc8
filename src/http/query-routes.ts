import { Hono } from 'hono';
import { z } from 'zod';
import { describeIssues } from '../core/errors.ts';
import { isoTime, timestampSchema } from '../core/time.ts';
import type { SystemMapSource } from '../sources/system-map-source.ts';
import type { IngestQueries } from '../store/ingest-queries.ts';

const epochOrIso = z.preprocess(
  (v) => (typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v),
  timestampSchema,
);
const listQuery = z.object({
  correlationId: z.string().min(1).optional(),
  service: z.string().min(1).optional(),
  since: epochOrIso.optional(),
  until: epochOrIso.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

// Each dead letter is at most DEAD_LETTER_PREFIX_BYTES of payload, so a page is at most about 1 MB.
const deadLetterQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  before: z.coerce.number().int().min(1).optional(),
});

/** Read API over what was ingested, plus the system map. */
export function createQueryRoutes(deps: {
  queries: IngestQueries;
  maps: SystemMapSource;
  maxBodyBytes: number;
}): Hono {
  const app = new Hono();

  app.get('/api/events', (c) => {
    const q = listQuery.safeParse(c.req.query());
    if (!q.success) return c.json({ error: 'invalid query', problems: describeIssues(q.error.issues) }, 400);
    const events = deps.queries
      .events(q.data)
      .map((e) => ({ ...e, timestamp: isoTime(e.timestamp), receivedAt: isoTime(e.receivedAt) }));
    return c.json({ events });
  });

  app.get('/api/logs', (c) => {
    const q = listQuery.safeParse(c.req.query());
    if (!q.success) return c.json({ error: 'invalid query', problems: describeIssues(q.error.issues) }, 400);
    const logs = deps.queries.logs(q.data).map((l) => ({ ...l, timestamp: isoTime(l.timestamp) }));
    return c.json({ logs });
  });

  app.get('/api/dead-letters', (c) => {
    const q = deadLetterQuery.safeParse(c.req.query());
    if (!q.success) return c.json({ error: 'invalid query', problems: describeIssues(q.error.issues) }, 400);
    const deadLetters = deps.queries.deadLetters(q.data);
    // A full page may have more behind it: `next` is the `before` of the following page.
    const next = deadLetters.length === q.data.limit ? deadLetters[deadLetters.length - 1]!.id : null;
    return c.json({ deadLetters, next });
  });

  app.get('/api/system-map', (c) => {
    const s = deps.maps.current();
    return c.json({
      origin: s.origin,
      loadedAt: s.loadedAt ? isoTime(s.loadedAt) : null,
      repo: s.graph.repo,
      triggers: [...s.graph.triggers],
      services: [...s.graph.services.values()],
      warnings: s.warnings,
      lastError: s.lastError ? { ...s.lastError, at: isoTime(s.lastError.at) } : null,
      yaml: s.yaml,
    });
  });

  app.put('/api/system-map', async (c) => {
    const yaml = await c.req.text();
    const r = deps.maps.put(yaml);
    if (!r.ok) return c.json({ error: 'invalid system map', problems: r.problems }, 422);
    return c.json({
      status: 'applied',
      services: deps.maps.current().graph.services.size,
      warnings: r.warnings,
    });
  });

  return app;
}
