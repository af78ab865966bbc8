import type { DebugEvent } from './event.ts';
import type { LogLine } from './log-line.ts';
import { isoTime } from './time.ts';

/** One step of a charging session's story, from any source. */
export interface TimelineEntry {
  time: string;
  kind: 'event' | 'log';
  /** authorization, ocpp, session (EvseManager), error or stop. */
  phase: 'authorization' | 'ocpp' | 'session' | 'error' | 'stop' | 'other';
  service: string;
  source: string;
  level?: string;
  eventType?: string;
  errorCode?: string;
  priority?: string;
  /** The event's id (events only), so a report can point at its own trigger in the story. */
  eventId?: string;
  message: string;
  /** In a condensed story: how many entries were left out just before this one. */
  skipped?: number;
}

export interface TimelineGap {
  time: string;
  kind: 'missing_response' | 'meter_values_stopped';
  message: string;
}

export interface SessionTimeline {
  correlationId: string;
  start: string | null;
  end: string | null;
  entries: TimelineEntry[];
  gaps: TimelineGap[];
  /** True when the session had more entries than were read. */
  truncated: boolean;
}

/** Orders a session's events and log lines into its story and marks what is missing. Pure. */
export function buildSessionTimeline(
  correlationId: string,
  events: DebugEvent[],
  logs: LogLine[],
  truncated = false,
): SessionTimeline {
  const rows = orderedRows(events, logs);
  return {
    correlationId,
    start: rows[0]?.entry.time ?? null,
    end: rows.at(-1)?.entry.time ?? null,
    entries: rows.map((r) => r.entry),
    gaps: gapsOf(rows),
    truncated,
  };
}

type Row = { at: number; order: number; entry: TimelineEntry; log?: LogLine };

/** Events and log lines as timeline entries in time order; at the same instant the log line comes first. */
function orderedRows(events: DebugEvent[], logs: LogLine[]): Row[] {
  const rows: Row[] = [];
  for (const e of events)
    rows.push({
      at: e.timestamp,
      order: 1,
      entry: {
        time: isoTime(e.timestamp),
        kind: 'event',
        phase: e.eventType === 'SESSION_DROP' ? 'stop' : 'error',
        service: e.service,
        source: e.source,
        eventType: e.eventType,
        errorCode: e.errorCode,
        priority: e.priority,
        eventId: e.id,
        message: e.message ?? `${e.eventType} ${e.errorCode}`,
      },
    });
  for (const l of logs)
    rows.push({
      at: l.timestamp,
      order: 0,
      log: l,
      entry: {
        time: isoTime(l.timestamp),
        kind: 'log',
        phase: phaseOf(l),
        service: l.service,
        source: l.source,
        level: l.level,
        message: l.message,
      },
    });
  return rows.sort((a, b) => a.at - b.at || a.order - b.order);
}

/** What is missing from the ordered story: OCPP responses that never came, MeterValues that stopped. */
function gapsOf(rows: Row[]): TimelineGap[] {
  const gaps: TimelineGap[] = [];
  for (const r of rows)
    if (r.log?.attributes?.missingResponse === true)
      gaps.push({ time: r.entry.time, kind: 'missing_response', message: r.log.message });
  // MeterValues that stop: the last one is followed by more than three usual intervals of silence.
  const meter = rows.filter(
    (r) => r.log?.attributes?.action === 'MeterValues' && r.log.attributes.messageType === 'CALL',
  );
  const last = rows.at(-1);
  if (meter.length >= 3 && last) {
    const deltas = meter
      .slice(1)
      .map((m, i) => m.at - (meter[i] as { at: number }).at)
      .sort((a, b) => a - b);
    const usual = deltas[Math.floor(deltas.length / 2)] as number;
    const lastMeter = meter.at(-1) as { at: number };
    if (usual > 0 && last.at - lastMeter.at > 3 * usual)
      gaps.push({
        time: isoTime(lastMeter.at),
        kind: 'meter_values_stopped',
        message: `MeterValues stopped: none for ${Math.round((last.at - lastMeter.at) / 1000)} s after this (usually every ${Math.round(usual / 1000)} s)`,
      });
  }
  return gaps.sort((a, b) => a.time.localeCompare(b.time));
}

/** A session's story as a report carries it: condensed, with how much was left out. */
export interface SessionStory extends SessionTimeline {
  /** Entries of the story not carried (each kept entry's `skipped` says where). */
  omitted: number;
}

/**
 * Condenses a story to at most `max` entries: its opening (how the session began), its end (what
 * led to the failure), and in between the events and warnings before plain lines, so what matters
 * survives a long charge's MeterValues. Gaps are kept (at most `max`). Pure.
 */
export function condenseTimeline(t: SessionTimeline, max: number, opening = 6): SessionStory {
  const n = t.entries.length;
  if (n <= max) return { ...t, gaps: t.gaps.slice(0, max), omitted: 0 };
  const keep = new Set<number>();
  const head = Math.min(opening, Math.floor(max / 4));
  for (let i = 0; i < head; i++) keep.add(i);
  const tail = Math.floor(max / 2);
  for (let i = n - tail; i < n; i++) keep.add(i);
  const rank = (e: TimelineEntry) =>
    e.kind === 'event' ? 0 : e.level === 'error' || e.level === 'fatal' ? 1 : e.level === 'warn' ? 2 : 3;
  // The rest of the budget: most important first, newest first among equals.
  const middle = [...t.entries.keys()]
    .filter((i) => !keep.has(i))
    .sort((a, b) => rank(t.entries[a] as TimelineEntry) - rank(t.entries[b] as TimelineEntry) || b - a);
  for (const i of middle) {
    if (keep.size >= max) break;
    keep.add(i);
  }
  const entries: TimelineEntry[] = [];
  let last = -1;
  for (const i of [...keep].sort((a, b) => a - b)) {
    const e = t.entries[i] as TimelineEntry;
    entries.push(i - last > 1 ? { ...e, skipped: i - last - 1 } : e);
    last = i;
  }
  return { ...t, entries, gaps: t.gaps.slice(0, max), omitted: n - entries.length };
}

function phaseOf(l: LogLine): TimelineEntry['phase'] {
  const a = l.attributes ?? {};
  const action = typeof a.action === 'string' ? a.action : '';
  const sessionEvent = typeof a.sessionEvent === 'string' ? a.sessionEvent : '';
  if (action === 'Authorize' || /^(Authorized|Deauthorized|AuthRequired)$/.test(sessionEvent))
    return 'authorization';
  if (
    action === 'StopTransaction' ||
    (action === 'TransactionEvent' && a.transactionEvent === 'Ended') ||
    /^(TransactionFinished|SessionFinished)$/.test(sessionEvent)
  )
    return 'stop';
  if (typeof a.errorType === 'string') return 'error';
  if (sessionEvent) return 'session';
  if (action || typeof a.chargePointId === 'string') return 'ocpp';
  return 'other';
}
