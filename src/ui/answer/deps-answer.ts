import type { ParsedQuestion } from './intent.ts';
import { type Answer, type AnswerFacts, citer } from './types.ts';

/** "What depends on X / what does X depend on / how is A connected to B", from the system map. */
export function answerDeps(f: AnswerFacts, q: ParsedQuestion): Answer {
  const g = f.graph;
  const { cite, citations } = citer();
  const top = f.report.hypotheses[0]?.service;
  const ref = (s: string) => cite({ kind: 'graph', ref: `service:${s}`, text: `map entry of ${s}` });
  if (q.direction === 'path') {
    const from = q.services.length >= 2 ? q.services[0]! : f.report.service;
    const to = q.services.length >= 2 ? q.services[1]! : (q.services[0] ?? top ?? f.report.service);
    const fwd = g.candidates(from).find((c) => c.service === to);
    const back = fwd ? undefined : g.candidates(to).find((c) => c.service === from);
    const path = fwd?.path ?? back?.path;
    const text = path
      ? `${path.join(' -> ')} (${path.length - 1} hop(s); "A -> B" means A depends on B, so a failure in B can surface in A) ${path.map(ref).join('')}`
      : `The map has no depends_on path between ${from} and ${to} in either direction ${ref(from)}${ref(to)}.`;
    return { intent: 'deps', text, citations, answeredBy: 'local' };
  }
  const s = q.services[0] ?? top ?? f.report.service;
  const node = g.services.get(s);
  if (!node)
    return { intent: 'deps', text: `${s} is not a service of the map.`, citations, answeredBy: 'local' };
  if (q.direction === 'dependents') {
    const direct = g.dependents(s);
    const all = [...g.services.keys()].filter((x) => x !== s && g.candidates(x).some((c) => c.service === s));
    const text = direct.length
      ? `${direct.length} service(s) depend on ${s} directly: ${direct.join(', ')} ${ref(s)}. ${all.length} in all, counting indirect ones: a failure in ${s} can surface in ${all.join(', ')}.`
      : `Nothing on the map depends on ${s} ${ref(s)}.`;
    return { intent: 'deps', text, citations, answeredBy: 'local' };
  }
  const transitive = g.candidates(s).slice(1);
  const text = node.dependsOn.length
    ? `${s} depends on ${node.dependsOn.join(', ')} ${ref(s)}; ${transitive.length} service(s) in all, counting indirect ones (${transitive
        .slice(0, 12)
        .map((c) => `${c.service}@${c.distance}`)
        .join(', ')}). Each of them is a root-cause candidate for a failure in ${s}.`
    : `${s} depends on nothing on the map ${ref(s)}.`;
  return { intent: 'deps', text, citations, answeredBy: 'local' };
}
