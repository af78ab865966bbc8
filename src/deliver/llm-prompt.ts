import { z } from 'zod';
import type { Candidate } from '../map/graph.ts';
import type { Hypothesis, Report } from '../core/report.ts';
import type { NoticeEnvelope } from './sink.ts';

/** The structured answer we ask for (response_format json_schema) and accept (zod). */
export const refinementSchema = z
  .object({
    ranking: z
      .array(
        z
          .object({
            service: z.string().min(1).max(200),
            confidence: z.number().min(0).max(1),
            reason: z.string().min(1).max(2000),
          })
          .strict(),
      )
      .min(1)
      .max(20),
    summary: z.string().min(1).max(1000),
    explanation: z.string().min(1).max(8000),
    nextSteps: z.array(z.string().min(1).max(1000)).max(10),
  })
  .strict();
export type Refinement = z.output<typeof refinementSchema>;

/** JSON Schema for the same answer; the service is an enum of the candidates, so constrained decoders cannot stray. */
export function answerJsonSchema(candidates: string[]): Record<string, unknown> {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['ranking', 'summary', 'explanation', 'nextSteps'],
    properties: {
      ranking: {
        type: 'array',
        minItems: 1,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['service', 'confidence', 'reason'],
          properties: {
            service: { type: 'string', enum: candidates },
            confidence: { type: 'number', minimum: 0, maximum: 1 },
            reason: { type: 'string' },
          },
        },
      },
      summary: { type: 'string' },
      explanation: { type: 'string' },
      nextSteps: { type: 'array', items: { type: 'string' } },
    },
  };
}

export const systemPrompt = [
  'You are a root-cause analyst for an EV charging station (EVerest modules on an embedded gateway).',
  'A rule engine already ranked hypotheses for a failure. Re-rank them using the dependency paths,',
  'the evidence and the code changes given. Only name services from the candidate list. Confidence',
  'is a probability between 0 and 1. Keep the summary to one sentence; next steps are concrete checks',
  'a field technician or firmware engineer can do. Answer with JSON only, matching the schema.',
  'Earlier failures of this station may come first, each followed by the root cause an engineer',
  'established afterwards; use them as examples of this station, not as answers to this failure.',
].join(' ');

/** Characters per token for budgeting (a rough, model-independent estimate). */
export const charsPerToken = 4;

export interface PromptInput {
  envelope: NoticeEnvelope;
  candidates: Candidate[];
  /** Diff text of changes named by the hypotheses, keyed by change id or sha. */
  diffs: Array<{ label: string; diff: string }>;
  maxTokens: number;
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, Math.max(0, n - 1))}…` : s);

/** Keeps only the hunks of a unified diff, each hunk clipped, until `budget` characters are used. */
function hunks(diff: string, budget: number): string {
  const out: string[] = [];
  let used = 0;
  for (const part of diff.split(/^(?=diff --git |@@ )/m)) {
    if (used >= budget) break;
    const piece = clip(part.trimEnd(), Math.min(1500, budget - used));
    out.push(piece);
    used += piece.length + 1;
  }
  return out.join('\n');
}

/**
 * The user prompt: the failing event, the failing path of the map, the ranked hypotheses with
 * their evidence, and the relevant diff hunks, trimmed to the token budget (diffs go first,
 * then evidence of the lower hypotheses).
 */
export function buildUserPrompt(input: PromptInput): string {
  const { envelope, candidates } = input;
  const r = envelope.report;
  const budget = input.maxTokens * charsPerToken;
  const head = [
    `Failure: ${r.eventType} ${r.errorCode} reported by service "${r.service}" at station ${r.stationId ?? 'unknown'}.`,
    envelope.event?.message ? `Event message: ${clip(envelope.event.message, 500)}` : '',
    envelope.event && Object.keys(envelope.event.details).length
      ? `Event details: ${clip(JSON.stringify(envelope.event.details), 500)}`
      : '',
    `Rule summary: ${clip(r.summary, 500)}`,
    '',
    'Candidate services and their dependency path from the failing service:',
    ...candidates.map((c) => `- ${c.service} (distance ${c.distance}): ${c.path.join(' -> ')}`),
  ]
    .filter((l, i, a) => l !== '' || a[i - 1] !== '')
    .join('\n');

  const hypotheses = (evidenceTop: number, evidenceRest: number) =>
    [
      'Ranked hypotheses:',
      ...r.hypotheses.slice(0, 8).map((h, i) => hypothesisText(h, i === 0 ? evidenceTop : evidenceRest)),
    ].join('\n');

  let body = hypotheses(6, 3);
  if (head.length + body.length > budget) body = hypotheses(3, 1);
  if (head.length + body.length > budget) body = hypotheses(1, 0);
  let text = `${head}\n\n${body}`;
  const left = budget - text.length - 40;
  if (left > 200 && input.diffs.length) {
    const per = Math.floor(left / input.diffs.length);
    const parts = input.diffs.map((d) => `Diff of ${d.label}:\n${hunks(d.diff, per - d.label.length - 10)}`);
    text += `\n\nRelevant diff hunks:\n${parts.join('\n\n')}`;
  }
  return clip(text, budget);
}

/** One ranked hypothesis with its reasons, blamed change and heaviest evidence. */
function hypothesisText(h: Hypothesis, evidenceLines: number): string {
  const where = [h.file, h.function].filter(Boolean).join(' ');
  const lines = [
    `#${h.rank} ${h.service}${where ? ` (${where})` : ''} confidence ${h.confidence.toFixed(2)}`,
    ...h.reasons.slice(0, 3).map((x) => `  reason: ${clip(x, 300)}`),
  ];
  if (h.change) lines.push(`  change: ${h.change.sha ?? h.change.id ?? ''} ${clip(h.change.message, 200)}`);
  for (const e of [...h.evidence].sort((a, b) => b.weight - a.weight).slice(0, evidenceLines))
    lines.push(`  evidence [${e.kind}]: ${clip(e.text, 300)}`);
  return lines.join('\n');
}

