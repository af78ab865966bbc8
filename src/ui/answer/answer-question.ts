import { answerChanges } from './changes-answer.ts';
import { answerDeps } from './deps-answer.ts';
import { parseQuestion } from './intent.ts';
import { answerLogs } from './logs-answer.ts';
import type { Answer, AnswerFacts } from './types.ts';
import { answerWhy, evidenceCitation } from './why-answer.ts';

/** Answers a question about a report from local data only (offline): pure over the facts given. */
export function answerLocally(question: string, facts: AnswerFacts): Answer {
  const q = parseQuestion(question, facts.graph);
  switch (q.intent) {
    case 'changes':
      return answerChanges(facts, q);
    case 'logs':
      return answerLogs(facts, q);
    case 'why':
      return answerWhy(facts, q);
    case 'deps':
      return answerDeps(facts, q);
    case 'summary':
      return summary(facts);
  }
}

function summary(f: AnswerFacts): Answer {
  const r = f.report;
  const top = r.hypotheses[0];
  const citations = top ? top.evidence.slice(0, 3).map(evidenceCitation) : [];
  const lines = [
    r.summary,
    ...r.hypotheses
      .slice(0, 3)
      .map(
        (h) =>
          `#${h.rank} ${h.service} ${Math.round(h.confidence * 100)}%${h.change ? ` (change: ${h.change.message.split('\n')[0]})` : ''}`,
      ),
    top ? `Evidence for ${top.service}: ${citations.map((_, i) => `[${i + 1}]`).join('')}` : '',
    'You can ask: "what changed in <service>?", "logs of <service>", "why <a> above <b>?", "what depends on <service>?".',
  ].filter(Boolean);
  return { intent: 'summary', text: lines.join('\n'), citations, answeredBy: 'local' };
}
