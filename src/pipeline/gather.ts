import type { Database } from 'bun:sqlite';
import type {
  EvidenceBundle,
  EvidenceEvent,
  EvidenceLog,
  PatternHistory,
  RecentDiagnosis,
} from '../analyze/evidence.ts';
import { messagePattern } from '../analyze/text.ts';
import type { Change } from '../core/change.ts';
import type { DebugEvent } from '../core/event.ts';
import type { RemoteEvent } from '../core/event-source.ts';
import { CASCADE_MS, SPIKE_P } from '../analyze/weights.ts';
import type { Hypothesis } from '../core/report.ts';
import { isoTime } from '../core/time.ts';
import { levelRank } from '../core/log-line.ts';
import type { Candidate, SystemGraph } from '../map/graph.ts';
import { impliedEdges } from '../map/implied-edges.ts';
import type { RemoteLogLine } from '../core/log-source.ts';
import type { LogPatterns } from '../store/log-patterns.ts';
import { createGatherQueries, type GatherQueries, MAX_LOG_ROWS } from './gather-queries.ts';
import { type Names, namesOf, windowEvents, windowLogs } from './gather-window.ts';

export { MAX_LOG_ROWS };
/**
 * 15 minutes: a monitor raises its alert minutes after the module crash that caused it (EVerest's
 * manager terminating all modules eleven minutes before "station offline"). 5 minutes missed two
 * development triggers that 15 finds; 30 lost one and two robustness triggers per seed (docs/accuracy.md).
 */
export const WINDOW_MS = 15 * 60_000;
export const BASELINE_MS = 24 * 3_600_000;
const HOUR_MS = 3_600_000;
const BEGINNING_SERVICES = 50;
/** The longest the window stretches back to the failing session's first warning, and the lead kept before it. */
export const MAX_WINDOW_MS = 60 * 60_000;
const LEAD_MS = 2 * 60_000;
/** Warnings of the failing service this far apart belong to one run of trouble (troubleStart). */
const RUN_GAP_MS = 10 * 60_000;
const RUN_ROWS = 2000;
const RECENT_REPORT_CAP = 20;
const PATTERN_CAP = 300;
const CHANGE_CAP = 2000;

export interface GatherInput {
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
}

/**
 * Reads a trigger's evidence from SQLite with indexed queries only (gather-queries.ts), baselines
 * from the log_patterns counts (store/log-patterns.ts), and merges what outside sources read.
 * Every read is capped.
 */
export function createEvidenceGatherer(db: Database, deps: { patterns: LogPatterns }) {
  const q = createGatherQueries(db);

  /**
   * Where the analysis window opens: 15 minutes before the trigger, or a little before the failing
   * session's first warning, or the start of the failing service's latest run of warnings, when
   * that is longer ago (up to an hour), stored or read from an outside log store: a failure that
   * began at boot is explained by what happened at boot.
   */
  const windowStart = (event: DebugEvent, external: readonly RemoteLogLine[] = []): number => {
    const T = event.timestamp;
    let since = T - WINDOW_MS;
    for (const first of [
      sessionStart(q, event, T - MAX_WINDOW_MS, external),
      troubleStart(q, event, T - MAX_WINDOW_MS, external),
    ])
      if (first !== null && first - LEAD_MS < since) since = Math.max(T - MAX_WINDOW_MS, first - LEAD_MS);
    return since;
  };

  return {
    windowStart,
    /**
     * Everything the engine needs for `event`: windows end at the event's own timestamp.
     * `knownNames` are the raw service names seen in the store (aliases are resolved against the map).
     */
    gather(input: GatherInput): EvidenceBundle {
      const { event } = input;
      const T = event.timestamp;
      const since = windowStart(event, input.external);
      const names = namesOf(input);
      const recent = recentDiagnoses(q, event);
      // The services of those diagnoses are read too: the engine decides whether they are linked.
      for (const d of recent)
        for (const name of [d.rootService, d.service]) {
          const s = names.resolve(name) ?? name;
          names.add(s, name);
          for (const a of input.graph.services.get(s)?.aliases ?? []) names.add(s, a);
        }
      const allNames = [...new Set([...names.raw.values()].flatMap((s) => [...s]))];
      const window = { event, since, allNames };
      const { logs, truncated, elsewhere } = windowLogs(q, window, names, input.external ?? []);
      const events = windowEvents(q, window, input.externalEvents ?? []);
      const base0 = since - BASELINE_MS;
      const history = baselines(q, deps.patterns, {
        logs,
        events,
        names,
        elsewhere,
        base0,
        since,
        lookStart: T - input.lookbackMs,
      });
      const sessionBegan = sessionStart(q, event, T - input.lookbackMs, input.external ?? []);
      const failingNames = [...(names.raw.get(names.failing ?? event.service) ?? [event.service])];
      return {
        windowMs: T - since,
        baselineMs: BASELINE_MS,
        logs,
        events,
        history,
        failureHistory: q.failureOccurrences(
          failingNames,
          event.errorCode,
          T - input.lookbackMs,
          T,
          event.id,
        ),
        changes: input.changes.slice(-CHANGE_CAP),
        logsTruncated: truncated,
        recentReports: recent,
        ...(sessionBegan !== null ? { sessionBegan } : {}),
        wentQuiet: wentQuiet(q, { logs, names, check: quietCheck(input, names), base0, since, T }),
      };
    },
  };
}

