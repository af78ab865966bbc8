import type { Change } from '../core/change.ts';
import { clip } from '../core/clip.ts';
import type { LogLine } from '../core/log-line.ts';
import type { Report } from '../core/report.ts';
import { buildSessionTimeline, condenseTimeline, type SessionStory } from '../core/session-timeline.ts';
import type { AnswerFacts } from './answer/types.ts';
import { buildTimeline, pathGraph } from './timeline.ts';
import { changesBetween, type UiDeps } from './ui-deps.ts';

const beforeMs = 5 * 60_000;
const afterMs = 60_000;
/** Rows of each kind read for the session story, and entries shown (the API has them all). */
const SESSION_READ = 2000;
const SESSION_SHOWN = 60;

/**
 * The report's charging session as it stands now, read like GET /api/sessions/:correlationId, so
 * what followed the trigger (the stop after a fault) shows too; the report's own snapshot when the
 * rows are gone (retention), none without a correlationId.
 */
export function sessionStory(deps: Pick<UiDeps, 'queries'>, report: Report): SessionStory | null {
  const id = report.correlationId;
  if (!id) return null;
  const events = deps.queries.events({ correlationId: id, limit: SESSION_READ });
  const logs = deps.queries.logs({ correlationId: id, limit: SESSION_READ });
  if (events.length + logs.length < 2) return report.session ?? null;
  const truncated = events.length >= SESSION_READ || logs.length >= SESSION_READ;
  return condenseTimeline(buildSessionTimeline(id, events, logs, truncated), SESSION_SHOWN);
}

/** The local facts an answer may read for one report (store reads bounded by the caller's limits). */
export function answerFacts(deps: UiDeps, report: Report): AnswerFacts {
  return {
    report,
    event: deps.queries.event(report.eventId),
    graph: deps.maps.current().graph,
    logs: (q) =>
      deps.queries.logs({ services: q.services, since: q.since, until: q.until, limit: q.limit }).reverse(),
    changes: (since, until) => changesBetween(deps, since, until),
  };
}

type Graph = ReturnType<UiDeps['maps']['current']>['graph'];
type StoredEvent = ReturnType<UiDeps['queries']['event']>;

/** Reads what the thread view shows: the timeline (logs, blamed changes, event) and the map path. */
export function threadData(deps: UiDeps, report: Report) {
  const graph = deps.maps.current().graph;
  const event = deps.queries.event(report.eventId);
  const eventAt = event?.timestamp ?? Date.parse(report.createdAt);
  const failing = graph.resolve(report.service) ?? report.service;
  const window = changesBetween(deps, eventAt - deps.changeLookbackMs, eventAt + beforeMs);
  const candidates = graph.candidates(failing).map((c) => c.service);
  const rest = [...graph.services.keys()].filter((s) => !candidates.includes(s)).sort();
  // The ingest placed an event whose source clock was implausible at its arrival (core/event.ts).
  const sent = event?.details.sourceTimestamp;
  return {
    eventAt,
    sourceClock: typeof sent === 'string' ? sent : null,
    timeline: buildTimeline({
      report,
      eventAt,
      eventText: `${report.eventType} ${report.errorCode} on ${report.service}${event?.message ? `: ${event.message}` : ''}`,
      correlationId: event?.correlationId ?? report.correlationId,
      logs: logsAround(deps, graph, report, event, failing, eventAt),
      changes: blamedChanges(report, window),
      graph,
    }),
    path: pathGraph(report, graph),
    chargingSession: sessionStory(deps, report),
    rootOptions: [...candidates, ...rest],
    changeOptions: changeOptions(graph, candidates, window),
  };
}

/**
 * The log lines around the event: warnings of the failing service, the top two hypotheses and the
 * event's own service (by name or alias), then the session's lines; each line once.
 */
function logsAround(
  deps: UiDeps,
  graph: Graph,
  report: Report,
  event: StoredEvent,
  failing: string,
  eventAt: number,
): LogLine[] {
  const focus = [...new Set([failing, ...report.hypotheses.slice(0, 2).map((h) => h.service)])];
  const names = focus.flatMap((s) => [s, ...(graph.services.get(s)?.aliases ?? [])]);
  if (event && event.service !== failing) names.push(event.service);
  const warn = deps.queries.logs({
    services: names,
    since: eventAt - beforeMs,
    until: eventAt + afterMs,
    minLevel: 'warn',
    limit: 40,
  });
  const corr = event?.correlationId
    ? deps.queries.logs({
        correlationId: event.correlationId,
        since: eventAt - beforeMs,
        until: eventAt + afterMs,
        limit: 20,
      })
    : [];
  const seen = new Set<string>();
  const logs: LogLine[] = [];
  for (const l of [...warn, ...corr]) {
    const k = `${l.timestamp}|${l.service}|${l.message}`;
    if (!seen.has(k)) {
      seen.add(k);
      logs.push(l);
    }
  }
  return logs;
}

/** The changes of the window a hypothesis blames (by id or sha). */
function blamedChanges(report: Report, window: Change[]): Change[] {
  const blamedKeys = new Set(
    report.hypotheses.flatMap((h) =>
      h.change ? [h.change.id, h.change.sha].filter((x): x is string => !!x) : [],
    ),
  );
  return window.filter((c) => blamedKeys.has(c.id) || (c.sha !== null && blamedKeys.has(c.sha)));
}

/** The 30 newest changes of the window that touch a candidate (by service or by file), to pick as the cause. */
function changeOptions(graph: Graph, candidates: string[], window: Change[]) {
  const touches = (c: Change) =>
    (c.service !== null && candidates.includes(c.service)) ||
    c.files.some((f) => graph.servicesForFile(f).some((s) => candidates.includes(s)));
  return window
    .filter(touches)
    .sort((a, b) => b.timestamp - a.timestamp)
    .slice(0, 30)
    .map((c) => ({
      id: c.id,
      label: `${c.service ?? '?'} ${c.kind}: ${clip(c.summary.split('\n')[0]!, 80)}`,
    }));
}
