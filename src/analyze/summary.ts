import type { Hypothesis } from '../core/report.ts';
import type { Facts } from './facts.ts';
import { mentionedFunction, type Scored } from './rank.ts';
import { changeLabel } from './rules/change-recency.ts';
import { clip } from '../core/clip.ts';
import { span } from './text.ts';

const pct = (c: number) => `${Math.round(c * 100)}%`;

/** "SESSION_DROP" -> "drop", "OCPP_DISCONNECT" -> "disconnect": how an engineer refers to the event. */
const eventWord = (type: string) =>
  type
    .toLowerCase()
    .split(/[_\s.:-]+/)
    .filter(Boolean)
    .pop() ?? 'event';

/** One paragraph an engineer would write: what failed, the likely cause and change, and the evidence. */
export function summarize(facts: Facts, hypotheses: Hypothesis[], scored: Scored[]): string {
  const e = facts.event;
  const fn = e.details.function ?? e.details.method ?? mentionedFunction(facts, facts.failing) ?? undefined;
  const where = fn ? (fn.includes('::') ? `${e.service} (${fn})` : `${e.service}.${fn}`) : e.service;
  const word = eventWord(e.eventType);
  const parts: string[] = [];
  const top = hypotheses[0];
  if (!top) return `${e.eventType} (${e.errorCode}) in ${where}: no candidates.`;

  let head = `${e.eventType} (${e.errorCode}) in ${where}, likely ${top.service}`;
  if (top.service === facts.failing) head += ' itself';
  head += ` (${pct(top.confidence)})`;
  const blame = scored[0]?.change;
  if (top.change && blame) {
    const what = top.function ? ` changed ${top.function}` : top.file ? ` changed ${top.file}` : '';
    head += `: ${changeLabel(blame.change)} '${clip(top.change.message, 80)}'${what}, ${span(facts.T - blame.change.timestamp)} before`;
  }
  parts.push(head);

  const fresh = (facts.patterns.get(top.service) ?? []).filter((p) => p.novelty !== 'chronic');
  const n = fresh.reduce((s, p) => s + p.count, 0);
  if (n) {
    const first = fresh[0]!;
    parts.push(
      `${n} new warning/error line${n > 1 ? 's' : ''} from ${top.service} in the ${span(facts.T - first.firstTs)} before the ${word}, first "${clip(first.example, 120)}"`,
    );
  } else if (!top.change) {
    const deps = facts.candidates.length - 1;
    parts.push(
      `no new errors${facts.changes.length ? ' and no convincing change' : ' or changes'} found in it or its ${deps} dependenc${deps === 1 ? 'y' : 'ies'} in the ${span(facts.T - facts.windowStart)} before the ${word}`,
    );
  }
  const h = facts.failureHistory;
  if (h.count > 0 && h.firstTs !== null)
    parts.push(
      `the same ${e.errorCode} from ${e.service} happened ${h.count} time${h.count > 1 ? 's' : ''} before (first ${span(facts.T - h.firstTs)} earlier)`,
    );
  const next = hypotheses[1];
  let text = `${parts.join('; ')}.`;
  const tied = hypotheses.filter((x) => x.confidence === top.confidence);
  if (tied.length > 1)
    text += ` The evidence cannot separate ${tied.map((x) => x.service).join(' and ')} (${pct(top.confidence)} each): a warning or error from one of them in the window, a change record, or an error naming one would.`;
  else if (next) text += ` Next: ${next.service} (${pct(next.confidence)}).`;
  const o = facts.outside.get(top.service);
  if (o)
    text += ` ${top.service} is not among ${facts.failing}'s dependencies in the map; the map may be missing: ${o.suggest.service} depends_on ${o.suggest.dependsOn}.`;
  // The station's clock was clearly wrong (ingest kept its stamp and used the arrival time).
  const stamped = e.details.sourceTimestamp;
  if (stamped)
    text += ` The station stamped this event ${stamped}, which cannot be right; its arrival time was used for the window.`;
  const cited = facts.linked.find((d) => d.root === top.service);
  if (cited)
    text += ` Same incident as the ${cited.eventType} on ${cited.service} ${span(facts.T - cited.ts)} earlier.`;
  return text;
}
