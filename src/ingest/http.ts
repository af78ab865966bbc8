import { Hono } from 'hono';
import { z } from 'zod';
import { describeIssues } from '../core/errors.ts';
import type { IngestSource } from '../core/event.ts';
import { logBatchKeySchema } from '../core/log-line.ts';
import type { IngestIntake } from './intake.ts';
import { decodeUtf8, splitLogBody, toDebugEvent, toLogLine } from './normalize.ts';

/**
 * POST /webhook/event as a plain fetch handler. It is the ingest hot path, so app.ts also mounts it
 * as a Bun.serve route in front of Hono (after the same guard); the Hono route below serves it too.
 */
export function createEventReceiver(intake: IngestIntake): (req: Request) => Promise<Response> {
  return async (req) => {
    const body = await readJson(req);
    if (!body.ok) return rejectResponse(intake, body.problems, 'bad_json');
    const parsed = toDebugEvent(body.value, intake.context('http'));
    if (!parsed.ok) return rejectResponse(intake, parsed.problems, 'invalid_event');
    const result = await intake.event(parsed.value);
    return Response.json({
      status: 'processed',
      eventId: result.event.id,
      duplicate: !result.inserted || undefined,
    });
  };
}

const logBatchHeaders = z.object({ 'Idempotency-Key': logBatchKeySchema.optional() });

/** HTTP receivers: POST /webhook/event and POST /api/logs. They translate and hand over; nothing else. */
export function createHttpIngestRoutes(intake: IngestIntake): Hono {
  const app = new Hono();
  const source: IngestSource = 'http';
  const receiveEvent = createEventReceiver(intake);

  app.post('/webhook/event', (c) => receiveEvent(c.req.raw));

  app.post('/api/logs', async (c) => {
    const headers = logBatchHeaders.safeParse({ 'Idempotency-Key': c.req.header('idempotency-key') });
    if (!headers.success)
      return rejectResponse(intake, describeIssues(headers.error.issues), 'bad_idempotency_key');
    const key = headers.data['Idempotency-Key'];
    const text = decodeUtf8(new Uint8Array(await c.req.arrayBuffer()));
    if (text === null) return rejectResponse(intake, ['body is not valid UTF-8'], 'bad_encoding');
    const split = splitLogBody(text);
    if (!split.ok) return rejectResponse(intake, split.problems, 'bad_json');
    const { items } = split.value;
    const now = intake.context(source).now;
    const good = [];
    const problems: string[] = [...split.value.problems];
    for (const [i, item] of items.entries()) {
      const r = toLogLine(item, { now, source });
      if (r.ok) good.push(r.value);
      else problems.push(...r.problems.map((p) => `[${i}] ${p}`));
    }
    if (!good.length)
      return rejectResponse(intake, problems.length ? problems : ['no log lines'], 'invalid_log');
    const { accepted, duplicate } = await intake.logs(
      good,
      key === undefined ? undefined : { key, receivedAt: now },
    );
    const rejected = items.length + split.value.problems.length - good.length;
    // A repeated key was counted the first time; its answer still names the bad lines.
    if (problems.length && !duplicate) intake.countRejected(source, 'invalid_log', rejected);
    // Partial batches keep their good lines: the answer lists what was rejected so the sender can fix it.
    return c.json({
      accepted,
      ...(problems.length ? { rejected, problems } : {}),
      duplicate: duplicate || undefined,
    });
  });

  return app;
}

async function readJson(
  req: Request,
): Promise<{ ok: true; value: unknown } | { ok: false; problems: string[] }> {
  const text = decodeUtf8(new Uint8Array(await req.arrayBuffer()));
  if (text === null) return { ok: false, problems: ['body is not valid UTF-8'] };
  if (!text.trim()) return { ok: false, problems: ['body is empty'] };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    return { ok: false, problems: [`malformed JSON: ${(e as Error).message}`] };
  }
}

function rejectResponse(intake: IngestIntake, problems: string[], reason: string): Response {
  intake.countRejected('http', reason);
  return Response.json({ error: 'invalid input', problems }, { status: 400 });
}
