import type { Clock, Scheduler, Timer } from '../core/clock.ts';
import type { DebugEvent } from '../core/event.ts';
import type { EventQuery, EventSource, RemoteEvent } from '../core/event-source.ts';
import type { LogSource, RemoteLogLine, SourceOutcome } from '../core/log-source.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import type { ChangeRefresher } from '../core/ports.ts';
import type { Candidate, SystemGraph } from '../map/graph.ts';
import { MAX_LOG_ROWS, MAX_WINDOW_MS } from './gather.ts';
import { queryLogSources } from './query-log-sources.ts';

/** GitHub and the outside log stores get this long per trigger. */
export const REFRESH_DEADLINE_MS = 2000;
/** During a storm the same candidates' files are refreshed at most this often. */
const REFRESH_REUSE_MS = 30_000;

export interface TriggerReads {
  /** Brings the GitHub cache up to date for the candidates' files; false when the cache had to do. */
  refresh(graph: SystemGraph, candidates: Candidate[], event: DebugEvent): Promise<boolean>;
  /**
   * Reads the analysis window before the trigger from the outside log stores, and the events other
   * instances took (cluster mode), within the same deadline as GitHub.
   */
  readLogSources(
    graph: SystemGraph,
    candidates: Candidate[],
    event: DebugEvent,
  ): Promise<{ lines: RemoteLogLine[]; outcomes: SourceOutcome[]; events: RemoteEvent[] }>;
}

/** What a trigger reads from outside before it is ranked: fresh GitHub changes and outside logs. */
export function createTriggerReads(deps: {
  clock: Clock;
  scheduler: Scheduler;
  log: Logger;
  metrics: Metrics;
  lookbackMs: number;
  refresher?: ChangeRefresher;
  logSources: LogSource[];
  /** Events other instances took (cluster mode); none by default. */
  eventSources?: EventSource[];
  /** Where the local evidence window opens for this trigger (gather.ts). */
  windowStart(event: DebugEvent): number;
}): TriggerReads {
  const { clock, scheduler, log, metrics, lookbackMs } = deps;
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

  const lastRefresh = new Map<string, { at: number; fresh: boolean }>();
  const refresh = async (graph: SystemGraph, candidates: Candidate[], event: DebugEvent) => {
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
    let timer: Timer | undefined;
    try {
      const deadline = new Promise<{ fresh: boolean; error?: string }>((resolve) => {
        timer = scheduler.after(REFRESH_DEADLINE_MS + 100, () =>
          resolve({ fresh: false, error: 'deadline' }),
        );
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
      timer?.cancel();
    }
    lastRefresh.set(key, { at: clock.now(), fresh });
    return fresh;
  };

  const readLogSources = async (graph: SystemGraph, candidates: Candidate[], event: DebugEvent) => {
    const services = new Set<string>([event.service]);
    for (const c of candidates) {
      services.add(c.service);
      for (const a of graph.services.get(c.service)?.aliases ?? []) services.add(a);
    }
    // One window for both: the analysis window as the local evidence opens it, and the session's
    // own lines and events from as far back as that window can stretch (gather.ts).
    const q: EventQuery = {
      correlationId: event.correlationId,
      services: [...services],
      since: deps.windowStart(event),
      sessionSince: event.timestamp - MAX_WINDOW_MS,
      until: event.timestamp,
      limit: MAX_LOG_ROWS,
    };
    const [r, events] = await Promise.all([readLines(event, q), readEvents(event, q)]);
    return { ...r, events };
  };

  /** Events other instances took, within the same deadline; a failed source yields none. */
  const readEvents = async (event: DebugEvent, q: EventQuery): Promise<RemoteEvent[]> => {
    const sources = deps.eventSources ?? [];
    if (!sources.length) return [];
    const answers = await Promise.all(
      sources.map(async (s) => {
        let timer: Timer | undefined;
        const late = new Promise<never>((_, reject) => {
          timer = scheduler.after(REFRESH_DEADLINE_MS, () => reject(new Error('timeout')));
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
          timer?.cancel();
        }
      }),
    );
    return answers.flat();
  };

  const readLines = async (
    event: DebugEvent,
    q: EventQuery,
  ): Promise<{ lines: RemoteLogLine[]; outcomes: SourceOutcome[] }> => {
    const sources = deps.logSources;
    if (!sources.length) return { lines: [], outcomes: [] };
    const r = await queryLogSources(sources, q, REFRESH_DEADLINE_MS, scheduler);
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

  return { refresh, readLogSources };
}
