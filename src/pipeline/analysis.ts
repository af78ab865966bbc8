import type { Database } from 'bun:sqlite';
import { analyze } from '../analyze/engine.ts';
import type { Adjustments } from '../core/learnt-model.ts';
import type { Change } from '../core/change.ts';
import type { Clock } from '../core/clock.ts';
import type { DebugEvent } from '../core/event.ts';
import type { EventSource, RemoteEvent } from '../core/event-source.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import type { ChangeRefresher, ChangeSource } from '../core/ports.ts';
import type { Report } from '../core/report.ts';
import { isoTime } from '../core/time.ts';
import type { Candidate, SystemGraph } from '../map/graph.ts';
import {
  describeOutcomes,
  type LogSource,
  type RemoteLogLine,
  type SourceOutcome,
} from '../core/log-source.ts';
import type { SystemMapSource } from '../map/map-source.ts';
import { createLogPatterns } from '../store/log-patterns.ts';
import { createEvidenceGatherer, MAX_LOG_ROWS, MAX_WINDOW_MS, WINDOW_MS } from './gather.ts';
import { createLatencyWindow } from './latency-window.ts';
import { queryLogSources } from './query-log-sources.ts';
import type { ReportService } from './reports.ts';
import { createSessionSnapshot } from './session-snapshot.ts';
import { createRulesSource, type RulesStatus } from './rules-source.ts';
import { createServiceNames } from './service-names.ts';

export interface AnalysisPipeline {
  /** Queues a committed high-priority event; analysis runs later, one trigger at a time. */
  enqueue(event: DebugEvent): void;
  /**
   * Ranks a stored event again with the rules, map and changes in force (no GitHub call), and
   * returns the report without storing or announcing it; null when the event is unknown.
   */
  analyzeStored(eventId: string, options?: { adjustments?: Adjustments }): Report | null;
  /** Supplies learnt weight multipliers for each new trigger (none by default). */
  useAdjustments(provider: (event: DebugEvent) => Adjustments | undefined): void;
  rulesStatus(): RulesStatus;
  /** Called after ingest commits: folds new log lines into the pattern baseline within a second. */
  noteCommitted(): void;
  /** Resolves when the queue is empty (tests, benchmarks). */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

const REFRESH_DEADLINE_MS = 2000;
/** During a storm the same candidates' files are refreshed at most this often. */
const REFRESH_REUSE_MS = 30_000;
const STOP_BUDGET_MS = 2000;
/** Log rows read per pattern-indexing step, and how often the background step runs. */
const PATTERN_SPAN = 20_000;
const PATTERN_INTERVAL_MS = 1000;

/**
 * The trigger path: gather evidence (SQLite), rank (pure engine), store and announce. Runs after
 * the ingest acknowledgement, from a bounded queue, one trigger per event-loop turn, so a storm of
 * triggers cannot starve ingest.
 */
export function createAnalysisPipeline(deps: {
  db: Database;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  maps: SystemMapSource;
  reports: ReportService;
  stationId: string;
  loadEvent: (id: string) => DebugEvent | null;
  changes?: ChangeSource;
  refresher?: ChangeRefresher;
  rulesFile?: string;
  lookbackDays: number;
  stormWindowS: number;
  queueLimit?: number;
  /** Outside log stores read at trigger time (Loki, Elasticsearch); none by default. */
  logSources?: LogSource[];
  /** Events other instances took, read at trigger time (cluster mode); none by default. */
  eventSources?: EventSource[];
}): AnalysisPipeline {
  const { clock, logger, metrics } = deps;
  const log = logger.child('analysis');
  const patterns = createLogPatterns(deps.db);
  const gatherer = createEvidenceGatherer(deps.db, { patterns });
  const names = createServiceNames(deps.db, { now: () => clock.now() });
  const rules = createRulesSource({ path: deps.rulesFile, logger: log, now: () => clock.now() });
  const latency = createLatencyWindow(512);
  const sessionOf = createSessionSnapshot(deps.db);
  const lookbackMs = deps.lookbackDays * 86_400_000;
  const limit = deps.queueLimit ?? 1000;
  let adjustmentsFor: (e: DebugEvent) => Adjustments | undefined = () => undefined;

  metrics.describe('tracepulse_analysis_dropped_total', 'Triggers not analysed because the queue was full');
  metrics.describe(
    'tracepulse_analysis_errors_total',
    'Triggers whose analysis failed (and pattern indexing failures)',
  );
  metrics.describe('tracepulse_rule_errors_total', 'Rules that threw during an analysis, by rule id');
  metrics.describe('tracepulse_change_source_errors_total', 'Change source reads or refreshes that failed');
  metrics.gauge('tracepulse_analysis_latency_ms', 'Trigger commit to stored report, recent triggers', () =>
    latency.quantiles([0.5, 0.99]).map(({ q, value }) => ({ labels: { quantile: String(q) }, value })),
  );
  metrics.gauge('tracepulse_analysis_queue_depth', 'Triggers waiting for analysis', () => [
    { value: queue.length - head },
  ]);

  const candidatesOf = (graph: SystemGraph, event: DebugEvent): Candidate[] =>
    graph.failureCandidates(event.service);

  const readChanges = (event: DebugEvent): Change[] => {
    if (!deps.changes) return [];
    try {
      return deps.changes.changesBetween(event.timestamp - lookbackMs, event.timestamp);
    } catch (err) {
      metrics.inc('tracepulse_change_source_errors_total', { op: 'read' });
      log.error('change source failed; ranking without changes', { eventId: event.id, error: String(err) });
      return [];
    }
  };

  const lastRefresh = new Map<string, { at: number; fresh: boolean }>();
  /** Brings the GitHub cache up to date for the candidates' files; false when the cache had to do. */
  const refresh = async (
    graph: SystemGraph,
    candidates: Candidate[],
    event: DebugEvent,
  ): Promise<boolean> => {
    const refresher = deps.refresher;
    if (!refresher) return true;
    const key = candidates[0]?.service ?? event.service;
    const prev = lastRefresh.get(key);
    if (prev && clock.now() - prev.at < REFRESH_REUSE_MS) return prev.fresh;
    const files: Array<{ repo: string; path: string }> = [];
    for (const c of candidates) {
      const node = graph.services.get(c.service);
      const repo = node?.repo ?? graph.repo;
      if (node && repo) for (const path of node.files) files.push({ repo, path });
    }
    let fresh = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const deadline = new Promise<{ fresh: boolean; error?: string }>((resolve) => {
        timer = setTimeout(() => resolve({ fresh: false, error: 'deadline' }), REFRESH_DEADLINE_MS + 100);
      });
      const r = await Promise.race([
        refresher.refreshForTrigger({
          files: files.slice(0, 500),
          since: event.timestamp - lookbackMs,
          until: event.timestamp,
          deadlineMs: REFRESH_DEADLINE_MS,
        }),
        deadline,
      ]);
      fresh = r.fresh;
    } catch (err) {
      metrics.inc('tracepulse_change_source_errors_total', { op: 'refresh' });
      log.warn('change refresh failed; using cached changes', { eventId: event.id, error: String(err) });
    } finally {
      clearTimeout(timer);
    }
    lastRefresh.set(key, { at: clock.now(), fresh });
    return fresh;
  };

