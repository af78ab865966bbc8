#!/usr/bin/env bun
/**
 * The plain baseline issue 16 measured the engine against, on the same labelled recordings:
 * "the earliest non-chronic error in the failing service's dependency closure, then a recent change
 * touching a mapped function". Not a test; figures for docs/accuracy.md.
 *   npx bun scripts/bench-baseline.ts tests/fixtures/incidents/dev [more paths...]
 *
 * Per labelled trigger: the candidates are the map's closure of the failing service. Their error
 * lines (error or fatal; warnings when there are none) in the engine's evidence window (5 min before
 * the trigger, or 2 min before the failing session's first warning, at most an hour) whose
 * (service, message pattern) never occurred before the window are ranked by time, earliest first;
 * then candidates with a change in the 7 days before the trigger, the ones whose change touches a
 * mapped function or file first, latest first; then the failing service. The blamed change is the
 * predicted service's latest change in those 7 days.
 */
import { readFileSync } from 'node:fs';
import { caseFiles } from '../src/cli/eval.ts';
import { debugEventInputSchema } from '../src/core/event.ts';
import { messagePattern } from '../src/core/message-pattern.ts';
import type { SystemGraph } from '../src/map/graph.ts';
import { parseSystemMap } from '../src/map/system-map.ts';
import { parseStream, type Label } from '../src/replay/stream.ts';

const WINDOW_MS = 5 * 60_000;
const SESSION_LEAD_MS = 2 * 60_000;
const MAX_WINDOW_MS = 60 * 60_000;
const LOOKBACK_MS = 7 * 86_400_000;

interface Line {
  ts: number;
  service: string;
  level: string;
  message: string;
  correlationId?: string;
}
interface ChangeRec {
  id: string;
  ts: number;
  service?: string;
  files: string[];
  text: string;
}
interface Result {
  file: string;
  label: Label;
  ranked: string[];
  change: string | null;
}

const rank = { debug: 0, info: 1, warn: 2, error: 3, fatal: 4 } as Record<string, number>;
const time = (v: unknown, fallback: number) =>
  typeof v === 'string' ? Date.parse(v) : typeof v === 'number' ? v : fallback;

