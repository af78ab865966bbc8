import { type AnalyzeInput, analyze } from '../../../src/analyze/engine.ts';
import type { LabelledReport } from '../../../src/learn/gate.ts';
import { canonical, type Adjustments } from '../../../src/learn/model.ts';

/** A trigger with its full analysis input and the service that really was the root cause. */
export interface ReplayInput {
  id: string;
  expected: string;
  input: AnalyzeInput;
}

/** The engine's hypotheses for a replay input under `adjustments` (pure). */
export const rankReplay = (r: ReplayInput, adjustments: Adjustments | undefined) =>
  analyze({ ...r.input, adjustments }).hypotheses;

/**
 * Turns a replay input into a gate case that ranks with the real engine under any adjustments. Results
 * are remembered per adjustments, so a gate run ranks each case at most once per model it sees.
 */
export function replayCase(r: ReplayInput): LabelledReport {
  const memo = new Map<string, string | null>();
  return {
    id: r.id,
    eventType: r.input.event.eventType,
    errorCode: r.input.event.errorCode,
    expected: r.expected,
    top: (adjustments) => {
      const key = canonical(adjustments);
      let top = memo.get(key);
      if (top === undefined) {
        top = rankReplay(r, adjustments)[0]?.service ?? null;
        memo.set(key, top);
      }
      return top;
    },
  };
}
