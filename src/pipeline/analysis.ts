import type { Database } from 'bun:sqlite';
import { analyze } from '../analyze/engine.ts';
import type { Adjustments } from '../core/learnt-model.ts';
import type { Change } from '../core/change.ts';
import { type Clock, type Scheduler, systemScheduler, type Timer } from '../core/clock.ts';
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
import { createEvidenceGatherer, WINDOW_MS } from './gather.ts';
import { createLatencyWindow } from './latency-window.ts';
import { createPatternIndexer } from './pattern-indexer.ts';
import type { ReportService } from './reports.ts';
import { createSessionSnapshot } from './session-snapshot.ts';
import { createRulesSource, type RulesStatus } from './rules-source.ts';
import { createServiceNames } from './service-names.ts';
import { createTriggerReads } from './trigger-reads.ts';

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

const STOP_BUDGET_MS = 2000;

/**
 * The trigger path: gather evidence (SQLite), rank (pure engine), store and announce. Runs from a
 * bounded queue: the first trigger right after the commit that stored it, ahead of bulk ingest work,
 * then one trigger per event-loop turn, so a storm of triggers cannot starve ingest.
 */
export function createAnalysisPipeline(deps: {
  db: Database;
  clock: Clock;
  /** The refresh deadline, the pattern-indexing delay and the stop budget (tests pass a manual clock). */
  scheduler?: Scheduler;
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
  const scheduler = deps.scheduler ?? systemScheduler;
  const log = logger.child('analysis');
  const patterns = createLogPatterns(deps.db);
  const gatherer = createEvidenceGatherer(deps.db, { patterns });
  const names = createServiceNames(deps.db, { now: () => clock.now() });
  const rules = createRulesSource({ path: deps.rulesFile, logger: log, now: () => clock.now(), scheduler });
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

  const reads = createTriggerReads({
    clock,
    scheduler,
    log,
    metrics,
    lookbackMs,
    refresher: deps.refresher,
    logSources: deps.logSources ?? [],
    eventSources: deps.eventSources ?? [],
    windowStart: (event) => gatherer.windowStart(event),
  });
  const readsOutside =
    deps.refresher !== undefined || !!deps.logSources?.length || !!deps.eventSources?.length;
  const indexer = createPatternIndexer({ patterns, log, metrics, scheduler });

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
    indexer.index(3, event.timestamp - WINDOW_MS);
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
      // Nothing to read outside (no GitHub, no remote log or event source): no await either, so the
      // analysis is not queued behind the microtasks of the HTTP answers its commit released.
      const [fresh, remote] =
        skipRefresh || !readsOutside
          ? [!deps.refresher, undefined]
          : await Promise.all([
              reads.refresh(graph, candidates, event),
              reads.readLogSources(graph, candidates, event),
            ]);
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

  // Settles when the running pump returns (stop() waits for it, within its budget).
  let pumped: Promise<void> = Promise.resolve();
  const pump = () => {
    if (running) return;
    running = true;
    pumped = drain();
  };
  const drain = async () => {
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
      // A microtask, not setImmediate: the analysis runs right after the commit that stored its
      // trigger, ahead of the HTTP requests, write batch and pattern-indexing step already due on the
      // event loop (behind them it waited up to 100 ms under bulk log ingest, measured). Later
      // triggers of a storm still wait one turn each (drain), so ingest is not starved.
      queueMicrotask(pump);
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
    noteCommitted: () => indexer.soon(),
    idle: () =>
      head >= queue.length && !running ? Promise.resolve() : new Promise((r) => idleWaiters.push(r)),
    async stop() {
      stopping = true;
      indexer.stop();
      rules.stop();
      // Finish what is queued quickly (cache only) so acknowledged triggers still get reports.
      const until = clock.now() + STOP_BUDGET_MS;
      let budget: Timer | undefined;
      await Promise.race([
        pumped,
        new Promise<void>((r) => {
          budget = scheduler.after(STOP_BUDGET_MS, r);
        }),
      ]);
      budget?.cancel();
      let left = 0;
      while (head < queue.length) {
        const job = queue[head++]!;
        if (clock.now() < until) await process(job, true);
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
