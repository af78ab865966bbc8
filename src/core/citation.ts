export type CitationKind = 'log' | 'change' | 'rule' | 'graph' | 'report';

/** One piece of evidence an answer rests on; `ref` points at it (change id, log time, rule id, service). */
export interface Citation {
  kind: CitationKind;
  ref: string;
  text: string;
}
