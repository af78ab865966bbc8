import type { Change } from '../core/change.ts';
import type { FailureHistory } from './evidence.ts';
import type { SystemGraph } from '../map/graph.ts';
import { clockTime, identifiers, span, words } from './text.ts';
import { DOCS_ONLY, HALF_LIFE_MS, PREDATES, RATE_JUMP } from './weights.ts';

/** What the rules need to know about one change, computed once per trigger. */
export interface ChangeFact {
  change: Change;
  base: ChangeBase;
  /** Candidates the change maps to (by its service field and by the map's files). */
  services: string[];
  ageMs: number;
  /** The first of the failure's lines' beginnings after the change (facts.ts failureBeginnings), if any. */
  nextBeginning?: number;
  /**
   * Cannot change behaviour: every file is a test, doc or example, the diff only touches comments
   * or formatting, (without files) it is a docs/test/style/ci commit, or it only changes a log level.
   */
  docsOnly: boolean;
  /**
   * How much any evidence about this change counts, 0..1: recency x (docs-only) x (failure predates it).
   * Every rule finding about the change is scaled by it.
   */
  credibility: number;
  /** The credibility apart from recency (docs-only, predated): for evidence that does not age. */
  standing: number;
  /** Why the credibility is what it is, for the reasons. */
  notes: string[];
  added: string;
  removed: string;
  hunks: string;
  /** Mapped functions of each service that the diff (or, without a diff, the summary) touches. */
  touched: Map<string, string[]>;
  words: Set<string>;
}

const DIFF_CAP = 64 * 1024;
const docsOrTests =
  /(^|\/)(tests?|specs?|__tests__|testing|docs?|documentation|examples?)\/|(^|\/)(readme|changelog|license|authors|contributing)[^/]*$|\.(md|rst|adoc|txt)$|[._-](test|spec)s?\.[a-z]+$|(^|\/)test_[^/]*$/i;
/**
 * A Conventional Commits type that changes no behaviour. Only a commit is written so: a deploy
 * record "CI: simulator image rebuilt with libopen-ocpp v1.6.0" says who deployed, not what.
 */
const docsCommit = /^(docs|test|tests|style|ci)(\([^)]*\))?!?:/i;
/**
 * A configuration change that only turns logging up or down ("Logging OCPPMiddleware Information ->
 * Trace", "log_level: info -> debug"): the level names of .NET, syslog, spdlog and Python logging.
 */
const LEVEL = String.raw`(trace|debug|verbose|info(rmation)?|notice|warn(ing)?|error|critical)`;
const logLevelOnly = new RegExp(
  String.raw`^[^,;]*\b(log(ging|_?level)?|verbosity)\b[^,;]*\b${LEVEL}\s*(->|→|=>|to)\s*${LEVEL}\b[^,;]*$`,
  'i',
);

/** How much a change this old counts on its age alone: hyperbolic, half after HALF_LIFE_MS. */
export const recency = (ageMs: number): number => 1 / (1 + ageMs / HALF_LIFE_MS);

/** The words a change shares with the failure, sorted. */
export function sharedWords(change: ReadonlySet<string>, failure: ReadonlySet<string>): string[] {
  const [small, large] = failure.size < change.size ? [failure, change] : [change, failure];
  return [...small].filter((w) => large.has(w)).sort();
}

const fileCache = new WeakMap<SystemGraph, Map<string, string[]>>();

/** Services owning a file, memoised per graph (the same commits recur across triggers). */
function servicesForFile(graph: SystemGraph, path: string): string[] {
  let cache = fileCache.get(graph);
  if (!cache) {
    cache = new Map();
    fileCache.set(graph, cache);
  }
  let hit = cache.get(path);
  if (!hit) {
    hit = graph.servicesForFile(path);
    if (cache.size < 50_000) cache.set(path, hit);
  }
  return hit;
}

/** Splits a unified diff into added lines, removed lines and hunk headers (capped). */
export function splitDiff(diff: string | null): { added: string; removed: string; hunks: string } {
  if (!diff) return { added: '', removed: '', hunks: '' };
  const added: string[] = [];
  const removed: string[] = [];
  const hunks: string[] = [];
  for (const line of diff.slice(0, DIFF_CAP).split('\n')) {
    if (line.startsWith('+++') || line.startsWith('---')) continue;
    if (line.startsWith('@@')) hunks.push(line.replace(/^@@[^@]*@@\s?/, ''));
    else if (line.startsWith('+')) added.push(line.slice(1));
    else if (line.startsWith('-')) removed.push(line.slice(1));
  }
  return { added: added.join('\n'), removed: removed.join('\n'), hunks: hunks.join('\n') };
}

