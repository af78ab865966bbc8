import { Hono } from 'hono';
import { z } from 'zod';
import type { Clock } from '../core/clock.ts';
import { describeIssues } from '../core/errors.ts';
import { isoTime } from '../core/time.ts';
import type { OutboxWorker } from '../deliver/outbox-worker.ts';
import { type OutboxRow, outboxStatuses, type OutboxRepo } from '../store/outbox-repo.ts';

const listQuery = z.object({
  status: z.enum(outboxStatuses as [string, ...string[]]).optional(),
  channel: z.string().min(1).max(50).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  before: z.coerce.number().int().min(1).optional(),
});
const idParam = z.coerce.number().int().min(1);

const view = (r: OutboxRow, withPayload = false) => ({
  id: r.id,
  channel: r.channel,
  kind: r.kind,
  key: r.key,
  reportId: r.reportId,
  incidentId: r.incidentId,
  status: r.status,
  attempts: r.attempts,
  failures: r.failures,
  maybeSent: r.maybeSent,
  createdAt: isoTime(r.createdAt),
  nextAttemptAt: r.status === 'pending' ? isoTime(r.nextAttemptAt) : null,
  sentAt: r.sentAt === null ? null : isoTime(r.sentAt),
  lastError: r.lastError,
  result: r.result,
  ...(withPayload ? { payload: r.payload } : {}),
});

/** GET /api/outbox (?status=pending|inflight|sent|dead&channel=&limit=&before=), GET /api/outbox/:id, POST /api/outbox/:id/retry. */
export function createOutboxRoutes(deps: {
  repo: OutboxRepo;
  worker: OutboxWorker | null;
  clock: Clock;
}): Hono {
  const app = new Hono();

  app.get('/api/outbox', (c) => {
    const q = listQuery.safeParse(c.req.query());
    if (!q.success) return c.json({ error: 'invalid query', problems: describeIssues(q.error.issues) }, 400);
    const { status, channel, limit, before } = q.data;
    const rows = deps.repo.list({
      status: status as OutboxRow['status'] | undefined,
      channel,
      limit,
      beforeId: before,
    });
    const stats = deps.repo.stats();
    const now = deps.clock.now();
    return c.json({
      messages: rows.map((r) => view(r)),
      counts: stats.counts,
      oldestPendingAgeS: Object.fromEntries(
        stats.oldestPending.map((o) => [o.channel, Math.max(0, Math.round((now - o.createdAt) / 1000))]),
      ),
      channels: deps.worker?.channels() ?? {},
    });
  });

  app.get('/api/outbox/:id', (c) => {
    const id = idParam.safeParse(c.req.param('id'));
    if (!id.success) return c.json({ error: 'invalid id', problems: describeIssues(id.error.issues) }, 400);
    const row = deps.repo.get(id.data);
    if (!row) return c.json({ error: 'not found', problems: [`no outbox message ${id.data}`] }, 404);
    return c.json(view(row, true));
  });

  app.post('/api/outbox/:id/retry', (c) => {
    const id = idParam.safeParse(c.req.param('id'));
    if (!id.success) return c.json({ error: 'invalid id', problems: describeIssues(id.error.issues) }, 400);
    const r = deps.repo.retry(id.data, deps.clock.now());
    if (r === 'not_found')
      return c.json({ error: 'not found', problems: [`no outbox message ${id.data}`] }, 404);
    if (r === 'conflict')
      return c.json(
        {
          error: 'not retryable',
          problems: [`outbox message ${id.data} is ${deps.repo.get(id.data)?.status}`],
        },
        409,
      );
    const row = deps.repo.get(id.data);
    if (row) deps.worker?.wake(row.channel as Parameters<OutboxWorker['wake']>[0]);
    return c.json({ status: 'queued', message: row ? view(row) : null });
  });

  return app;
}
