import { Hono } from 'hono';
import type { IngestSource } from '../core/event.ts';
import type { IngestSink } from './sink.ts';
import { decodeUtf8, splitLogBody, toDebugEvent, toLogLine } from './normalize.ts';

/** HTTP receivers: POST /webhook/event and POST /api/logs. They translate and hand over; nothing else. */
export function createHttpIngestRoutes(sink: IngestSink): Hono {
  const app = new Hono();
  const source: IngestSource = 'http';

  app.post('/webhook/event', async (c) => {
    const body = await readJson(c.req.raw);
    if (!body.ok) return reject(sink, c, body.problems, 'bad_json');
    const parsed = toDebugEvent(body.value, sink.context(source));
    if (!parsed.ok) return reject(sink, c, parsed.problems, 'invalid_event');
    const result = await sink.event(parsed.value);
    return c.json({
      status: 'processed',
      eventId: result.event.id,
      duplicate: !result.inserted || undefined,
    });
  });

  app.post('/api/logs', async (c) => {
    const text = decodeUtf8(new Uint8Array(await c.req.arrayBuffer()));
    if (text === null) return reject(sink, c, ['body is not valid UTF-8'], 'bad_encoding');
    const items = splitLogBody(text);
    if (!items.ok) return reject(sink, c, items.problems, 'bad_json');
    const now = sink.context(source).now;
    const good = [];
    const problems: string[] = [];
    for (const [i, item] of items.value.entries()) {
      const r = toLogLine(item, { now, source });
      if (r.ok) good.push(r.value);
      else problems.push(...r.problems.map((p) => `[${i}] ${p}`));
    }
    if (!good.length) return reject(sink, c, problems.length ? problems : ['no log lines'], 'invalid_log');
    const accepted = await sink.logs(good);
    if (problems.length) sink.countRejected(source, 'invalid_log', items.value.length - good.length);
    // Partial batches keep their good lines: the answer lists what was rejected so the sender can fix it.
    return c.json(
      problems.length ? { accepted, rejected: items.value.length - good.length, problems } : { accepted },
    );
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

function reject(
  sink: IngestSink,
  c: { json: (body: unknown, status: 400) => Response },
  problems: string[],
  reason: string,
): Response {
  sink.countRejected('http', reason);
  return c.json({ error: 'invalid input', problems }, 400);
}
