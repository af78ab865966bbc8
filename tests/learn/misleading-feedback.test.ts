import { describe, expect, test } from 'bun:test';
import { baseModel } from '../../src/learn/model.ts';
import { accuracy, learnOffline, type OfflineFeedback } from '../../src/learn/offline.ts';
import { rankReplay } from '../../src/learn/replay.ts';
import { builtInScenarios } from '../../src/learn/scenario-inputs.ts';

// The gate's built-in labelled scenarios (the eval generator, fixed seed, modest count).
const gate = builtInScenarios(7, 40);
const base = accuracy(baseModel, gate);

/**
 * Feedback built to mislead: on triggers the engine ranks correctly, "engineers" name the runner-up
 * instead, a plausible wrong answer on the map's path that the learner can reach within its bounds.
 */
const lies: OfflineFeedback[] = gate
  .map((c) => ({ c, ranked: rankReplay(c, undefined) }))
  .filter(({ c, ranked }) => ranked[0]?.service === c.expected && ranked[1])
  .slice(0, 16)
  .map(({ c, ranked }) => ({ case: c, rootService: ranked[1]!.service }));

describe('feedback built to mislead', () => {
  test('would lower accuracy if nothing checked it', async () => {
    expect(lies.length).toBeGreaterThanOrEqual(10);
    const { model } = await learnOffline({ feedback: lies, gateScenarios: gate, ungated: true });
    expect(accuracy(model, gate).correct).toBeLessThan(base.correct);
  }, 30_000);

  test('cannot lower accuracy past the gate: the lies are refused, the figures kept', async () => {
    const { model, decisions } = await learnOffline({ feedback: lies, gateScenarios: gate });
    const after = accuracy(model, gate);
    expect(after.correct).toBeGreaterThanOrEqual(base.correct);
    const refused = decisions.filter((d) => d.status === 'refused');
    expect(refused.length).toBeGreaterThan(0);
    for (const d of refused) {
      expect(d.reason).toMatch(/^lowers accuracy on the built-in scenarios/);
      expect(d.figures.scenarios.after).toBeLessThan(d.figures.scenarios.before);
    }
    // Every decision that did take effect kept the scenarios' accuracy at least where it was.
    for (const d of decisions.filter((x) => x.status !== 'refused'))
      expect(d.figures.scenarios.after).toBeGreaterThanOrEqual(d.figures.scenarios.before);
  }, 30_000);

  test('honest corrections of wrong rankings pass the gate and raise accuracy', async () => {
    const corrections = gate
      .filter((c) => rankReplay(c, undefined)[0]?.service !== c.expected)
      .map((c) => ({ case: c, rootService: c.expected }));
    expect(corrections.length).toBeGreaterThan(0);
    const { model, decisions } = await learnOffline({ feedback: corrections, gateScenarios: gate });
    expect(decisions.some((d) => d.status !== 'refused')).toBe(true);
    expect(accuracy(model, gate).correct).toBeGreaterThan(base.correct);
  }, 30_000);
});
