import type { Report } from '../core/report.ts';
import type { ChatMessage } from '../core/llm.ts';
import type { Feedback } from '../store/feedback-store.ts';
import { buildExamplePrompt, type Refinement } from './llm-prompt.ts';

export interface ExampleSources {
  /** Latest feedback of recently labelled reports, newest first (FeedbackStore.recentLabels). */
  labels(limit: number): Feedback[];
  report(id: string): Report | null | undefined | Promise<Report | null | undefined>;
  /** Redacts one example (the text and the values of its session's redacted fields). */
  redact(text: string, report: Report): string;
}

/** An engineer's note goes into the example answer up to this many characters. */
const noteChars = 300;
const clipNote = (s: string) => (s.length > noteChars ? `${s.slice(0, noteChars - 1)}…` : s);

/** How many labelled reports are looked at to pick the closest examples. */
const pool = 200;

/** Closer first: same error code and event type, then same failing service, then the more recent. */
function likeness(f: Feedback, target: Report): number {
  return (
    (f.errorCode === target.errorCode ? 4 : 0) +
    (f.eventType === target.eventType ? 2 : 0) +
    (f.rootService === target.hypotheses[0]?.service ? 1 : 0)
  );
}

/**
 * Few-shot examples from the station's own labelled incidents: reports an engineer confirmed or
 * corrected, as user/assistant pairs (the report as the rules saw it, then the answer the engineer
 * established), redacted like everything else that leaves the device. Each example's report text
 * is cut to `maxChars` and the note to 300 characters; none when the station has no labels yet.
 */
export async function fewShotExamples(
  src: ExampleSources,
  target: Report,
  limit: number,
  maxChars: number,
): Promise<ChatMessage[]> {
  if (limit <= 0) return [];
  const picked = src
    .labels(pool)
    .filter((f) => f.reportId !== target.id)
    .map((f, i) => ({ f, score: likeness(f, target), i }))
    .sort((a, b) => b.score - a.score || a.i - b.i)
    .slice(0, limit);
  const out: ChatMessage[] = [];
  for (const { f } of picked) {
    const stored = await src.report(f.reportId);
    if (!stored) continue;
    // What the rules saw (revision 1), not an LLM revision of it: the label judges that ranking.
    const rules = stored.revisions?.find((x) => x.source === 'rules');
    const r = rules ? { ...stored, hypotheses: rules.hypotheses, summary: rules.summary } : stored;
    const answer: Refinement = {
      ranking: [
        {
          service: f.rootService,
          // The rules' own figure for the service, so the examples do not teach certainty.
          confidence: r.hypotheses.find((h) => h.service === f.rootService)?.confidence ?? 0.5,
          reason:
            f.verdict === 'confirmed'
              ? 'Confirmed by an engineer'
              : `Corrected by an engineer (the rules ranked ${r.hypotheses[0]?.service ?? 'nothing'} first)`,
        },
      ],
      summary: `${f.rootService} was the root cause${f.changeId ? ` (change ${f.changeId})` : ''}.`,
      explanation:
        (f.note ? clipNote(f.note) : null) ??
        `An engineer ${f.verdict === 'confirmed' ? 'confirmed' : 'corrected'} this diagnosis.`,
      nextSteps: [],
    };
    const user = buildExamplePrompt(r, maxChars);
    out.push(
      { role: 'user', content: src.redact(user, r) },
      { role: 'assistant', content: src.redact(JSON.stringify(answer), r) },
    );
  }
  return out;
}
