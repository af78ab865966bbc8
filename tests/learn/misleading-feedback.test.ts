import { describe, expect, test } from 'bun:test';
import { accuracy, learnOffline, type OfflineFeedback } from '../../packages/scenarios/src/learn-offline.ts';
import { type ReplayInput, rankReplay } from '../../packages/scenarios/src/learn-replay.ts';
import { scenarioInputs } from '../../packages/scenarios/src/learn-inputs.ts';
import { generateScenarios } from '../../packages/scenarios/src/generator.ts';
import type { Scenario } from '../../packages/scenarios/src/types.ts';
import { baseModel } from '../../src/learn/model.ts';

/**
 * A station's history: failures that recur (the same station map, the same evidence, a new trigger
 * each time). The gate judges feedback only on the station's own labelled reports, leave-one-out;
 * the figures here are measured on further recurrences that nobody gave feedback on (held out).
 */
const generated = generateScenarios({ seed: 7, count: 120 });
const first = scenarioInputs(generated);
const recur = (scenarios: Scenario[], k: number): ReplayInput[] =>
  scenarioInputs(
    scenarios.map((s) => ({
      ...s,
      id: `${s.id}-again-${k}`,
      event: { ...s.event, correlationId: `${s.event.correlationId}-again-${k}` },
    })),
  );
const rankedRight = generated.filter((s, i) => {
  const r = rankReplay(first[i] as ReplayInput, undefined);
  return r[0]?.service === s.label.rootService && r[1];
});
const rankedWrong = generated.filter(
  (s, i) => rankReplay(first[i] as ReplayInput, undefined)[0]?.service !== s.label.rootService,
);

/** On failures the engine ranks correctly: one honest confirmation each, then a lie naming the runner-up. */
const right = rankedRight.slice(0, 12);
const confirmed = recur(right, 1).map((c) => ({ case: c, rootService: c.expected }));
const lies: OfflineFeedback[] = recur(right, 2).map((c) => ({
  case: c,
  rootService: rankReplay(c, undefined)[1]!.service,
}));
const heldOut = recur(right, 3);

describe('feedback built to mislead', () => {
  test('would lower accuracy on held-out reports if nothing checked it', async () => {
    expect(lies.length).toBe(12);
    expect(accuracy(baseModel, heldOut).correct).toBe(12);
    const { model } = await learnOffline({ feedback: [...confirmed, ...lies], ungated: true });
    expect(accuracy(model, heldOut).correct).toBeLessThan(12);
  }, 60_000);

  test('cannot lower accuracy on held-out reports past the gate: the lies are refused, the figures kept', async () => {
    const { model, decisions } = await learnOffline({ feedback: [...confirmed, ...lies] });
    expect(accuracy(model, heldOut).correct).toBe(12);
    const refused = decisions.filter((d) => d.status === 'refused');
    expect(refused.length).toBeGreaterThan(0);
    for (const d of refused) {
      expect(d.reason).toMatch(/^lowers accuracy on the station's labelled reports/);
      expect(d.figures.reports.after).toBeLessThan(d.figures.reports.before);
    }
    for (const d of decisions.filter((x) => x.status !== 'refused'))
      expect(d.figures.reports.after).toBeGreaterThanOrEqual(d.figures.reports.before);
  }, 60_000);

  test('honest corrections of wrong rankings pass the gate and raise accuracy on held-out recurrences', async () => {
    expect(rankedWrong.length).toBeGreaterThan(0);
    const corrections = recur(rankedWrong, 1).map((c) => ({ case: c, rootService: c.expected }));
    const later = recur(rankedWrong, 2);
    const before = accuracy(baseModel, later).correct;
    const { model, decisions } = await learnOffline({ feedback: corrections });
    expect(decisions.some((d) => d.status !== 'refused')).toBe(true);
    expect(accuracy(model, later).correct).toBeGreaterThan(before);
  }, 60_000);
});
