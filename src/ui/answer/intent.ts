import type { SystemGraph } from '../../map/graph.ts';
import type { Intent } from './types.ts';

export interface ParsedQuestion {
  intent: Intent;
  /** Map services named in the question, in the order they appear (aliases resolved). */
  services: string[];
  /** 'dependents' for "what depends on X", 'dependencies' for "what does X depend on". */
  direction: 'dependents' | 'dependencies' | 'path';
  /** A look-back asked for ("last 3 days", "past 6 hours"), in ms. */
  lookbackMs: number | null;
}

const rules: Array<[Intent, RegExp]> = [
  [
    'why',
    /\bwhy\b|\brank(?:ed|s|ing)?\b|\babove\b|\bbelow\b|\binstead of\b|\brather than\b|\bnot\b.*\bblame/i,
  ],
  [
    'deps',
    /\bdepend(?:s|ency|encies|ent|ents|ing)?\b|\bdownstream\b|\bupstream\b|\bpath\b|\bmap\b|\bconnected\b|\buses\b/i,
  ],
  [
    'changes',
    /\bchang(?:e|ed|es)\b|\bdeploy(?:ed|s|ment)?\b|\bcommit(?:s|ted)?\b|\bfirmware\b|\bconfig(?:uration)?\b|\bdiff\b|\bupdate[ds]?\b|\brelease[ds]?\b/i,
  ],
  ['logs', /\blogs?\b|\blogged\b|\blines?\b|\bsay\b|\bsaid\b|\berrors?\b|\bwarnings?\b|\bmessages?\b/i],
];

/** Classifies a free-text question and picks out the services it names (pure). */
export function parseQuestion(question: string, graph: SystemGraph): ParsedQuestion {
  const intent = rules.find(([, re]) => re.test(question))?.[0] ?? 'summary';
  const words = question.match(/[A-Za-z0-9_:.-]+/g) ?? [];
  const services: string[] = [];
  const add = (s: string | null) => {
    if (s && !services.includes(s)) services.push(s);
  };
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!.replace(/[.:,-]+$/, '');
    // Two words first, so "power supply" or "evse manager" win over a shorter accidental hit.
    const pair = i + 1 < words.length ? graph.resolve(`${w}${words[i + 1]}`) : null;
    if (pair) {
      add(pair);
      i++;
      continue;
    }
    if (w.length >= 3 && !stopWords.has(w.toLowerCase())) add(graph.resolve(w));
  }
  const direction: ParsedQuestion['direction'] =
    services.length >= 2 || /\bpath\b/i.test(question)
      ? 'path'
      : /\b(?:what|who|which(?:\s+services?)?)\s+(?:depends?|relies|rely|uses)\b|\bdownstream\b|\bdependents\b|\baffect/i.test(
            question,
          )
        ? 'dependents'
        : 'dependencies';
  return { intent, services, direction, lookbackMs: lookback(question) };
}

const stopWords = new Set([
  'the',
  'and',
  'why',
  'what',
  'which',
  'did',
  'does',
  'how',
  'logs',
  'log',
  'show',
]);

function lookback(q: string): number | null {
  const m = /\b(?:last|past)\s+(\d+)?\s*(minute|min|hour|h|day|d|week)s?\b/i.exec(q);
  if (!m) return null;
  const n = Number(m[1] ?? 1);
  const unit = m[2]!.toLowerCase();
  const ms = unit.startsWith('min')
    ? 60_000
    : unit.startsWith('h')
      ? 3_600_000
      : unit.startsWith('w')
        ? 7 * 86_400_000
        : 86_400_000;
  return Math.min(n * ms, 90 * 86_400_000);
}
