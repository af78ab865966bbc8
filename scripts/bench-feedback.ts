#!/usr/bin/env bun
/**
 * Feedback-learning benchmark (figures for docs/ui.md; not a test). Engineers give feedback (the true
 * root cause) on a share of the scenarios of one seed, one report after another, through the real
 * learner and gate; top-1 accuracy is then measured on scenarios of other seeds, before and after.
 *   npx bun scripts/bench-feedback.ts [--train-seed 1] [--share 0.5] [--count 300] [--eval-seeds 2,3,4,5]
 *                                     [--mislead] [--ungated]
 * The gate judges each feedback on the feedback given before it (the "station's" labelled reports).
 * --mislead: the feedback names the runner-up instead of the true cause (feedback built to mislead);
 * --ungated: every learnt adjustment takes effect without the gate (to see what the gate prevents).
 */
import { parseArgs } from 'node:util';
import { generateScenarios } from '../packages/scenarios/src/generator.ts';
import { scenarioInputs } from '../packages/scenarios/src/learn-inputs.ts';
import { accuracy, learnOffline } from '../packages/scenarios/src/learn-offline.ts';
import { rankReplay } from '../packages/scenarios/src/learn-replay.ts';
import { createRng } from '../packages/scenarios/src/prng.ts';
import { baseModel } from '../src/learn/model.ts';

const { values } = parseArgs({
  options: {
    'train-seed': { type: 'string', default: '1' },
    share: { type: 'string', default: '0.5' },
    count: { type: 'string', default: '300' },
    'eval-seeds': { type: 'string', default: '2,3,4,5' },
    mislead: { type: 'boolean', default: false },
    ungated: { type: 'boolean', default: false },
  },
});
const trainSeed = Number(values['train-seed']);
const share = Number(values.share);
const count = Number(values.count);
const evalSeeds = values['eval-seeds']!.split(',').map(Number);
const pct = (a: { correct: number; total: number }) => `${((100 * a.correct) / a.total).toFixed(1)}%`;

const t0 = performance.now();
const train = scenarioInputs(generateScenarios({ seed: trainSeed, count }));
const rng = createRng(trainSeed * 7919 + 1);
const given = rng.shuffle(train).slice(0, Math.round(train.length * share));
const liar = (c: (typeof given)[number]) => {
  const ranked = rankReplay(c, undefined);
  return ranked.find((h) => h.service !== c.expected)?.service ?? c.expected;
};
const { model, decisions } = await learnOffline({
  feedback: given.map((c) => ({ case: c, rootService: values.mislead ? liar(c) : c.expected })),
  ungated: values.ungated,
});
const accepted = decisions.filter((d) => d.status !== 'refused').length;
const refused = decisions.filter((d) => d.status === 'refused').length;

console.log(
  `feedback: ${given.length} of ${train.length} scenarios of seed ${trainSeed} (share ${share})${values.mislead ? ', built to mislead' : ''}${values.ungated ? ', NO gate' : ''}`,
);
console.log(
  `gate: the feedback given so far, leave-one-out; ${accepted} accepted, ${refused} refused; model ${model.version}, ${Object.keys(model.contexts).length} contexts`,
);
console.log(
  `training seed ${trainSeed} (all ${train.length}): ${pct(accuracy(baseModel, train))} -> ${pct(accuracy(model, train))}`,
);
let before = { correct: 0, total: 0 };
let after = { correct: 0, total: 0 };
for (const seed of evalSeeds) {
  const cases = scenarioInputs(generateScenarios({ seed, count }));
  const b = accuracy(baseModel, cases);
  const a = accuracy(model, cases);
  before = { correct: before.correct + b.correct, total: before.total + b.total };
  after = { correct: after.correct + a.correct, total: after.total + a.total };
  console.log(`held-out seed ${seed} (${cases.length}): ${pct(b)} -> ${pct(a)}`);
}
console.log(
  `held-out seeds ${evalSeeds.join(',')}: ${pct(before)} -> ${pct(after)} (${before.correct} -> ${after.correct} of ${before.total})`,
);
console.log(`time ${((performance.now() - t0) / 1000).toFixed(1)} s`);