/**
 * Where the failing service's own trouble began, read back without a session id (most station logs
 * carry none): the first of its latest run of warnings or worse, each within RUN_GAP_MS of the next
 * and the last within RUN_GAP_MS of the trigger, since `from`. An OCPP module in a crash loop since
 * its OTA forty minutes ago, whose last crash came six minutes before the monitor's alert, is that
 * failure, and what came just before its first crash is where to look (EVerest/everest-demo#74).
 */
function troubleStart(
  q: GatherQueries,
  event: DebugEvent,
  from: number,
  external: readonly RemoteLogLine[],
): number | null {
  const T = event.timestamp;
  const times = q.serviceWarnings.all(event.service, from, T, RUN_ROWS).map((r) => r.ts);
  for (const l of external)
    if (l.service === event.service && levelRank[l.level] >= levelRank.warn && l.ts >= from && l.ts <= T)
      times.push(l.ts);
  times.sort((a, b) => b - a);
  let start: number | null = null;
  let next = T;
  for (const ts of times) {
    if (next - ts > RUN_GAP_MS) break;
    start = ts;
    next = ts;
  }
  return start;
}

/** The failing session's first warning or worse since `from`, stored or from an outside log store. */
function sessionStart(
  q: GatherQueries,
  event: DebugEvent,
  from: number,
  external: readonly RemoteLogLine[],
): number | null {
  if (!event.correlationId) return null;
  let first = q.firstSessionWarning.get(event.correlationId, from, event.timestamp)?.ts ?? null;
  for (const l of external)
    if (
      l.correlationId === event.correlationId &&
      levelRank[l.level] >= levelRank.warn &&
      l.ts >= from &&
      l.ts <= event.timestamp &&
      (first === null || l.ts < first)
    )
      first = l.ts;
  return first;
}

/**
 * When each seen-before pattern began within the look-back (PatternHistory.began): its first line,
 * when its service had been logging long enough before it that the pattern's rate since would have
 * shown it. A pattern as old as the service's records has no known beginning. One read for the
 * pairs, one indexed MIN per service (at most BEGINNING_SERVICES).
 */
function beginnings(
  q: GatherQueries,
  patterns: LogPatterns,
  history: PatternHistory[],
  w: { lookStart: number; base0: number; since: number },
): void {
  const { lookStart, base0, since } = w;
  const first = patterns.firstSeen(history, lookStart, since);
  const serviceStart = new Map<string, number | null>();
  history.forEach((h, i) => {
    const t = first.get(i);
    if (t === undefined) return;
    if (!serviceStart.has(h.service)) {
      if (serviceStart.size >= BEGINNING_SERVICES) return;
      serviceStart.set(h.service, q.firstLine.get(h.service, lookStart)?.ts ?? null);
    }
    const from = serviceStart.get(h.service);
    if (from === null || from === undefined) return;
    // A beginning only when the pattern's own rate since would have shown it before: its absence
    // while the service was logging is then no chance (P < SPIKE_P). A rare message's first line
    // begins nothing.
    const rate = h.count / Math.max(HOUR_MS, since - Math.max(base0, t));
    if (rate * (t - from) >= -Math.log(SPIKE_P)) h.began = t;
  });
}

