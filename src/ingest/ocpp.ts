import { Hono } from 'hono';
import { z } from 'zod';
import { describeIssues } from '../core/errors.ts';
import type { Scheduler } from '../core/clock.ts';
import type { DebugEvent, IngestSource } from '../core/event.ts';
import type { LogLine } from '../core/log-line.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import { timestampSchema } from '../core/time.ts';
import type { SystemGraph } from '../map/graph.ts';
import { serviceFor } from './service-for.ts';
import type { Translated } from './everest-translate.ts';
import { decodeUtf8, toDebugEvent, toLogLine } from './normalize.ts';
import { loadOcppSchemas } from './ocpp-schemas.ts';
import { createOcppTracker, type Direction } from './ocpp-translate.ts';
import type { IngestIntake } from './intake.ts';

/** One frame as sent to TracePulse: the bare OCPP-J array, or an envelope with its time and direction. */
const envelopeSchema = z.object({
  frame: z.union([z.array(z.unknown()), z.string().max(256 * 1024)]),
  timestamp: timestampSchema.optional(),
  direction: z.enum(['cp->csms', 'csms->cp']).optional(),
});

export interface OcppIngest {
  /** MQTT PREFIX/ocpp/<chargePointId>: one frame or envelope per message; a bad one is a dead letter. */
  mqtt(chargePointId: string, topic: string, payload: Uint8Array): Promise<void>;
  /** POST /api/ocpp/:chargePointId (a frame, an envelope, a JSON array of them, or NDJSON). */
  routes: Hono;
  stop(): void;
}

const chargePointId = z.string().trim().min(1).max(200);

/** OCPP-J frames from MQTT and HTTP into the sink; missing responses are swept every few seconds. */
export function createOcppIngest(deps: {
  sink: IngestIntake;
  graph: () => SystemGraph;
  responseTimeoutMs: number;
  logger: Logger;
  metrics: Metrics;
  /** The missing-response sweep's period (tests advance a manual clock). */
  scheduler: Scheduler;
  sweepEveryMs?: number;
}): OcppIngest {
  const { sink } = deps;
  deps.metrics.describe('tracepulse_ocpp_frames_total', 'OCPP-J frames read, by outcome');
  const service = () => {
    const g = deps.graph();
    if (g.resolve('ocpp')) return g.resolve('ocpp') as string;
    for (const s of g.services.values()) if (s.module === 'OCPP' || s.module === 'OCPP201') return s.name;
    return serviceFor(g, 'ocpp');
  };
  const tracker = createOcppTracker({ service, responseTimeoutMs: deps.responseTimeoutMs });

  /** Translates items in order; writes what translated, returns the problems of the rest. */
  async function ingest(
    cp: string,
    items: unknown[],
    source: IngestSource,
  ): Promise<{ accepted: number; problems: string[] }> {
    await loadOcppSchemas();
    const c = sink.context(source);
    const events: DebugEvent[] = [];
    const lines: LogLine[] = [];
    const problems: string[] = [];
    let accepted = 0;
    items.forEach((item, i) => {
      const where = items.length > 1 ? `frame ${i + 1}: ` : '';
      const env = Array.isArray(item)
        ? { success: true as const, data: { frame: item } }
        : envelopeSchema.safeParse(item);
      if (!env.success) {
        problems.push(`${where}${describeIssues(env.error.issues).join('; ')}`);
        return;
      }
      let frame: unknown = env.data.frame;
      if (typeof frame === 'string') {
        try {
          frame = JSON.parse(frame);
        } catch (e) {
          problems.push(`${where}frame is not JSON: ${(e as Error).message}`);
          return;
        }
      }
      const at = ('timestamp' in env.data ? env.data.timestamp : undefined) ?? c.now;
      const direction = 'direction' in env.data ? (env.data.direction as Direction | undefined) : undefined;
      const t = tracker.frame({ chargePointId: cp, frame, at, direction, receivedAt: c.now });
      if (!t.ok) {
        problems.push(`${where}${t.reason}`);
        return;
      }
      const p = normalise(t.items, c, source, events, lines);
      if (p.length) problems.push(...p.map((x) => `${where}${x}`));
      else accepted++;
    });
    await Promise.all([...events.map((e) => sink.event(e)), lines.length ? sink.logs(lines) : undefined]);
    deps.metrics.inc('tracepulse_ocpp_frames_total', { outcome: 'stored' }, accepted);
    if (problems.length)
      deps.metrics.inc('tracepulse_ocpp_frames_total', { outcome: 'rejected' }, problems.length);
    return { accepted, problems };
  }

  const timer = deps.scheduler.every(deps.sweepEveryMs ?? 5000, () => {
    const c = sink.context('ocpp');
    const lines: LogLine[] = [];
    normalise(tracker.sweep(c.now), c, 'ocpp', [], lines);
    if (lines.length)
      sink
        .logs(lines)
        .catch((err) =>
          deps.logger.error('could not store OCPP missing-response lines', { error: String(err) }),
        );
  });

  const routes = new Hono();
  routes.post('/api/ocpp/:chargePointId', async (c) => {
    const cp = chargePointId.safeParse(c.req.param('chargePointId'));
    if (!cp.success)
      return c.json({ error: 'invalid charge point id', problems: describeIssues(cp.error.issues) }, 400);
    const text = decodeUtf8(new Uint8Array(await c.req.arrayBuffer()));
    if (text === null) return c.json({ error: 'invalid body', problems: ['body is not valid UTF-8'] }, 400);
    const parsed = parseBody(text);
    if (!parsed.ok) return c.json({ error: 'invalid body', problems: parsed.problems }, 400);
    const r = await ingest(cp.data, parsed.items, 'ocpp');
    if (!r.accepted && r.problems.length) {
      sink.countRejected('ocpp', 'invalid_ocpp', r.problems.length);
      return c.json({ error: 'no frame accepted', problems: r.problems }, 400);
    }
    if (r.problems.length) sink.countRejected('ocpp', 'invalid_ocpp', r.problems.length);
    return c.json({ accepted: r.accepted, rejected: r.problems.length, problems: r.problems });
  });

  return {
    routes,
    stop: () => timer.cancel(),
    async mqtt(cp, topic, payload) {
      const dead = async (reason: string) => {
        await sink.deadLetter({ receivedAt: Date.now(), source: 'ocpp', topic, reason, payload });
        sink.countRejected('ocpp', reason.split(':')[0] ?? reason);
      };
      const id = chargePointId.safeParse(cp);
      if (!id.success) return dead('invalid_ocpp: charge point id');
      const text = decodeUtf8(payload);
      if (text === null) return dead('bad_encoding: payload is not valid UTF-8');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (e) {
        return dead(`bad_json: ${(e as Error).message}`);
      }
      const r = await ingest(id.data, [json], 'ocpp');
      if (r.problems.length)
        return dead(`invalid_ocpp: ${r.problems.map((p) => p.replace(/^invalid_ocpp: /, '')).join('; ')}`);
    },
  };
}

