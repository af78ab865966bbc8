import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { ChangeSource } from '../core/ports.ts';
import type { Hypothesis, Report } from '../core/report.ts';
import type { Candidate, SystemGraph } from '../map/graph.ts';
import { type ChatMessage, type LlmAdapter, LlmCallError } from '../core/llm.ts';
import type { LlmUsageRepo } from '../store/llm-usage-repo.ts';
import { type ExampleSources, fewShotExamples } from './llm-examples.ts';
import {
  answerJsonSchema,
  applyRefinement,
  buildUserPrompt,
  charsPerToken,
  parseRefinement,
  RefinementRejected,
  systemPrompt,
} from './llm-prompt.ts';
import type { Redactor } from './redact.ts';
import {
  DeliveryError,
  isTransientStatus,
  type NoticeEnvelope,
  networkFailure,
  parseRetryAfter,
  permanent,
  type Sink,
  transient,
} from './sink.ts';

/** A refinement stored by the reports store: a new revision, the first one kept. */
export interface NewRevision {
  hypotheses: Hypothesis[];
  summary: string;
  explanation?: string;
  nextSteps?: string[];
  source: 'rules+llm';
}

/** The part of the reports store the refiner needs (ctx.reports). */
export interface RefinableReports {
  get(id: string): Report | null | undefined | Promise<Report | null | undefined>;
  addRevision(reportId: string, revision: NewRevision): unknown;
}

export interface LlmRefinerOptions {
  /** The shared OpenAI-compatible adapter (app.ts builds it). */
  llm: LlmAdapter;
  timeoutMs: number;
  /** Requests per hour; 0 = no limit. */
  hourlyRequests: number;
  /** Tokens per hour (as reported by the server, estimated before); 0 = no limit. */
  hourlyTokens: number;
  /** Prompt budget in tokens (~ chars / 4). */
  promptTokens: number;
  reports: RefinableReports;
  graph: () => SystemGraph;
  changes: ChangeSource | null;
  usage: LlmUsageRepo;
  redact: Redactor;
  clock: Clock;
  logger: Logger;
  /** Look-back for the changes whose diffs go into the prompt. */
  changeLookbackMs: number;
  /** The station's labelled reports, for few-shot examples; none when null. */
  examples: Pick<ExampleSources, 'labels' | 'redact'> | null;
  /** How many examples at most. */
  exampleCount: number;
}

const refinedSource = 'rules+llm';

/**
 * Delivery on the "llm" outbox channel is asking a model to refine a rules report. It lives
 * here rather than in sources/ because it is outbound traffic with the same needs as Slack:
 * it must wait for a connection, survive restarts, be bounded and never block the local report.
 * The answer becomes a new revision (source rules+llm); a malformed or off-graph answer is a
 * permanent failure, dead-lettered with its reason, and the report keeps its rules revision.
 */
