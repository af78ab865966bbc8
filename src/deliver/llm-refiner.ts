import type OpenAI from 'openai';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { ChangeSource } from '../core/ports.ts';
import type { Hypothesis, Report } from '../core/report.ts';
import type { SystemGraph } from '../map/graph.ts';
import type { LlmUsageRepo } from '../store/llm-usage-repo.ts';
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
  apiKey: string | null;
  baseUrl: string | null;
  model: string;
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
  const { default: Client, APIError, APIConnectionError, APIUserAbortError } = await import('openai');
  const client: OpenAI = new Client({
    // Local servers (Ollama, llama.cpp, vLLM) take any key; the SDK insists on one.
    apiKey: o.apiKey ?? 'none',
    baseURL: o.baseUrl ?? undefined,
    timeout: o.timeoutMs,
    maxRetries: 0,
  });

  const fail = (err: unknown): DeliveryError => {
    if (err instanceof APIUserAbortError || err instanceof APIConnectionError)
      return (
        networkFailure(err, 'LLM') ??
        new DeliveryError('unreachable', 'LLM: no answer', { cause: err, maybeSent: true })
      );
    if (err instanceof APIError && typeof err.status === 'number') {
      const status = err.status;
      if (status === 429)
        return new DeliveryError('rate_limited', 'LLM: HTTP 429', {
          cause: err,
          retryAfterMs: parseRetryAfter(err.headers?.get('retry-after'), o.clock.now()) ?? 30_000,
        });
      return isTransientStatus(status)
        ? transient(`LLM: HTTP ${status}`, { cause: err })
        : permanent(`LLM: HTTP ${status} ${err.code ?? ''}`.trim(), err);
    }
    return networkFailure(err, 'LLM') ?? permanent(`LLM: ${String(err)}`, err);
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
      const failing = graph.resolve(local.service) ?? local.service;
      const candidates = graph.candidates(failing).filter((c) => graph.services.has(c.service));
      if (!candidates.length) throw permanent(`service ${local.service} is not in the system map`);
      const names = candidates.map((c) => c.service);
      const user = buildUserPrompt({
        envelope: message.payload,
        candidates,
        diffs: diffsFor(message.payload.report),
        maxTokens: o.promptTokens,
      });
      const usageId = o.usage.record(now, Math.ceil((systemPrompt.length + user.length) / charsPerToken));

      let content: string | null | undefined;
      let tokens = 0;
      try {
        const r = await client.chat.completions.create(
          {
            model: o.model,
            temperature: 0.2,
            messages: [
              { role: 'system', content: systemPrompt },
              { role: 'user', content: user },
            ],
            response_format: {
              type: 'json_schema',
              json_schema: { name: 'tracepulse_refinement', strict: true, schema: answerJsonSchema(names) },
            },
          },
          { signal: ctx.signal },
        );
        content = r.choices[0]?.message?.content;
        tokens = r.usage?.total_tokens ?? 0;
      } catch (err) {
        throw fail(err);
      }
      if (tokens) o.usage.settle(usageId, tokens);

      let answer: ReturnType<typeof parseRefinement>;
      try {
        answer = parseRefinement(content, names);
      } catch (err) {
        if (err instanceof RefinementRejected) {
          o.logger.warn('LLM answer rejected', { reportId, reason: err.message });
          throw permanent(`LLM answer rejected: ${err.message}`, err);
        }
        throw err;
      }
      await o.reports.addRevision(reportId, {
        hypotheses: applyRefinement(local, answer),
        summary: answer.summary,
        explanation: answer.explanation,
        nextSteps: answer.nextSteps,
        source: refinedSource,
      });
      return { model: o.model, tokens, top: answer.ranking[0]?.service ?? null };
    },
  };
}
