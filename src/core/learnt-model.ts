/**
 * The shapes of learnt ranking adjustments and of the learning gate's figures, shared by learn/
 * (which computes them) and store/ (which keeps them); store may import only core.
 */

/**
 * Weight multipliers for the ranking, learnt from feedback. Shaped like the engine's `Adjustments`
 * (analyze/evidence.ts): absent entries mean 1.
 */
export interface RankingAdjustments {
  /** By rule id (YAML rule ids and structural signal ids such as graph.prior). */
  rules?: Record<string, number>;
  /** By map service name. */
  services?: Record<string, number>;
}

/** A failure context: "EVENT_TYPE/ERROR_CODE", or the error code alone (see learn/model.ts). */
export type ContextKey = string;

/** Learnt adjustments in force, by context; version names them in report.modelVersion. */
export interface LearntModel {
  version: string;
  contexts: Record<ContextKey, RankingAdjustments>;
}

export interface Tally {
  total: number;
  before: number;
  after: number;
}

export interface GateFigures {
  /** The station's labelled reports the candidate can change: in force vs. candidate learnt without each. */
  reports: Tally;
  changedContexts: ContextKey[];
  /** Reports whose result differs, for the record (at most 20). */
  flips: Array<{ id: string; expected: string; before: string | null; after: string | null }>;
}
