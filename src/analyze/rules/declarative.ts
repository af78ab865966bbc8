import { levelRank } from '../../core/log-line.ts';
import type { Evidence } from '../../core/report.ts';
import type { SystemGraph } from '../../map/graph.ts';
import type { ChangeFact } from '../changes.ts';
import type { Facts, Novelty } from '../facts.ts';
import { clockTime } from '../text.ts';
import { changeLabel } from './change-recency.ts';
import { relaysFor, reportsOnly } from './log-errors.ts';
import { RELAY, REPORTER } from '../weights.ts';
import type { Finding } from './finding.ts';
import type { Rule } from './schema.ts';

interface Line {
  ts: number;
  service: string;
  candidate: string | null;
  level: keyof typeof levelRank;
  message: string;
  novelty: Novelty;
}

// Target regexes test static map text: remember the answers per graph and regex.
const targetMemo = new WeakMap<SystemGraph, Map<string, Map<string, boolean>>>();

function targetMatches(facts: Facts, rule: Rule, service: string): boolean {
  const re = rule.re.target;
  if (!re) return true;
  let byRe = targetMemo.get(facts.graph);
  if (!byRe) {
    byRe = new Map();
    targetMemo.set(facts.graph, byRe);
  }
  let memo = byRe.get(re.source);
  if (!memo) {
    memo = new Map();
    byRe.set(re.source, memo);
  }
  let hit = memo.get(service);
  if (hit === undefined) {
    hit = re.test(facts.descriptor(service));
    if (memo.size < 100_000) memo.set(service, hit);
  }
  return hit;
}

const linesMemo = new WeakMap<Facts, Line[]>();

/** Log lines plus window events (as error lines) the rule conditions can see; built once per trigger. */
function lines(facts: Facts): Line[] {
  const hit = linesMemo.get(facts);
  if (hit) return hit;
  const out: Line[] = [
    ...facts.logs,
    ...facts.events.map((e) => ({
      ts: e.ts,
      service: e.service,
      candidate: e.candidate,
      level: 'error' as const,
      message: `${e.eventType} ${e.errorCode}${e.message ? ` ${e.message}` : ''}`,
      novelty: e.novelty,
    })),
  ];
  linesMemo.set(facts, out);
  return out;
}

/** True when the pattern occurs more often in removed lines than in added ones: a removal, not an edit. */
function netRemoved(re: RegExp, removed: string, added: string): boolean {
  if (!re.test(removed)) return false;
  const g = new RegExp(re.source, 'gi');
  return (removed.match(g)?.length ?? 0) > (added.match(g)?.length ?? 0);
}

/** changeMatches, remembered per change, rule and service: the answer never depends on the trigger. */
function changeMatchesMemo(rule: Rule, cf: ChangeFact, service: string): boolean {
  let byService = cf.base.ruleHits.get(rule);
  if (!byService) {
    byService = new Map();
    cf.base.ruleHits.set(rule, byService);
  }
  let hit = byService.get(service);
  if (hit === undefined) {
    hit = changeMatches(rule, cf, service);
    byService.set(service, hit);
  }
  return hit;
}

function changeMatches(rule: Rule, cf: ChangeFact, service: string): boolean {
  const cond = rule.spec.when.change!;
  const { re } = rule;
  if (cond.kind && !cond.kind.includes(cf.change.kind)) return false;
  if (re.changeText && !re.changeText.test(cf.change.summary)) return false;
  // A change record without a diff is judged on its summary ("cut retry timeout to 3s").
  const noDiff = !cf.change.diff;
  const added = noDiff ? cf.change.summary : cf.added;
  if (re.diff && !re.diff.test(added) && !re.diff.test(cf.removed)) return false;
  if (re.added && !re.added.test(added)) return false;
  if (re.removed && !netRemoved(re.removed, cf.removed, added)) return false;
  if (re.hunk && !re.hunk.test(noDiff ? cf.change.summary : cf.hunks)) return false;
  if (re.files && !cf.change.files.some((f) => re.files!.test(f))) return false;
  if (cond.touchesFunction !== undefined && cond.touchesFunction !== cf.touched.has(service)) return false;
  return true;
}

const fill = (text: string, facts: Facts, service: string) =>
  text
    .replaceAll('{service}', service)
    .replaceAll('{failing}', facts.failing)
    .replaceAll('{eventType}', facts.event.eventType)
    .replaceAll('{errorCode}', facts.event.errorCode);

