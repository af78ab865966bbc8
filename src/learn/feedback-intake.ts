import { z } from 'zod';
import type { Actor } from '../auth/roles.ts';
import type { Clock } from '../core/clock.ts';
import { describeIssues } from '../core/errors.ts';
import type { Report } from '../core/report.ts';
import type { SystemGraph } from '../map/graph.ts';
import { type Feedback, type FeedbackStore, verdicts } from '../store/feedback-store.ts';
import type { Learning } from './learning-service.ts';
import { snapshotOf } from './learning-service.ts';

const optionalText = (max: number) =>
  z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    z.string().trim().max(max).optional(),
  );

/** Body of POST /api/reports/:id/feedback (and the chat's feedback form). */
export const feedbackInputSchema = z
  .object({
    verdict: z.enum(verdicts),
    rootService: optionalText(200),
    changeId: optionalText(200),
    note: optionalText(2000),
  })
  .strict();

export type IntakeResult =
  /** outside: the named root cause is not among the report's candidates (kept, not learnt from). */
  { ok: true; feedback: Feedback; outside: boolean } | { ok: false; status: 400 | 404; problems: string[] };

/**
 * Validates and stores feedback on a report, then hands it to learning (which runs in the background).
 * A correction must name a service of the map other than the top hypothesis; a confirmation may only
 * name the top hypothesis.
 */
export function createFeedbackIntake(deps: {
  feedback: FeedbackStore;
  learning: Pick<Learning, 'onFeedback'>;
  getReport: (id: string) => Report | null;
  graph: () => SystemGraph;
  clock: Clock;
}) {
  return {
    give(reportId: string, body: unknown, actor: Actor): IntakeResult {
      const report = deps.getReport(reportId);
      if (!report) return { ok: false, status: 404, problems: [`no report '${reportId}'`] };
      const parsed = feedbackInputSchema.safeParse(body);
      if (!parsed.success) return { ok: false, status: 400, problems: describeIssues(parsed.error.issues) };
      const input = parsed.data;
      const graph = deps.graph();
      const top = report.hypotheses[0]?.service;
      const problems: string[] = [];
      let root: string | null = null;
      if (input.rootService) {
        root = graph.resolve(input.rootService);
        if (!root) {
          const failing = graph.resolve(report.service) ?? report.service;
          const names = graph.failureCandidates(report.service).map((c) => c.service);
          problems.push(
            `rootService: '${input.rootService}' is not a service of the map (candidates of ${failing}: ${names.join(', ') || 'none'})`,
          );
        }
      }
      if (input.verdict === 'rejected') {
        if (!input.rootService) problems.push('rootService: required when the verdict is rejected');
        else if (root && root === top)
          problems.push(`rootService: '${root}' is the top hypothesis; send verdict "confirmed" instead`);
      } else {
        if (!top) problems.push('verdict: the report has no hypothesis to confirm');
        else if (root && root !== top)
          problems.push(
            `rootService: a confirmation is of the top hypothesis '${top}'; send verdict "rejected" to correct it`,
          );
      }
      if (problems.length) return { ok: false, status: 400, problems };
      const stored = deps.feedback.add({
        reportId: report.id,
        eventId: report.eventId,
        eventType: report.eventType,
        errorCode: report.errorCode,
        verdict: input.verdict,
        rootService: root ?? top!,
        changeId:
          input.changeId ??
          (input.verdict === 'confirmed' ? (report.hypotheses[0]?.change?.id ?? null) : null),
        note: input.note ?? null,
        ranked: snapshotOf(report.hypotheses),
        modelVersion: report.modelVersion,
        author: actor.name,
        createdAt: deps.clock.now(),
      });
      void deps.learning.onFeedback(stored);
      // Learning re-weights the report's candidates; a service outside them is kept as a label only.
      const outside = !report.hypotheses.some((h) => h.service === stored.rootService);
      return { ok: true, feedback: stored, outside };
    },
  };
}
export type FeedbackIntake = ReturnType<typeof createFeedbackIntake>;