/** Occurrences of the failure before a change, and whether their rate jumped after it (the trigger included). */
export function rateAround(
  h: FailureHistory,
  changeTs: number,
  eventTs: number,
  lookbackMs: number,
): { before: number; jumped: boolean } {
  // timestamps are sorted: binary search for the first one at or after the change.
  let lo = 0;
  let hi = h.timestamps.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (h.timestamps[mid]! < changeTs) lo = mid + 1;
    else hi = mid;
  }
  const sampledBefore = lo;
  const before = h.count - h.timestamps.length + sampledBefore;
  if (before <= 0) return { before: 0, jumped: true };
  const after = h.timestamps.length - sampledBefore + 1;
  const rateBefore = before / Math.max(60_000, changeTs - (eventTs - lookbackMs));
  const rateAfter = after / Math.max(60_000, eventTs - changeTs);
  return { before, jumped: rateAfter >= RATE_JUMP * rateBefore };
}

// Line comments by file type: '#' is a comment in YAML, shell, Python and CMake, but not in C/C++.
const hashComments = /\.(ya?ml|py|sh|cmake|conf|ini|toml|cfg|txt)$|(^|\/)(CMakeLists\.txt|Dockerfile)$/i;

/**
 * True when a diff changes only comments, blank lines or formatting: the code is the same once
 * comments and whitespace are removed from both sides (per file).
 */
