import type { Report } from '../core/report.ts';
import type { FaultClass, Scenario } from './types.ts';

/** How the service answered one scenario. */
export interface Outcome {
  scenario: string;
  template: string;
  faultClass: FaultClass;
  rootService: string;
  failingService: string;
  expectedChange: string | null;
  reported: boolean;
  top1: boolean;
  top3: boolean;
  /** Null when the fault is not change-caused (no change to identify). */
  changeHit: boolean | null;
  /** Services of the first three hypotheses, best first. */
  predicted: string[];
  predictedChange: string | null;
  latencyMs: number | null;
  wallMs: number;
  traits: string[];
}

export interface Figures {
  n: number;
  reported: number;
  top1: number;
  top3: number;
  changeN: number;
  changeHits: number;
  latencyP50: number | null;
  latencyP99: number | null;
  wallP50: number | null;
  wallP99: number | null;
}

/** Scores one scenario against the report the service produced for it (null: no report). */
export function scoreScenario(s: Scenario, report: Report | null, wallMs: number): Outcome {
  const ranked = [...(report?.hypotheses ?? [])].sort((a, b) => a.rank - b.rank);
  const predicted = ranked.slice(0, 3).map((h) => h.service);
  const top = ranked[0];
  const predictedChange = top?.change?.sha ?? top?.change?.id ?? null;
  const expected = [s.label.changeId, s.label.changeSha].filter((x): x is string => !!x);
  const changeHit =
    s.label.changeId === null
      ? null
      : !!top?.change && expected.some((id) => id === top.change?.id || id === top.change?.sha);
  return {
    scenario: s.id,
    template: s.template,
    faultClass: s.label.faultClass,
    rootService: s.label.rootService,
    failingService: s.label.failingService,
    expectedChange: s.label.changeId,
    reported: report !== null,
    top1: predicted[0] === s.label.rootService,
    top3: predicted.includes(s.label.rootService),
    changeHit,
    predicted,
    predictedChange,
    latencyMs: report?.latencyMs ?? null,
    wallMs,
    traits: s.traits,
  };
}

/** Nearest-rank percentile of a list (null when empty). */
export function percentile(values: number[], p: number): number | null {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? null;
}

/** Aggregates outcomes into accuracy and latency figures. */
export function figures(outcomes: Outcome[]): Figures {
  const latencies = outcomes.flatMap((o) => (o.latencyMs === null ? [] : [o.latencyMs]));
  const walls = outcomes.filter((o) => o.reported).map((o) => o.wallMs);
  const changeCases = outcomes.filter((o) => o.changeHit !== null);
  return {
    n: outcomes.length,
    reported: outcomes.filter((o) => o.reported).length,
    top1: outcomes.filter((o) => o.top1).length,
    top3: outcomes.filter((o) => o.top3).length,
    changeN: changeCases.length,
    changeHits: changeCases.filter((o) => o.changeHit).length,
    latencyP50: percentile(latencies, 50),
    latencyP99: percentile(latencies, 99),
    wallP50: percentile(walls, 50),
    wallP99: percentile(walls, 99),
  };
}

/** Figures overall, per fault class and per template. */
export function summarise(outcomes: Outcome[]) {
  const group = (key: (o: Outcome) => string) => {
    const m = new Map<string, Outcome[]>();
    for (const o of outcomes) m.set(key(o), [...(m.get(key(o)) ?? []), o]);
    return Object.fromEntries(
      [...m.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, figures(v)]),
    );
  };
  return {
    overall: figures(outcomes),
    byClass: group((o) => o.faultClass) as Partial<Record<FaultClass, Figures>>,
    byTemplate: group((o) => o.template),
  };
}
