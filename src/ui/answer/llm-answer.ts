import { type Scheduler, systemScheduler } from '../../core/clock.ts';
import type { LlmAdapter } from '../../core/llm.ts';
import type { Answer, AnswerFacts, Citation } from './types.ts';
import { evidenceCitation } from './why-answer.ts';

export interface LlmAnswerOptions {
  /** How long an answer may wait before the local one is given. */
  timeoutMs: number;
  /** The time-out's timer (tests advance a manual clock). */
  scheduler?: Scheduler;
  /** Removes configured private values (idTags, user ids) before anything leaves the gateway. */
  redact?: (text: string, eventDetails: Record<string, string>) => string;
}

export type LlmAnswerer = (question: string, facts: AnswerFacts, local: Answer) => Promise<Answer>;

const system = `You are TracePulse, a debugging assistant for an EV charging station (EVerest, OCPP).
Answer the engineer's question about one root-cause report, briefly and concretely.
Use only the report and the numbered evidence given; cite evidence by its number, like [2].
If the evidence does not answer the question, say so and say what to check next.`;

/**
 * Answers with the shared OpenAI adapter, the report and the local answer as context; any
 * failure or the time-out yields the local answer.
 */
export function createLlmAnswerer(
  llm: LlmAdapter,
  options: LlmAnswerOptions,
  onFallback: (reason: string) => void = () => {},
): LlmAnswerer {
  const redact = options.redact ?? ((t: string) => t);
  return async (question, facts, local) => {
    const citations = withTopEvidence(local.citations, facts);
    const controller = new AbortController();
    const timer = (options.scheduler ?? systemScheduler).after(options.timeoutMs, () => controller.abort());
    try {
      const res = await llm.text(
        [
          { role: 'system', content: system },
          {
            role: 'user',
            content: redact(context(question, facts, local, citations), facts.event?.details ?? {}),
          },
        ],
        { temperature: 0.1, maxTokens: 500, signal: controller.signal, timeoutMs: options.timeoutMs },
      );
      const text = res.content?.trim();
      if (!text) {
        onFallback('empty completion');
        return local;
      }
      return { intent: local.intent, text, citations, answeredBy: 'llm' };
    } catch (err) {
      onFallback(controller.signal.aborted ? 'timeout' : (err as Error).message);
      return local;
    } finally {
      timer.cancel();
    }
  };
}

/** The local answer's citations plus the top hypothesis's evidence, numbered once. */
function withTopEvidence(local: Citation[], facts: AnswerFacts): Citation[] {
  const out = [...local];
  for (const e of facts.report.hypotheses[0]?.evidence.slice(0, 6) ?? []) {
    const c = evidenceCitation(e);
    if (!out.some((x) => x.kind === c.kind && x.ref === c.ref)) out.push(c);
  }
  return out;
}

function context(question: string, facts: AnswerFacts, local: Answer, citations: Citation[]): string {
  const r = facts.report;
  const report = {
    event: { type: r.eventType, service: r.service, errorCode: r.errorCode, station: r.stationId },
    summary: r.summary,
    hypotheses: r.hypotheses.slice(0, 5).map((h) => ({
      rank: h.rank,
      service: h.service,
      confidence: h.confidence,
      change: h.change?.message,
      reasons: h.reasons.slice(0, 5),
    })),
  };
  return [
    `Report: ${JSON.stringify(report)}`,
    `Evidence:\n${citations.map((c, i) => `[${i + 1}] (${c.kind}) ${c.text}`).join('\n')}`,
    `What the local data says:\n${local.text}`,
    `Question: ${question}`,
  ].join('\n\n');
}
