import type { Hypothesis, MapSuggestion, RelatedReport } from '../core/report.ts';
import type { SystemGraph } from '../map/graph.ts';
import { modelVersionOf } from '../core/learnt-model.ts';
import type { Adjustments, EvidenceBundle } from './evidence.ts';
import { levelRank } from '../core/log-line.ts';
import { buildFacts, type TriggerEvent } from './facts.ts';
import { baselineKey, seenInBaseline } from './novelty.ts';
import { score, toHypotheses } from './rank.ts';
import { cascade } from './rules/cascade.ts';
import { codeOrigin } from './rules/code-origin.ts';
import { changeRecency } from './rules/change-recency.ts';
import { changeIdentifier } from './rules/change-identifier.ts';
import { changeImmediate } from './rules/change-immediate.ts';
import { changeVersion } from './rules/change-version.ts';
import { runRule } from './rules/declarative.ts';
import type { Finding, RuleFamily } from './rules/finding.ts';
import { graphPrior } from './rules/graph-prior.ts';
import { logErrors } from './rules/log-errors.ts';
import { mentions } from './rules/mentions.ts';
import { onset } from './rules/onset.ts';
import { silentPeer } from './rules/silent-peer.ts';
import { subject } from './rules/subject.ts';
import type { Rule, RuleSet } from './rules/schema.ts';
import { summarize } from './summary.ts';

export interface AnalyzeInput {
  event: TriggerEvent;
  graph: SystemGraph;
  evidence: EvidenceBundle;
  rules: RuleSet;
  /** The gateway's clock at analysis time; windows are measured from event.timestamp, not from this. */
  now: number;
  lookbackMs: number;
  adjustments?: Adjustments;
}

export interface AnalyzeResult {
  hypotheses: Hypothesis[];
  summary: string;
  modelVersion: string;
  /** Rules or signals that threw; the others still ran. */
  ruleErrors: Array<{ ruleId: string; error: string }>;
  /** Things about the input worth logging (e.g. a station clock far ahead of the gateway's). */
  notes: string[];
  /** Edges the map may be missing, for hypotheses outside the failing service's closure. */
  mapSuggestions: MapSuggestion[];
  /** Earlier diagnoses this failure's evidence links to (a cascade). */
  relatedReports: RelatedReport[];
}

/** The structural signals, each a rule family with its own id. */
export const families: readonly RuleFamily[] = [
  graphPrior,
  logErrors,
  onset,
  mentions,
  changeRecency,
  changeVersion,
  changeImmediate,
  changeIdentifier,
  cascade,
  silentPeer,
  codeOrigin,
  subject,
];

/** Ranks root-cause hypotheses for one trigger. Pure: same input, same output. */
export function analyze(input: AnalyzeInput): AnalyzeResult {
  let facts = buildFacts(input);
  let byRule = runRules(facts, input.rules.rules);
  const pointedAt = probeOutside(facts, byRule, input.evidence);
  if (pointedAt.size) {
    facts = buildFacts({ ...input, pointedAt });
    byRule = runRules(facts, input.rules.rules);
  }
  const findings: Finding[] = [];
  const ruleErrors: AnalyzeResult['ruleErrors'] = [];
  for (const family of families) {
    try {
      findings.push(...family.run(facts, input.rules.rules));
    } catch (err) {
      ruleErrors.push({ ruleId: family.id, error: String(err) });
    }
  }
  for (const r of byRule) {
    if (r.error !== undefined) ruleErrors.push({ ruleId: r.rule.id, error: r.error });
    else findings.push(...r.findings);
  }
  const scored = score(facts, findings, input.adjustments);
  const hypotheses = toHypotheses(facts, scored);
  const summary = summarize(facts, hypotheses, scored);
  const modelVersion = modelVersionOf(input.rules.version, input.adjustments);
  const notes =
    input.event.timestamp > input.now + 60_000
      ? ['event timestamp is more than 60 s ahead of the gateway clock: its windows reach into the future']
      : [];
  return {
    hypotheses,
    summary,
    modelVersion,
    ruleErrors,
    notes,
    mapSuggestions: suggestions(facts, hypotheses),
    relatedReports: facts.linked.map((d) => ({
      reportId: d.reportId,
      eventType: d.eventType,
      service: d.service,
      rootService: d.root,
      createdAt: d.createdAt,
    })),
  };
}