export async function createLlmRefiner(o: LlmRefinerOptions): Promise<Sink> {
  o.logger.info('LLM refinement ready', {
    model: o.llm.model,
    structuredOutputs: o.llm.structuredMode(),
    examples: o.examples ? o.exampleCount : 0,
  });
  const fail = (err: unknown): DeliveryError => {
    if (!(err instanceof LlmCallError))
      return networkFailure(err, 'LLM') ?? permanent(`LLM: ${String(err)}`, err);
    if (err.kind === 'aborted' || err.kind === 'connection')
      return (
        networkFailure(err.cause, 'LLM') ??
        new DeliveryError('unreachable', 'LLM: no answer', { cause: err, maybeSent: true })
      );
    if (err.status === 429)
      return new DeliveryError('rate_limited', 'LLM: HTTP 429', {
        cause: err,
        retryAfterMs: parseRetryAfter(err.retryAfter, o.clock.now()) ?? 30_000,
      });
    if (err.status !== null)
      return isTransientStatus(err.status)
        ? transient(err.message, { cause: err })
        : permanent(err.message, err);
    return networkFailure(err.cause, 'LLM') ?? permanent(err.message, err);
  };

  function diffsFor(report: Report): Array<{ label: string; diff: string }> {
    if (!o.changes) return [];
    const wanted = new Set<string>();
    for (const h of report.hypotheses.slice(0, 3)) {
      if (h.change?.sha) wanted.add(h.change.sha);
      if (h.change?.id) wanted.add(h.change.id);
      for (const e of h.evidence) {
        if (e.kind !== 'change') continue;
        for (const k of ['changeId', 'sha', 'id']) if (typeof e[k] === 'string') wanted.add(e[k] as string);
      }
    }
    if (!wanted.size) return [];
    const at = Date.parse(report.createdAt);
    const until = Number.isNaN(at) ? o.clock.now() : at;
    return o.changes
      .changesBetween(until - o.changeLookbackMs, until)
      .filter((c) => c.diff && (wanted.has(c.id) || (c.sha !== null && wanted.has(c.sha))))
      .slice(0, 3)
      .map((c) => ({
        label: `${c.sha ? c.sha.slice(0, 12) : c.id} (${c.summary.split('\n')[0] ?? ''})`,
        diff: o.redact(c.diff ?? ''),
      }));
  }

  /** The prompt: the system prompt, few-shot examples from confirmed reports, and the failure. */
  async function promptFor(
    local: Report,
    envelope: NoticeEnvelope,
    candidates: Candidate[],
  ): Promise<{ messages: ChatMessage[]; examples: ChatMessage[] }> {
    // Examples take at most a third of the prompt budget; the failure itself gets the rest.
    const budgetChars = o.promptTokens * charsPerToken;
    const examples: ChatMessage[] = o.examples
      ? await fewShotExamples(
          { ...o.examples, report: (id) => o.reports.get(id) },
          local,
          o.exampleCount,
          Math.floor(budgetChars / 3 / Math.max(1, o.exampleCount)),
        )
      : [];
    const exampleChars = examples.reduce((n, m) => n + m.content.length, 0);
    const user = buildUserPrompt({
      envelope,
      candidates,
      diffs: diffsFor(envelope.report),
      maxTokens: Math.max(256, Math.floor((budgetChars - exampleChars) / charsPerToken)),
    });
    const messages: ChatMessage[] = [
      { role: 'system', content: systemPrompt },
      ...examples,
      { role: 'user', content: user },
    ];
    return { messages, examples };
  }

  /** The model's answer, checked; a rejected one is permanent (the same prompt would get it again). */
  function accepted(content: string | null | undefined, names: string[], reportId: string) {
    try {
      return parseRefinement(content, names);
    } catch (err) {
      if (err instanceof RefinementRejected) {
        o.logger.warn('LLM answer rejected', { reportId, reason: err.message });
        throw permanent(`LLM answer rejected: ${err.message}`, err);
      }
      throw err;
    }
  }

  return {
    channel: 'llm',
    timeoutMs: o.timeoutMs,
    // Only rules reports: a refinement announces 'revised', which must not be refined again.
    accepts: (n) => n.kind === 'created' && n.report.source === 'rules',
    async send(message, ctx) {
      const reportId = message.reportId;
      const local = await o.reports.get(reportId);
      if (!local) throw permanent(`report ${reportId} is no longer stored`);
      // Idempotent by state: if an earlier try stored its revision but was not marked sent, stop here.
      const done = local.revisions?.find((r) => r.source === refinedSource);
      if (done || local.source === refinedSource)
        return { revision: done?.revision ?? local.revision, alreadyRefined: true };

      const now = o.clock.now();
      const wait = o.usage.waitMs(now, o.hourlyRequests, o.hourlyTokens);
      if (wait > 0) throw new DeliveryError('deferred', 'LLM hourly budget spent', { retryAfterMs: wait });

      const graph = o.graph();
      const candidates = graph.failureCandidates(local.service).filter((c) => graph.services.has(c.service));
      if (!candidates.length) throw permanent(`service ${local.service} is not in the system map`);
      const names = candidates.map((c) => c.service);
      const { messages, examples } = await promptFor(local, message.payload, candidates);
      const usageId = o.usage.record(
        now,
        Math.ceil(messages.reduce((n, m) => n + m.content.length, 0) / charsPerToken),
      );

      let content: string | null | undefined;
      let tokens = 0;
      let mode: string;
      try {
        const r = await o.llm.json(
          messages,
          { name: 'tracepulse_refinement', schema: answerJsonSchema(names) },
          { signal: ctx.signal, temperature: 0.2, timeoutMs: o.timeoutMs },
        );
        content = r.content;
        tokens = r.tokens;
        mode = r.mode;
      } catch (err) {
        throw fail(err);
      }
      if (tokens) o.usage.settle(usageId, tokens);

      const answer = accepted(content, names, reportId);
      await o.reports.addRevision(reportId, {
        hypotheses: applyRefinement(local, answer),
        summary: answer.summary,
        explanation: answer.explanation,
        nextSteps: answer.nextSteps,
        source: refinedSource,
      });
      return {
        model: o.llm.model,
        mode,
        examples: examples.length / 2,
        tokens,
        top: answer.ranking[0]?.service ?? null,
      };
    },
  };
}
