import type { GateFigures, Tally } from '../core/learnt-model.ts';
import {
  adjustmentsFor,
  changedContexts,
  type LearntModel,
  type Adjustments,
  sameAdjustments,
} from './model.ts';

export type { GateFigures, Tally } from '../core/learnt-model.ts';

/**
 * One of the station's own labelled reports (a confirmed or corrected report): its stored trigger,
 * ranked again with the evidence in the store (analyzeStored) under any adjustments.
 */
export interface LabelledReport {
  id: string;
  eventType: string;
  errorCode: string;
  /** The root cause the engineer gave (the confirmed top hypothesis or the correction). */
  expected: string;
  /** The top-ranked service under `adjustments`; null when the trigger cannot be ranked (event gone). */
  top(adjustments: Adjustments | undefined): string | null;
}

export interface GateResult {
  accepted: boolean;
  reason: string;
  figures: GateFigures;
}

/**
 * Judges a candidate on the station's own labelled reports, leave-one-out: each report the candidate
 * can change is ranked under the model in force ("before") and under the candidate learnt from all
 * the other feedback, without that report ("after", `heldOut(report)`). The candidate is accepted only
 * if top-1 accuracy does not fall, so feedback counts only in so far as it predicts reports it has not
 * seen: a lie that contradicts what the station's other reports say is refused, and feedback is never
 * judged on anything but the station's own history. Reports whose adjustments the candidate does not
 * change cannot differ and are not ranked.
 */
export function runGate(
  reports: LabelledReport[],
  current: LearntModel,
  candidate: LearntModel,
  heldOut: (report: LabelledReport) => LearntModel = () => candidate,
): GateResult {
  const changed = changedContexts(current.contexts, candidate.contexts);
  const tally: Tally = { total: 0, before: 0, after: 0 };
  const flips: GateFigures['flips'] = [];
  for (const r of reports) {
    const was = adjustmentsFor(current, r.eventType, r.errorCode);
    if (sameAdjustments(was, adjustmentsFor(candidate, r.eventType, r.errorCode))) continue;
    const before = r.top(was);
    if (before === null) continue;
    const will = adjustmentsFor(heldOut(r), r.eventType, r.errorCode);
    const after = sameAdjustments(was, will) ? before : r.top(will);
    tally.total++;
    if (before === r.expected) tally.before++;
    if (after === r.expected) tally.after++;
    if (before !== after && flips.length < 20) flips.push({ id: r.id, expected: r.expected, before, after });
  }
  const figures: GateFigures = { reports: tally, changedContexts: changed, flips };
  const pct = (n: number, d: number) => (d ? `${((100 * n) / d).toFixed(1)}%` : 'n/a');
  const summary = `labelled reports (leave-one-out) ${pct(tally.before, tally.total)} -> ${pct(tally.after, tally.total)} (n=${tally.total})`;
  if (tally.after < tally.before)
    return {
      accepted: false,
      reason: `lowers accuracy on the station's labelled reports: ${summary}`,
      figures,
    };
  return { accepted: true, reason: summary, figures };
}