/**
 * A domain rule that names a subsystem ("certificate is not yet valid" -> the clock) when no
 * candidate in the closure is that subsystem, but a service elsewhere in the map is: the map may be
 * missing the edge, so that service is considered too. Only rules that judge the trigger or the
 * failing service's own lines can speak for a service whose logs were not read.
 */
type RuleRun = { rule: Rule; findings: Finding[]; error?: undefined } | { rule: Rule; error: string };

/** Each YAML rule against the facts; one that throws is recorded and the others still run. */
function runRules(facts: ReturnType<typeof buildFacts>, rules: readonly Rule[]): RuleRun[] {
  return rules.map((rule) => {
    try {
      return { rule, findings: runRule(facts, rule) };
    } catch (err) {
      return { rule, error: String(err) };
    }
  });
}

function probeOutside(
  facts: ReturnType<typeof buildFacts>,
  byRule: readonly RuleRun[],
  evidence: EvidenceBundle,
): Map<string, string> {
  const out = new Map<string, string>();
  const elsewhere = [...facts.graph.services.keys()].filter((s) => !facts.candidate.has(s));
  if (!elsewhere.length) return out;
  // Outside services with a warning in the window that their own baseline does not explain.
  const seen = seenInBaseline(evidence.history, facts.graph);
  const anomalous = new Set<string>();
  for (const l of facts.logs) {
    if (l.candidate || levelRank[l.level] < levelRank.warn || l.ts < facts.windowStart) continue;
    const s = facts.graph.resolve(l.service);
    if (s && !seen.has(baselineKey(s, l.pattern))) anomalous.add(s);
  }
  for (const run of byRule) {
    if (run.error !== undefined) continue; // recorded by the main pass
    const { rule } = run;
    const { when, target } = rule.spec;
    if (when.change || when.log?.from === 'target' || !['any', 'dependency'].includes(target.relation))
      continue;
    if (rule.weight <= 0) continue;
    // The subsystem the rule names: absent from the closure, or present but quiet there while a
    // service of that kind elsewhere in the map warns.
    const matched = run.findings.filter((f) => f.weight > 0).map((f) => f.service);
    const quiet = matched.every((m) =>
      (facts.patterns.get(m) ?? []).every(
        (p) => p.novelty === 'chronic' || levelRank[p.level] < levelRank.warn,
      ),
    );
    let outsideFindings: Finding[];
    try {
      outsideFindings = runRule(facts, rule, elsewhere);
    } catch {
      continue; // left out of the probe; the main pass records errors on the candidates
    }
    for (const f of outsideFindings)
      if (f.weight > 0 && !out.has(f.service) && (!matched.length || (quiet && anomalous.has(f.service))))
        out.set(
          f.service,
          `rule ${rule.id}: ${f.reason}${anomalous.has(f.service) ? ', and it warned in the window' : ''}`,
        );
  }
  return out;
}

/** Confidence an outside hypothesis needs before its missing edge is proposed. */
const SUGGEST_MIN = 0.15;

/** For each well-supported hypothesis outside the declared closure, the edge that would have put it there. */
function suggestions(facts: ReturnType<typeof buildFacts>, hypotheses: Hypothesis[]): MapSuggestion[] {
  const out: MapSuggestion[] = [];
  const seen = new Set<string>();
  for (const h of hypotheses.slice(0, 3)) {
    const o = facts.outside.get(h.service);
    if (!o || h.confidence < SUGGEST_MIN) continue;
    // A candidate that depends on the failing service already (a station its CSMS refused) needs no
    // edge back: that would be a cycle.
    if (
      facts.graph.services.has(o.suggest.dependsOn) &&
      facts.graph.candidates(o.suggest.dependsOn).some((c) => c.service === o.suggest.service)
    )
      continue;
    const key = `${o.suggest.service}->${o.suggest.dependsOn}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({
      ...o.suggest,
      reason: `${h.service} (${Math.round(h.confidence * 100)}%) is outside the map's dependencies of ${facts.failing}: ${o.why}${
        o.mapped ? '' : ` (${o.suggest.dependsOn} is not in the map yet)`
      }`,
    });
  }
  return out;
}