/** Earlier triggers' diagnoses within the cascade span, newest first: a later trigger of a cascade cites them. */
function recentDiagnoses(q: GatherQueries, event: DebugEvent): RecentDiagnosis[] {
  const T = event.timestamp;
  return q.recentReports.all(T - CASCADE_MS, T, event.id, RECENT_REPORT_CAP).flatMap((r) => {
    const top = (JSON.parse(r.hypotheses) as Hypothesis[])[0];
    if (!top || !r.top_service) return [];
    // What an engineer said about it outranks what the engine said: a confirmed or corrected
    // diagnosis is cited with its true root, as certain.
    const said = q.latestFeedback.get(r.id);
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
}

/** New or chronic: each window pattern's (and event kind's) count in the baseline day before the window. */
function baselines(
  q: GatherQueries,
  patterns: LogPatterns,
  w: {
    logs: EvidenceLog[];
    events: EvidenceEvent[];
    names: Names;
    elsewhere: Set<string>;
    base0: number;
    since: number;
    /** The change look-back's start: how far back a pattern's beginning is looked for. */
    lookStart: number;
  },
): PatternHistory[] {
  const { names, base0, since } = w;
  const pairs = new Map<string, { service: string; pattern: string }>();
  for (const l of w.logs) {
    if (l.level === 'debug' || l.level === 'info') continue;
    // Candidates, services of recent diagnoses, and anything on the failing session (the map
    // may be missing it): each needs its baseline.
    const s = names.resolve(l.service) ?? l.service;
    if (!names.candidateSet.has(s) && !names.raw.has(s) && !l.correlated && !w.elsewhere.has(l.service))
      continue;
    const pattern = messagePattern(l.message);
    pairs.set(`${l.service}\u0000${pattern}`, { service: l.service, pattern });
  }
  const history: PatternHistory[] = patterns
    .history([...pairs.values()].slice(0, PATTERN_CAP), base0, since)
    .map((h) => ({ ...h, sampled: false }));
  beginnings(q, patterns, history, { lookStart: w.lookStart, base0, since });
  const eventKeys = new Set(w.events.map((e) => `${e.service}\u0000${e.eventType}\u0000${e.errorCode}`));
  for (const key of [...eventKeys].slice(0, 20)) {
    const [service, type, code] = key.split('\u0000') as [string, string, string];
    const h = q.eventHistory.get(service, code, type, base0, since);
    if (h?.n)
      history.push({
        service,
        pattern: `event:${type}:${code}`,
        count: h.n,
        firstTs: h.first ?? base0,
        sampled: false,
      });
  }
  return history;
}

/**
 * The candidates and the providers EVerest's manifests imply for them (map/implied-edges.ts): a
 * token reader the map left out that stopped talking is a suspect too, and one seek tells.
 */
function quietCheck(input: GatherInput, names: Names): Map<string, Set<string>> {
  const implied = impliedEdges(input.graph);
  if (!implied.size) return names.raw;
  const out = new Map(names.raw);
  for (const s of [...names.raw.keys()])
    for (const e of implied.get(s) ?? [])
      if (!out.has(e.dependsOn))
        out.set(
          e.dependsOn,
          new Set([e.dependsOn, ...(input.graph.services.get(e.dependsOn)?.aliases ?? [])]),
        );
  return out;
}

/**
 * Candidates that went quiet: they logged in the baseline and nothing, at any level, in the
 * window. Only those without a warning in the window can be, so one seek each for few names.
 */
function wentQuiet(
  q: GatherQueries,
  w: {
    logs: EvidenceLog[];
    names: Names;
    check: Map<string, Set<string>>;
    base0: number;
    since: number;
    T: number;
  },
): string[] {
  const warned = new Set(w.logs.map((l) => w.names.resolve(l.service) ?? l.service));
  return [...w.check].flatMap(([service, names]) => {
    if (warned.has(service)) return [];
    const last = Math.max(...[...names].map((n) => q.lastLine.get(n, w.T)?.ts ?? Number.NEGATIVE_INFINITY));
    return last >= w.base0 && last < w.since ? [service] : [];
  });
}
