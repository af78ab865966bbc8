import { expect, test } from 'bun:test';
import { runEval } from '../src/harness.ts';
import { faultClasses } from '../src/types.ts';

/**
 * The dev CI gate: 300 labelled scenarios of the dev seed (1) through the real pipeline over HTTP,
 * scored by the product's own scoring (src/replay/score.ts), as `tracepulse eval` scores the streams
 * the generator writes. Held-out seeds (2..5) are measured in docs/accuracy.md, never here.
 */
test('top-1 root-service accuracy on the dev seed is at least 80%', async () => {
  const result = await runEval({ seed: 1, count: 300, env: {} });
  const { overall, byClass } = result.summary;
  const pct = (a: number, n: number) => `${((100 * a) / n).toFixed(1)}%`;
  const line = (name: string, f: typeof overall) =>
    `${name}: top-1 ${pct(f.top1, f.n)}, top-3 ${pct(f.top3, f.n)}, change ${f.changeN ? pct(f.changeHits, f.changeN) : '-'} (n=${f.n})`;
  // Printed so a failing gate says where accuracy was lost.
  console.log([line('all', overall), ...faultClasses.map((c) => line(c, byClass[c] ?? overall))].join('\n'));
  expect(overall.n).toBe(300);
  expect(overall.reported).toBe(overall.n);
  expect(overall.top1 / overall.n).toBeGreaterThanOrEqual(0.8);
}, 180_000);