  metrics.describe(
    'tracepulse_log_source_queries_total',
    'Trigger-time log source reads, by source and outcome',
  );
  metrics.describe(
    'tracepulse_log_source_lines_total',
    'Lines read from log sources at trigger time, by source',
  );
  metrics.describe(
    'tracepulse_event_source_queries_total',
    'Trigger-time reads of events other instances took, by source and outcome',
  );
  metrics.describe(
    'tracepulse_event_source_events_total',
    'Events read from other instances at trigger time, by source',
  );
  /** Reads the analysis window before the trigger from the outside log stores, within the same deadline as GitHub. */
  const readLogSources = async (
    graph: SystemGraph,
    candidates: Candidate[],
    event: DebugEvent,
  ): Promise<{ lines: RemoteLogLine[]; outcomes: SourceOutcome[]; events: RemoteEvent[] }> => {
    const sources = deps.logSources ?? [];
    const services = new Set<string>([event.service]);
    for (const c of candidates) {
      services.add(c.service);
      for (const a of graph.services.get(c.service)?.aliases ?? []) services.add(a);
    }
    const [r, events] = await Promise.all([readLines(sources, event, services), readEvents(event, services)]);
    return { ...r, events };
  };

  /** Events other instances took (cluster mode), within the same deadline; a failed source yields none. */
  const readEvents = async (event: DebugEvent, services: Set<string>): Promise<RemoteEvent[]> => {
    const sources = deps.eventSources ?? [];
    if (!sources.length) return [];
    const q = {
      correlationId: event.correlationId,
      services: [...services],
      since: gatherer.windowStart(event),
      // The window may open further back, at the session's first warning (gather.ts).
      sessionSince: event.timestamp - MAX_WINDOW_MS,
      until: event.timestamp,
      limit: MAX_LOG_ROWS,
    };
    const answers = await Promise.all(
      sources.map(async (s) => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const late = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('timeout')), REFRESH_DEADLINE_MS);
        });
        try {
          const events = await Promise.race([s.query(q), late]);
          metrics.inc('tracepulse_event_source_queries_total', { source: s.name, outcome: 'ok' });
          if (events.length)
            metrics.inc('tracepulse_event_source_events_total', { source: s.name }, events.length);
          return events;
        } catch (err) {
          metrics.inc('tracepulse_event_source_queries_total', { source: s.name, outcome: 'error' });
          log.warn('event source did not answer; its events are missing from this report', {
            eventId: event.id,
            source: s.name,
            error: String(err),
          });
          return [];
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    return answers.flat();
  };

  const readLines = async (
    sources: LogSource[],
    event: DebugEvent,
    services: Set<string>,
  ): Promise<{ lines: RemoteLogLine[]; outcomes: SourceOutcome[] }> => {
    if (!sources.length) return { lines: [], outcomes: [] };
    const r = await queryLogSources(
      sources,
      {
        correlationId: event.correlationId,
        services: [...services],
        // The analysis window as the local evidence opens it; the session's own lines from as far
        // back as that window can stretch, so a session failing for longer widens it (gather.ts).
        since: gatherer.windowStart(event),
        sessionSince: event.timestamp - MAX_WINDOW_MS,
        until: event.timestamp,
        limit: MAX_LOG_ROWS,
      },
      REFRESH_DEADLINE_MS,
    );
    for (const o of r.outcomes) {
      metrics.inc('tracepulse_log_source_queries_total', {
        source: o.source,
        outcome: o.ok ? 'ok' : (o.error ?? 'error'),
      });
      if (o.lines) metrics.inc('tracepulse_log_source_lines_total', { source: o.source }, o.lines);
      if (!o.ok)
        log.warn('log source did not answer; its lines are missing from this report', {
          eventId: event.id,
          source: o.source,
          error: o.error,
        });
    }
    return r;
  };

  /**
   * Folds new warn+ log lines into the pattern counts (the new-versus-chronic baseline). Runs in the
   * background and, bounded, before each analysis so the baseline is current.
   */
  /** Returns true when it stopped at `maxSpans` with rows possibly still pending. */
  const indexPatterns = (maxSpans: number, before = Number.POSITIVE_INFINITY): boolean => {
    let spans = 0;
    try {
      while (
        spans < maxSpans &&
        (patterns.firstPendingTs() ?? before) < before &&
        patterns.indexPending(PATTERN_SPAN) > 0
      )
        spans++;
    } catch (err) {
      metrics.inc('tracepulse_analysis_errors_total', { stage: 'patterns' });
      log.error('pattern indexing failed', { error: String(err) });
    }
    return spans === maxSpans;
  };
  // Runs only after ingest commits, at most once a second: an idle gateway runs no JavaScript at all
  // (a fixed 1 s timer woke it forever and, a minute in, its code reached the optimising JIT, whose
  // compiler pages stayed resident: +2 MB idle RSS).
  let indexTimer: ReturnType<typeof setTimeout> | null = null;
  const indexSoon = () => {
    if (indexTimer) return;
    indexTimer = setTimeout(() => {
      indexTimer = null;
      // Up to five spans, one per event-loop turn, so a queued trigger's analysis runs between
      // them instead of waiting for all five; a larger backlog keeps the next run coming.
      let left = 5;
      const step = () => {
        if (!indexPatterns(1)) return;
        if (--left > 0) setImmediate(step);
        else indexSoon();
      };
      step();
    }, PATTERN_INTERVAL_MS);
    indexTimer.unref();
  };

  /** Gathers evidence and ranks; the report is not stored. */
  const rank = (
    event: DebugEvent,
    changesFromCache: boolean,
    adjustments: Adjustments | undefined,
    remote: { lines: RemoteLogLine[]; outcomes: SourceOutcome[]; events?: RemoteEvent[] } = {
      lines: [],
      outcomes: [],
    },
  ) => {
    // A baseline ends where the evidence window starts: rows that arrived after the pending ones
    // began inside the window are not needed for it, so a burst of fresh logs does not delay the
    // report (the background indexer folds them in within a second).
    indexPatterns(3, event.timestamp - WINDOW_MS);
    const graph = deps.maps.current().graph;
    const candidates = candidatesOf(graph, event);
    const evidence = gatherer.gather({
      event,
      graph,
      candidates,
      knownNames: names.all(),
      changes: readChanges(event),
      lookbackMs,
      external: remote.lines,
      externalEvents: remote.events,
    });
    const result = analyze({
      event,
      graph,
      evidence,
      rules: rules.current(),
      now: clock.now(),
      lookbackMs,
      adjustments,
    });
    for (const e of result.ruleErrors) {
      metrics.inc('tracepulse_rule_errors_total', { rule: e.ruleId });
      log.error('rule failed; the others still ran', { eventId: event.id, ruleId: e.ruleId, error: e.error });
    }
    for (const note of result.notes) log.warn(note, { eventId: event.id });
    const report: Omit<Report, 'incidentId' | 'latencyMs' | 'revisions'> = {
      id: Bun.randomUUIDv7(),
      eventId: event.id,
      correlationId: event.correlationId,
      eventType: event.eventType,
      service: event.service,
      errorCode: event.errorCode,
      stationId: deps.stationId,
      createdAt: isoTime(clock.now()),
      summary: remote.outcomes.length
        ? `${result.summary} ${describeOutcomes(remote.outcomes)}`
        : result.summary,
      source: 'rules',
      revision: 1,
      modelVersion: result.modelVersion,
      changesFromCache,
      hypotheses: result.hypotheses,
      ...(result.mapSuggestions.length ? { mapSuggestions: result.mapSuggestions } : {}),
      ...(result.relatedReports.length ? { relatedReports: result.relatedReports } : {}),
    };
    return { report, resolved: graph.resolve(event.service) ?? event.service };
  };

  // The queue: an array with a moving head (no O(n) shift), drained one trigger per turn.
  let queue: Array<{ event: DebugEvent; t0: number }> = [];
  let head = 0;
  let running = false;
  let stopping = false;
  let dropping = false;
  let idleWaiters: Array<() => void> = [];

  const process = async (job: { event: DebugEvent; t0: number }, skipRefresh: boolean) => {
    const { event, t0 } = job;
    try {
      const graph = deps.maps.current().graph;
      const candidates = candidatesOf(graph, event);
      const [fresh, remote] = skipRefresh
        ? [!deps.refresher, undefined]
        : await Promise.all([refresh(graph, candidates, event), readLogSources(graph, candidates, event)]);
      const { report, resolved } = rank(event, !fresh, adjustmentsFor(event), remote);
      // The session's story goes with the stored report (issue 14), not with re-rankings.
      const session = sessionOf(event);
      const stored = deps.reports.store({
        report: session ? { ...report, session } : report,
        event,
        resolvedService: resolved,
        stormWindowMs: deps.stormWindowS * 1000,
        latencyMs: () => performance.now() - t0,
      });
      latency.add(stored.latencyMs);
    } catch (err) {
      metrics.inc('tracepulse_analysis_errors_total');
      log.error('analysis failed', {
        eventId: event.id,
        error: err instanceof Error ? err.stack : String(err),
      });
    }
  };

  const pump = async () => {
    if (running) return;
    running = true;
    while (head < queue.length && !stopping) {
      const job = queue[head]!;
      queue[head++] = undefined as never;
      await process(job, false);
      // Yield to ingest between triggers.
      await new Promise<void>((r) => setImmediate(r));
    }
    if (head >= queue.length) {
      queue = [];
      head = 0;
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const w of waiters) w();
    }
    running = false;
  };

  return {
    enqueue(event) {
      if (stopping) return;
      if (queue.length - head >= limit) {
        metrics.inc('tracepulse_analysis_dropped_total');
        if (!dropping) log.warn('analysis queue full; dropping triggers', { limit });
        dropping = true;
        return;
      }
      if (dropping) log.info('analysis queue accepting triggers again');
      dropping = false;
      queue.push({ event, t0: performance.now() });
      setImmediate(pump);
    },
    analyzeStored(eventId, options = {}) {
      const event = deps.loadEvent(eventId);
      if (!event) return null;
      const t0 = performance.now();
      const { report } = rank(event, deps.refresher !== undefined, options.adjustments);
      return { ...report, incidentId: null, latencyMs: Math.round((performance.now() - t0) * 1000) / 1000 };
    },
    useAdjustments(provider) {
      adjustmentsFor = provider;
    },
    rulesStatus: () => rules.status(),
    noteCommitted: indexSoon,
    idle: () =>
      head >= queue.length && !running ? Promise.resolve() : new Promise((r) => idleWaiters.push(r)),
    async stop() {
      stopping = true;
      if (indexTimer) clearTimeout(indexTimer);
      rules.stop();
      // Finish what is queued quickly (cache only) so acknowledged triggers still get reports.
      const until = performance.now() + STOP_BUDGET_MS;
      while (running && performance.now() < until) await new Promise((r) => setTimeout(r, 5));
      let left = 0;
      while (head < queue.length) {
        const job = queue[head++]!;
        if (performance.now() < until) await process(job, true);
        else left++;
      }
      if (left) {
        metrics.inc('tracepulse_analysis_dropped_total', undefined, left);
        log.warn('stopped with triggers not analysed', { left });
      }
      queue = [];
      head = 0;
      for (const w of idleWaiters.splice(0)) w();
    },
  };
}
