import { impliedEdges } from '../map/implied-edges.ts';
import type { Database } from 'bun:sqlite';
import type {
  EvidenceBundle,
  EvidenceEvent,
  EvidenceLog,
  PatternHistory,
  RecentDiagnosis,
} from '../analyze/evidence.ts';
import { messagePattern, nameKey } from '../analyze/text.ts';
import type { Change } from '../core/change.ts';
import type { DebugEvent } from '../core/event.ts';
import type { RemoteEvent } from '../core/event-source.ts';
import { CASCADE_MS } from '../analyze/weights.ts';
import type { Hypothesis } from '../core/report.ts';
import { isoTime } from '../core/time.ts';
import { type LogLevel, levelRank, logLevels } from '../core/log-line.ts';
import type { Candidate, SystemGraph } from '../map/graph.ts';
import type { RemoteLogLine } from '../core/log-source.ts';
import type { LogPatterns } from '../store/log-patterns.ts';

export const WINDOW_MS = 5 * 60_000;
export const BASELINE_MS = 24 * 3_600_000;
/** Log rows read per query for one trigger: keeps the trigger path linear and bounded whatever the store holds. */
export const MAX_LOG_ROWS = 500;
/** The longest the window stretches back to the failing session's first warning, and the lead kept before it. */
export const MAX_WINDOW_MS = 60 * 60_000;
const LEAD_MS = 2 * 60_000;
const RECENT_REPORT_CAP = 20;
/** Warnings of services outside the candidates read per trigger (newest first). */
const ELSEWHERE_CAP = 200;
const EVENT_CAP = 200;
const PATTERN_CAP = 300;
const FAILURE_ROWS = 1000;
const CHANGE_CAP = 2000;
const IN_CHUNK = 500;

interface LogRow {
  ts: number;
  service: string;
  level: number;
  message: string;
  correlation_id: string | null;
}

interface EventRow {
  id: string;
  ts: number;
  event_type: string;
  service: string;
  error_code: string;
  message: string | null;
  correlation_id: string | null;
}

const chunks = <T>(list: T[], n: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += n) out.push(list.slice(i, i + n));
  return out;
};
const marks = (n: number) => Array.from({ length: n }, () => '?').join(',');

/**
 * Reads a trigger's evidence from SQLite with indexed queries only (see migration 0001):
 * logs by (correlation_id, ts) and by the partial (service, level, ts) index, events by
 * (service, ts) and (service, error_code, ts), baselines from the log_patterns counts
 * (store/log-patterns.ts). Every read is capped.
 */
