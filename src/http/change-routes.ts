import { Hono } from 'hono';
import { z } from 'zod';
import { changeInputSchema, changeKinds } from '../core/change.ts';
import type { Clock } from '../core/clock.ts';
import { describeIssues, TracePulseError } from '../core/errors.ts';
import type { Metrics } from '../core/metrics.ts';
import { isoTime, timestampSchema } from '../core/time.ts';
import type { ChangeRecord, ChangesRepo } from '../store/changes-repo.ts';

const epochOrIso = z.preprocess(
  (v) => (typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v),
  timestampSchema,
);
const listQuery = z.object({
  service: z.string().min(1).optional(),
  kind: z.enum(changeKinds).optional(),
  since: epochOrIso.optional(),
  until: epochOrIso.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** Largest batch accepted by one POST /api/changes. */
export const maxChangesPerRequest = 1000;

/** POST /api/changes (one change record or an array, idempotent by id) and GET /api/changes (newest first). */
export function createChangeRoutes(deps: {
  changes: Pick<ChangesRepo, 'record' | 'list'>;
  clock: Clock;
  metrics: Metrics;
}): Hono {
  const app = new Hono();

  app.post('/api/changes', async (c) => {
    const reject = (problems: string[], reason: string) => {
      deps.metrics.inc('tracepulse_rejected_total', { source: 'http', reason });
      return c.json({ error: 'invalid change', problems }, 400);
    };
    let body: unknown;
    try {
      body = JSON.parse(await c.req.text());
    } catch (e) {
      return reject([`malformed JSON: ${(e as Error).message}`], 'bad_json');
    }
    const batch = Array.isArray(body);
    const items: unknown[] = Array.isArray(body) ? body : [body];
    if (!items.length) return reject(['expected a change or a non-empty array of changes'], 'invalid_change');
    if (items.length > maxChangesPerRequest)
      return reject([`at most ${maxChangesPerRequest} changes per request`], 'invalid_change');

    // All or nothing: a batch with one bad item stores nothing, so a sender can fix and resend it whole.
    const good: ChangeRecord[] = [];
    const problems: string[] = [];
    for (const [i, item] of items.entries()) {
      const r = changeInputSchema.safeParse(item);
      if (r.success) good.push(r.data);
      else problems.push(...describeIssues(r.error.issues).map((p) => (batch ? `[${i}].${p}` : p)));
    }
    if (problems.length) return reject(problems, 'invalid_change');

    let results: Array<{ id: string; duplicate: boolean }>;
    try {
      results = deps.changes.record(good, deps.clock.now());
    } catch (err) {
      throw new TracePulseError('STORAGE', 'change records not stored', { cause: err });
    }
    for (const [i, r] of results.entries()) {
      if (r.duplicate) deps.metrics.inc('tracepulse_changes_duplicate_total');
      else deps.metrics.inc('tracepulse_changes_total', { kind: good[i]!.kind });
    }
    if (!batch) return c.json({ id: results[0]!.id, duplicate: results[0]!.duplicate });
    const duplicates = results.filter((r) => r.duplicate).length;
    return c.json({ stored: results.length - duplicates, duplicates, results });
  });

  app.get('/api/changes', (c) => {
    const q = listQuery.safeParse(c.req.query());
    if (!q.success) return c.json({ error: 'invalid query', problems: describeIssues(q.error.issues) }, 400);
    const changes = deps.changes.list(q.data).map((ch) => ({ ...ch, timestamp: isoTime(ch.timestamp) }));
    return c.json({ changes });
  });

  return app;
}
