import { describeIssues } from '../core/errors.ts';
import { type DebugEvent, debugEventInputSchema, type IngestSource } from '../core/event.ts';
import { type LogLine, logLineInputSchema } from '../core/log-line.ts';

export type Parsed<T> = { ok: true; value: T } | { ok: false; problems: string[] };

export interface NormalizeContext {
  now: number;
  source: IngestSource;
  /** Event types that default to priority high (the map's triggers). */
  triggers: ReadonlySet<string>;
  newId: () => string;
}

/** Source times before this are a reset clock (RTC defaults are 1970 or 2000), not real events. */
const EARLIEST_PLAUSIBLE = Date.UTC(2001, 0, 1);
/** A source clock this far ahead of arrival is wrong. */
const MAX_AHEAD_MS = 86_400_000;

/**
 * The time an event is placed at: the source's, unless that is implausible (before 2001 or more
 * than a day ahead of arrival); then the arrival time, with the source's kept in details.sourceTimestamp.
 */
function placeInTime(ts: number | undefined, now: number): { timestamp: number; flagged?: string } {
  if (ts === undefined) return { timestamp: now };
  if (ts >= EARLIEST_PLAUSIBLE && ts <= now + MAX_AHEAD_MS) return { timestamp: ts };
  return {
    timestamp: now,
    flagged: Number.isFinite(new Date(ts).getTime()) ? new Date(ts).toISOString() : String(ts),
  };
}

/**
 * The schema's own check for service/errorCode runs only once every field parsed; when another
 * field failed, add those problems too so the sender sees all of them at once.
 */
function withMissingRequired(input: unknown, problems: string[]): string[] {
  if (!input || typeof input !== 'object' || Array.isArray(input)) return problems;
  const o = input as Record<string, unknown>;
  const details = o.details && typeof o.details === 'object' ? (o.details as Record<string, unknown>) : {};
  const out = [...problems];
  for (const key of ['service', 'errorCode'])
    if (o[key] === undefined && details[key] === undefined && !out.some((p) => p.startsWith(`${key}:`)))
      out.push(`${key}: required (top level or details.${key})`);
  return out;
}

/** Validates one DebugQueue event (flat or nested form) and resolves its defaults. */
export function toDebugEvent(input: unknown, ctx: NormalizeContext): Parsed<DebugEvent> {
  const r = debugEventInputSchema.safeParse(input);
  if (!r.success) return { ok: false, problems: withMissingRequired(input, describeIssues(r.error.issues)) };
  const e = r.data;
  const placed = placeInTime(e.timestamp, ctx.now);
  return {
    ok: true,
    value: {
      id: e.id ?? ctx.newId(),
      eventType: e.eventType,
      service: e.service,
      errorCode: e.errorCode,
      correlationId: e.correlationId ?? null,
      details: placed.flagged ? { ...e.details, sourceTimestamp: placed.flagged } : e.details,
      priority: e.priority ?? (ctx.triggers.has(e.eventType) ? 'high' : 'low'),
      timestamp: placed.timestamp,
      receivedAt: ctx.now,
      message: e.message ?? null,
      source: ctx.source,
    },
  };
}

/** Validates one log line; `fallbackService` comes from an MQTT topic. */
export function toLogLine(
  input: unknown,
  ctx: { now: number; source: IngestSource; fallbackService?: string },
): Parsed<LogLine> {
  const withService =
    ctx.fallbackService &&
    input &&
    typeof input === 'object' &&
    !Array.isArray(input) &&
    !('service' in input)
      ? { ...input, service: ctx.fallbackService }
      : input;
  const r = logLineInputSchema.safeParse(withService);
  if (!r.success) return { ok: false, problems: describeIssues(r.error.issues) };
  const l = r.data;
  const placed = placeInTime(l.timestamp, ctx.now);
  return {
    ok: true,
    value: {
      timestamp: placed.timestamp,
      service: l.service,
      level: l.level,
      message: l.message,
      correlationId: l.correlationId ?? null,
      attributes: placed.flagged
        ? { ...l.attributes, sourceTimestamp: placed.flagged }
        : (l.attributes ?? null),
      source: ctx.source,
    },
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes bytes as strict UTF-8; null when they are not. */
export function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

/** Parses NDJSON or a JSON array of log lines into raw items, with per-line problems. */
export function splitLogBody(text: string): Parsed<{ items: unknown[]; problems: string[] }> {
  const trimmed = text.trim();
  if (!trimmed) return { ok: false, problems: ['body is empty'] };
  if (trimmed.startsWith('[')) {
    try {
      const arr = JSON.parse(trimmed);
      return Array.isArray(arr)
        ? { ok: true, value: { items: arr, problems: [] } }
        : { ok: false, problems: ['expected a JSON array'] };
    } catch (e) {
      return { ok: false, problems: [`malformed JSON: ${(e as Error).message}`] };
    }
  }
  // NDJSON: each line stands alone, so one malformed line is rejected by itself.
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
  return { ok: true, value: { items, problems } };
}
