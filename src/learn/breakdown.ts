import { type AnalyzeInput, families } from '../analyze/engine.ts';
import { buildFacts } from '../analyze/facts.ts';
import { score, UNEXPLAINED } from '../analyze/rank.ts';
import { runRule } from '../analyze/rules/declarative.ts';
import type { Finding } from '../analyze/rules/finding.ts';
import type { RankedSnapshot } from '../store/feedback-store.ts';

/**
 * Every candidate's unadjusted score split by rule id, as the engine computes it (the same facts,
 * families, YAML rules and score() that analyze() runs). The learner needs this split: a report only
 * carries its top hypotheses and their evidence, not the score each rule contributed. Pure.
 */
export function scoreBreakdown(input: AnalyzeInput): RankedSnapshot[] {
  const facts = buildFacts(input);
  const findings: Finding[] = [];
  for (const family of families) {
    try {
      findings.push(...family.run(facts, input.rules.rules));
    } catch {
      // analyze() records the failure; a missing family just contributes nothing here either.
    }
  }
  for (const rule of input.rules.rules) {
    try {
      findings.push(...runRule(facts, rule));
    } catch {
      // as above
    }
  }
  const scored = score(facts, findings).filter((s) => s.score > 0);
  // Confidences as toHypotheses() computes them, over every candidate rather than the top five.
  const total = scored.reduce((n, s) => n + s.score, 0) + UNEXPLAINED;
  return scored.map((s, i) => {
    const signals: Record<string, number> = {};
    for (const f of [...s.findings, ...(s.change && s.change.total > 0 ? s.change.findings : [])])
      signals[f.ruleId] = (signals[f.ruleId] ?? 0) + f.weight;
    return { service: s.service, rank: i + 1, confidence: s.score / total, signals };
  });
}
