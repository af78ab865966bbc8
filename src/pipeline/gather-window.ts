import type { EvidenceEvent, EvidenceLog } from '../analyze/evidence.ts';
import { nameKey } from '../analyze/text.ts';
import type { DebugEvent } from '../core/event.ts';
import type { RemoteEvent } from '../core/event-source.ts';
import { type LogLevel, levelRank, logLevels } from '../core/log-line.ts';
import type { RemoteLogLine } from '../core/log-source.ts';
import type { Candidate, SystemGraph } from '../map/graph.ts';
import { EVENT_CAP, type EventRow, type GatherQueries, type LogRow, MAX_LOG_ROWS } from './gather-queries.ts';

/** Warnings of services outside the candidates read per trigger (newest first). */
const ELSEWHERE_CAP = 200;

/** The candidates' raw names: the map's names and aliases, plus other spellings seen in the store. */
export interface Names {
  /** The failing service as the map names it; null when the map does not know it. */
  failing: string | null;
  candidateSet: Set<string>;
  /** A raw name as the map's service (or the failing service, for a spelling of its unknown name). */
  resolve(name: string): string | null;
  raw: Map<string, Set<string>>;
  add(service: string, name: string): void;
}

export function namesOf(input: {
  event: DebugEvent;
  graph: SystemGraph;
  candidates: Candidate[];
  knownNames: string[];
}): Names {
  const { event, graph, candidates } = input;
  const failing = graph.resolve(event.service);
  const candidateSet = new Set(candidates.map((c) => c.service));
  const failingKey = nameKey(event.service);
  const resolve = (name: string) =>
    graph.resolve(name) ?? (failing === null && nameKey(name) === failingKey ? event.service : null);
  const raw = new Map<string, Set<string>>();
  const add = (service: string, name: string) => {
    let set = raw.get(service);
    if (!set) {
      set = new Set();
      raw.set(service, set);
    }
    set.add(name);
  };
  for (const c of candidates) {
    add(c.service, c.service);
    for (const a of graph.services.get(c.service)?.aliases ?? []) add(c.service, a);
  }
  add(failing ?? event.service, event.service);
  for (const n of input.knownNames) {
    const s = resolve(n);
    if (s && candidateSet.has(s)) add(s, n);
  }
  return { failing, candidateSet, resolve, raw, add };
}

export interface Window {
  event: DebugEvent;
  since: number;
  /** Every raw name of the candidates and of the recent diagnoses' services. */
  allNames: string[];
}

/**
 * The window's log lines, each once: the session's, the candidates' warnings, every other
 * service's warnings (the map may be missing the edge to the cause; the engine only considers such
 * a service when a domain rule points at it as well), and the outside stores' lines.
 */
export function windowLogs(
  q: GatherQueries,
  { event, since, allNames }: Window,
  names: Names,
  external: RemoteLogLine[],
): { logs: EvidenceLog[]; truncated: boolean; elsewhere: Set<string> } {
  const T = event.timestamp;
  const seen = new Set<string>();
  const logs: EvidenceLog[] = [];
  const keep = (r: LogRow) => {
    const k = `${r.ts}\u0000${r.service}\u0000${r.message}`;
    if (seen.has(k)) return;
    seen.add(k);
    logs.push({
      ts: r.ts,
      service: r.service,
      level: (logLevels[r.level] ?? 'info') as LogLevel,
      message: r.message,
      correlated: event.correlationId !== null && r.correlation_id === event.correlationId,
      ...(event.correlationId !== null && r.correlation_id && r.correlation_id !== event.correlationId
        ? { otherSession: true }
        : {}),
    });
  };
  let truncated = false;
  if (event.correlationId) {
    const rows = q.corrLogs.all(event.correlationId, since, T, MAX_LOG_ROWS);
    truncated ||= rows.length >= MAX_LOG_ROWS;
    rows.forEach(keep);
  }
  const candRows = q
    .candidateLogs(allNames, since, T)
    .sort((a, b) => b.ts - a.ts)
    .slice(0, MAX_LOG_ROWS);
  truncated ||= candRows.length >= MAX_LOG_ROWS;
  candRows.forEach(keep);
  const elsewhere = new Set<string>();
  for (const r of q.recentWarnings.all(since, T, ELSEWHERE_CAP)) {
    const s = names.resolve(r.service) ?? r.service;
    if (names.candidateSet.has(s)) continue;
    elsewhere.add(r.service);
    keep(r);
  }
  for (const l of external.slice(0, MAX_LOG_ROWS))
    keep({ ...l, level: levelRank[l.level], correlation_id: l.correlationId });
  return { logs, truncated, elsewhere };
}

/** The window's events, each once (by id, the trigger itself excluded): the session's, the candidates', then other instances'. */
export function windowEvents(
  q: GatherQueries,
  { event, since, allNames }: Window,
  external: RemoteEvent[],
): EvidenceEvent[] {
  const T = event.timestamp;
  const events: EvidenceEvent[] = [];
  const seenEvents = new Set<string>([event.id]);
  const toEvent = (r: EventRow) => {
    if (seenEvents.has(r.id)) return;
    seenEvents.add(r.id);
    events.push({
      id: r.id,
      ts: r.ts,
      eventType: r.event_type,
      service: r.service,
      errorCode: r.error_code,
      message: r.message,
      correlated: event.correlationId !== null && r.correlation_id === event.correlationId,
    });
  };
  if (event.correlationId) q.corrEvents.all(event.correlationId, since, T, EVENT_CAP).forEach(toEvent);
  q.candidateEvents(allNames, since, T).forEach(toEvent);
  // Another instance's events: the same two kinds the local reads take (the session's, and the
  // candidates' by any of their names), in the same window, newest first, capped alike.
  const rawNames = new Set(allNames);
  const outside = external
    .filter(
      (e) =>
        e.ts >= since &&
        e.ts <= T &&
        ((event.correlationId !== null && e.correlationId === event.correlationId) ||
          rawNames.has(e.service)),
    )
    .sort((a, b) => b.ts - a.ts)
    .slice(0, EVENT_CAP);
  for (const e of outside)
    toEvent({
      id: e.id,
      ts: e.ts,
      event_type: e.eventType,
      service: e.service,
      error_code: e.errorCode,
      message: e.message,
      correlation_id: e.correlationId,
    });
  return events;
}
