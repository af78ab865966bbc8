import {
  adjustmentsFor,
  type ContextKey,
  changedContexts,
  type LearntModel,
  type RankingAdjustments,
  sameAdjustments,
} from './model.ts';

/** A trigger with a known root cause that can be ranked again under any adjustments. */
export interface LabelledCase {
  id: string;
  source: 'feedback' | 'scenario';
  eventType: string;
  errorCode: string;
  expected: string;
  /** The top-ranked service under `adjustments`; null when the case cannot be ranked (event gone). */
  top(adjustments: RankingAdjustments | undefined): string | null;
}

export interface Tally {
  total: number;
  before: number;
  after: number;
}

export interface GateFigures {
  feedback: Tally;
  scenarios: Tally;
  changedContexts: ContextKey[];
  /** Cases whose result differs, for the record (at most 20). */
  flips: Array<{
    id: string;
    source: LabelledCase['source'];
    expected: string;
    before: string | null;
    after: string | null;
  }>;
}

export interface GateResult {
  accepted: boolean;
  reason: string;
  figures: GateFigures;
}

/**
 * Replays the labelled cases under the model in force and under the candidate and accepts the candidate
 * only when top-1 accuracy falls neither on the built-in scenarios nor on the reports with feedback.
 * Only cases whose adjustments the candidate changes can differ, so only those are ranked twice.
 */
export function runGate(cases: LabelledCase[], current: LearntModel, candidate: LearntModel): GateResult {
  const changed = changedContexts(current.contexts, candidate.contexts);
  const feedback: Tally = { total: 0, before: 0, after: 0 };
  const scenarios: Tally = { total: 0, before: 0, after: 0 };
  const flips: GateFigures['flips'] = [];
  for (const c of cases) {
    const was = adjustmentsFor(current, c.eventType, c.errorCode);
    const will = adjustmentsFor(candidate, c.eventType, c.errorCode);
    const before = c.top(was);
    if (before === null) continue;
    const after = sameAdjustments(was, will) ? before : c.top(will);
    const t = c.source === 'feedback' ? feedback : scenarios;
    t.total++;
    if (before === c.expected) t.before++;
    if (after === c.expected) t.after++;
    if (before !== after && flips.length < 20)
      flips.push({ id: c.id, source: c.source, expected: c.expected, before, after });
  }
  const figures: GateFigures = { feedback, scenarios, changedContexts: changed, flips };
  const pct = (n: number, d: number) => (d ? `${((100 * n) / d).toFixed(1)}%` : 'n/a');
  const line = (name: string, t: Tally) =>
    `${name} ${pct(t.before, t.total)} -> ${pct(t.after, t.total)} (n=${t.total})`;
  const summary = `${line('scenarios', scenarios)}, ${line('feedback', feedback)}`;
  if (scenarios.after < scenarios.before)
    return { accepted: false, reason: `lowers accuracy on the built-in scenarios: ${summary}`, figures };
  if (feedback.after < feedback.before)
    return { accepted: false, reason: `lowers accuracy on reports with feedback: ${summary}`, figures };
  return { accepted: true, reason: summary, figures };
}
