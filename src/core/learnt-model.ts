/**
 * The shapes of learnt ranking adjustments and of the learning gate's figures, shared by analyze/
 * (which ranks with them), learn/ (which computes them) and store/ (which keeps them).
 */
import { fingerprint } from './fingerprint.ts';

/** Weight multipliers for the ranking, learnt from feedback; absent entries mean 1. */
export interface Adjustments {
  /** By rule id (YAML rule ids and structural signal ids such as graph.prior). */
  rules?: Record<string, number>;
  /** By map service name. */
  services?: Record<string, number>;
}

/** True when the adjustments change at least one weight (an empty object changes nothing). */
export const hasAdjustments = (a: Adjustments | undefined): a is Adjustments =>
  !!a && (Object.keys(a.rules ?? {}).length > 0 || Object.keys(a.services ?? {}).length > 0);

const sortedPairs = (o: Record<string, number> = {}) =>
  JSON.stringify(
    Object.keys(o)
      .sort()
      .map((k) => [k, o[k]]),
  );

/** The tag of a set of adjustments in a model version: "adj-" and a fingerprint that ignores key order. */
export const adjustmentsTag = (a: Adjustments): string =>
  `adj-${fingerprint(`${sortedPairs(a.rules)}|${sortedPairs(a.services)}`)}`;

/** A report's modelVersion: the rules' version, and "+adj-..." when adjustments ranked it. */
export const modelVersionOf = (rulesVersion: string, a: Adjustments | undefined): string =>
  hasAdjustments(a) ? `${rulesVersion}+${adjustmentsTag(a)}` : rulesVersion;

/** A failure context: "EVENT_TYPE/ERROR_CODE", or the error code alone (see learn/model.ts). */
export type ContextKey = string;

/** Learnt adjustments in force, by context; version names them in report.modelVersion. */
export interface LearntModel {
  version: string;
  contexts: Record<ContextKey, Adjustments>;
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
