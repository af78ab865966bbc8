import type { Change } from '../../core/change.ts';
import type { ParsedQuestion } from './intent.ts';
import { type Answer, type AnswerFacts, citer, eventTime, hhmmss } from './types.ts';

const defaultLookbackMs = 7 * 86_400_000;

/** "What changed in X?": changes touching X (by service or by file) before the event, newest first. */
export function answerChanges(f: AnswerFacts, q: ParsedQuestion): Answer {
  const service = q.services[0] ?? f.report.hypotheses[0]?.service ?? f.report.service;
  const at = eventTime(f);
  const since = at - (q.lookbackMs ?? defaultLookbackMs);
  // A few minutes after the event too: a deploy recorded late still belongs to the story.
  const all = f.changes(since, at + 5 * 60_000);
  const touches = (c: Change) =>
    c.service === service || c.files.some((p) => f.graph.servicesForFile(p).includes(service));
  const hits = all.filter(touches).sort((a, b) => b.timestamp - a.timestamp);
  const blamed = new Set(
    f.report.hypotheses.flatMap((h) => (h.change ? [h.change.id, h.change.sha].filter(Boolean) : [])),
  );
  const { cite, citations } = citer();
  const days = Math.round((at - since) / 86_400_000) || 1;
  if (!hits.length) {
    const others = all.length
      ? ` ${all.length} change(s) in that time touched other services: ${[...new Set(all.map((c) => c.service ?? '?'))].slice(0, 5).join(', ')}.`
      : ' No change was recorded for any service in that time.';
    return {
      intent: 'changes',
      text: `No recorded change touched ${service} in the ${days} day(s) before the event.${others}`,
      citations,
      answeredBy: 'local',
    };
  }
  const lines = hits.slice(0, 8).map((c) => {
    const id = c.sha ? c.sha.slice(0, 10) : c.id;
    const mark = cite({ kind: 'change', ref: c.id, text: `${c.kind} ${id}: ${firstLine(c.summary)}` });
    const before = Math.round((at - c.timestamp) / 60_000);
    const when = before >= 0 ? `${fmtAgo(before)} before the event` : `${-before} min after the event`;
    const files = c.files.length
      ? `; files: ${c.files.slice(0, 3).join(', ')}${c.files.length > 3 ? ', ...' : ''}`
      : '';
    const flag = blamed.has(c.id) || (c.sha && blamed.has(c.sha)) ? ' (blamed by this report)' : '';
    return `- ${c.kind} ${id} at ${hhmmss(c.timestamp)} (${when}) by ${c.author ?? 'unknown'}: ${firstLine(c.summary)}${files}${flag} ${mark}`;
  });
  const more = hits.length > 8 ? `\n(${hits.length - 8} older change(s) not shown)` : '';
  return {
    intent: 'changes',
    text: `${hits.length} change(s) touched ${service} in the ${days} day(s) before the event:\n${lines.join('\n')}${more}`,
    citations,
    answeredBy: 'local',
  };
}

const firstLine = (s: string) => s.split('\n')[0]!.slice(0, 160);

function fmtAgo(min: number): string {
  if (min < 90) return `${min} min`;
  if (min < 48 * 60) return `${Math.round(min / 60)} h`;
  return `${Math.round(min / 1440)} days`;
}
