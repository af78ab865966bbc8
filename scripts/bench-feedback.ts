#!/usr/bin/env bun
/**
 * Feedback-learning benchmark (figures for docs/ui.md; not a test). Engineers give feedback (the true
 * root cause) on a share of the scenarios of one seed, one report after another, through the real
 * learner and gate; top-1 accuracy is then measured on scenarios of other seeds, before and after.
 *   npx bun scripts/bench-feedback.ts [--train-seed 1] [--share 0.5] [--count 300] [--eval-seeds 2,3,4]
 *                                     [--gate-seed 7] [--gate-count 60]
 */
import { parseArgs } from 'node:util';
import { generateScenarios } from '../src/eval/generator.ts';
import { createRng } from '../src/eval/prng.ts';
import { accuracy, learnOffline } from '../src/learn/offline.ts';
import { baseModel } from '../src/learn/model.ts';
import { builtInScenarios, scenarioInputs } from '../src/learn/scenario-inputs.ts';

const { values } = parseArgs({
  options: {
    'train-seed': { type: 'string', default: '1' },
    share: { type: 'string', default: '0.5' },
    count: { type: 'string', default: '300' },
    'eval-seeds': { type: 'string', default: '2,3,4' },
    'gate-seed': { type: 'string', default: '7' },
    'gate-count': { type: 'string', default: '60' },
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
const gate = builtInScenarios(Number(values['gate-seed']), Number(values['gate-count']));
const { model, decisions } = await learnOffline({
  feedback: given.map((c) => ({ case: c, rootService: c.expected })),
  gateScenarios: gate,
});
const accepted = decisions.filter((d) => d.status !== 'refused').length;
const refused = decisions.filter((d) => d.status === 'refused').length;

console.log(`feedback: ${given.length} of ${train.length} scenarios of seed ${trainSeed} (share ${share})`);
console.log(
  `gate: seed ${values['gate-seed']}, ${gate.length} scenarios; ${accepted} accepted, ${refused} refused; model ${model.version}, ${Object.keys(model.contexts).length} contexts`,
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