/** Evaluates one YAML rule against the trigger's facts: one finding per matching candidate (and change). */
export function runRule(facts: Facts, rule: Rule, outsidePool?: readonly string[]): Finding[] {
  const { spec, re } = rule;
  const e = facts.event;
  if (re.eventType && !re.eventType.test(e.eventType)) return [];
  if (re.errorCode && !re.errorCode.test(e.errorCode)) return [];
  const eventText = `${e.message ?? ''} ${Object.entries(e.details)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ')}`;
  if (re.eventText && !re.eventText.test(eventText)) return [];
  const trigger = `${e.eventType} ${e.errorCode} ${eventText}`;
  if (re.trigger && !re.trigger.test(trigger)) return [];
  const all = spec.when.symptom || spec.when.log ? lines(facts) : [];
  if (re.symptom) {
    const fresh = (l: Line) =>
      l.candidate !== null && levelRank[l.level] >= levelRank.warn && l.novelty !== 'chronic';
    if (!re.symptom.test(trigger) && !all.some((l) => fresh(l) && re.symptom!.test(l.message))) return [];
  }

  const rel = spec.target.relation;
  let pool = outsidePool ? [...outsidePool] : facts.candidates.map((c) => c.service);
  if (rel === 'failing') pool = [facts.failing];
  else if (rel === 'dependency') pool = pool.filter((s) => s !== facts.failing);
  else if (rel === 'logged') pool = pool.filter((s) => facts.patterns.has(s));
  else if (rel === 'changed') pool = pool.filter((s) => facts.changesOf.has(s));
  // A change condition can only hold for candidates with changes.
  if (spec.when.change) pool = pool.filter((s) => facts.changesOf.has(s));

  const matchedLine = new Map<string, Line>();
  const logCond = spec.when.log;
  if (logCond) {
    const min = levelRank[logCond.level];
    const hits = all.filter(
      (l) =>
        levelRank[l.level] >= min && l.novelty !== 'chronic' && (!re.logText || re.logText.test(l.message)),
    );
    if (logCond.from === 'target') {
      for (const l of hits) if (l.candidate && !matchedLine.has(l.candidate)) matchedLine.set(l.candidate, l);
      pool = pool.filter((s) => matchedLine.has(s));
    } else {
      const hit = hits.find((l) => logCond.from === 'any' || l.candidate === facts.failing);
      if (!hit) return [];
      for (const s of pool) matchedLine.set(s, hit);
    }
  }
  pool = pool.filter((s) => targetMatches(facts, rule, s));

  // A rule with nothing but a change condition only says what kind of change it is (rank.ts).
  const { change: _, ...failureConditions } = spec.when;
  const describesChange =
    !!spec.when.change && Object.values(failureConditions).every((v) => v === undefined);
  const out: Finding[] = [];
  for (const service of pool) {
    const reason = fill(spec.reason, facts, service);
    const line = matchedLine.get(service);
    const base: Evidence[] = [
      { kind: 'rule', text: `rule ${rule.id}: ${reason}`, weight: rule.weight, ruleId: rule.id },
    ];
    if (line)
      base.push({
        kind: 'log',
        text: `${clockTime(line.ts)} ${line.service} ${line.level}: ${line.message.slice(0, 300)}`,
        weight: 0,
        ruleId: rule.id,
        timestamp: line.ts,
      });
    if (!spec.when.change) {
      // A rule read from the failing service's own lines says what its errors say: a service that
      // reports a failure logs about it whatever the root is (weights.ts REPORTER).
      // So does one read from a relay's lines: they are about the dependency it lost (RELAY).
      const own = logCond?.from === 'target' && reportsOnly(facts, service);
      const relayed = logCond?.from === 'target' && !own ? relaysFor(facts, service) : null;
      const w = rule.weight * (own ? REPORTER : relayed ? RELAY : 1);
      out.push({
        ruleId: rule.id,
        service,
        weight: w,
        reason: own
          ? `${reason} (in the failing service's own lines: counts ${REPORTER})`
          : relayed
            ? `${reason} (in lines about ${relayed}, which it depends on: counts ${RELAY})`
            : reason,
        evidence: base.map((ev) => ({ ...ev, weight: ev.weight ? w : 0 })),
      });
      continue;
    }
    for (const cf of facts.changesOf.get(service) ?? []) {
      if (!changeMatchesMemo(rule, cf, service)) continue;
      const fn = cf.touched.get(service)?.[0];
      // Evidence about an old, docs-only or pre-dated change counts as little as the change itself.
      const weight = rule.weight * cf.credibility;
      out.push({
        ruleId: rule.id,
        service,
        weight,
        reason: `${reason} (${changeLabel(cf.change)}${fn ? `, ${fn}` : ''})`,
        evidence: base.map((ev) => ({ ...ev, weight: ev.weight ? weight : 0, changeId: cf.change.id })),
        changeId: cf.change.id,
        ...(describesChange ? { describesChange } : {}),
        function: fn,
      });
    }
  }
  return out;
}
