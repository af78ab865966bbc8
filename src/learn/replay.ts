import { type AnalyzeInput, analyze } from '../analyze/engine.ts';
import type { LabelledCase } from './gate.ts';

/** A trigger with its full analysis input and the service that really was the root cause. */
export interface ReplayInput {
  id: string;
  source: LabelledCase['source'];
  expected: string;
  input: AnalyzeInput;
}

/** Turns a replay input into a gate case that ranks with the real engine under any adjustments (pure). */
export function replayCase(r: ReplayInput): LabelledCase {
  return {
    id: r.id,
    source: r.source,
    eventType: r.input.event.eventType,
    errorCode: r.input.event.errorCode,
    expected: r.expected,
    top: (adjustments) => analyze({ ...r.input, adjustments }).hypotheses[0]?.service ?? null,
  };
}
