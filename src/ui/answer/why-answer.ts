import type { Evidence, Hypothesis } from '../../core/report.ts';
import { signals } from '../../core/signals.ts';
import type { ParsedQuestion } from './intent.ts';

export { signalOf, signals } from '../../core/signals.ts';
import { type Answer, type AnswerFacts, type Citation, citer } from './types.ts';

export function evidenceCitation(e: Evidence): Citation {
  const ref =
    (typeof e.changeId === 'string' && e.changeId) ||
    (typeof e.sha === 'string' && e.sha) ||
    (typeof e.ruleId === 'string' && e.ruleId) ||
    e.text.slice(0, 80);
  return { kind: e.kind, ref: `${e.kind}:${ref}`, text: e.text };
}

const pct = (c: number) => `${Math.round(c * 100)}%`;

type Cite = (c: Citation) => string;
type Signals = ReturnType<typeof signals>;

/** "Why does X rank above Y?": the signals that scored for each, and what only one of them had. */
export function answerWhy(f: AnswerFacts, q: ParsedQuestion): Answer {
  const hs = f.report.hypotheses;
  const { cite, citations } = citer();
  const answer = (text: string): Answer => ({ intent: 'why', text, citations, answeredBy: 'local' });
  if (!hs.length) return answer('This report has no hypotheses to compare.');
  const [a, b] = servicesAsked(hs, q);
  const ha = hs.find((h) => h.service === a);
  if (!ha) return answer(notRanked(f, cite, a));
  const hb = b ? hs.find((h) => h.service === b) : undefined;
  if (!hb) {
    const out = [`${ha.service} is ranked #${ha.rank} at ${pct(ha.confidence)}.`];
    if (b) out.push(notRanked(f, cite, b));
    out.push('What scored for it:', ...describeSignals(cite, ha, signals(ha)));
    return answer(out.join('\n'));
  }
  const [hi, lo] = ha.rank <= hb.rank ? [ha, hb] : [hb, ha];
  return answer(compareRanked(f, cite, hi, lo).join('\n'));
}

/** The two services the question compares: those it names, filled up from the top of the ranking. */
function servicesAsked(hs: Hypothesis[], q: ParsedQuestion): [string, string | undefined] {
  const [a, b] = q.services;
  if (!a) return [hs[0]!.service, hs[1]?.service];
  if (!b) return [a, a === hs[0]!.service ? hs[1]?.service : hs[0]!.service];
  return [a, b];
}

/** Why a service the question names has no hypothesis: not on the map, not a candidate, or no evidence. */
function notRanked(f: AnswerFacts, cite: Cite, s: string): string {
  const path = f.graph.candidates(f.report.service).find((c) => c.service === s);
  if (!f.graph.services.has(s)) return `${s} is not a service of the map.`;
  if (!path) {
    const mark = cite({
      kind: 'graph',
      ref: `graph:${f.report.service}`,
      text: `candidates of ${f.report.service}`,
    });
    return `${s} was not a candidate: the map has no depends_on path from ${f.report.service} to it ${mark}.`;
  }
  return `${s} was a candidate (${path.path.join(' -> ')}) but no evidence scored for it, so it was not ranked.`;
}

/** Up to five of a hypothesis's signals (those in `only`, when given), each citing its first two items. */
function describeSignals(cite: Cite, h: Hypothesis, list: Signals, only?: Set<string>): string[] {
  return list
    .filter((s) => !only || only.has(s.signal))
    .slice(0, 5)
    .map((s) => {
      const marks = s.items.slice(0, 2).map((e) => cite(evidenceCitation(e)));
      return `  - ${s.signal}: +${s.weight.toFixed(2)} for ${h.service} (${s.items[0]!.text.slice(0, 120)}) ${marks.join('')}`;
    });
}

/** Two ranked hypotheses side by side: their scores, the signals only one had, those both had, the map's hops. */
function compareRanked(f: AnswerFacts, cite: Cite, hi: Hypothesis, lo: Hypothesis): string[] {
  const out: string[] = [];
  const shi = signals(hi);
  const slo = signals(lo);
  const loSet = new Set(slo.map((s) => s.signal));
  const hiSet = new Set(shi.map((s) => s.signal));
  const onlyHi = new Set(shi.filter((s) => !loSet.has(s.signal)).map((s) => s.signal));
  const onlyLo = new Set(slo.filter((s) => !hiSet.has(s.signal)).map((s) => s.signal));
  const total = (l: Signals) => l.reduce((n, s) => n + s.weight, 0);
  out.push(
    `${hi.service} (#${hi.rank}, ${pct(hi.confidence)}, score ${total(shi).toFixed(2)}) ranks above ${lo.service} (#${lo.rank}, ${pct(lo.confidence)}, score ${total(slo).toFixed(2)}).`,
  );
  if (onlyHi.size) out.push(`Only ${hi.service} had:`, ...describeSignals(cite, hi, shi, onlyHi));
  const shared = shi.filter((s) => loSet.has(s.signal));
  if (shared.length) {
    out.push('Both had:');
    for (const s of shared.slice(0, 4)) {
      const other = slo.find((x) => x.signal === s.signal)!;
      out.push(
        `  - ${s.signal}: ${s.weight.toFixed(2)} vs ${other.weight.toFixed(2)} ${cite(evidenceCitation(s.items[0]!))}`,
      );
    }
  }
  if (onlyLo.size) out.push(`Only ${lo.service} had:`, ...describeSignals(cite, lo, slo, onlyLo));
  const pathOf = (s: string) => f.graph.candidates(f.report.service).find((c) => c.service === s)?.path;
  const ph = pathOf(hi.service);
  const pl = pathOf(lo.service);
  if (ph && pl && ph.length !== pl.length)
    out.push(
      `On the map ${hi.service} is ${ph.length - 1} hop(s) from ${f.report.service} and ${lo.service} ${pl.length - 1}; nearer candidates get a higher prior ${cite({ kind: 'graph', ref: `graph:${f.report.service}`, text: `${ph.join(' -> ')} / ${pl.join(' -> ')}` })}.`,
    );
  return out;
}