export function cosmeticOnly(diff: string | null, files: readonly string[] = []): boolean {
  if (!diff) return false;
  const before = new Map<string, string[]>();
  const after = new Map<string, string[]>();
  let file = '';
  for (const line of diff.slice(0, DIFF_CAP).split('\n')) {
    if (line.startsWith('+++ ')) {
      file = line.slice(4).replace(/^b\//, '');
      continue;
    }
    if (line.startsWith('--- ') || line.startsWith('@@')) continue;
    const side = line.startsWith('+') ? after : line.startsWith('-') ? before : null;
    if (!side) continue;
    side.set(file, [...(side.get(file) ?? []), line.slice(1)]);
  }
  if (!before.size && !after.size) return false;
  // A diff that does not cover every changed file (GitHub truncates large patches) proves nothing.
  const covered = new Set([...before.keys(), ...after.keys()].map((f) => f.replace(/^(a|b)\//, '')));
  if (files.some((f) => !covered.has(f.replace(/^\.?\//, '')))) return false;
  const code = (lines: string[] | undefined, f: string) => {
    let text = (lines ?? [])
      .join('\n')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\/\/[^\n]*/g, '');
    if (hashComments.test(f)) text = text.replace(/(^|\s)#[^\n]*/g, '$1');
    return text.replace(/\s+/g, '');
  };
  for (const f of new Set([...before.keys(), ...after.keys()]))
    if (code(before.get(f), f) !== code(after.get(f), f)) return false;
  return true;
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// A function's last-part pattern, compiled once: logs.mention asks for every warning line and every
// mapped function, and compiling it on each call was a quarter of a trigger's time at 200 services.
// Bounded by clearing (names come from the map, so this only guards against a pathological one).
const lastPartPatterns = new Map<string, RegExp | null>();
const LAST_PART_PATTERNS_MAX = 10_000;
const lastPartPattern = (fn: string): RegExp | null => {
  let pattern = lastPartPatterns.get(fn);
  if (pattern !== undefined) return pattern;
  const last = fn.split(/::|\./).pop() ?? fn;
  // Short names (run, main, boot) would match everywhere.
  pattern =
    last.length < 6 || last === fn
      ? null
      : new RegExp(`(^|[^A-Za-z0-9_])${escapeRegex(last)}([^A-Za-z0-9_]|$)`);
  if (lastPartPatterns.size >= LAST_PART_PATTERNS_MAX) lastPartPatterns.clear();
  lastPartPatterns.set(fn, pattern);
  return pattern;
};

/** True when `fn` ("Charger::run_state_machine") appears in text, by full name or a distinctive last part. */
export function mentionsFunction(text: string, fn: string): boolean {
  if (!text) return false;
  if (text.includes(fn)) return true;
  return lastPartPattern(fn)?.test(text) ?? false;
}

/** What a change says regardless of the trigger: computed once per change and map, then reused. */
export interface ChangeBase {
  added: string;
  removed: string;
  hunks: string;
  docsOnly: boolean;
  words: Set<string>;
  /** Compound identifiers of its summary, diff and file paths (text.ts identifiers). */
  identifiers: Map<string, string>;
  /** Map services the change belongs to (by its service field and its files). */
  mapped: string[];
  /** Map services owning one of its files: the change edits their code. */
  ownedBy: Set<string>;
  touched: Map<string, string[]>;
  /** Memo of rule condition results for this change, by rule and service (see rules/declarative.ts). */
  ruleHits: WeakMap<object, Map<string, boolean>>;
}

const BASE_CACHE_MAX = 10_000;
const baseCache = new WeakMap<SystemGraph, Map<string, ChangeBase>>();

const changeKey = (c: Change) =>
  `${c.id}\u0000${c.timestamp}\u0000${c.service}\u0000${c.summary.length}\u0000${c.diff?.length ?? -1}\u0000${c.files.length}`;

/** The trigger-independent facts of a change, memoised per graph (the same changes recur across triggers). */
export function changeBase(change: Change, graph: SystemGraph): ChangeBase {
  let cache = baseCache.get(graph);
  if (!cache) {
    cache = new Map();
    baseCache.set(graph, cache);
  }
  const key = changeKey(change);
  const hit = cache.get(key);
  if (hit) return hit;
  const mapped = new Set<string>();
  const own = change.service ? graph.resolve(change.service) : null;
  if (own) mapped.add(own);
  const ownedBy = new Set<string>();
  for (const f of change.files.slice(0, 500)) for (const s of servicesForFile(graph, f)) ownedBy.add(s);
  for (const s of ownedBy) mapped.add(s);
  const { added, removed, hunks } = splitDiff(change.diff);
  const body = change.diff ? `${hunks}\n${added}\n${removed}` : change.summary;
  const touched = new Map<string, string[]>();
  for (const s of mapped) {
    const fns = (graph.services.get(s)?.functions ?? []).filter((fn) => mentionsFunction(body, fn));
    if (fns.length) touched.set(s, fns);
  }
  const base: ChangeBase = {
    added,
    removed,
    hunks,
    docsOnly:
      (change.files.length
        ? change.files.every((f) => docsOrTests.test(f))
        : change.kind === 'commit' && docsCommit.test(change.summary)) ||
      cosmeticOnly(change.diff, change.files) ||
      (change.kind === 'config' && !change.diff && logLevelOnly.test(change.summary.split('\n')[0]!)),
    words: words(`${change.summary}\n${hunks}\n${added}\n${removed}`),
    identifiers: identifiers(
      `${change.summary}\n${change.files.slice(0, 500).join('\n')}\n${hunks}\n${added}\n${removed}`,
    ),
    mapped: [...mapped],
    ownedBy,
    touched,
    ruleHits: new WeakMap(),
  };
  if (cache.size >= BASE_CACHE_MAX) cache.clear();
  cache.set(key, base);
  return base;
}

/** Keeps the changes inside [event - lookback, event] that touch a candidate, with their facts. */
export function changeFacts(
  changes: Change[],
  graph: SystemGraph,
  candidates: ReadonlySet<string>,
  resolveName: (name: string) => string | null,
  eventTs: number,
  lookbackMs: number,
  failure: {
    eventType: string;
    errorCode: string;
    history: FailureHistory;
    /** When each of the failure's own lines began, earliest first (facts.ts failureBeginnings). */
    beginnings?: readonly number[];
    /** The failing session's first warning or worse (EvidenceBundle.sessionBegan). */
    sessionBegan?: number;
  },
): ChangeFact[] {
  const out: ChangeFact[] = [];
  for (const change of changes) {
    // Evidence is only what existed before the failure, and not older than the look-back.
    if (change.timestamp > eventTs || change.timestamp < eventTs - lookbackMs) continue;
    const base = changeBase(change, graph);
    const services = new Set(base.mapped.filter((s) => candidates.has(s)));
    // An unknown failing service is matched by its own name (the map cannot resolve it).
    const own = change.service ? resolveName(change.service) : null;
    if (own && candidates.has(own)) services.add(own);
    if (!services.size) continue;
    const ageMs = eventTs - change.timestamp;
    const beginnings = failure.beginnings ?? [];
    // A failure whose lines began long before the trigger is aged from the first beginning after
    // the change; one whose every line had begun before the change predates it.
    const next = beginnings.find((b) => b >= change.timestamp);
    const predated = beginnings.length > 0 && next === undefined;
    const began = next === undefined ? ageMs : next - change.timestamp;
    // What counts against the change apart from its age; credibility is its recency times this.
    let standing = 1;
    const notes = [
      began < ageMs - 60_000
        ? `${span(began)} before the failure's lines began (${clockTime(next!)}), ${span(ageMs)} before the ${failure.eventType}`
        : `${span(ageMs)} before the ${failure.eventType}`,
    ];
    if (base.docsOnly) {
      standing *= DOCS_ONLY;
      notes.push('touches only tests, docs, comments, formatting or the log level');
    }
    const rate = rateAround(failure.history, change.timestamp, eventTs, lookbackMs);
    const during = failure.sessionBegan !== undefined && change.timestamp > failure.sessionBegan;
    if (during) {
      standing *= PREDATES;
      notes.push(
        `made while the failing session was already failing (since ${clockTime(failure.sessionBegan!)})`,
      );
    } else if (predated) {
      standing *= PREDATES;
      notes.push(`the failure's lines had all begun before it (from ${clockTime(beginnings[0]!)})`);
    } else if (rate.before > 0 && !rate.jumped) {
      standing *= PREDATES;
      notes.push(
        `the same ${failure.errorCode} already occurred ${rate.before} time(s) before it, at a similar rate`,
      );
    } else if (rate.before > 0)
      notes.push(`the ${failure.errorCode} rate jumped after it (${rate.before} before)`);
    out.push({
      change,
      base,
      services: [...services].sort(),
      ageMs,
      ...(next !== undefined ? { nextBeginning: next } : {}),
      docsOnly: base.docsOnly,
      credibility: recency(began) * standing,
      standing,
      notes,
      added: base.added,
      removed: base.removed,
      hunks: base.hunks,
      touched: base.touched,
      words: base.words,
    });
  }
  return out;
}
