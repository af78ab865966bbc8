import type { Report } from '../core/report.ts';
import type { TriggerResult } from './replayer.ts';

/** How the service answered one labelled trigger of a recorded case. */
export interface Outcome {
  /** The case file and the trigger's line in it. */
  caseFile: string;
  line: number;
  title: string;
  faultClass: string;
  rootService: string;
  expectedChange: string | null;
  reported: boolean;
  top1: boolean;
  top3: boolean;
  /** Null when the fault is not change-caused (no change to identify). */
  changeHit: boolean | null;
  /** Services and confidences of the hypotheses, best first. */
  predicted: Array<{ service: string; confidence: number }>;
  predictedChange: string | null;
  latencyMs: number | null;
  wallMs: number;
}

export interface Figures {
  n: number;
  reported: number;
  top1: number;
  top3: number;
  changeN: number;
  changeHits: number;
  /** Mean multi-class Brier score over the triggers (0 is perfect; see brier()). */
  brier: number | null;
  latencyP50: number | null;
  latencyP99: number | null;
}

/** One decile of stated confidence: how often hypotheses shown in it were right. */
export interface ReliabilityBin {
  from: number;
  to: number;
  n: number;
  meanConfidence: number | null;
  accuracy: number | null;
}

const ranked = (report: Report | null) => [...(report?.hypotheses ?? [])].sort((a, b) => a.rank - b.rank);

/** Scores one trigger against its label; null when the trigger has no label. */
export function scoreTrigger(caseFile: string, r: TriggerResult): Outcome | null {
  if (!r.label) return null;
  const hs = ranked(r.report);
  const top = hs[0];
  const expected = r.label.changeId ?? null;
  const predictedChange = top?.change?.sha ?? top?.change?.id ?? null;
  return {
    caseFile,
    line: r.line,
    title: r.label.title ?? r.label.scenario ?? '',
    faultClass: r.label.faultClass ?? 'unclassified',
    rootService: r.label.rootService,
    expectedChange: expected,
    reported: r.report !== null,
    top1: top?.service === r.label.rootService,
    top3: hs.slice(0, 3).some((h) => h.service === r.label?.rootService),
    changeHit:
      expected === null ? null : !!top?.change && (top.change.id === expected || top.change.sha === expected),
    predicted: hs.map((h) => ({ service: h.service, confidence: h.confidence })),
    predictedChange,
    latencyMs: r.report?.latencyMs ?? null,
    wallMs: r.wallMs,
  };
}

/**
 * Multi-class Brier score of one report: the hypotheses' confidences plus the remaining mass for
 * "none of these", against the one true answer. 0 is perfect, 2 is certain and wrong.
 */
export function brier(o: Outcome): number {
  let sum = 0;
  let mass = 0;
  let hit = false;
  for (const p of o.predicted) {
    const y = p.service === o.rootService ? 1 : 0;
    if (y) hit = true;
    sum += (p.confidence - y) ** 2;
    mass += p.confidence;
  }
  const none = Math.max(0, 1 - mass);
  return sum + (none - (hit ? 0 : 1)) ** 2;
}

const quantile = (xs: number[], q: number): number | null => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
};

export function figures(outcomes: Outcome[]): Figures {
  const withChange = outcomes.filter((o) => o.changeHit !== null);
  const reported = outcomes.filter((o) => o.reported);
  const latencies = reported.map((o) => o.latencyMs).filter((x): x is number => x !== null);
  return {
    n: outcomes.length,
    reported: reported.length,
    top1: outcomes.filter((o) => o.top1).length,
    top3: outcomes.filter((o) => o.top3).length,
    changeN: withChange.length,
    changeHits: withChange.filter((o) => o.changeHit).length,
    brier: outcomes.length ? outcomes.reduce((s, o) => s + brier(o), 0) / outcomes.length : null,
    latencyP50: quantile(latencies, 0.5),
    latencyP99: quantile(latencies, 0.99),
  };
}

/** Every shown hypothesis is a statement "this is the root, with probability p": binned by decile. */
export function reliability(outcomes: Outcome[]): ReliabilityBin[] {
  const bins = Array.from({ length: 10 }, (_, i) => ({
    from: i / 10,
    to: (i + 1) / 10,
    n: 0,
    c: 0,
    right: 0,
  }));
  for (const o of outcomes)
    for (const p of o.predicted) {
      const b = bins[Math.min(9, Math.floor(p.confidence * 10))]!;
      b.n++;
      b.c += p.confidence;
      if (p.service === o.rootService) b.right++;
    }
  return bins.map((b) => ({
    from: b.from,
    to: b.to,
    n: b.n,
    meanConfidence: b.n ? b.c / b.n : null,
    accuracy: b.n ? b.right / b.n : null,
  }));
}

export function summarise(outcomes: Outcome[]): {
  overall: Figures;
  byClass: Record<string, Figures>;
  reliability: ReliabilityBin[];
} {
  const classes = [...new Set(outcomes.map((o) => o.faultClass))].sort();
  return {
    overall: figures(outcomes),
    byClass: Object.fromEntries(classes.map((c) => [c, figures(outcomes.filter((o) => o.faultClass === c))])),
    reliability: reliability(outcomes),
  };
}