function normalise(
  items: Translated[],
  c: ReturnType<IngestIntake['context']>,
  source: IngestSource,
  events: DebugEvent[],
  lines: LogLine[],
): string[] {
  const problems: string[] = [];
  const e: DebugEvent[] = [];
  const l: LogLine[] = [];
  for (const item of items) {
    if (item.kind === 'event') {
      const r = toDebugEvent(item.input, { ...c, source });
      if (r.ok) e.push(r.value);
      else problems.push(...r.problems);
    } else {
      const r = toLogLine(item.input, { now: c.now, source });
      if (r.ok) l.push(r.value);
      else problems.push(...r.problems);
    }
  }
  // A frame is stored whole or not at all.
  if (!problems.length) {
    events.push(...e);
    lines.push(...l);
  }
  return problems;
}

/** A frame (array whose first element is a number), an envelope, a JSON array of either, or NDJSON. */
function parseBody(text: string): { ok: true; items: unknown[] } | { ok: false; problems: string[] } {
  const trimmed = text.trim();
  if (!trimmed) return { ok: false, problems: ['body is empty'] };
  try {
    const json = JSON.parse(trimmed);
    if (Array.isArray(json) && typeof json[0] !== 'number') return { ok: true, items: json };
    return { ok: true, items: [json] };
  } catch {
    const items: unknown[] = [];
    const problems: string[] = [];
    trimmed.split('\n').forEach((line, i) => {
      if (!line.trim()) return;
      try {
        items.push(JSON.parse(line));
      } catch (e) {
        problems.push(`line ${i + 1}: malformed JSON: ${(e as Error).message}`);
      }
    });
    return problems.length ? { ok: false, problems } : { ok: true, items };
  }
}