function baseline(file: string): Result[] {
  const parsed = parseStream(readFileSync(file, 'utf8'));
  if (!parsed.ok) throw new Error(`${file}: ${parsed.problems.join('; ')}`);
  let graph: SystemGraph | null = null;
  let clock = 0;
  const lines: Line[] = [];
  const changes: ChangeRec[] = [];
  const triggers: { ts: number; service: string; correlationId: string; graph: SystemGraph }[] = [];
  const labels: Label[] = [];
  for (const r of parsed.records) {
    if (r.type === 'map') {
      const m = parseSystemMap(r.yaml);
      if (!m.ok) throw new Error(`${file}:${r.line}: bad map`);
      graph = m.graph;
    } else if (r.type === 'log') {
      const b = r.body as Record<string, string>;
      clock = time(b.timestamp, clock);
      lines.push({
        ts: clock,
        service: b.service!,
        level: b.level!.toLowerCase(),
        message: b.message!,
        correlationId: b.correlationId,
      });
    } else if (r.type === 'change') {
      const b = r.body as Record<string, unknown>;
      changes.push({
        id: String(b.id ?? b.sha),
        ts: time(b.timestamp, clock),
        service: b.service as string | undefined,
        files: (b.files as string[] | undefined) ?? [],
        text: `${b.summary ?? ''}\n${b.diff ?? ''}`,
      });
    } else if (r.type === 'event') {
      const b = debugEventInputSchema.parse(r.body) as Record<string, unknown>;
      clock = time(b.timestamp, clock);
      const trigger = b.priority === 'high' || (!b.priority && graph?.triggers.has(String(b.eventType)));
      if (trigger && graph && typeof b.correlationId === 'string')
        triggers.push({ ts: clock, service: String(b.service), correlationId: b.correlationId, graph });
      lines.push({
        ts: clock,
        service: String(b.service),
        level: 'error',
        message: `${b.eventType} ${b.errorCode}`,
        correlationId: b.correlationId as string,
      });
    } else labels.push(r.label);
  }
  const out: Result[] = [];
  for (const label of labels) {
    const t = triggers.find((x) => x.correlationId === label.correlationId);
    if (!t) continue;
    const g = t.graph;
    const closure = g.failureCandidates(t.service).map((c) => c.service);
    const inClosure = new Set(closure);
    const failing = g.resolve(t.service) ?? t.service;
    const sessionWarn = lines.find(
      (l) => l.correlationId === t.correlationId && (rank[l.level] ?? 0) >= rank.warn! && l.ts <= t.ts,
    );
    const start = Math.max(
      t.ts - MAX_WINDOW_MS,
      Math.min(t.ts - WINDOW_MS, (sessionWarn?.ts ?? t.ts) - SESSION_LEAD_MS),
    );
    const key = (l: Line) => `${g.resolve(l.service) ?? l.service}\u0000${messagePattern(l.message)}`;
    const seen = new Set(lines.filter((l) => l.ts < start && (rank[l.level] ?? 0) >= rank.warn!).map(key));
    const fresh = (min: number) =>
      lines.filter(
        (l) =>
          l.ts >= start &&
          l.ts < t.ts &&
          (rank[l.level] ?? 0) >= min &&
          !seen.has(key(l)) &&
          inClosure.has(g.resolve(l.service) ?? ''),
      );
    const errors = fresh(rank.error!).length ? fresh(rank.error!) : fresh(rank.warn!);
    const ranked: string[] = [];
    const add = (s: string) => !ranked.includes(s) && ranked.push(s);
    for (const l of errors.sort((a, b) => a.ts - b.ts)) add(g.resolve(l.service)!);
    const recent = changes.filter((c) => c.ts <= t.ts && c.ts >= t.ts - LOOKBACK_MS);
    const servicesOf = (c: ChangeRec) => [
      ...new Set([
        ...(c.service ? [g.resolve(c.service) ?? c.service] : []),
        ...c.files.flatMap((f) => g.servicesForFile(f)),
      ]),
    ];
    const touches = (c: ChangeRec, s: string) =>
      (g.services.get(s)?.functions ?? []).some((fn) => c.text.includes(fn)) ||
      c.files.some((f) => g.servicesForFile(f).includes(s));
    const changed = recent
      .flatMap((c) =>
        servicesOf(c)
          .filter((s) => inClosure.has(s))
          .map((s) => ({ c, s, touched: touches(c, s) })),
      )
      .sort((a, b) => Number(b.touched) - Number(a.touched) || b.c.ts - a.c.ts);
    for (const x of changed) add(x.s);
    add(failing);
    const top = ranked[0]!;
    const own = recent
      .filter((c) => servicesOf(c).includes(top))
      .sort((a, b) => Number(touches(b, top)) - Number(touches(a, top)) || b.ts - a.ts)[0];
    out.push({ file, label, ranked, change: own?.id ?? null });
  }
  return out;
}

const pct = (a: number, n: number) => (n ? `${((100 * a) / n).toFixed(1)} %` : '–');
for (const path of process.argv.slice(2)) {
  const results = caseFiles([path]).flatMap(baseline);
  const groups = new Map<string, Result[]>([['all', results]]);
  for (const r of results) {
    const k = r.label.faultClass ?? 'unclassified';
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  console.log(`\n${path}`);
  console.log('group                   n   top-1   top-3   change');
  for (const [k, rs] of [...groups].sort(([a], [b]) =>
    a === 'all' ? -1 : b === 'all' ? 1 : a < b ? -1 : 1,
  )) {
    const top1 = rs.filter((r) => r.ranked[0] === r.label.rootService).length;
    const top3 = rs.filter((r) => r.ranked.slice(0, 3).includes(r.label.rootService)).length;
    const withChange = rs.filter((r) => r.label.changeId);
    const hits = withChange.filter((r) => r.change === r.label.changeId).length;
    console.log(
      `${k.padEnd(22)} ${String(rs.length).padStart(2)}  ${pct(top1, rs.length).padStart(7)} ${pct(top3, rs.length).padStart(7)}   ${pct(hits, withChange.length)} of ${withChange.length}`,
    );
  }
}
