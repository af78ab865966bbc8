import type { Change } from '../core/change.ts';
import type { LogLine } from '../core/log-line.ts';
import type { Report } from '../core/report.ts';
import type { SystemGraph } from '../map/graph.ts';

export interface DiffHunk {
  file: string;
  header: string;
  lines: Array<{ op: '+' | '-' | ' '; text: string }>;
  /** Lines left out of this hunk to keep the page light. */
  cut: number;
}

export type TimelineItem =
  | { kind: 'log'; at: number; service: string; level: string; message: string; correlated: boolean }
  | { kind: 'change'; at: number; change: Change; blamedFor: string[]; hunks: DiffHunk[]; moreHunks: number }
  | { kind: 'event'; at: number; text: string };

/** Splits a unified diff into hunks (at most `maxHunks`, each at most `maxLines` lines). */
export function diffHunks(diff: string, maxHunks = 4, maxLines = 40): { hunks: DiffHunk[]; more: number } {
  const hunks: DiffHunk[] = [];
  let file = '';
  let current: DiffHunk | null = null;
  let total = 0;
  for (const line of diff.split('\n')) {
    if (line.startsWith('+++ ')) {
      file = line.slice(4).replace(/^b\//, '');
      continue;
    }
    if (line.startsWith('--- ') || line.startsWith('diff --git') || line.startsWith('index ')) continue;
    if (line.startsWith('@@')) {
      total++;
      current = hunks.length < maxHunks ? { file, header: line, lines: [], cut: 0 } : null;
      if (current) hunks.push(current);
      continue;
    }
    if (!current) continue;
    const op = line[0] === '+' || line[0] === '-' ? line[0] : ' ';
    if (current.lines.length < maxLines) current.lines.push({ op, text: line.slice(1) });
    else current.cut++;
  }
  return { hunks, more: Math.max(0, total - hunks.length) };
}

/**
 * The thread's evidence as one timeline: log lines before the event, the blamed changes with their diff
 * hunks, and the event itself, oldest first (pure).
 */
export function buildTimeline(input: {
  report: Report;
  eventAt: number;
  eventText: string;
  correlationId: string | null;
  logs: LogLine[];
  /** Changes the hypotheses blame, looked up with their diffs. */
  changes: Change[];
  graph: SystemGraph;
  maxLogs?: number;
}): TimelineItem[] {
  const { report, maxLogs = 30 } = input;
  const items: TimelineItem[] = [{ kind: 'event', at: input.eventAt, text: input.eventText }];
  const logs = [...input.logs]
    .filter((l) => l.timestamp <= input.eventAt + 60_000)
    .sort((a, b) => b.timestamp - a.timestamp)
    .slice(0, maxLogs);
  for (const l of logs)
    items.push({
      kind: 'log',
      at: l.timestamp,
      service: input.graph.resolve(l.service) ?? l.service,
      level: l.level,
      message: l.message,
      correlated: !!input.correlationId && l.correlationId === input.correlationId,
    });
  for (const c of input.changes) {
    const blamedFor = report.hypotheses
      .filter((h) => h.change && (h.change.id === c.id || (c.sha && h.change.sha === c.sha)))
      .map((h) => h.service);
    const d = c.diff ? diffHunks(c.diff) : { hunks: [], more: 0 };
    items.push({ kind: 'change', at: c.timestamp, change: c, blamedFor, hunks: d.hunks, moreHunks: d.more });
  }
  return items.sort((a, b) => a.at - b.at);
}

export interface PathGraph {
  nodes: Array<{
    service: string;
    depth: number;
    row: number;
    role: 'failing' | 'top' | 'candidate' | 'via';
  }>;
  edges: Array<{ from: string; to: string }>;
}

/** The map paths from the failing service to the top hypotheses, merged into a small tree for drawing. */
export function pathGraph(report: Report, graph: SystemGraph, maxPaths = 3): PathGraph {
  const failing = graph.resolve(report.service) ?? report.service;
  const cands = graph.candidates(failing);
  const paths = report.hypotheses
    .slice(0, maxPaths)
    .map(
      (h) =>
        cands.find((c) => c.service === h.service)?.path ??
        (h.service === failing ? [failing] : [failing, h.service]),
    );
  if (!paths.length) paths.push([failing]);
  const rowsAtDepth: number[] = [];
  const nodes = new Map<string, PathGraph['nodes'][number]>();
  const edges = new Map<string, PathGraph['edges'][number]>();
  const ranked = new Set(report.hypotheses.slice(0, maxPaths).map((h) => h.service));
  const top = report.hypotheses[0]?.service;
  for (const path of paths) {
    path.forEach((s, depth) => {
      if (!nodes.has(s)) {
        const row = rowsAtDepth[depth] ?? 0;
        rowsAtDepth[depth] = row + 1;
        const role = s === top ? 'top' : s === failing ? 'failing' : ranked.has(s) ? 'candidate' : 'via';
        nodes.set(s, { service: s, depth, row, role });
      }
      const prev = path[depth - 1];
      if (prev) edges.set(`${prev}>${s}`, { from: prev, to: s });
    });
  }
  return { nodes: [...nodes.values()], edges: [...edges.values()] };
}
