import { levelRank } from '../../core/log-line.ts';
import { commonNames, nameIndex, namesIn } from '../outside.ts';
import { clockTime, withoutLoggerTag } from '../text.ts';
import { mentionsFunction } from '../changes.ts';
import type { Finding, RuleFamily } from './finding.ts';
import { MENTION_WEIGHT, ORIGIN_WEIGHT } from '../weights.ts';

/** Detail keys that carry the module a fault came from. */
const ORIGIN_KEY = /origin|module|component|source|impl/i;

/** event.origin and logs.mention: the failure's own words point at a service. */
export const mentions: RuleFamily = {
  id: 'logs.mention',
  run(facts) {
    const index = nameIndex(
      facts.graph,
      facts.candidates.map((c) => c.service),
    );
    if (!index.size) return [];
    const common = commonNames(facts.logs, index);
    const named = (text: string) => new Set(namesIn(text, index, common));
    const out: Finding[] = [];
    const e = facts.event;
    // A structured origin (EVerest error payloads carry origin.module_id) is a statement; a name in
    // the free text of the event is a hint like any log line.
    const originText = Object.entries(e.details)
      .filter(([k]) => ORIGIN_KEY.test(k))
      .map(([, v]) => v)
      .join(' ');
    const origin = named(originText);
    const hinted = named([e.message ?? '', ...Object.values(e.details)].join(' '));
    for (const service of [...new Set([...origin, ...hinted])].sort()) {
      if (service === facts.failing) continue;
      const structured = origin.has(service);
      const reason = structured
        ? `the ${e.eventType} event gives ${service} as its origin`
        : `the ${e.eventType} event names ${service}`;
      const weight = structured ? ORIGIN_WEIGHT : MENTION_WEIGHT;
      out.push({
        ruleId: structured ? 'event.origin' : 'logs.mention',
        service,
        weight,
        reason,
        evidence: [
          {
            kind: 'log',
            text: `event: ${[e.message ?? '', originText].filter(Boolean).join(' ').slice(0, 300)}`,
            weight,
          },
        ],
      });
    }
    // A mapped function names its service as surely as its name does ("beginTransaction failed").
    const owners = new Map<string, string[]>();
    for (const c of facts.candidates)
      for (const fn of facts.graph.services.get(c.service)?.functions ?? [])
        owners.set(fn, [...(owners.get(fn) ?? []), c.service]);
    const ownedFunctions = [...owners]
      .filter(([, o]) => o.length === 1)
      .map(([fn, o]) => [fn, o[0]!] as const);
    // Once per distinct message (a window repeats the same few hundred times); read-only below.
    const calledBy = new Map<string, ReadonlySet<string>>();
    const namedOrCalled = (text: string): ReadonlySet<string> => {
      const hit = calledBy.get(text);
      if (hit) return hit;
      const out = named(text);
      for (const [fn, owner] of ownedFunctions) if (mentionsFunction(text, fn)) out.add(owner);
      calledBy.set(text, out);
      return out;
    };
    const seen = new Set<string>();
    for (const l of facts.logs) {
      if (levelRank[l.level] < levelRank.warn || l.novelty === 'chronic') continue;
      const speaker = l.candidate ?? facts.resolveName(l.service) ?? l.service;
      for (const service of namedOrCalled(withoutLoggerTag(l.message))) {
        if (service === speaker || seen.has(service) || origin.has(service) || hinted.has(service)) continue;
        seen.add(service);
        const reason = `${l.service} names it in a new ${l.level}: "${l.message.slice(0, 160)}"`;
        out.push({
          ruleId: 'logs.mention',
          service,
          weight: MENTION_WEIGHT,
          reason,
          evidence: [
            {
              kind: 'log',
              text: `${clockTime(l.ts)} ${l.service} ${l.level}: ${l.message.slice(0, 300)}`,
              weight: MENTION_WEIGHT,
              service: l.service,
              timestamp: l.ts,
            },
          ],
        });
      }
    }
    return out;
  },
};
