import type { Evidence } from '../../core/report.ts';
import type { Facts } from '../facts.ts';
import type { Rule } from './schema.ts';

/** One piece of weighted support for one candidate, produced by one rule or signal. */
export interface Finding {
  ruleId: string;
  service: string;
  /** Points added to the candidate's score (before adjustments and normalisation). */
  weight: number;
  reason: string;
  evidence: Evidence[];
  /** Set when the finding is about one change: it then counts towards that change's blame. */
  changeId?: string;
  /**
   * The finding only says what kind of change it is (a config push, a timeout edit), nothing that
   * ties it to this failure: several such descriptions of one change are one fact (rank.ts).
   */
  describesChange?: boolean;
  /** A change.recent finding whose change shares no word with the failure: recency alone (rank.ts). */
  untied?: boolean;
  /** A mapped function the evidence points at. */
  function?: string;
}

/** A rule family: a pure function from the trigger's facts (and the YAML rules) to findings. */
export interface RuleFamily {
  id: string;
  run(facts: Facts, rules: readonly Rule[]): Finding[];
}