export function createEvidenceGatherer(db: Database, deps: { patterns: LogPatterns }) {
  const corrLogs = db.prepare<LogRow, [string, number, number, number]>(
    `SELECT ts, service, level, message, correlation_id FROM logs
     WHERE correlation_id = ? AND ts >= ? AND ts <= ? ORDER BY ts DESC LIMIT ?`,
  );
  const firstSessionWarning = db.prepare<{ ts: number | null }, [string, number, number]>(
    `SELECT MIN(ts) AS ts FROM logs WHERE correlation_id = ? AND ts >= ? AND ts <= ? AND level >= 2`,
  );
  const corrEvents = db.prepare<EventRow, [string, number, number, number]>(
    `SELECT id, ts, event_type, service, error_code, message, correlation_id FROM events
     WHERE correlation_id = ? AND ts >= ? AND ts <= ? ORDER BY ts DESC LIMIT ?`,
  );
  const eventHistory = db.prepare<
    { n: number; first: number | null },
    [string, string, string, number, number]
  >(
    `SELECT COUNT(*) AS n, MIN(ts) AS first FROM events
     WHERE service = ? AND error_code = ? AND event_type = ? AND ts >= ? AND ts < ?`,
  );

  // Earlier triggers' diagnoses, by event time: a later trigger of a cascade cites them.
  const recentReports = db.prepare<
    {
      id: string;
      event_ts: number;
      event_type: string;
      service: string;
      error_code: string;
      correlation_id: string | null;
      top_service: string | null;
      hypotheses: string;
      created_at: number;
    },
    [number, number, string, number]
  >(
    `SELECT id, event_ts, event_type, service, error_code, correlation_id, top_service, hypotheses, created_at FROM reports
     INDEXED BY reports_event_ts WHERE event_ts >= ? AND event_ts <= ? AND event_id != ?
     ORDER BY event_ts DESC LIMIT ?`,
  );

  const recentWarnings = db.prepare<LogRow, [number, number, number]>(
    `SELECT ts, service, level, message, correlation_id FROM logs INDEXED BY logs_ts
     WHERE ts >= ? AND ts <= ? AND level >= 2 ORDER BY ts DESC LIMIT ?`,
  );
  const lastLine = db.prepare<{ ts: number }, [string, number]>(
    `SELECT ts FROM logs INDEXED BY logs_service WHERE service = ? AND ts <= ? ORDER BY ts DESC LIMIT 1`,
  );
  const latestFeedback = db.prepare<{ root_service: string; change_id: string | null }, [string]>(
    `SELECT root_service, change_id FROM feedback WHERE report_id = ? ORDER BY id DESC LIMIT 1`,
  );

  const candidateLogs = (names: string[], since: number, until: number): LogRow[] => {
    const rows: LogRow[] = [];
    for (const part of chunks(names, IN_CHUNK))
      rows.push(
        ...db
          .query<LogRow, (string | number)[]>(
            `SELECT ts, service, level, message, correlation_id FROM logs INDEXED BY logs_service_level
             WHERE service IN (${marks(part.length)}) AND level >= 2 AND level IN (2, 3, 4) AND ts >= ? AND ts <= ?
             ORDER BY ts DESC LIMIT ?`,
          )
          .all(...part, since, until, MAX_LOG_ROWS),
      );
    return rows;
  };

  const candidateEvents = (names: string[], since: number, until: number): EventRow[] => {
    const rows: EventRow[] = [];
    for (const part of chunks(names, IN_CHUNK))
      rows.push(
        ...db
          .query<EventRow, (string | number)[]>(
            `SELECT id, ts, event_type, service, error_code, message, correlation_id FROM events
             INDEXED BY events_service_ts WHERE service IN (${marks(part.length)}) AND ts >= ? AND ts <= ?
             ORDER BY ts DESC LIMIT ?`,
          )
          .all(...part, since, until, EVENT_CAP),
      );
    return rows;
  };

  const failureOccurrences = (
    names: string[],
    code: string,
    since: number,
    until: number,
    exceptId: string,
  ) => {
    let count = 0;
    let timestamps: number[] = [];
    for (const part of chunks(names, IN_CHUNK)) {
      const where = `service IN (${marks(part.length)}) AND error_code = ? AND ts >= ? AND ts < ? AND id != ?`;
      const params = [...part, code, since, until, exceptId];
      count +=
        db
          .query<{ n: number }, (string | number)[]>(
            `SELECT COUNT(*) AS n FROM events INDEXED BY events_service_ts WHERE ${where}`,
          )
          .get(...params)?.n ?? 0;
      timestamps.push(
        ...db
          .query<{ ts: number }, (string | number)[]>(
            `SELECT ts FROM events INDEXED BY events_service_ts WHERE ${where} ORDER BY ts DESC LIMIT ?`,
          )
          .all(...params, FAILURE_ROWS)
          .map((r) => r.ts),
      );
    }
    timestamps = timestamps.sort((a, b) => a - b).slice(-FAILURE_ROWS);
    return { count, firstTs: timestamps[0] ?? null, lastTs: timestamps.at(-1) ?? null, timestamps };
  };

  /**
   * Where the analysis window opens: 5 minutes before the trigger, or a little before the failing
   * session's first warning when the session has been failing for longer (up to an hour), stored
   * or read from an outside log store: a failure that began at boot is explained by what happened
   * at boot.
   */
  const windowStart = (event: DebugEvent, external: readonly RemoteLogLine[] = []): number => {
    const T = event.timestamp;
    let since = T - WINDOW_MS;
    if (!event.correlationId) return since;
    let first = firstSessionWarning.get(event.correlationId, T - MAX_WINDOW_MS, T)?.ts ?? null;
    for (const l of external)
      if (
        l.correlationId === event.correlationId &&
        levelRank[l.level] >= levelRank.warn &&
        l.ts >= T - MAX_WINDOW_MS &&
        l.ts <= T &&
        (first === null || l.ts < first)
      )
        first = l.ts;
    if (first !== null && first - LEAD_MS < since) since = Math.max(T - MAX_WINDOW_MS, first - LEAD_MS);
    return since;
  };

  return {
    windowStart,
    /**
     * Everything the engine needs for `event`: windows end at the event's own timestamp.
     * `knownNames` are the raw service names seen in the store (aliases are resolved against the map).
     */
    gather(input: {
      event: DebugEvent;
      graph: SystemGraph;
      candidates: Candidate[];
      knownNames: string[];
      changes: Change[];
      lookbackMs: number;
      /** Lines read from outside log stores (Loki, Elasticsearch) for this trigger; merged without duplicates. */
      external?: RemoteLogLine[];
      /** Events read from outside the store (other instances) for this trigger; merged without duplicates (by id). */
      externalEvents?: RemoteEvent[];
    }): EvidenceBundle {
      const { event, graph, candidates } = input;
      const T = event.timestamp;
      const since = windowStart(event, input.external);
      const failing = graph.resolve(event.service);
      const candidateSet = new Set(candidates.map((c) => c.service));
      const failingKey = nameKey(event.service);
      const resolve = (name: string) =>
        graph.resolve(name) ?? (failing === null && nameKey(name) === failingKey ? event.service : null);

      // Raw names per candidate: the map's names and aliases, plus other spellings seen in the store.
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
      const recent: RecentDiagnosis[] = recentReports
        .all(T - CASCADE_MS, T, event.id, RECENT_REPORT_CAP)
        .flatMap((r) => {
          const top = (JSON.parse(r.hypotheses) as Hypothesis[])[0];
          if (!top || !r.top_service) return [];
          // What an engineer said about it outranks what the engine said: a confirmed or corrected
          // diagnosis is cited with its true root, as certain.
          const said = latestFeedback.get(r.id);
          return [
            {
              reportId: r.id,
              ts: r.event_ts,
              eventType: r.event_type,
              service: r.service,
              errorCode: r.error_code,
              correlationId: r.correlation_id,
              rootService: said ? said.root_service : r.top_service,
              confidence: said ? 1 : top.confidence,
              changeId: said ? said.change_id : (top.change?.id ?? top.change?.sha ?? null),
              createdAt: isoTime(r.created_at),
            },
          ];
        });
      // The services of those diagnoses are read too: the engine decides whether they are linked.
      for (const d of recent)
        for (const name of [d.rootService, d.service]) {
          const s = resolve(name) ?? name;
          add(s, name);
          for (const a of graph.services.get(s)?.aliases ?? []) add(s, a);
        }
      // So are the providers EVerest's manifests imply for the candidates (map/implied-edges.ts).
      const implied = impliedEdges(graph);
      for (const c of candidates)
        for (const e of implied.get(c.service) ?? []) {
          add(e.dependsOn, e.dependsOn);
          for (const a of graph.services.get(e.dependsOn)?.aliases ?? []) add(e.dependsOn, a);
        }
      const allNames = [...new Set([...raw.values()].flatMap((s) => [...s]))];

      const toLog = (r: LogRow): EvidenceLog => ({
        ts: r.ts,
        service: r.service,
        level: (logLevels[r.level] ?? 'info') as LogLevel,
        message: r.message,
        correlated: event.correlationId !== null && r.correlation_id === event.correlationId,
      });
      const seen = new Set<string>();
      const logs: EvidenceLog[] = [];
      const keep = (r: LogRow) => {
        const k = `${r.ts}\u0000${r.service}\u0000${r.message}`;
        if (seen.has(k)) return;
        seen.add(k);
        logs.push(toLog(r));
      };
      let truncated = false;
      if (event.correlationId) {
        const rows = corrLogs.all(event.correlationId, since, T, MAX_LOG_ROWS);
        truncated ||= rows.length >= MAX_LOG_ROWS;
        rows.forEach(keep);
      }
      const candRows = candidateLogs(allNames, since, T)
        .sort((a, b) => b.ts - a.ts)
        .slice(0, MAX_LOG_ROWS);
      truncated ||= candRows.length >= MAX_LOG_ROWS;
      candRows.forEach(keep);
      // Warnings of every other service over the same window: the map may be missing the edge to the
      // cause. The engine only considers such a service when a domain rule points at it as well.
      const elsewhere = new Set<string>();
      for (const r of recentWarnings.all(since, T, ELSEWHERE_CAP)) {
        const s = resolve(r.service) ?? r.service;
        if (candidateSet.has(s)) continue;
        elsewhere.add(r.service);
        keep(r);
      }
      for (const l of (input.external ?? []).slice(0, MAX_LOG_ROWS))
        keep({ ...l, level: levelRank[l.level], correlation_id: l.correlationId });

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
      if (event.correlationId) corrEvents.all(event.correlationId, since, T, EVENT_CAP).forEach(toEvent);
      candidateEvents(allNames, since, T).forEach(toEvent);
      // Another instance's events: the same two kinds the local reads take (the session's, and the
      // candidates' by any of their names), in the same window, newest first, capped alike.
      const rawNames = new Set(allNames);
      const outside = (input.externalEvents ?? [])
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

      // New or chronic: each window pattern's count in the baseline day before the window.
      const pairs = new Map<string, { service: string; pattern: string }>();
      for (const l of logs) {
        if (l.level === 'debug' || l.level === 'info') continue;
        // Candidates, services of recent diagnoses, and anything on the failing session (the map
        // may be missing it): each needs its baseline.
        const s = resolve(l.service) ?? l.service;
        if (!candidateSet.has(s) && !raw.has(s) && !l.correlated && !elsewhere.has(l.service)) continue;
        const pattern = messagePattern(l.message);
        pairs.set(`${l.service}\u0000${pattern}`, { service: l.service, pattern });
      }
      const base0 = since - BASELINE_MS;
      const history: PatternHistory[] = deps.patterns
        .history([...pairs.values()].slice(0, PATTERN_CAP), base0, since)
        .map((h) => ({ ...h, sampled: false }));
      const eventKeys = new Set(events.map((e) => `${e.service}\u0000${e.eventType}\u0000${e.errorCode}`));
      for (const key of [...eventKeys].slice(0, 20)) {
        const [service, type, code] = key.split('\u0000') as [string, string, string];
        const h = eventHistory.get(service, code, type, base0, since);
        if (h?.n)
          history.push({
            service,
            pattern: `event:${type}:${code}`,
            count: h.n,
            firstTs: h.first ?? base0,
            sampled: false,
          });
      }

      // Candidates that went quiet: they logged in the baseline and nothing, at any level, in the
      // window. Only those without a warning in the window can be, so one seek each for few names.
      const warned = new Set(logs.map((l) => resolve(l.service) ?? l.service));
      const wentQuiet = [...raw].flatMap(([service, names]) => {
        if (warned.has(service)) return [];
        const last = Math.max(...[...names].map((n) => lastLine.get(n, T)?.ts ?? Number.NEGATIVE_INFINITY));
        return last >= base0 && last < since ? [service] : [];
      });
      const failingNames = [...(raw.get(failing ?? event.service) ?? [event.service])];
      return {
        windowMs: T - since,
        baselineMs: BASELINE_MS,
        logs,
        events,
        history,
        failureHistory: failureOccurrences(failingNames, event.errorCode, T - input.lookbackMs, T, event.id),
        changes: input.changes.slice(-CHANGE_CAP),
        logsTruncated: truncated,
        recentReports: recent,
        wentQuiet,
      };
    },
  };
}
