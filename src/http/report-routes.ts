import { Hono } from 'hono';
import { z } from 'zod';
import { describeIssues } from '../core/errors.ts';
import { isoTime } from '../core/time.ts';
import type { ReportService } from '../pipeline/reports.ts';
import type { SystemMapSource } from '../sources/system-map-source.ts';

const listQuery = z.object({
  correlationId: z.string().min(1).max(200).optional(),
  service: z.string().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
});

/** Read API over reports and incidents. */
export function createReportRoutes(deps: { reports: ReportService; maps: SystemMapSource }): Hono {
  const app = new Hono();

  app.get('/api/reports', (c) => {
    const q = listQuery.safeParse(c.req.query());
    if (!q.success) return c.json({ error: 'invalid query', problems: describeIssues(q.error.issues) }, 400);
    // An alias finds the reports filed under the map's name.
    const service = q.data.service
      ? (deps.maps.current().graph.resolve(q.data.service) ?? q.data.service)
      : undefined;
    return c.json({ reports: deps.reports.list({ ...q.data, service }) });
  });

  app.get('/api/reports/:id', (c) => {
    const report = deps.reports.get(c.req.param('id'));
    if (!report)
      return c.json({ error: 'not found', problems: [`no report with id ${c.req.param('id')}`] }, 404);
    return c.json(report);
  });

  app.get('/api/incidents', (c) => {
    const q = listQuery.pick({ limit: true }).safeParse(c.req.query());
    if (!q.success) return c.json({ error: 'invalid query', problems: describeIssues(q.error.issues) }, 400);
    const incidents = deps.reports
      .incidents(q.data.limit)
      .map((i) => ({ ...i, firstAt: isoTime(i.firstAt), lastAt: isoTime(i.lastAt) }));
    return c.json({ incidents });
  });

  return app;
}
