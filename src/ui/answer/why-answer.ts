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

/** "Why does X rank above Y?": the signals that scored for each, and what only one of them had. */
export function answerWhy(f: AnswerFacts, q: ParsedQuestion): Answer {
  const hs = f.report.hypotheses;
  const { cite, citations } = citer();
  if (!hs.length)
    return {
      intent: 'why',
      text: 'This report has no hypotheses to compare.',
      citations,
      answeredBy: 'local',
    };
  const find = (s: string) => hs.find((h) => h.service === s);
  let [a, b] = q.services;
  if (a && !b) b = a === hs[0]!.service ? hs[1]?.service : hs[0]!.service;
  if (!a) {
    a = hs[0]!.service;
    b = hs[1]?.service;
  }
  const ha = find(a);
  const out: string[] = [];
  const notCandidate = (s: string) => {
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
  };
  if (!ha) return { intent: 'why', text: notCandidate(a), citations, answeredBy: 'local' };
  const hb = b ? find(b) : undefined;
  const sa = signals(ha);
  const describe = (h: Hypothesis, list: ReturnType<typeof signals>, only?: Set<string>) =>
    list
      .filter((s) => !only || only.has(s.signal))
      .slice(0, 5)
      .map((s) => {
        const marks = s.items.slice(0, 2).map((e) => cite(evidenceCitation(e)));
        return `  - ${s.signal}: +${s.weight.toFixed(2)} for ${h.service} (${s.items[0]!.text.slice(0, 120)}) ${marks.join('')}`;
      });
  if (!hb) {
    out.push(`${ha.service} is ranked #${ha.rank} at ${pct(ha.confidence)}.`);
    if (b) out.push(notCandidate(b));
    out.push('What scored for it:', ...describe(ha, sa));
    return { intent: 'why', text: out.join('\n'), citations, answeredBy: 'local' };
  }
  const [hi, lo] = ha.rank <= hb.rank ? [ha, hb] : [hb, ha];
  const shi = signals(hi);
  const slo = signals(lo);
  const loSet = new Set(slo.map((s) => s.signal));
  const hiSet = new Set(shi.map((s) => s.signal));
  const onlyHi = new Set(shi.filter((s) => !loSet.has(s.signal)).map((s) => s.signal));
  const onlyLo = new Set(slo.filter((s) => !hiSet.has(s.signal)).map((s) => s.signal));
  const total = (l: ReturnType<typeof signals>) => l.reduce((n, s) => n + s.weight, 0);
  out.push(
    `${hi.service} (#${hi.rank}, ${pct(hi.confidence)}, score ${total(shi).toFixed(2)}) ranks above ${lo.service} (#${lo.rank}, ${pct(lo.confidence)}, score ${total(slo).toFixed(2)}).`,
  );
  if (onlyHi.size) out.push(`Only ${hi.service} had:`, ...describe(hi, shi, onlyHi));
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
  if (onlyLo.size) out.push(`Only ${lo.service} had:`, ...describe(lo, slo, onlyLo));
  const pathOf = (s: string) => f.graph.candidates(f.report.service).find((c) => c.service === s)?.path;
  const ph = pathOf(hi.service);
  const pl = pathOf(lo.service);
  if (ph && pl && ph.length !== pl.length)
    out.push(
      `On the map ${hi.service} is ${ph.length - 1} hop(s) from ${f.report.service} and ${lo.service} ${pl.length - 1}; nearer candidates get a higher prior ${cite({ kind: 'graph', ref: `graph:${f.report.service}`, text: `${ph.join(' -> ')} / ${pl.join(' -> ')}` })}.`,
    );
  return { intent: 'why', text: out.join('\n'), citations, answeredBy: 'local' };
}