/** An earlier report of this station as a few-shot example: what the rules saw, in `maxChars` at most. */
export function buildExamplePrompt(r: Report, maxChars: number): string {
  const head = [
    `Failure: ${r.eventType} ${r.errorCode} reported by service "${r.service}" at station ${r.stationId ?? 'unknown'}.`,
    `Rule summary: ${clip(r.summary, 300)}`,
    'Ranked hypotheses:',
  ].join('\n');
  let text = '';
  for (const evidence of [2, 1, 0]) {
    text = `${head}\n${r.hypotheses
      .slice(0, 4)
      .map((h) => hypothesisText(h, evidence))
      .join('\n')}`;
    if (text.length <= maxChars) break;
  }
  return clip(text, maxChars);
}

/** Why an answer was refused; the message names the problem for the dead-letter row. */
export class RefinementRejected extends Error {
  override readonly name = 'RefinementRejected';
}

/** Parses and checks an answer: JSON, the schema, and every service a candidate. */
export function parseRefinement(content: string | null | undefined, candidates: string[]): Refinement {
  if (!content) throw new RefinementRejected('empty answer');
  let json: unknown;
  try {
    json = JSON.parse(content.replace(/^\s*```(?:json)?\s*|\s*```\s*$/g, ''));
  } catch {
    throw new RefinementRejected(`answer is not JSON: ${clip(content, 200)}`);
  }
  const parsed = refinementSchema.safeParse(json);
  if (!parsed.success)
    throw new RefinementRejected(
      `answer does not match the schema: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  const allowed = new Set(candidates);
  const off = parsed.data.ranking.map((x) => x.service).filter((s) => !allowed.has(s));
  if (off.length)
    throw new RefinementRejected(
      `answer names services that are not candidates: ${[...new Set(off)].join(', ')}`,
    );
  return parsed.data;
}

/**
 * The refined hypotheses: the local (unredacted) ones re-ordered by the answer, with its
 * confidence and reason; a candidate the rules did not rank is added; the rest follow in their
 * old order. Evidence stays the local evidence.
 */
export function applyRefinement(local: Report, answer: Refinement): Hypothesis[] {
  const byService = new Map(local.hypotheses.map((h) => [h.service, h]));
  const out: Hypothesis[] = [];
  const seen = new Set<string>();
  for (const x of answer.ranking) {
    if (seen.has(x.service)) continue;
    seen.add(x.service);
    const h = byService.get(x.service);
    out.push(
      h
        ? { ...h, confidence: x.confidence, reasons: [`LLM: ${x.reason}`, ...h.reasons] }
        : {
            rank: 0,
            service: x.service,
            confidence: x.confidence,
            reasons: [`LLM: ${x.reason}`],
            evidence: [],
          },
    );
  }
  for (const h of local.hypotheses) if (!seen.has(h.service)) out.push(h);
  return out.map((h, i) => ({ ...h, rank: i + 1 }));
}
